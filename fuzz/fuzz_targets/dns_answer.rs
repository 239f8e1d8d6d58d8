//! A nameserver's answer to a signed request, judged as the client judges
//! it: the TSIG record located and verified, then the message decoded.
//!
//! The first byte chooses how the rest is used: with bit 0 clear, the rest
//! is the answer as it arrived (almost always discarded: the MAC does not
//! verify); with bit 0 set, the rest is signed first as the key holder
//! would sign it, with the TSIG error of bits 1–2 (and, if bit 3 is set, the
//! next 6 bytes as its other data), so the decoder behind the MAC is reached.
#![no_main]

use std::sync::LazyLock;

use dnsfailover::dns::fuzzing::{SignedQuery, Verdict};
use dnsfailover::dns::tsig::codes;
use libfuzzer_sys::fuzz_target;

static QUERY: LazyLock<SignedQuery> = LazyLock::new(SignedQuery::new);

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let answer = if mode & 1 == 0 {
        rest.to_vec()
    } else {
        let error = [0, codes::BADSIG, codes::BADTIME, codes::BADKEY][usize::from(mode >> 1 & 3)];
        let (other, response) = if mode & 8 != 0 && rest.len() >= 6 {
            rest.split_at(6)
        } else {
            (&[][..], rest)
        };
        match QUERY.sign_as_server(response, error, other) {
            Some(signed) => signed,
            None => return,
        }
    };
    match QUERY.judge(&answer) {
        Verdict::Accepted(message) => {
            // What the client reads next: the question and the records' types.
            let _ = message.queries.first().map(|query| query.query_type());
            let _ = message.answers.iter().map(|r| r.record_type()).count();
        }
        Verdict::Failed(error) | Verdict::Discarded(error) => {
            assert!(
                !error.contains('\n'),
                "an error message spans lines: {error:?}"
            );
        }
    }
});
