//! A certificate's validity period, read straight from its DER, so that
//! staticd can warn at start-up about a certificate that has expired or is
//! not valid yet: clients would refuse every handshake, and the operator
//! had better read why in staticd's log than in a browser's.
//!
//! Only the path to `validity` is read (RFC 5280 §4.1: `Certificate →
//! tbsCertificate → [0] version (optional), serialNumber, signature,
//! issuer, validity { notBefore, notAfter }`); nothing else is checked,
//! since rustls and webpki judge the certificate itself. The reader never
//! panics and never slices out of bounds: anything it does not expect is
//! `None`, and a certificate it cannot read only goes without the warning.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::serve::tls::der::{element, take};

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
/// `[0] EXPLICIT Version`, context-specific and constructed.
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The certificate's `notBefore` and `notAfter`, or `None` when `der` is
/// not a DER certificate this reader can follow.
pub(crate) fn validity(der: &[u8]) -> Option<(SystemTime, SystemTime)> {
    let (not_before, not_after) = dates(der)?;
    Some((not_before.system_time()?, not_after.system_time()?))
}

/// How long before its end a certificate is warned about: two weeks, time
/// enough to renew by hand when automatic renewal has silently failed.
pub(crate) const EXPIRES_SOON: Duration = Duration::from_secs(14 * 86_400);

/// The one line to log when the certificate is not valid at `now`
/// (expired, or not valid yet) or ends within [`EXPIRES_SOON`]. `None`
/// while it is valid for longer (both ends are included, RFC 5280
/// §4.1.2.5) or when it cannot be read.
pub(crate) fn warning(der: &[u8], now: SystemTime) -> Option<String> {
    let (not_before, not_after) = dates(der)?;
    let end = not_after.system_time()?;
    let left = end.duration_since(now).unwrap_or_default();
    if now > end {
        Some(format!("certificate expired on {not_after}"))
    } else if now < not_before.system_time()? {
        Some(format!("certificate is not valid until {not_before}"))
    } else if left < EXPIRES_SOON {
        let days = left.as_secs() / 86_400;
        Some(format!(
            "certificate expires on {not_after}, in {days} days"
        ))
    } else {
        None
    }
}

/// A date and time in UTC as a certificate states it, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateTime {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
}

impl DateTime {
    /// The same instant as a `SystemTime` (dates from 1950 on, and
    /// GeneralizedTime's from year 0, are all representable on Unix).
    fn system_time(self) -> Option<SystemTime> {
        let days = days_from_civil(self.year, self.month, self.day);
        let secs = days * 86_400 + self.hour * 3_600 + self.minute * 60 + self.second;
        let magnitude = Duration::from_secs(secs.unsigned_abs());
        if secs >= 0 {
            UNIX_EPOCH.checked_add(magnitude)
        } else {
            UNIX_EPOCH.checked_sub(magnitude)
        }
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        } = self;
        write!(
            f,
            "{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02} UTC"
        )
    }
}

