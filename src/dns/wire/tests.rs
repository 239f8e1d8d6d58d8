use super::*;

/// A header followed by `body`; the counts are set by the caller.
fn message_with(body: &[u8]) -> Vec<u8> {
    let mut message = vec![0u8; HEADER_LEN];
    message.extend_from_slice(body);
    message
}

fn read_name(message: &[u8], at: usize) -> Result<(String, usize), WireError> {
    let mut reader = Reader::new(message, at);
    let name = reader.name()?;
    Ok((name.to_string(), reader.position()))
}

#[test]
fn reads_compressed_names_and_compares_them_ignoring_case() {
    // "Example.TEST." at 12, then a pointer to it preceded by "www".
    let message = message_with(b"\x07Example\x04TEST\x00\x03www\xc0\x0c");
    let mut reader = Reader::new(&message, 12);
    let zone = reader.name().unwrap();
    let www = reader.name().unwrap();
    assert_eq!(reader.position(), message.len());
    assert_eq!(zone.to_string(), "Example.TEST.");
    assert_eq!(www.to_string(), "www.Example.TEST.");
    assert!(www.is_text("WWW.example.test."));
    assert!(www.is_text("www.example.test"));
    assert!(!www.is_text("example.test."));
    assert!(!zone.is_text("www.example.test."));
    assert!(www.is(&Name::from_ascii("www.EXAMPLE.test.").unwrap()));
    assert!(!www.is(&Name::from_ascii("www.example.org.").unwrap()));
}

#[test]
fn the_root_name_reads_as_a_dot() {
    let message = message_with(b"\x00");
    let mut reader = Reader::new(&message, 12);
    let root = reader.name().unwrap();
    assert_eq!(root.to_string(), ".");
    assert!(root.is_text("."));
    assert!(root.is(&Name::root()));
}

#[test]
fn rejects_pointer_loops() {
    let message = message_with(b"\xc0\x0c");
    assert!(Reader::new(&message, 12).name().is_err());
}

#[test]
fn rejects_a_pointer_forwards() {
    let message = message_with(b"\xc0\x0e\x00");
    let error = read_name(&message, 12).unwrap_err();
    assert!(error.0.contains("does not point backwards"), "{error}");
}

/// A root label at 12, then `pointers` pointers, each to the one before it.
fn pointer_chain(pointers: usize) -> (Vec<u8>, usize) {
    let mut message = message_with(b"\x00");
    let mut previous = 12usize;
    for _ in 0..pointers {
        let at = message.len();
        message.extend_from_slice(&(0xC000u16 | previous as u16).to_be_bytes());
        previous = at;
    }
    (message, previous)
}

#[test]
fn follows_at_most_the_maximal_pointer_chain() {
    let (message, last) = pointer_chain(MAX_POINTERS);
    let (name, end) = read_name(&message, last).unwrap();
    assert_eq!((name.as_str(), end), (".", last + 2));

    let (message, last) = pointer_chain(MAX_POINTERS + 1);
    let error = read_name(&message, last).unwrap_err();
    assert!(
        error.0.contains("more than 127 compression pointers"),
        "{error}"
    );
    // A chain as long as a 64 KiB message allows is refused just the same.
    let (message, last) = pointer_chain(30_000);
    assert!(read_name(&message, last).is_err());
}

/// `labels` labels of `len` octets each, then the root.
fn labels(count: usize, len: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..count {
        out.push(len as u8);
        out.extend(std::iter::repeat_n(b'a', len));
    }
    out.push(0);
    out
}

#[test]
fn accepts_a_name_of_exactly_255_octets() {
    let mut body = labels(3, 63);
    body.pop();
    body.extend_from_slice(&labels(1, 61)); // 3 × 64 + 62 + 1 = 255
    let message = message_with(&body);
    let (name, end) = read_name(&message, 12).unwrap();
    assert_eq!(end, 12 + MAX_NAME_OCTETS);
    assert_eq!(name.len(), MAX_NAME_OCTETS - 1, "presentation form: {name}");
}

#[test]
fn rejects_a_name_longer_than_255_octets() {
    let message = message_with(&labels(4, 63)); // 4 × 64 + 1 = 257
    let error = read_name(&message, 12).unwrap_err();
    assert!(error.0.contains("longer than 255 octets"), "{error}");
}

