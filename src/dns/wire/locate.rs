//! Finding the TSIG record of a raw message (RFC 8945 §5.1) without copying
//! anything out of it.

use super::{section_counts, Reader, WireError, WireName, HEADER_LEN, TYPE_TSIG};

/// Where the TSIG record starts and what it holds; it borrows the message.
#[derive(Debug, Clone, Copy)]
pub struct LocatedTsig<'a> {
    /// Offset of the TSIG RR's owner name: the message without TSIG ends here.
    pub offset: usize,
    /// The key name (owner of the TSIG RR), as it is on the wire.
    pub key_name: WireName<'a>,
    /// The TSIG RDATA.
    pub rdata: TsigRdata<'a>,
}

/// The fields of a TSIG RDATA (RFC 8945 §4.2), borrowed from the message.
#[derive(Debug, Clone, Copy)]
pub struct TsigRdata<'a> {
    /// Algorithm name, as it is on the wire.
    pub algorithm: WireName<'a>,
    /// Seconds since the epoch when the message was signed.
    pub time_signed: u64,
    /// Permitted clock difference in seconds.
    pub fudge: u16,
    /// The MAC (empty on unsigned error answers).
    pub mac: &'a [u8],
    /// The message ID the signer saw.
    pub original_id: u16,
    /// The TSIG error code (0, BADSIG 16, BADKEY 17, BADTIME 18, BADTRUNC 22).
    pub error: u16,
    /// Other data: the server's time on BADTIME.
    pub other: &'a [u8],
}

/// Finds the TSIG record of a message. `Ok(None)`: the message is unsigned.
/// RFC 8945 §5.1: there is at most one TSIG record and it MUST be the last
/// record of the additional section; anything else, and any byte after the
/// last record, is an error.
pub fn locate_tsig(message: &[u8]) -> Result<Option<LocatedTsig<'_>>, WireError> {
    let counts = section_counts(message)?;
    let mut reader = Reader::new(message, HEADER_LEN);
    for _ in 0..counts.questions {
        reader.name()?;
        reader.take(4)?;
    }
    let before_additional = u32::from(counts.answers) + u32::from(counts.authorities);
    let records = before_additional + u32::from(counts.additionals);
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
        if index < before_additional {
            return Err(WireError(
                "a TSIG record outside the additional section".into(),
            ));
        }
        if index + 1 != records {
            return Err(WireError(
                "the TSIG record is not the last record of the message".into(),
            ));
        }
        let rdata_end = rdata_start + rdata_len;
        let mut rdata_reader = Reader::new(&message[..rdata_end], rdata_start);
        let rdata = read_tsig_rdata(&mut rdata_reader)?;
        if rdata_reader.position() != rdata_end {
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

fn read_tsig_rdata<'a>(reader: &mut Reader<'a>) -> Result<TsigRdata<'a>, WireError> {
    let algorithm = reader.name()?;
    let time_signed = reader.u48()?;
    let fudge = reader.u16()?;
    let mac_len = usize::from(reader.u16()?);
    let mac = reader.take(mac_len)?;
    let original_id = reader.u16()?;
    let error = reader.u16()?;
    let other_len = usize::from(reader.u16()?);
    let other = reader.take(other_len)?;
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
