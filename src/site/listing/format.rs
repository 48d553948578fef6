//! How sizes and times read in the HTML listing: `13.1 KiB` and
//! `2026-12-02 15:04` (UTC), short enough for a phone's width.

const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];

/// A size in binary units: exact bytes below 1 KiB, else one decimal in
/// the largest unit that keeps the number at least 1 (`1.0 KiB`,
/// `13.1 KiB`), rounded half up in integers so a size never reads as
/// `1024.0 KiB`.
pub(super) fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit = 0;
    while unit + 1 < UNITS.len() && bytes >= 1u64 << (10 * (unit + 2)) {
        unit += 1;
    }
    let mut tenths = rounded_tenths(bytes, unit);
    if tenths >= 10_240 && unit + 1 < UNITS.len() {
        unit += 1;
        tenths = rounded_tenths(bytes, unit);
    }
    format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[unit])
}

/// `bytes` in tenths of `UNITS[unit]`, rounded half up.
fn rounded_tenths(bytes: u64, unit: usize) -> u128 {
    let divisor = 1u128 << (10 * (unit + 1));
    (u128::from(bytes) * 10 + divisor / 2) / divisor
}

/// A modification time as shown (`2026-12-02 15:04`) and as machine
/// readable RFC 3339 for `<time datetime>` (`2026-12-02T15:04:05Z`), both
/// UTC: the server cannot know the reader's time zone.
pub(super) fn short_date(unix_secs: u64) -> (String, String) {
    let full = crate::http::date::format_rfc3339(unix_secs, 0);
    // `YYYY-MM-DDTHH:MM:SS.ffffffZ`; the year may have more digits.
    let (date, time) = full.split_once('T').unwrap_or((&full, "00:00:00"));
    let hh_mm = time.get(..5).unwrap_or(time);
    let hh_mm_ss = time.get(..8).unwrap_or(time);
    (format!("{date} {hh_mm}"), format!("{date}T{hh_mm_ss}Z"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_at_the_unit_boundaries() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1), "1 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1535), "1.5 KiB");
        assert_eq!(human_size(13_414), "13.1 KiB");
        assert_eq!(human_size(1024 * 1024 - 1), "1.0 MiB", "not 1024.0 KiB");
        assert_eq!(human_size(1024 * 1024), "1.0 MiB");
        assert_eq!(human_size(5 * 1024 * 1024 + 300 * 1024), "5.3 MiB");
        assert_eq!(human_size(1 << 30), "1.0 GiB");
        assert_eq!(human_size((1 << 30) * 3 / 2), "1.5 GiB");
        assert_eq!(human_size(1 << 40), "1.0 TiB");
        assert_eq!(human_size(1 << 50), "1024.0 TiB", "TiB is the largest unit");
        assert_eq!(human_size(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn dates_are_short_and_utc() {
        assert_eq!(
            short_date(1_700_000_000),
            (
                "2023-11-14 22:13".to_owned(),
                "2023-11-14T22:13:20Z".to_owned()
            )
        );
        assert_eq!(short_date(0).0, "1970-01-01 00:00");
        let (shown, machine) = short_date(u64::MAX / 4);
        assert!(shown.contains(' ') && machine.ends_with('Z'), "{shown}");
    }
}
