//! The compression options: `--compress`, `--compress-types`,
//! `--compress-min`, `--compress-cache` (see [`crate::site::compress`]).
//! Sizes take a unit (`1k`, `64M`, `1KiB`; binary either way) or none
//! (bytes).

use clap::Args;

use crate::site::compress::CompressOptions;
use crate::site::compress::types::TypePattern;

use super::defaults;
use super::values::Switch;

/// The largest `--compress-cache`: more than any machine this runs on
/// should spend on it, and far from overflow.
pub(crate) const MAX_COMPRESS_CACHE: u64 = 64 * 1024 * 1024 * 1024;

/// `--compress` and its settings.
#[derive(Debug, Clone, Args)]
pub struct CompressArgs {
    /// Compress text-like files on the fly (br, zstd, gzip), once per file, for clients that accept it
    #[arg(long, env = "STATICD_COMPRESS", value_enum, default_value_t = Switch::from(defaults::site().compress.enabled),
          value_name = "MODE", help_heading = "HTTP")]
    pub compress: Switch,

    /// Content types compressed on the fly: type/subtype, type/* or type/*+suffix, comma-separated
    #[arg(long, env = "STATICD_COMPRESS_TYPES", value_name = "TYPES", value_delimiter = ',',
          value_parser = TypePattern::parse, default_values_t = defaults::site().compress.types.clone(),
          hide_default_value = true, help_heading = "HTTP")]
    pub compress_types: Vec<TypePattern>,

    /// Files smaller than this are sent as they are
    #[arg(long, env = "STATICD_COMPRESS_MIN", value_name = "SIZE", default_value = defaults::size(defaults::site().compress.min),
          value_parser = parse_size, help_heading = "HTTP")]
    pub compress_min: u64,

    /// Memory kept for compressed files (least recently used dropped first)
    #[arg(long, env = "STATICD_COMPRESS_CACHE", value_name = "SIZE", default_value = defaults::size(defaults::site().compress.cache_bytes as u64),
          value_parser = parse_cache_size, help_heading = "HTTP")]
    pub compress_cache: u64,
}

impl CompressArgs {
    /// What the site is told.
    pub fn options(&self) -> CompressOptions {
        CompressOptions {
            enabled: self.compress == Switch::On,
            types: self.compress_types.clone(),
            min: self.compress_min,
            cache_bytes: usize::try_from(self.compress_cache).unwrap_or(usize::MAX),
        }
    }
}

/// A size: digits, then optionally `k`, `m`, `g` (or `KiB`, `MiB`, `GiB`,
/// any case), all binary.
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("'{text}' is not a size (e.g. 512, 1k, 64M, 1GiB)");
    let trimmed = text.trim();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = trimmed.split_at(digits);
    let number: u64 = number.parse().map_err(|_| bad())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        _ => return Err(bad()),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// A `--compress-cache` size, at most [`MAX_COMPRESS_CACHE`].
fn parse_cache_size(text: &str) -> Result<u64, String> {
    let size = parse_size(text)?;
    if size > MAX_COMPRESS_CACHE {
        return Err(format!("'{text}' is more than the 64G this may use"));
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("1k"), Ok(1024));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("2g"), Ok(2 << 30));
        for bad in ["", "k", "1.5k", "-1", "1 x", "1kb", "1T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert!(parse_size("99999999999999999999g").is_err());
        assert!(parse_size("17179869184g").is_err(), "overflows");
        assert!(parse_cache_size("65G").is_err());
        assert_eq!(parse_cache_size("64G"), Ok(MAX_COMPRESS_CACHE));
    }
}
