//! Validators and conditional requests (RFC 9110 §8.8 and §13).
//!
//! Every file gets a strong ETag built from its inode, size and
//! modification time in nanoseconds, so any change visible to `stat`
//! changes it; a listing, one hashed from its bytes. Evaluation follows
//! the precedence of §13.2.2. The precondition fields themselves are read
//! by the wire format ([`Conditions`], re-exported here).

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

use crate::http::date;

pub(crate) use crate::http::fields::Conditions;

/// The validators of one representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validators {
    /// A strong entity-tag, quotes included.
    pub etag: String,
    /// Last-Modified, whole seconds since the epoch.
    pub modified: u64,
}

impl Validators {
    /// The validators of a file; `variant` (e.g. `br`) tells precompressed
    /// variants apart even if their files had equal metadata.
    pub fn of(meta: &Metadata, variant: Option<&str>) -> Validators {
        let suffix = variant.map_or(String::new(), |v| format!("-{v}"));
        let etag = format!(
            "\"{:x}-{:x}-{:x}.{:x}{suffix}\"",
            meta.ino(),
            meta.size(),
            meta.mtime(),
            meta.mtime_nsec()
        );
        Validators {
            etag,
            modified: u64::try_from(meta.mtime()).unwrap_or(0),
        }
    }

    /// The validators of a rendered directory listing: a strong ETag hashed
    /// from the bytes sent, and the newest modification time of the
    /// directory (`dir`) and its entries (`newest_entry`), since a listing
    /// changes when any entry does.
    pub fn of_listing(body: &[u8], newest_entry: u64, dir: &Metadata) -> Validators {
        let dir_modified = u64::try_from(dir.mtime()).unwrap_or(0);
        Validators {
            etag: format!("\"l-{:016x}\"", fnv1a(body)),
            modified: newest_entry.max(dir_modified),
        }
    }
}

/// FNV-1a, 64-bit: a cheap, stable hash for listing ETags (not a defence
/// against anything; a collision only costs a missed refresh).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// What the preconditions decided for a GET or HEAD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Precondition {
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Evaluates the preconditions in RFC 9110 §13.2.2 order. Malformed
/// entity-tag lists and invalid dates are ignored, as if absent.
pub(crate) fn evaluate(conditions: &Conditions, current: &Validators) -> Precondition {
    let if_match = conditions.if_match.as_deref().and_then(parse_tags);
    if let Some(tags) = &if_match {
        if !tags.matches(&current.etag, Compare::Strong) {
            return Precondition::Failed;
        }
    } else if let Some(since) = conditions
        .if_unmodified_since
        .as_deref()
        .and_then(date::parse)
    {
        if current.modified > since {
            return Precondition::Failed;
        }
    }
    let if_none_match = conditions.if_none_match.as_deref().and_then(parse_tags);
    if let Some(tags) = &if_none_match {
        if tags.matches(&current.etag, Compare::Weak) {
            return Precondition::NotModified;
        }
    } else if let Some(since) = conditions
        .if_modified_since
        .as_deref()
        .and_then(date::parse)
    {
        // Not modified since then: an exact match or any later date.
        if current.modified <= since {
            return Precondition::NotModified;
        }
    }
    Precondition::Proceed
}

/// Whether `If-Range` lets a Range apply: a strong entity-tag match, or a
/// date equal to Last-Modified (RFC 9110 §13.1.5).
pub(crate) fn if_range_holds(value: &str, current: &Validators) -> bool {
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return parse_tags(value)
            .is_some_and(|t| t.0.len() == 1 && t.matches(&current.etag, Compare::Strong));
    }
    date::parse(value) == Some(current.modified)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compare {
    Strong,
    Weak,
}

/// A parsed entity-tag list: `*` is an empty list flagged `any`.
#[derive(Debug)]
struct Tags(Vec<(bool, String)>, bool);

impl Tags {
    fn matches(&self, etag: &str, compare: Compare) -> bool {
        self.1
            || self
                .0
                .iter()
                .any(|(weak, tag)| tag == etag && (compare == Compare::Weak || !weak))
    }
}

