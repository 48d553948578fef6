//! What staticd reads from a certificate itself: its validity period, so
//! that it can warn at start-up about a certificate that has expired or is
//! not valid yet (clients would refuse every handshake, and the operator
//! had better read why in staticd's log than in a browser's), export its
//! end as a metric and schedule an ACME renewal; and the names it covers.
//!
//! The DER is read by `x509-parser`; nothing else is checked here, since
//! rustls and webpki judge the certificate itself. A certificate it cannot
//! read only goes without the warning.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::http::date;

/// How long before its end a certificate is warned about: two weeks, time
/// enough to renew by hand when automatic renewal has silently failed.
pub(crate) const EXPIRES_SOON: Duration = Duration::from_secs(14 * 86_400);

/// A certificate's `notBefore` and `notAfter` in Unix seconds (negative
/// before 1970, which a GeneralizedTime can state).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Validity {
    pub not_before: i64,
    pub not_after: i64,
}

/// The validity period of the certificate `der`, which must fill it
/// exactly; `None` when it is not a certificate.
pub(crate) fn validity(der: &[u8]) -> Option<Validity> {
    let (rest, cert) = X509Certificate::from_der(der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let period = cert.validity();
    Some(Validity {
        not_before: period.not_before.timestamp(),
        not_after: period.not_after.timestamp(),
    })
}

/// The DNS names of the certificate's subject alternative names (what
/// an ACME certificate is for), `None` when it cannot be read.
pub(crate) fn dns_names(der: &[u8]) -> Option<Vec<String>> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let Ok(Some(names)) = cert.subject_alternative_name() else {
        return Some(Vec::new());
    };
    let dns = names
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(name) => Some(name.to_ascii_lowercase()),
            _ => None,
        });
    Some(dns.collect())
}

/// The one line to log when the certificate is not valid at `now`
/// (expired, or not valid yet) or ends within [`EXPIRES_SOON`]. `None`
/// while it is valid for longer (both ends are included, RFC 5280
/// §4.1.2.5) or when it cannot be read.
pub(crate) fn warning(der: &[u8], now: SystemTime) -> Option<String> {
    let Validity {
        not_before,
        not_after,
    } = validity(der)?;
    let now = unix(now);
    if now > not_after {
        Some(format!("certificate expired on {}", utc(not_after)))
    } else if now < not_before {
        Some(format!(
            "certificate is not valid until {}",
            utc(not_before)
        ))
    } else if not_after - now < EXPIRES_SOON.as_secs() as i64 {
        let days = (not_after - now) / 86_400;
        Some(format!(
            "certificate expires on {}, in {days} days",
            utc(not_after)
        ))
    } else {
        None
    }
}

/// `time` in Unix seconds, negative before 1970.
fn unix(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// A date and time as the warning shows it, `2026-12-07 09:30:00 UTC`
/// (1970 at the earliest: a certificate ending before then is only
/// shown as 1970).
pub(crate) fn utc(secs: i64) -> String {
    let text = date::format_rfc3339(u64::try_from(secs).unwrap_or(0), 0);
    format!("{} {} UTC", &text[..10], &text[11..19])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A self-signed certificate valid from `not_before` to `not_after`
    /// (Unix seconds), as DER.
    fn certificate(not_before: i64, not_after: i64) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["example.test".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(1970, 1, 1) + time_offset(not_before);
        params.not_after = rcgen::date_time_ymd(1970, 1, 1) + time_offset(not_after);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn time_offset(secs: i64) -> std::time::Duration {
        Duration::from_secs(secs.unsigned_abs())
    }

    const DAY: i64 = 86_400;
    /// 2026-12-07 00:00:00 UTC.
    const NOW: i64 = 1_796_601_600;

    fn at(secs: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    }

    #[test]
    fn the_period_is_read_to_the_second() {
        let der = certificate(NOW - DAY + 7, NOW + 90 * DAY + 59);
        assert_eq!(
            validity(&der),
            Some(Validity {
                not_before: NOW - DAY + 7,
                not_after: NOW + 90 * DAY + 59,
            })
        );
    }

    #[test]
    fn the_warning_names_the_date_that_is_passed() {
        let der = certificate(NOW - 10 * DAY, NOW + 30 * DAY);
        assert_eq!(warning(&der, at(NOW)), None);
        assert_eq!(
            warning(&der, at(NOW + 30 * DAY)),
            Some("certificate expires on 2027-01-06 00:00:00 UTC, in 0 days".to_owned())
        );
        assert_eq!(
            warning(&der, at(NOW + 20 * DAY)),
            Some("certificate expires on 2027-01-06 00:00:00 UTC, in 10 days".to_owned())
        );
        assert_eq!(
            warning(&der, at(NOW + 30 * DAY + 1)),
            Some("certificate expired on 2027-01-06 00:00:00 UTC".to_owned())
        );
        assert_eq!(
            warning(&der, at(NOW - 10 * DAY - 1)),
            Some("certificate is not valid until 2026-11-27 00:00:00 UTC".to_owned())
        );
        assert_eq!(warning(&der, at(NOW - 10 * DAY)), None);
    }

    #[test]
    fn the_dns_names_are_read_in_lower_case() {
        let made =
            rcgen::generate_simple_self_signed(vec!["A.test".into(), "b.test".into()]).unwrap();
        assert_eq!(
            dns_names(made.cert.der()),
            Some(vec!["a.test".to_owned(), "b.test".to_owned()])
        );
        assert_eq!(dns_names(b"junk"), None);
    }

    #[test]
    fn every_prefix_and_corruption_of_a_real_certificate_is_harmless() {
        let der = certificate(NOW, NOW + DAY);
        for end in 0..der.len() {
            assert_eq!(validity(&der[..end]), None, "prefix of {end} bytes");
        }
        let mut extra = der.clone();
        extra.push(0);
        assert_eq!(validity(&extra), None, "a trailing byte");
        for at in 0..der.len() {
            let mut corrupt = der.clone();
            corrupt[at] ^= 0xff;
            let _ = validity(&corrupt);
            let _ = warning(&corrupt, SystemTime::now());
        }
    }
}
