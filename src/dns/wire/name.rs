//! Domain names read from a message in place: checked once against RFC 1035's
//! limits, then compared or shown label by label without copying them.
//!
//! Names are read before an answer's MAC is checked, so a hostile answer of
//! 64 KiB must cost no allocation per label and a bounded walk per name.

use std::fmt;

use hickory_proto::rr::Name;

use super::WireError;

/// Most octets a name takes uncompressed, length octets and the root label
/// included (RFC 1035 §2.3.4).
pub const MAX_NAME_OCTETS: usize = 255;

/// Most octets in one label (RFC 1035 §2.3.4); the two high bits of a length
/// octet are 00 for a label, 11 for a compression pointer (§4.1.4).
pub const MAX_LABEL_OCTETS: usize = 63;

/// Most compression pointers followed while reading one name. A name has at
/// most 127 labels besides the root and a compressor needs one pointer per
/// name; one per label is already generous, and it bounds the walk of any
/// name to a few hundred steps however the message is built.
pub const MAX_POINTERS: usize = 127;

/// A name inside a message, known to be well-formed: within the limits, every
/// compression pointer going backwards, no label running past the end.
#[derive(Clone, Copy)]
pub struct WireName<'a> {
    message: &'a [u8],
    start: usize,
}

impl<'a> WireName<'a> {
    /// Checks the name at `start` of `message` and returns it with the offset
    /// just past it (past its first pointer, if it is compressed).
    pub fn read(message: &'a [u8], start: usize) -> Result<(WireName<'a>, usize), WireError> {
        let mut walk = Walk::new(message, start);
        while walk.next_label()?.is_some() {}
        let end = walk.end.expect("a finished walk knows where the name ends");
        Ok((WireName { message, start }, end))
    }

    /// The labels, root excluded, as they are on the wire (case kept).
    pub fn labels(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let mut walk = Walk::new(self.message, self.start);
        // The name was checked by `read`: the walk cannot fail.
        std::iter::from_fn(move || walk.next_label().ok().flatten())
    }

    /// True when both are the same name, ignoring ASCII case (RFC 4343).
    pub fn eq_labels<'b>(&self, other: impl IntoIterator<Item = &'b [u8]>) -> bool {
        let mut ours = self.labels();
        let mut theirs = other.into_iter();
        loop {
            match (ours.next(), theirs.next()) {
                (None, None) => return true,
                (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {}
                _ => return false,
            }
        }
    }

    /// True when this is `name`, ignoring ASCII case.
    pub fn is(&self, name: &Name) -> bool {
        self.eq_labels(name.iter())
    }

    /// True when this is the name written as `text` (plain labels separated
    /// by dots, the final dot optional), ignoring ASCII case.
    pub fn is_text(&self, text: &str) -> bool {
        let text = text.strip_suffix('.').unwrap_or(text);
        if text.is_empty() {
            return self.labels().next().is_none();
        }
        self.eq_labels(text.split('.').map(str::as_bytes))
    }
}

/// Presentation form with a trailing dot (RFC 1035 §5.1): every octet that is
/// not printable ASCII is written `\DDD`, and the characters with a meaning
/// in zone files are written `\c`. A name from an unauthenticated packet can
/// therefore never put a newline or a control character into a log line.
impl fmt::Display for WireName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut empty = true;
        for label in self.labels() {
            empty = false;
            write_escaped_label(f, label)?;
            f.write_str(".")?;
        }
        if empty {
            f.write_str(".")?;
        }
        Ok(())
    }
}

impl fmt::Debug for WireName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// Writes one label in presentation form.
fn write_escaped_label(f: &mut fmt::Formatter<'_>, label: &[u8]) -> fmt::Result {
    use fmt::Write as _;
    for &octet in label {
        match octet {
            b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                f.write_char('\\')?;
                f.write_char(char::from(octet))?;
            }
            0x21..=0x7e => f.write_char(char::from(octet))?,
            _ => write!(f, "\\{octet:03}")?,
        }
    }
    Ok(())
}

/// A walk over the labels of a name, checking the limits as it goes.
struct Walk<'a> {
    message: &'a [u8],
    cursor: usize,
    /// Where the name ends in the message, once its end or first pointer is seen.
    end: Option<usize>,
    /// Each pointer must point before this (the previous target, at first the
    /// name's own start): strictly backwards, so a loop is impossible.
    pointer_limit: usize,
    pointers: usize,
    octets: usize,
    finished: bool,
}

impl<'a> Walk<'a> {
    fn new(message: &'a [u8], start: usize) -> Self {
        Walk {
            message,
            cursor: start,
            end: None,
            pointer_limit: start,
            pointers: 0,
            octets: 0,
            finished: false,
        }
    }

    /// The next label, `None` after the root label.
    fn next_label(&mut self) -> Result<Option<&'a [u8]>, WireError> {
        if self.finished {
            return Ok(None);
        }
        loop {
            let at = self.cursor;
            let len = *self
                .message
                .get(at)
                .ok_or_else(|| WireError("a name runs past the end of the message".into()))?;
            match len & 0xC0 {
                0xC0 => self.follow_pointer(at, len)?,
                0x00 => return self.take_label(at, usize::from(len)),
                _ => {
                    return Err(WireError(format!(
                        "length octet {len:#04x} at offset {at}: a label holds at most \
                         {MAX_LABEL_OCTETS} octets, and extended label types are not supported"
                    )))
                }
            }
        }
    }

    fn follow_pointer(&mut self, at: usize, high: u8) -> Result<(), WireError> {
        let low = *self
            .message
            .get(at + 1)
            .ok_or_else(|| WireError("truncated compression pointer".into()))?;
        self.pointers += 1;
        if self.pointers > MAX_POINTERS {
            return Err(WireError(format!(
                "a name follows more than {MAX_POINTERS} compression pointers"
            )));
        }
        let target = (usize::from(high & 0x3F) << 8) | usize::from(low);
        if target >= self.pointer_limit {
            return Err(WireError(format!(
                "compression pointer at offset {at} does not point backwards"
            )));
        }
        self.end.get_or_insert(at + 2);
        self.pointer_limit = target;
        self.cursor = target;
        Ok(())
    }

    fn take_label(&mut self, at: usize, len: usize) -> Result<Option<&'a [u8]>, WireError> {
        self.octets += len + 1;
        if self.octets > MAX_NAME_OCTETS {
            return Err(WireError(format!(
                "a name longer than {MAX_NAME_OCTETS} octets at offset {at}"
            )));
        }
        if len == 0 {
            self.end.get_or_insert(at + 1);
            self.finished = true;
            return Ok(None);
        }
        let label = self
            .message
            .get(at + 1..at + 1 + len)
            .ok_or_else(|| WireError("a label runs past the end of the message".into()))?;
        self.cursor = at + 1 + len;
        Ok(Some(label))
    }
}
