//! The command line's defaults, read from the layers' own `Default`s
//! ([`serve::Options`], [`site::Options`] and what they hold) and written
//! in the syntax the option parsers read back. The layers are the one
//! place a default is written: `--help`, `--print-config` and a library
//! user's `Options::default()` show the same values (a test compares the
//! three).

use std::sync::LazyLock;
use std::time::Duration;

use crate::{serve, site};

/// The serving layer's defaults, with the site's inside; made once.
pub(super) static SERVE: LazyLock<serve::Options> = LazyLock::new(serve::Options::default);

/// The automatic HTTPS defaults (ACME is off until a domain is given).
static ACME: LazyLock<serve::AcmeOptions> = LazyLock::new(serve::AcmeOptions::default);

pub(super) fn acme() -> &'static serve::AcmeOptions {
    &ACME
}

/// The site's defaults.
pub(super) fn site() -> &'static site::Options {
    &SERVE.site
}

/// A duration as `--header-timeout` and its kind read it: whole minutes
/// as `2m`, whole seconds as `10s`, else milliseconds.
pub(super) fn duration(d: Duration) -> String {
    let millis = d.as_millis();
    match millis {
        m if m > 0 && m % 60_000 == 0 => format!("{}m", m / 60_000),
        m if m % 1_000 == 0 => format!("{}s", m / 1_000),
        m => format!("{m}ms"),
    }
}

/// A size as `--compress-min` and its kind read it: the largest binary
/// unit that divides it (`1k`, `64M`), else bytes.
pub(super) fn size(bytes: u64) -> String {
    [(30, "G"), (20, "M"), (10, "k")]
        .iter()
        .find(|(shift, _)| bytes > 0 && bytes % (1 << shift) == 0)
        .map_or_else(
            || bytes.to_string(),
            |(shift, unit)| format!("{}{unit}", bytes >> shift),
        )
}

#[cfg(test)]
mod tests {
    //! The renderings read back as the values they render.
    use super::*;
    use crate::config::compress::parse_size;
    use crate::config::parse_duration;

    #[test]
    fn durations_and_sizes_read_back() {
        for d in [0, 1, 500, 1_000, 10_000, 60_000, 90_000, 120_000] {
            let d = Duration::from_millis(d);
            assert_eq!(parse_duration(&duration(d)), Ok(d), "{}", duration(d));
        }
        assert_eq!(duration(Duration::from_secs(10)), "10s");
        assert_eq!(duration(Duration::from_secs(120)), "2m");
        for n in [0, 1, 1000, 1024, 1536, 64 << 20, 3 << 30] {
            assert_eq!(parse_size(&size(n)), Ok(n), "{}", size(n));
        }
        assert_eq!(
            (size(1024).as_str(), size(64 << 20).as_str()),
            ("1k", "64M")
        );
    }
}
