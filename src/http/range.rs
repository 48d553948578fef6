//! Byte ranges (RFC 9110 §14): parsing a `Range` header against a
//! representation's size, with 64-bit offsets throughout.

use crate::http::limits::MAX_RANGES;

/// What a `Range` header asks of a representation of a given size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ranges {
    /// Send the whole representation (no usable Range: invalid syntax,
    /// another unit, too many ranges, or ranges that overlap abusively).
    Whole,
    /// Send these inclusive `(first, last)` byte ranges: sorted, with
    /// overlapping and adjacent ones merged.
    Parts(Vec<(u64, u64)>),
    /// No range overlaps the representation: 416.
    Unsatisfiable,
}

/// Evaluates a `Range` field value for a representation of `size` bytes.
pub(crate) fn evaluate(value: &str, size: u64) -> Ranges {
    let Some(specs) = parse(value) else {
        return Ranges::Whole;
    };
    if specs.len() > MAX_RANGES {
        return Ranges::Whole;
    }
    let mut parts: Vec<(u64, u64)> = specs.into_iter().filter_map(|s| s.within(size)).collect();
    if parts.is_empty() {
        return Ranges::Unsatisfiable;
    }
    // Many ranges asking for more bytes than the file has are an attack
    // (or a confused client); the whole file is the cheaper answer.
    let asked = parts
        .iter()
        .fold(0u64, |sum, (a, b)| sum.saturating_add(b - a + 1));
    if parts.len() > 1 && asked > size {
        return Ranges::Whole;
    }
    parts.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(parts.len());
    for (first, last) in parts {
        match merged.last_mut() {
            Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    Ranges::Parts(merged)
}

/// One range-spec as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Spec {
    /// `first-last` or `first-` (last = None).
    From(u64, Option<u64>),
    /// `-n`: the final n bytes.
    Suffix(u64),
}

impl Spec {
    /// The inclusive byte range this spec selects, clamped to the size, or
    /// `None` when it selects nothing.
    fn within(self, size: u64) -> Option<(u64, u64)> {
        let last_byte = size.checked_sub(1)?;
        match self {
            Spec::From(first, _) if first > last_byte => None,
            Spec::From(first, last) => Some((first, last.map_or(last_byte, |l| l.min(last_byte)))),
            Spec::Suffix(0) => None,
            Spec::Suffix(n) => Some((size - n.min(size), last_byte)),
        }
    }
}

/// Parses `bytes=spec, spec, ...`; `None` when anything is malformed.
fn parse(value: &str) -> Option<Vec<Spec>> {
    let (unit, set) = value.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for spec in set.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (first, last) = spec.split_once('-')?;
        let spec = match (first.trim(), last.trim()) {
            ("", n) => Spec::Suffix(number(n)?),
            (first, "") => Spec::From(number(first)?, None),
            (first, last) => {
                let (first, last) = (number(first)?, number(last)?);
                if last < first {
                    return None;
                }
                Spec::From(first, Some(last))
            }
        };
        specs.push(spec);
    }
    (!specs.is_empty()).then_some(specs)
}

/// 1*DIGIT, saturating at u64::MAX: a larger number still means "to the
/// end" or "beyond the end", never an overflow.
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(value: &str, size: u64) -> Vec<(u64, u64)> {
        match evaluate(value, size) {
            Ranges::Parts(p) => p,
            other => panic!("{value}: {other:?}"),
        }
    }

    #[test]
    fn single_ranges() {
        assert_eq!(parts("bytes=0-9", 100), [(0, 9)]);
        assert_eq!(parts("bytes=90-", 100), [(90, 99)]);
        assert_eq!(parts("bytes=-10", 100), [(90, 99)]);
        assert_eq!(parts("bytes=-1000", 100), [(0, 99)]);
        assert_eq!(parts("bytes=95-200", 100), [(95, 99)]);
        assert_eq!(parts("Bytes = 1-1", 100), [(1, 1)]);
    }

    #[test]
    fn sixty_four_bit_offsets_are_clamped_not_overflowed() {
        let size = 3 << 30;
        assert_eq!(parts("bytes=0-18446744073709551615", size), [(0, size - 1)]);
        assert_eq!(
            parts("bytes=0-99999999999999999999999", size),
            [(0, size - 1)]
        );
        assert_eq!(
            parts("bytes=3221225000-", size),
            [(3_221_225_000, size - 1)]
        );
        assert_eq!(
            evaluate("bytes=99999999999999999999999-", size),
            Ranges::Unsatisfiable
        );
    }

    #[test]
    fn unsatisfiable() {
        assert_eq!(evaluate("bytes=100-", 100), Ranges::Unsatisfiable);
        assert_eq!(
            evaluate("bytes=100-200, 300-400", 100),
            Ranges::Unsatisfiable
        );
        assert_eq!(evaluate("bytes=-0", 100), Ranges::Unsatisfiable);
        assert_eq!(evaluate("bytes=0-", 0), Ranges::Unsatisfiable);
    }

    #[test]
    fn invalid_or_foreign_ranges_are_ignored() {
        for value in [
            "bytes=",
            "bytes=a-b",
            "bytes=5-1",
            "bytes=1-2-3",
            "items=0-1",
            "bytes 0-1",
            "bytes=--1",
            "=0-1",
        ] {
            assert_eq!(evaluate(value, 100), Ranges::Whole, "{value}");
        }
    }

    #[test]
    fn multiple_ranges_are_sorted_and_merged() {
        assert_eq!(parts("bytes=0-9,20-29", 100), [(0, 9), (20, 29)]);
        assert_eq!(parts("bytes=20-29,0-9", 100), [(0, 9), (20, 29)]);
        assert_eq!(parts("bytes=0-9,10-19", 100), [(0, 19)]);
        assert_eq!(parts("bytes=0-9,5-14,-5", 100), [(0, 14), (95, 99)]);
        assert_eq!(parts("bytes=0-9,200-300", 100), [(0, 9)]);
    }

    #[test]
    fn abuse_gets_the_whole_file() {
        let many = format!(
            "bytes={}",
            (0..=MAX_RANGES)
                .map(|i| format!("{i}-{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(evaluate(&many, 1000), Ranges::Whole);
        let at_limit = format!(
            "bytes={}",
            (0..MAX_RANGES)
                .map(|i| format!("{}-{}", i * 2, i * 2))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(parts(&at_limit, 1000).len(), MAX_RANGES);
        assert_eq!(evaluate("bytes=0-99,0-99,0-99", 100), Ranges::Whole);
    }
}