/// Follows `Certificate → tbsCertificate → validity` and reads its two
/// times. The certificate must fill `der` exactly.
fn dates(der: &[u8]) -> Option<(DateTime, DateTime)> {
    let (certificate, rest) = take(der, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let (mut fields, _signature) = take(certificate, SEQUENCE)?;
    if fields.first() == Some(&VERSION) {
        (_, fields) = take(fields, VERSION)?;
    }
    let (_serial, fields) = take(fields, INTEGER)?;
    let (_signature_algorithm, fields) = take(fields, SEQUENCE)?;
    let (_issuer, fields) = take(fields, SEQUENCE)?;
    let (validity, _) = take(fields, SEQUENCE)?;
    let (not_before, rest) = time(validity)?;
    let (not_after, rest) = time(rest)?;
    rest.is_empty().then_some((not_before, not_after))
}

/// A `Time` (RFC 5280 §4.1.2.5): UTCTime `YYMMDDHHMMSSZ`, its years 50 to
/// 99 being 19xx and 00 to 49 20xx, or GeneralizedTime `YYYYMMDDHHMMSSZ`;
/// both in UTC with whole seconds, as DER requires.
fn time(input: &[u8]) -> Option<(DateTime, &[u8])> {
    let (tag, contents, rest) = element(input)?;
    let (year, digits) = match tag {
        UTC_TIME => {
            let (yy, digits) = contents.split_at_checked(2)?;
            let yy = number(yy)?;
            (if yy < 50 { 2000 + yy } else { 1900 + yy }, digits)
        }
        GENERALIZED_TIME => {
            let (yyyy, digits) = contents.split_at_checked(4)?;
            (number(yyyy)?, digits)
        }
        _ => return None,
    };
    let [mo1, mo2, d1, d2, h1, h2, mi1, mi2, s1, s2, b'Z'] = *digits else {
        return None;
    };
    let date = DateTime {
        year,
        month: number(&[mo1, mo2])?,
        day: number(&[d1, d2])?,
        hour: number(&[h1, h2])?,
        minute: number(&[mi1, mi2])?,
        second: number(&[s1, s2])?,
    };
    let valid = (1..=12).contains(&date.month)
        && (1..=days_in_month(date.year, date.month)).contains(&date.day)
        && date.hour <= 23
        && date.minute <= 59
        && date.second <= 59;
    valid.then_some((date, rest))
}

/// Decimal digits, and nothing else, as a number.
fn number(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0, |n, &d| {
        d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, negative before
/// it (certificates may say 1950; `http::date` only needs 1970 on).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let mp = (month + 9) % 12; // months counted from March
    let day_of_year = (153 * mp + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, KeyPair, date_time_ymd};

    use super::*;

    /// A date as `(year, month, day, seconds into the day)`.
    type Date = (i32, u8, u8, u64);

    /// The instant of `date`, computed without this module's arithmetic.
    fn instant(date: Date) -> SystemTime {
        let (y, m, d, secs) = date;
        let unix = (date_time_ymd(y, m, d) + Duration::from_secs(secs)).unix_timestamp();
        let magnitude = Duration::from_secs(unix.unsigned_abs());
        if unix >= 0 {
            UNIX_EPOCH + magnitude
        } else {
            UNIX_EPOCH - magnitude
        }
    }

    /// A self-signed certificate valid from `not_before` to `not_after`.
    /// rcgen writes years 1950 to 2049 as UTCTime, the others as
    /// GeneralizedTime, as RFC 5280 asks.
    fn certificate(not_before: Date, not_after: Date) -> Vec<u8> {
        let mut params = CertificateParams::new(vec!["example.test".to_owned()]).unwrap();
        let at = |(y, m, d, secs): Date| date_time_ymd(y, m, d) + Duration::from_secs(secs);
        params.not_before = at(not_before);
        params.not_after = at(not_after);
        let key = KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    /// A DER element with a short or long length.
    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match u8::try_from(contents.len()) {
            Ok(len) if len < 0x80 => out.push(len),
            _ => {
                let len = u16::try_from(contents.len()).unwrap();
                out.push(0x82);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        out.extend_from_slice(contents);
        out
    }

    /// A version 1 certificate (no `[0]` version), with `validity` as its
    /// validity's contents and an empty issuer and signature.
    fn v1_certificate(validity: &[u8]) -> Vec<u8> {
        let tbs = [
            tlv(INTEGER, &[1]),
            tlv(SEQUENCE, &[]),
            tlv(SEQUENCE, &[]),
            tlv(SEQUENCE, validity),
        ]
        .concat();
        tlv(
            SEQUENCE,
            &[tlv(SEQUENCE, &tbs), tlv(SEQUENCE, &[])].concat(),
        )
    }

    fn times(not_before: (u8, &str), not_after: (u8, &str)) -> Vec<u8> {
        [
            tlv(not_before.0, not_before.1.as_bytes()),
            tlv(not_after.0, not_after.1.as_bytes()),
        ]
        .concat()
    }

    #[test]
    fn utc_times_are_read_to_the_second() {
        let (from, to) = ((2020, 2, 29, 1), (2049, 12, 31, 86_399));
        let der = certificate(from, to);
        assert_eq!(validity(&der), Some((instant(from), instant(to))));
        let (from, to) = ((1950, 1, 1, 0), (1999, 7, 14, 3_723));
        let der = certificate(from, to);
        assert_eq!(validity(&der), Some((instant(from), instant(to))));
    }

    #[test]
    fn generalized_times_are_read_beyond_2049_and_before_1950() {
        let (from, to) = ((1949, 12, 31, 86_399), (2050, 1, 1, 0));
        let der = certificate(from, to);
        assert_eq!(validity(&der), Some((instant(from), instant(to))));
        let (from, to) = ((2024, 3, 1, 0), (9999, 12, 31, 86_399));
        let der = certificate(from, to);
        assert_eq!(validity(&der), Some((instant(from), instant(to))));
    }

    #[test]
    fn the_warning_names_the_date_that_is_passed() {
        let der = certificate((2025, 1, 1, 0), (2026, 1, 1, 0));
        let at = |date| warning(&der, instant(date));
        assert_eq!(at((2025, 6, 1, 0)), None);
        assert_eq!(at((2025, 1, 1, 0)), None, "notBefore is included");
        assert_eq!(
            at((2026, 1, 1, 0)).as_deref(),
            Some("certificate expires on 2026-01-01 00:00:00 UTC, in 0 days"),
            "notAfter is included"
        );
        assert_eq!(at((2025, 12, 18, 0)), None, "14 days left: not yet soon");
        assert_eq!(
            at((2025, 12, 18, 1)).as_deref(),
            Some("certificate expires on 2026-01-01 00:00:00 UTC, in 13 days")
        );
        assert_eq!(
            at((2026, 1, 1, 1)).as_deref(),
            Some("certificate expired on 2026-01-01 00:00:00 UTC")
        );
        assert_eq!(
            at((2024, 12, 31, 86_399)).as_deref(),
            Some("certificate is not valid until 2025-01-01 00:00:00 UTC")
        );
        let far = certificate((2030, 5, 6, 7 * 3_600 + 8 * 60 + 9), (2100, 2, 28, 0));
        assert_eq!(
            warning(&far, instant((2101, 1, 1, 0))).as_deref(),
            Some("certificate expired on 2100-02-28 00:00:00 UTC")
        );
        assert_eq!(
            warning(&far, UNIX_EPOCH).as_deref(),
            Some("certificate is not valid until 2030-05-06 07:08:09 UTC")
        );
    }

    #[test]
    fn two_digit_years_pivot_at_50_and_the_version_is_optional() {
        let der = v1_certificate(&times(
            (UTC_TIME, "500101000000Z"),
            (UTC_TIME, "491231235959Z"),
        ));
        let expected = (instant((1950, 1, 1, 0)), instant((2049, 12, 31, 86_399)));
        assert_eq!(validity(&der), Some(expected));
        let der = v1_certificate(&times(
            (UTC_TIME, "700101000000Z"),
            (GENERALIZED_TIME, "20500101000000Z"),
        ));
        assert_eq!(validity(&der).unwrap().0, UNIX_EPOCH);
    }

    #[test]
    fn times_other_than_the_der_forms_are_refused() {
        for bad in [
            (UTC_TIME, "2501010000Z"),       // no seconds
            (UTC_TIME, "250101000000"),      // no Z
            (UTC_TIME, "250101000000+0100"), // an offset
            (UTC_TIME, "251301000000Z"),     // month 13
            (UTC_TIME, "250230000000Z"),     // 30 February
            (UTC_TIME, "230229000000Z"),     // 29 February, not a leap year
            (UTC_TIME, "250101240000Z"),     // hour 24
            (UTC_TIME, "250101006000Z"),     // minute 60
            (UTC_TIME, "250101000060Z"),     // a leap second
            (UTC_TIME, "25-101000000Z"),
            (GENERALIZED_TIME, "20250101000000.5Z"),
            (GENERALIZED_TIME, "250101000000Z"),
            (INTEGER, "250101000000Z"),
        ] {
            let der = v1_certificate(&times(bad, (UTC_TIME, "300101000000Z")));
            assert_eq!(validity(&der), None, "{bad:?}");
        }
        let good = times((UTC_TIME, "240229000000Z"), (UTC_TIME, "300101000000Z"));
        assert!(validity(&v1_certificate(&good)).is_some());
    }

    #[test]
    fn odd_structure_is_refused() {
        let good = times((UTC_TIME, "250101000000Z"), (UTC_TIME, "300101000000Z"));
        let mut trailing = v1_certificate(&good);
        trailing.push(0);
        assert_eq!(validity(&trailing), None);
        let mut three = good.clone();
        three.extend(tlv(UTC_TIME, b"300101000000Z"));
        assert_eq!(validity(&v1_certificate(&three)), None);
        let mut indefinite = v1_certificate(&good);
        indefinite[1] = 0x80;
        assert_eq!(validity(&indefinite), None);
        let huge = [SEQUENCE, 0x84, 0xff, 0xff, 0xff, 0xff, SEQUENCE];
        assert_eq!(validity(&huge), None);
    }

    #[test]
    fn every_prefix_and_corruption_of_a_real_certificate_is_harmless() {
        let (from, to) = ((2020, 1, 1, 0), (2030, 1, 1, 0));
        let der = certificate(from, to);
        let expected = Some((instant(from), instant(to)));
        assert_eq!(validity(&der), expected);
        for len in 0..der.len() {
            // Never a wrong value; and in fact never a value, since the
            // outer length always runs past a prefix.
            let prefix = &der[..len];
            assert_eq!(validity(prefix), None, "{len}");
            assert_eq!(warning(prefix, UNIX_EPOCH), None);
        }
        for at in 0..der.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut bent = der.clone();
                bent[at] ^= flip;
                let _ = validity(&bent);
                let _ = warning(&bent, UNIX_EPOCH);
            }
        }
    }

    #[test]
    fn garbage_of_every_length_is_none() {
        let der = certificate((2020, 1, 1, 0), (2030, 1, 1, 0));
        // A fixed xorshift sequence: the same bytes on every run.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut garbage = Vec::with_capacity(der.len());
        for len in 0..=der.len() {
            assert_eq!(validity(&garbage), None, "{len}");
            let mut headed = vec![SEQUENCE, 0x82];
            headed.extend_from_slice(&garbage);
            assert_eq!(validity(&headed), None, "{len}");
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            garbage.push(state as u8);
        }
    }
}
