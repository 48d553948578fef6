//! When to order: the renewal window of a certificate, the moment in it a
//! renewal starts, and how long to wait after a failure. Pure: times are
//! Unix seconds and durations passed in, so tests drive the clock.

use std::time::Duration;

use crate::serve::limits::{ACME_BACKOFF_CAP_WITH, ACME_BACKOFF_CAP_WITHOUT, ACME_FIRST_BACKOFF};
use crate::serve::tls::x509::Validity;

/// The length of the renewal window: `renew_before` when given, else a
/// third of the certificate's lifetime (certbot's and Caddy's rule); never
/// more than half the lifetime, so that a certificate just issued is
/// never due at once (which would renew it again and again).
pub(crate) fn window(validity: Validity, renew_before: Option<Duration>) -> i64 {
    let lifetime = (validity.not_after - validity.not_before).max(0);
    let asked = renew_before.map_or(lifetime / 3, |d| {
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
    });
    asked.min(lifetime / 2)
}

/// Whether a certificate is due for renewal at `now`: inside its window
/// (or expired).
pub(crate) fn due(validity: Validity, renew_before: Option<Duration>, now: i64) -> bool {
    now >= validity.not_after - window(validity, renew_before)
}

/// When the renewal of a certificate starts: at a point `jitter` (0 to 1)
/// of the way through the first tenth of its window, so that servers
/// started together do not reach the CA together, and never later.
pub(crate) fn renew_at(validity: Validity, renew_before: Option<Duration>, jitter: f64) -> i64 {
    let window = window(validity, renew_before);
    let spread = (window as f64 / 10.0 * jitter.clamp(0.0, 1.0)) as i64;
    validity.not_after - window + spread
}

/// The wait after each failed attempt: from [`ACME_FIRST_BACKOFF`],
/// doubled each time, capped lower while no certificate is held (the site
/// is down over HTTPS) than while one is; a CA's `Retry-After` is waited
/// out when longer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            next: ACME_FIRST_BACKOFF,
        }
    }
}

impl Backoff {
    /// How long to wait after this failure.
    pub(crate) fn failed(&mut self, holding: bool, retry_after: Option<Duration>) -> Duration {
        let cap = if holding {
            ACME_BACKOFF_CAP_WITH
        } else {
            ACME_BACKOFF_CAP_WITHOUT
        };
        let wait = self.next.min(cap);
        self.next = (self.next * 2).min(cap);
        retry_after.map_or(wait, |asked| asked.max(wait))
    }

    /// After a success, the next failure starts over.
    pub(crate) fn reset(&mut self) {
        *self = Backoff::default();
    }
}

/// Now, in Unix seconds: the one clock reading the task's decisions
/// start from.
pub(crate) fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A number from 0 to 1, different in every process and call: the
/// jitter of [`renew_at`].
pub(crate) fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn ninety_days() -> Validity {
        Validity {
            not_before: 1_000 * DAY,
            not_after: 1_090 * DAY,
        }
    }

    #[test]
    fn the_window_is_a_third_of_the_lifetime_unless_asked_and_at_most_half() {
        let v = ninety_days();
        assert_eq!(window(v, None), 30 * DAY);
        assert_eq!(
            window(v, Some(Duration::from_secs(10 * DAY as u64))),
            10 * DAY
        );
        assert_eq!(
            window(v, Some(Duration::from_secs(400 * DAY as u64))),
            45 * DAY
        );
        assert!(!due(v, None, 1_060 * DAY - 1));
        assert!(due(v, None, 1_060 * DAY));
        assert!(due(v, None, 2_000 * DAY), "expired");
        let longest = Some(Duration::from_secs(u64::MAX));
        assert!(!due(v, longest, 1_000 * DAY), "just issued is never due");
        assert!(due(v, longest, 1_045 * DAY));
    }

    #[test]
    fn renewal_starts_in_the_first_tenth_of_the_window_never_later() {
        let v = ninety_days();
        assert_eq!(renew_at(v, None, 0.0), 1_060 * DAY);
        assert_eq!(renew_at(v, None, 1.0), 1_063 * DAY);
        assert_eq!(renew_at(v, None, 7.0), 1_063 * DAY, "clamped");
        for _ in 0..1_000 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
            let at = renew_at(v, None, j);
            assert!((1_060 * DAY..=1_063 * DAY).contains(&at));
        }
        let a: Vec<u64> = (0..8).map(|_| (jitter() * 1e9) as u64).collect();
        assert!(
            a.windows(2).any(|w| w[0] != w[1]),
            "not one fixed value: {a:?}"
        );
    }

    #[test]
    fn backoff_doubles_from_a_second_to_its_cap_and_honours_retry_after() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..12).map(|_| b.failed(false, None).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..14).map(|_| b.failed(true, None).as_secs()).collect();
        assert_eq!(&waits[10..], [1024, 2048, 3600, 3600]);
        b.reset();
        assert_eq!(b.failed(true, None), Duration::from_secs(1));
        let asked = Some(Duration::from_secs(90));
        assert_eq!(
            b.failed(true, asked),
            Duration::from_secs(90),
            "rate limited"
        );
        assert_eq!(b.failed(true, Some(Duration::ZERO)), Duration::from_secs(4));
    }
}