#[test]
fn compression_does_not_lift_the_length_limit() {
    // 3 × 63-octet labels at 12 (193 octets), then a 63-octet label and a
    // pointer to them: each part is legal, the whole name is 257 octets.
    let mut body = labels(3, 63);
    body.extend_from_slice(&labels(1, 63)[..64]);
    body.extend_from_slice(b"\xc0\x0c");
    let message = message_with(&body);
    assert!(read_name(&message, 12).is_ok(), "the suffix alone is fine");
    let error = read_name(&message, 12 + 193).unwrap_err();
    assert!(error.0.contains("longer than 255 octets"), "{error}");
}

#[test]
fn rejects_a_label_longer_than_63_octets() {
    let message = message_with(&labels(1, 64));
    let error = read_name(&message, 12).unwrap_err();
    assert!(error.0.contains("at most 63 octets"), "{error}");
}

#[test]
fn rejects_names_running_past_the_end() {
    for body in [&b"\x05abc"[..], b"\x03abc", b"\xc0"] {
        assert!(read_name(&message_with(body), 12).is_err(), "{body:?}");
    }
}

#[test]
fn shows_names_in_escaped_presentation_form() {
    let message = message_with(b"\x08a\nb.c d\xff\x03k\\y\x00");
    let (name, _) = read_name(&message, 12).unwrap();
    assert_eq!(name, "a\\010b\\.c\\032d\\255.k\\\\y.");
    assert!(!name.chars().any(char::is_control));
}

/// A TSIG RR owned by "key." with an empty MAC.
fn tsig_record() -> Vec<u8> {
    let rdata =
        b"\x0bhmac-sha256\x00\x00\x00\x00\x00\x00\x01\x01\x2c\x00\x00\x00\x07\x00\x00\x00\x00";
    let mut record = b"\x03key\x00\x00\xfa\x00\xff\x00\x00\x00\x00".to_vec();
    record.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    record.extend_from_slice(rdata);
    record
}

/// An A record owned by the root.
const A_RECORD: &[u8] = b"\x00\x00\x01\x00\x01\x00\x00\x00\x00\x00\x04\xc0\x00\x02\x01";

fn message_of(answers: &[&[u8]], additionals: &[&[u8]]) -> Vec<u8> {
    let mut message = vec![0u8; HEADER_LEN];
    message[7] = answers.len() as u8;
    message[11] = additionals.len() as u8;
    for record in answers.iter().chain(additionals) {
        message.extend_from_slice(record);
    }
    message
}

#[test]
fn locates_a_tsig_record_at_the_end() {
    let tsig = tsig_record();
    let message = message_of(&[A_RECORD], &[&tsig]);
    let located = locate_tsig(&message).unwrap().expect("signed");
    assert_eq!(located.offset, HEADER_LEN + A_RECORD.len());
    assert!(located.key_name.is_text("KEY."));
    assert!(located.rdata.algorithm.is_text("hmac-sha256"));
    assert_eq!(located.rdata.original_id, 7);
    assert!(located.rdata.mac.is_empty());
    assert!(locate_tsig(&message_of(&[A_RECORD], &[]))
        .unwrap()
        .is_none());
}

#[test]
fn rejects_a_tsig_record_that_is_not_last() {
    let tsig = tsig_record();
    let message = message_of(&[], &[&tsig, A_RECORD]);
    let error = locate_tsig(&message).unwrap_err();
    assert!(error.0.contains("not the last"), "{error}");
}

#[test]
fn rejects_two_tsig_records() {
    let tsig = tsig_record();
    let message = message_of(&[], &[&tsig, &tsig]);
    let error = locate_tsig(&message).unwrap_err();
    assert!(error.0.contains("not the last"), "{error}");
}

#[test]
fn rejects_a_tsig_record_in_the_answer_section() {
    let tsig = tsig_record();
    let message = message_of(&[&tsig], &[]);
    let error = locate_tsig(&message).unwrap_err();
    assert!(
        error.0.contains("outside the additional section"),
        "{error}"
    );
}

#[test]
fn rejects_trailing_data_after_the_tsig_record() {
    let tsig = tsig_record();
    let mut message = message_of(&[], &[&tsig]);
    message.extend_from_slice(b"\x00\x00");
    let error = locate_tsig(&message).unwrap_err();
    assert!(error.0.contains("2 bytes of trailing data"), "{error}");
}

#[test]
fn rejects_tsig_rdata_longer_than_its_fields() {
    let mut tsig = tsig_record();
    let len_at = 1 + 3 + 1 + 8;
    let len = u16::from_be_bytes([tsig[len_at], tsig[len_at + 1]]) + 1;
    tsig[len_at..len_at + 2].copy_from_slice(&len.to_be_bytes());
    tsig.push(0);
    let error = locate_tsig(&message_of(&[], &[&tsig])).unwrap_err();
    assert!(error.0.contains("longer than its fields"), "{error}");
}
