//! Low-level reading and writing of DNS wire format that hickory does not
//! expose: locating the TSIG record in a raw message and encoding names in
//! the canonical form TSIG digests use (RFC 8945 §4.3.2).

use hickory_proto::rr::Name;

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

    /// Reads a possibly compressed name and returns it in lowercase
    /// presentation form with a trailing dot.
    pub fn name(&mut self) -> Result<String, WireError> {
        let mut labels: Vec<String> = Vec::new();
        let mut cursor = self.position;
        let mut end_of_name = None;
        // Each pointer must go strictly backwards, which bounds the loop.
        let mut pointer_limit = cursor;
        loop {
            let len = *self
                .bytes
                .get(cursor)
                .ok_or_else(|| WireError("name runs past the end of the message".into()))?;
            match len {
                0 => {
                    end_of_name.get_or_insert(cursor + 1);
                    break;
                }
                l if l & 0xC0 == 0xC0 => {
                    let low = *self
                        .bytes
                        .get(cursor + 1)
                        .ok_or_else(|| WireError("truncated compression pointer".into()))?;
                    let target = (usize::from(l & 0x3F) << 8) | usize::from(low);
                    if target >= pointer_limit {
                        return Err(WireError(format!(
                            "compression pointer at offset {cursor} does not point backwards"
                        )));
                    }
                    end_of_name.get_or_insert(cursor + 2);
                    pointer_limit = target;
                    cursor = target;
                }
                l if l & 0xC0 == 0 => {
                    let start = cursor + 1;
                    let label = self
                        .bytes
                        .get(start..start + usize::from(l))
                        .ok_or_else(|| {
                            WireError("label runs past the end of the message".into())
                        })?;
                    labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
                    cursor = start + usize::from(l);
                }
                _ => {
                    return Err(WireError(format!(
                        "unsupported label type at offset {cursor}"
                    )))
                }
            }
        }
        self.position = end_of_name.unwrap_or(cursor + 1);
        let mut text = labels.join(".");
        text.push('.');
        Ok(text)
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

/// Where the TSIG record starts and what it holds.
pub struct LocatedTsig {
    /// Offset of the TSIG RR's owner name: the message without TSIG ends here.
    pub offset: usize,
    /// The key name (owner of the TSIG RR), lowercase with a trailing dot.
    pub key_name: String,
    /// The TSIG RDATA.
    pub rdata: TsigRdata,
}

/// The fields of a TSIG RDATA (RFC 8945 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsigRdata {
    /// Algorithm name, lowercase with a trailing dot.
    pub algorithm: String,
    /// Seconds since the epoch when the message was signed.
    pub time_signed: u64,
    /// Permitted clock difference in seconds.
    pub fudge: u16,
    /// The MAC (empty on unsigned error answers).
    pub mac: Vec<u8>,
    /// The message ID the signer saw.
    pub original_id: u16,
    /// The TSIG error code (0, BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22).
    pub error: u16,
    /// Other data: the server's time on BADTIME.
    pub other: Vec<u8>,
}

/// Finds the TSIG record of a message. `Ok(None)`: the message is unsigned.
/// A TSIG record that is not the last additional record is an error
/// (RFC 8945 §5.1: it MUST be the last).
pub fn locate_tsig(message: &[u8]) -> Result<Option<LocatedTsig>, WireError> {
    let counts = section_counts(message)?;
    let mut reader = Reader::new(message, HEADER_LEN);
    for _ in 0..counts.questions {
        reader.name()?;
        reader.take(4)?;
    }
    let records =
        u32::from(counts.answers) + u32::from(counts.authorities) + u32::from(counts.additionals);
    let mut found = None;
    for index in 0..records {
        let offset = reader.position();
        let owner = reader.name()?;
        let rr_type = reader.u16()?;
        reader.take(6)?; // class, ttl
        let rdata_len = usize::from(reader.u16()?);
        let rdata_start = reader.position();
        reader.take(rdata_len)?;
        if rr_type != TYPE_TSIG {
            continue;
        }
        if index + 1 != records {
            return Err(WireError(
                "the TSIG record is not the last record of the message".into(),
            ));
        }
        let mut rdata_reader = Reader::new(&message[..rdata_start + rdata_len], rdata_start);
        let rdata = read_tsig_rdata(&mut rdata_reader)?;
        if rdata_reader.position() != rdata_start + rdata_len {
            return Err(WireError("TSIG RDATA longer than its fields".into()));
        }
        found = Some(LocatedTsig {
            offset,
            key_name: owner,
            rdata,
        });
    }
    if reader.position() != message.len() {
        return Err(WireError(format!(
            "{} bytes of trailing data after the last record",
            message.len() - reader.position()
        )));
    }
    Ok(found)
}

fn read_tsig_rdata(reader: &mut Reader<'_>) -> Result<TsigRdata, WireError> {
    let algorithm = reader.name()?;
    let time_signed = reader.u48()?;
    let fudge = reader.u16()?;
    let mac_len = usize::from(reader.u16()?);
    let mac = reader.take(mac_len)?.to_vec();
    let original_id = reader.u16()?;
    let error = reader.u16()?;
    let other_len = usize::from(reader.u16()?);
    let other = reader.take(other_len)?.to_vec();
    Ok(TsigRdata {
        algorithm,
        time_signed,
        fudge,
        mac,
        original_id,
        error,
        other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_compressed_names_in_lowercase() {
        // "Example.TEST." at 12, then a pointer to it preceded by "www".
        let mut message = vec![0u8; HEADER_LEN];
        message.extend_from_slice(b"\x07Example\x04TEST\x00");
        message.extend_from_slice(b"\x03www\xc0\x0c");
        let mut reader = Reader::new(&message, 12);
        assert_eq!(reader.name().unwrap(), "example.test.");
        assert_eq!(reader.name().unwrap(), "www.example.test.");
        assert_eq!(reader.position(), message.len());
    }

    #[test]
    fn rejects_pointer_loops() {
        let mut message = vec![0u8; HEADER_LEN];
        message.extend_from_slice(b"\xc0\x0c");
        assert!(Reader::new(&message, 12).name().is_err());
    }

    #[test]
    fn rejects_a_tsig_record_that_is_not_last() {
        let mut message = vec![0u8; HEADER_LEN];
        message[11] = 2; // ARCOUNT
        let tsig_rdata =
            b"\x0bhmac-sha256\x00\x00\x00\x00\x00\x00\x01\x01\x2c\x00\x00\x00\x07\x00\x00\x00\x00";
        message.extend_from_slice(b"\x03key\x00\x00\xfa\x00\xff\x00\x00\x00\x00");
        message.extend_from_slice(&(tsig_rdata.len() as u16).to_be_bytes());
        message.extend_from_slice(tsig_rdata);
        message.extend_from_slice(b"\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x00");
        let error = locate_tsig(&message).err().expect("must be rejected");
        assert!(error.0.contains("not the last"), "{error}");
    }
}
