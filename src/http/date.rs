//! Dates: IMF-fixdate formatting and HTTP-date parsing (RFC 9110 §5.6.7),
//! e.g. `Sun, 06 Nov 1994 08:49:37 GMT`, the log formats (Common Log
//! Format, RFC 3339), and the one per-thread cache that formats a date once
//! a second for responses ([`with_now`]) and log lines ([`with_clf`]).

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of every IMF-fixdate.
#[cfg(test)]
pub(crate) const HTTP_DATE_LEN: usize = 29;

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats seconds since the Unix epoch as an IMF-fixdate.
pub(crate) fn format(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let secs_of_day = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        day,
        MONTHS[(month - 1) as usize],
        year,
        secs_of_day / 3600,
        secs_of_day % 3600 / 60,
        secs_of_day % 60
    )
}

/// Formats seconds since the epoch as in the Common Log Format:
/// `21/Nov/2026:06:01:58 +0000` (always UTC).
pub(crate) fn format_clf(unix_secs: u64) -> String {
    let (year, month, day) = civil_from_days(unix_secs / 86_400);
    let t = unix_secs % 86_400;
    format!(
        "{:02}/{}/{:04}:{:02}:{:02}:{:02} +0000",
        day,
        MONTHS[(month - 1) as usize],
        year,
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// Formats seconds since the epoch and microseconds as RFC 3339 UTC:
/// `2026-11-21T06:01:58.123456Z`.
pub(crate) fn format_rfc3339(unix_secs: u64, micros: u32) -> String {
    let (year, month, day) = civil_from_days(unix_secs / 86_400);
    let t = unix_secs % 86_400;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        year,
        month,
        day,
        t / 3600,
        t % 3600 / 60,
        t % 60,
        micros
    )
}

/// A date formatted from a whole second, kept until the second changes.
///
/// Responses and log lines want the same few dates thousands of times a
/// second: each thread keeps one of these per format (behind [`with_now`]
/// and [`with_clf`]), formats once a second, and otherwise only lends the
/// text out, so a caller that borrows it neither formats nor allocates.
#[derive(Debug)]
struct PerSecond {
    format: fn(u64) -> String,
    /// The second last formatted (`u64::MAX` before the first) and its text.
    formatted: RefCell<(u64, String)>,
}

impl PerSecond {
    /// An empty cache for dates formatted by `format`.
    const fn new(format: fn(u64) -> String) -> PerSecond {
        PerSecond {
            format,
            formatted: RefCell::new((u64::MAX, String::new())),
        }
    }

    /// Calls `use_it` with `secs` formatted, formatting only if the last
    /// call was for another second. `use_it` must not use this same cache.
    fn with<R>(&self, secs: u64, use_it: impl FnOnce(&str) -> R) -> R {
        let mut formatted = self.formatted.borrow_mut();
        if formatted.0 != secs {
            *formatted = (secs, (self.format)(secs));
        }
        use_it(&formatted.1)
    }
}

thread_local! {
    static IMF_NOW: PerSecond = const { PerSecond::new(format) };
    static CLF: PerSecond = const { PerSecond::new(format_clf) };
}

/// Calls `use_it` with the current time as an IMF-fixdate, formatted at
/// most once per second per thread.
pub(crate) fn with_now<R>(use_it: impl FnOnce(&str) -> R) -> R {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    IMF_NOW.with(|cache| cache.with(secs, use_it))
}

/// The current time as an IMF-fixdate, copied out of the per-thread cache
/// that `with_now` lends without copying.
pub fn now() -> String {
    with_now(str::to_owned)
}

/// Calls `use_it` with `secs` in the Common Log Format (see
/// [`format_clf`]), formatted at most once per second per thread.
pub(crate) fn with_clf<R>(secs: u64, use_it: impl FnOnce(&str) -> R) -> R {
    CLF.with(|cache| cache.with(secs, use_it))
}

/// Parses an HTTP-date in any of the three formats recipients must accept
/// (RFC 9110 §5.6.7): IMF-fixdate, RFC 850, and asctime. Returns seconds
/// since the epoch, or `None` for anything else (which callers ignore).
pub(crate) fn parse(text: &str) -> Option<u64> {
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    let (day, month, year, time) = match words.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [wd, day, month, year, time, "GMT"] if wd.ends_with(',') && wd.len() == 4 => {
            (*day, *month, year.parse().ok()?, *time)
        }
        // Sunday, 06-Nov-94 08:49:37 GMT
        [wd, date, time, "GMT"] if wd.ends_with(',') => {
            let mut parts = date.split('-');
            let (day, month, yy) = (parts.next()?, parts.next()?, parts.next()?);
            let yy: u64 = yy.parse().ok().filter(|_| yy.len() == 2)?;
            // RFC 9110: a two-digit year more than 50 years ahead is in the past.
            (
                day,
                month,
                if yy < 70 { 2000 + yy } else { 1900 + yy },
                *time,
            )
        }
        // Sun Nov  6 08:49:37 1994
        [_, month, day, time, year] => (*day, *month, year.parse().ok()?, *time),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let day: u64 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let mut hms = time
        .split(':')
        .map(|p| p.parse::<u64>().ok().filter(|_| p.len() == 2));
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || h > 23 || m > 59 || s > 60 || !(1970..=9999).contains(&year) {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (the inverse of
/// [`civil_from_days`]).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let mp = (month + 9) % 12; // months counted from March
    let day_of_year = (153 * mp + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// Works in 400-year eras of 146,097 days, with years starting in March so
/// the leap day falls at the end.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // shift the epoch to 0000-03-01
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153; // month counted from March
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch() {
        assert_eq!(format(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    }

    #[test]
    fn rfc_example() {
        assert_eq!(format(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn leap_day_and_century() {
        assert_eq!(format(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(format(4_107_542_399), "Sun, 28 Feb 2100 23:59:59 GMT");
        assert_eq!(format(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
    }

    #[test]
    fn length_is_fixed() {
        for t in [0, 1, 999_999_999, 2_000_000_000, 253_402_300_799] {
            assert_eq!(format(t).len(), HTTP_DATE_LEN, "{t}");
        }
    }

    #[test]
    fn log_formats() {
        assert_eq!(format_clf(784_111_777), "06/Nov/1994:08:49:37 +0000");
        assert_eq!(
            format_rfc3339(784_111_777, 42),
            "1994-11-06T08:49:37.000042Z"
        );
    }

    #[test]
    fn parses_all_three_formats() {
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), Some(784_111_777));
        assert_eq!(parse("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse("Tue, 29 Feb 2000 00:00:00 GMT"), Some(951_782_400));
    }

    #[test]
    fn round_trips() {
        for t in [
            0,
            784_111_777,
            951_782_400,
            1_700_000_000,
            4_107_542_400,
            253_402_300_799,
        ] {
            assert_eq!(parse(&format(t)), Some(t));
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37:00 GMT",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn per_second_formats_once_a_second() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        fn counted(secs: u64) -> String {
            CALLS.fetch_add(1, Ordering::Relaxed);
            format(secs)
        }
        let cache = PerSecond::new(counted);
        for _ in 0..3 {
            cache.with(784_111_777, |d| {
                assert_eq!(d, "Sun, 06 Nov 1994 08:49:37 GMT")
            });
        }
        assert_eq!(CALLS.load(Ordering::Relaxed), 1);
        cache.with(784_111_778, |d| assert!(d.ends_with("08:49:38 GMT")));
        assert_eq!(CALLS.load(Ordering::Relaxed), 2);
        with_clf(784_111_777, |d| assert_eq!(d, "06/Nov/1994:08:49:37 +0000"));
    }

    #[test]
    fn now_is_well_formed() {
        let s = now();
        assert_eq!(s.len(), HTTP_DATE_LEN);
        assert!(s.ends_with(" GMT"));
    }
}