/// Parses `*` or `#entity-tag`; `None` when malformed.
fn parse_tags(value: &str) -> Option<Tags> {
    let value = value.trim();
    if value == "*" {
        return Some(Tags(Vec::new(), true));
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let weak = rest.starts_with("W/");
        let quoted = rest.strip_prefix("W/").unwrap_or(rest).strip_prefix('"')?;
        let end = quoted.find('"')?;
        let opaque = &quoted[..end];
        if opaque.bytes().any(|b| b < 0x21 || b == 0x7f) {
            return None;
        }
        tags.push((weak, format!("\"{opaque}\"")));
        rest = &quoted[end + 1..];
        if !(rest.is_empty() || rest.starts_with([',', ' ', '\t'])) {
            return None;
        }
    }
    (!tags.is_empty()).then_some(Tags(tags, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ETAG: &str = "\"abc-1\"";
    const MODIFIED: u64 = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT

    fn current() -> Validators {
        Validators {
            etag: ETAG.into(),
            modified: MODIFIED,
        }
    }

    fn eval(field: &str, value: &str) -> Precondition {
        let mut c = Conditions::default();
        let v = Some(value.to_owned());
        match field {
            "If-Match" => c.if_match = v,
            "If-None-Match" => c.if_none_match = v,
            "If-Modified-Since" => c.if_modified_since = v,
            "If-Unmodified-Since" => c.if_unmodified_since = v,
            _ => unreachable!(),
        }
        evaluate(&c, &current())
    }

    use Precondition::{Failed, NotModified, Proceed};

    #[test]
    fn if_match_is_strong() {
        assert_eq!(eval("If-Match", "\"abc-1\""), Proceed);
        assert_eq!(eval("If-Match", "\"x\", \"abc-1\""), Proceed);
        assert_eq!(eval("If-Match", "*"), Proceed);
        assert_eq!(eval("If-Match", "W/\"abc-1\""), Failed);
        assert_eq!(eval("If-Match", "\"other\""), Failed);
    }

    #[test]
    fn if_none_match_is_weak() {
        assert_eq!(eval("If-None-Match", "\"abc-1\""), NotModified);
        assert_eq!(eval("If-None-Match", "W/\"abc-1\""), NotModified);
        assert_eq!(eval("If-None-Match", "\"a\",W/\"abc-1\""), NotModified);
        assert_eq!(eval("If-None-Match", "*"), NotModified);
        assert_eq!(eval("If-None-Match", "\"other\""), Proceed);
    }

    #[test]
    fn dates() {
        assert_eq!(
            eval("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"),
            NotModified
        );
        assert_eq!(
            eval("If-Modified-Since", "Mon, 07 Nov 1994 08:49:37 GMT"),
            NotModified
        );
        assert_eq!(
            eval("If-Modified-Since", "Sat, 05 Nov 1994 08:49:37 GMT"),
            Proceed
        );
        assert_eq!(eval("If-Modified-Since", "not a date"), Proceed);
        assert_eq!(
            eval("If-Unmodified-Since", "Sat, 05 Nov 1994 08:49:37 GMT"),
            Failed
        );
        assert_eq!(
            eval("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"),
            Proceed
        );
        assert_eq!(eval("If-Unmodified-Since", "garbage"), Proceed);
    }

    #[test]
    fn precedence() {
        let old = "Sat, 05 Nov 1994 08:49:37 GMT".to_owned();
        let new = "Mon, 07 Nov 1994 08:49:37 GMT".to_owned();
        // If-Match decides over If-Unmodified-Since.
        let c = Conditions {
            if_match: Some(ETAG.into()),
            if_unmodified_since: Some(old),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &current()), Proceed);
        // If-None-Match decides over If-Modified-Since, both ways.
        let c = Conditions {
            if_none_match: Some("\"x\"".into()),
            if_modified_since: Some(new),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &current()), Proceed);
        // 412 comes before 304.
        let c = Conditions {
            if_match: Some("\"x\"".into()),
            if_none_match: Some(ETAG.into()),
            ..Default::default()
        };
        assert_eq!(evaluate(&c, &current()), Failed);
    }

    #[test]
    fn malformed_lists_are_ignored() {
        for bad in ["abc-1", "\"abc-1", "\"a\"b", "W/abc", ""] {
            assert_eq!(eval("If-None-Match", bad), Proceed, "{bad}");
            assert_eq!(eval("If-Match", bad), Proceed, "{bad}");
        }
    }

    #[test]
    fn if_range() {
        assert!(if_range_holds(ETAG, &current()));
        assert!(!if_range_holds("W/\"abc-1\"", &current()));
        assert!(!if_range_holds("\"other\"", &current()));
        assert!(if_range_holds("Sun, 06 Nov 1994 08:49:37 GMT", &current()));
        assert!(!if_range_holds("Mon, 07 Nov 1994 08:49:37 GMT", &current()));
        assert!(!if_range_holds("junk", &current()));
    }

    #[test]
    fn listing_validators_follow_the_bytes_and_the_newest_entry() {
        let dir = tempfile::tempdir().unwrap();
        let meta = std::fs::metadata(dir.path()).unwrap();
        let dir_modified = u64::try_from(meta.mtime()).unwrap();
        let one = Validators::of_listing(b"one", 0, &meta);
        assert_eq!(one, Validators::of_listing(b"one", 0, &meta));
        assert_ne!(one.etag, Validators::of_listing(b"two", 0, &meta).etag);
        assert!(one.etag.starts_with("\"l-") && one.etag.ends_with('"'));
        assert_eq!(one.modified, dir_modified);
        let later = Validators::of_listing(b"one", dir_modified + 10, &meta);
        assert_eq!(later.modified, dir_modified + 10);
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn etags_change_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "one").unwrap();
        let first = Validators::of(&std::fs::metadata(&path).unwrap(), None);
        assert!(first.etag.starts_with('"') && first.etag.ends_with('"'));
        let br = Validators::of(&std::fs::metadata(&path).unwrap(), Some("br"));
        assert_ne!(first.etag, br.etag);
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        let later = std::time::SystemTime::now() + std::time::Duration::from_nanos(1500);
        file.set_modified(later).unwrap();
        let second = Validators::of(&std::fs::metadata(&path).unwrap(), None);
        assert_ne!(first.etag, second.etag, "sub-second change");
    }
}
