//! Low-level reading and writing of DNS wire format that hickory does not
//! expose: locating the TSIG record in a raw message and encoding names in
//! the canonical form TSIG digests use (RFC 8945 §4.3.2).
//!
//! Everything here runs on answers before their MAC is checked: it reads in
//! place, bounds every loop, and allocates nothing per name or label.

mod locate;
mod name;

use hickory_proto::rr::Name;

pub use locate::{locate_tsig, LocatedTsig, TsigRdata};
pub use name::{WireName, MAX_LABEL_OCTETS, MAX_NAME_OCTETS, MAX_POINTERS};

/// Length of the DNS header.
pub const HEADER_LEN: usize = 12;
/// RR type number of TSIG.
pub const TYPE_TSIG: u16 = 250;
/// CLASS ANY, which TSIG records carry.
pub const CLASS_ANY: u16 = 255;

/// A malformed message; the text says what was wrong where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DNS message: {0}")]
pub struct WireError(pub String);

/// Reads big-endian integers and names from a message, with bounds checks.
pub struct Reader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at `position`.
    pub fn new(bytes: &'a [u8], position: usize) -> Self {
        Reader { bytes, position }
    }

    /// The current offset.
    pub fn position(&self) -> usize {
        self.position
    }

    /// Takes `len` bytes.
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], WireError> {
        let end = self
            .position
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                WireError(format!(
                    "message ends inside a field at offset {}",
                    self.position
                ))
            })?;
        let slice = &self.bytes[self.position..end];
        self.position = end;
        Ok(slice)
    }

    /// Reads a u16.
    pub fn u16(&mut self) -> Result<u16, WireError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Reads a u32.
    pub fn u32(&mut self) -> Result<u32, WireError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a 48-bit unsigned integer (TSIG time).
    pub fn u48(&mut self) -> Result<u64, WireError> {
        let b = self.take(6)?;
        Ok(b.iter()
            .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte)))
    }

    /// Reads a possibly compressed name, checked against RFC 1035's limits;
    /// nothing is copied or allocated.
    pub fn name(&mut self) -> Result<WireName<'a>, WireError> {
        let (name, end) = WireName::read(self.bytes, self.position)?;
        self.position = end;
        Ok(name)
    }
}

/// Appends a name in canonical wire form: lowercase, uncompressed.
pub fn push_canonical_name(out: &mut Vec<u8>, name: &Name) {
    for label in name.to_lowercase().iter() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
}

/// Appends a 48-bit big-endian integer.
pub fn push_u48(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_be_bytes()[2..]);
}

/// The counts of the four sections, from the header.
pub struct SectionCounts {
    /// QDCOUNT / ZOCOUNT.
    pub questions: u16,
    /// ANCOUNT / PRCOUNT.
    pub answers: u16,
    /// NSCOUNT / UPCOUNT.
    pub authorities: u16,
    /// ARCOUNT.
    pub additionals: u16,
}

/// Reads the section counts from a message header.
pub fn section_counts(message: &[u8]) -> Result<SectionCounts, WireError> {
    if message.len() < HEADER_LEN {
        return Err(WireError(format!(
            "{} bytes is shorter than a DNS header",
            message.len()
        )));
    }
    let count = |at: usize| u16::from_be_bytes([message[at], message[at + 1]]);
    Ok(SectionCounts {
        questions: count(4),
        answers: count(6),
        authorities: count(8),
        additionals: count(10),
    })
}

#[cfg(test)]
mod tests;
