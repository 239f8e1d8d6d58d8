//! When a server's certificate expires: the `notAfter` time of an X.509
//! certificate (RFC 5280 §4.1.2.5), read from its DER encoding.
//!
//! Only the path to `validity` is decoded, every length checked against
//! the bytes that are there; anything unexpected gives `None`, never a
//! panic (the bytes come from the server, and with `tls_verify: false`
//! nothing else has looked at them).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The `notAfter` time of the DER certificate `der`, or `None` when it
/// cannot be read.
pub(crate) fn not_after(der: &[u8]) -> Option<SystemTime> {
    let (certificate, _) = element(der, SEQUENCE)?;
    let (mut tbs, _) = element(certificate, SEQUENCE)?;
    if tbs.first() == Some(&VERSION) {
        tbs = element(tbs, VERSION)?.1;
    }
    let (_serial, rest) = element(tbs, INTEGER)?;
    let (_signature, rest) = element(rest, SEQUENCE)?;
    let (_issuer, rest) = element(rest, SEQUENCE)?;
    let (validity, _) = element(rest, SEQUENCE)?;
    let (_not_before, rest) = any_time(validity)?;
    let (not_after, _) = any_time(rest)?;
    Some(not_after)
}

/// One DER element with tag `tag` at the start of `bytes`: its contents and
/// what follows it.
fn element(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = bytes.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let length = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (digits, after) = rest.split_at(count);
        rest = after;
        digits
            .iter()
            .fold(0usize, |length, &digit| (length << 8) | usize::from(digit))
    };
    if rest.len() < length {
        return None;
    }
    Some(rest.split_at(length))
}

/// A UTCTime or GeneralizedTime at the start of `bytes`, and what follows.
fn any_time(bytes: &[u8]) -> Option<(SystemTime, &[u8])> {
    match *bytes.first()? {
        UTC_TIME => {
            let (text, rest) = element(bytes, UTC_TIME)?;
            // RFC 5280 §4.1.2.5.1: YYMMDDHHMMSSZ, years 50-99 are 19YY.
            let text = text.strip_suffix(b"Z")?;
            if text.len() != 12 {
                return None;
            }
            let yy = digits(&text[..2])?;
            let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
            Some((time(year, &text[2..])?, rest))
        }
        GENERALIZED_TIME => {
            let (text, rest) = element(bytes, GENERALIZED_TIME)?;
            // RFC 5280 §4.1.2.5.2: YYYYMMDDHHMMSSZ.
            let text = text.strip_suffix(b"Z")?;
            if text.len() != 14 {
                return None;
            }
            Some((time(digits(&text[..4])?, &text[4..])?, rest))
        }
        _ => None,
    }
}

/// The time `year` plus MMDDHHMMSS, UTC.
fn time(year: u64, rest: &[u8]) -> Option<SystemTime> {
    let field = |at: usize| digits(&rest[at..at + 2]);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 || year < 1970 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// The decimal number written in ASCII `text`.
fn digits(text: &[u8]) -> Option<u64> {
    text.iter().try_fold(0u64, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + u64::from(byte - b'0'))
    })
}

/// Days from 1970-01-01 to the date (proleptic Gregorian calendar; Howard
/// Hinnant's `days_from_civil`).
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn unix(time: SystemTime) -> u64 {
        time.duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    #[test]
    fn reads_not_after_of_a_generated_certificate() {
        let mut params = rcgen::CertificateParams::new(vec!["www.example.test".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2031, 7, 15);
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        let not_after = not_after(certificate.der()).expect("readable");
        // 2031-07-15T00:00:00Z
        assert_eq!(unix(not_after), 1_941_840_000);
    }

    #[test]
    fn reads_utc_and_generalized_times() {
        let utc = [&[UTC_TIME, 13][..], b"491231235959Z"].concat();
        assert_eq!(unix(any_time(&utc).unwrap().0), 2_524_607_999);
        let utc_1950 = [&[UTC_TIME, 13][..], b"700101000000Z"].concat();
        assert_eq!(unix(any_time(&utc_1950).unwrap().0), 0);
        let generalized = [&[GENERALIZED_TIME, 15][..], b"20500101000000Z"].concat();
        assert_eq!(unix(any_time(&generalized).unwrap().0), 2_524_608_000);
        let leap_day = [&[GENERALIZED_TIME, 15][..], b"20240229120000Z"].concat();
        assert_eq!(unix(any_time(&leap_day).unwrap().0), 1_709_208_000);
    }

    #[test]
    fn refuses_malformed_times_and_lengths() {
        assert!(any_time(&[&[UTC_TIME, 13][..], b"491331235959Z"].concat()).is_none());
        assert!(any_time(&[&[UTC_TIME, 12][..], b"4912312359Z0"].concat()).is_none());
        assert!(element(&[SEQUENCE, 0x84, 0xff, 0xff, 0xff, 0xff], SEQUENCE).is_none());
        assert!(element(&[SEQUENCE, 0x80], SEQUENCE).is_none());
        assert!(element(&[SEQUENCE, 3, 1], SEQUENCE).is_none());
        assert!(not_after(&[]).is_none());
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = not_after(&bytes);
        }

        #[test]
        fn never_panics_on_a_damaged_certificate(flip in 0usize..400, value in any::<u8>()) {
            let key = rcgen::KeyPair::generate().unwrap();
            let params = rcgen::CertificateParams::new(vec!["a.test".into()]).unwrap();
            let mut der = params.self_signed(&key).unwrap().der().to_vec();
            let at = flip % der.len();
            der[at] = value;
            let _ = not_after(&der);
        }
    }
}
