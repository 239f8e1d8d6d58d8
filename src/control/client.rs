//! The command line's end of the control socket.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;

use super::protocol::{Request, Response, MAX_LINE};

/// Why the agent could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Connecting was not allowed.
    #[error("permission denied on {0} (control.socket): use root or be a member of the socket's group (control.group)")]
    Permission(PathBuf),
    /// Nothing listens there.
    #[error("no agent listens on {path} (control.socket): {source}; is `dnsfailover run` running with this configuration?")]
    Unreachable {
        /// The socket's path.
        path: PathBuf,
        /// Why connecting failed.
        source: std::io::Error,
    },
    /// The agent's answer was cut short or unreadable.
    #[error("the agent on {path} answered something unreadable: {detail}")]
    Garbled {
        /// The socket's path.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
}

/// Sends `request` to the agent at `path` and returns its answer.
pub async fn ask(path: &Path, request: &Request) -> Result<Response, ClientError> {
    let garbled = |detail: String| ClientError::Garbled {
        path: path.to_path_buf(),
        detail,
    };
    let stream = UnixStream::connect(path).await.map_err(|source| {
        if source.kind() == ErrorKind::PermissionDenied {
            ClientError::Permission(path.to_path_buf())
        } else {
            ClientError::Unreachable {
                path: path.to_path_buf(),
                source,
            }
        }
    })?;
    let (reader, mut writer) = stream.into_split();
    let mut line = serde_json::to_string(request).map_err(|e| garbled(e.to_string()))?;
    line.push('\n');
    writer
        .write_all(line.as_bytes())
        .await
        .map_err(|e| garbled(e.to_string()))?;
    let mut answer = String::new();
    BufReader::new(reader.take(MAX_LINE as u64))
        .read_line(&mut answer)
        .await
        .map_err(|e| garbled(e.to_string()))?;
    serde_json::from_str(answer.trim()).map_err(|e| garbled(format!("{e}: {answer:?}")))
}
