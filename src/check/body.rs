//! Reading at most a bounded prefix of a response body, and matching it.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Body;

/// The first bytes of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyPrefix {
    /// At most the requested number of bytes.
    pub(crate) bytes: Vec<u8>,
    /// True when the body ended within the limit, so the connection can be reused.
    pub(crate) complete: bool,
}

/// Reads the body until it ends or `limit` bytes are in hand, never more:
/// a huge answer costs no more than `limit` bytes of memory and reading.
pub(crate) async fn read_prefix<B>(mut body: B, limit: usize) -> Result<BodyPrefix, B::Error>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else {
            continue; // trailers carry nothing to match
        };
        let wanted = limit - bytes.len();
        bytes.extend_from_slice(&data[..data.len().min(wanted)]);
        if data.len() >= wanted {
            let complete = data.len() == wanted && body.is_end_stream();
            return Ok(BodyPrefix { bytes, complete });
        }
    }
    Ok(BodyPrefix {
        bytes,
        complete: true,
    })
}

/// Whether `needle` occurs in `haystack`; an empty needle always does.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty()
        || haystack
            .windows(needle.len())
            .any(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::body::Frame;
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body delivered in the given chunks.
    struct Chunks(VecDeque<Bytes>);

    impl Chunks {
        fn of(parts: &[&'static str]) -> Chunks {
            Chunks(
                parts
                    .iter()
                    .map(|part| Bytes::from_static(part.as_bytes()))
                    .collect(),
            )
        }
    }

    impl Body for Chunks {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
        }

        fn is_end_stream(&self) -> bool {
            self.0.is_empty()
        }
    }

    #[tokio::test]
    async fn short_body_is_read_whole() {
        let prefix = read_prefix(Chunks::of(&["all ", "good"]), 64)
            .await
            .unwrap();
        assert_eq!(prefix.bytes, b"all good");
        assert!(prefix.complete);
    }

    #[tokio::test]
    async fn long_body_is_cut_at_the_limit() {
        let prefix = read_prefix(Chunks::of(&["0123", "4567", "89"]), 6)
            .await
            .unwrap();
        assert_eq!(prefix.bytes, b"012345");
        assert!(!prefix.complete);
    }

    #[tokio::test]
    async fn body_ending_exactly_at_the_limit_is_complete() {
        let prefix = read_prefix(Chunks::of(&["0123", "45"]), 6).await.unwrap();
        assert_eq!(prefix.bytes, b"012345");
        assert!(prefix.complete);
    }

    #[test]
    fn contains_finds_substrings_only() {
        assert!(contains(b"status: ok\n", b"ok"));
        assert!(!contains(b"status: degraded", b"ok"));
        assert!(!contains(b"o", b"ok"));
        assert!(contains(b"", b""));
    }
}
