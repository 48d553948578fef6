//! Request-target parsing (RFC 9112 §3.2): origin-form and absolute-form,
//! strict percent-decoding applied exactly once, and dot-segment removal
//! that can never climb above the document root.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Bytes left as they are in a path segment we emit (RFC 3986 unreserved);
/// everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A request target reduced to what locates a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Decoded path segments below the root, with `.`, `..` and empty
    /// segments already resolved. Never contains `/`, `\` or NUL.
    pub segments: Vec<Vec<u8>>,
    /// Whether the path names a directory (ends in `/`, `/.` or `/..`).
    pub trailing_slash: bool,
    /// The query string as sent, including its leading `?`, or empty.
    pub query: String,
}

/// A target that cannot name anything in the root; always answered 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidTarget;

impl Target {
    /// Parses a raw request target.
    pub fn parse(raw: &str) -> Result<Target, InvalidTarget> {
        if raw.contains('#') {
            return Err(InvalidTarget);
        }
        let (path, query) = split_query(origin_form(raw)?);
        let mut segments: Vec<Vec<u8>> = Vec::new();
        let mut trailing_slash = true;
        for raw_segment in path.split('/').skip(1) {
            let segment = decode(raw_segment)?;
            trailing_slash = true;
            match segment.as_slice() {
                b"" | b"." => {}
                b".." => {
                    segments.pop().ok_or(InvalidTarget)?;
                }
                _ => {
                    trailing_slash = false;
                    segments.push(segment);
                }
            }
        }
        Ok(Target {
            segments,
            trailing_slash,
            query: query.to_owned(),
        })
    }

    /// The normalized path, percent-encoded, ending in `/` when it names a
    /// directory. Always starts with exactly one `/`, so it is safe to send
    /// back in `Location`.
    pub fn encoded_path(&self) -> String {
        let mut out = String::from("/");
        for segment in &self.segments {
            out.push_str(&encode_segment(segment));
            out.push('/');
        }
        if !self.trailing_slash && !self.segments.is_empty() {
            out.pop();
        }
        out
    }
}

/// Percent-encodes one path segment (a file name) for use in a URL.
pub(crate) fn encode_segment(segment: &[u8]) -> String {
    match std::str::from_utf8(segment) {
        Ok(s) => utf8_percent_encode(s, SEGMENT).to_string(),
        Err(_) => percent_encoding::percent_encode(segment, SEGMENT).to_string(),
    }
}

fn split_query(path_and_query: &str) -> (&str, &str) {
    match path_and_query.find('?') {
        Some(q) => path_and_query.split_at(q),
        None => (path_and_query, ""),
    }
}

/// Returns the path-and-query part of an origin-form or absolute-form
/// target, as sent (nothing decoded or normalized); an absolute-form target
/// with an empty path means `/`, but one with only a query gives the query
/// alone (`?q`). Public for a response that sends the target back
/// unchanged (the redirect to HTTPS).
pub(crate) fn origin_form(raw: &str) -> Result<&str, InvalidTarget> {
    if raw.starts_with('/') {
        return Ok(raw);
    }
    let after_scheme = strip_prefix_ignore_case(raw, "http://")
        .or_else(|| strip_prefix_ignore_case(raw, "https://"))
        .ok_or(InvalidTarget)?;
    let authority_end = after_scheme.find(['/', '?']).unwrap_or(after_scheme.len());
    if authority_end == 0 {
        return Err(InvalidTarget);
    }
    match &after_scheme[authority_end..] {
        "" => Ok("/"),
        // The query alone; `Target::parse` sees an empty path, i.e. the root.
        rest => Ok(rest),
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Decodes `%XX` escapes once. Malformed escapes, and escapes or bytes that
/// would change the path's structure (`/`, `\`) or end a C string (NUL),
/// make the whole target invalid.
fn decode(segment: &str) -> Result<Vec<u8>, InvalidTarget> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = if bytes[i] == b'%' {
            let hi = bytes.get(i + 1).and_then(|&b| hex(b));
            let lo = bytes.get(i + 2).and_then(|&b| hex(b));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(InvalidTarget);
            };
            i += 3;
            hi << 4 | lo
        } else {
            i += 1;
            bytes[i - 1]
        };
        if matches!(byte, b'/' | b'\\' | 0) {
            return Err(InvalidTarget);
        }
        out.push(byte);
    }
    Ok(out)
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(raw: &str) -> Vec<String> {
        let target = Target::parse(raw).expect("valid target");
        target
            .segments
            .iter()
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    }

    #[test]
    fn plain_and_nested_paths() {
        assert_eq!(segs("/"), Vec::<String>::new());
        assert_eq!(segs("/dir1/dir12/deep.txt"), ["dir1", "dir12", "deep.txt"]);
        assert!(Target::parse("/dir/").unwrap().trailing_slash);
        assert!(!Target::parse("/dir").unwrap().trailing_slash);
    }

    #[test]
    fn query_is_split_off() {
        let t = Target::parse("/a.html?x=1&y=%ZZ").unwrap();
        assert_eq!(t.segments, [b"a.html".to_vec()]);
        assert_eq!(t.query, "?x=1&y=%ZZ");
    }

    #[test]
    fn decodes_exactly_once_in_any_case() {
        assert_eq!(segs("/space%20in%20name.txt"), ["space in name.txt"]);
        assert_eq!(segs("/%70%61%67%65%2e%68%74%6D%6C"), ["page.html"]);
        assert_eq!(segs("/%2520"), ["%20"]);
        assert_eq!(segs("/text..txt"), ["text..txt"]);
        assert_eq!(segs("/caf%C3%A9"), ["café"]);
    }

    #[test]
    fn bad_escapes_and_nul_are_invalid() {
        for raw in ["/%ZZ", "/abc%", "/abc%2", "/a%00.txt", "/%g0"] {
            assert_eq!(Target::parse(raw), Err(InvalidTarget), "{raw}");
        }
    }

    #[test]
    fn structure_changing_bytes_are_invalid() {
        for raw in [
            "/..%2f..%2fetc/passwd",
            "/a%2Fb",
            "/a%5cb",
            "/a\\b",
            "/x#frag",
        ] {
            assert_eq!(Target::parse(raw), Err(InvalidTarget), "{raw}");
        }
    }

    #[test]
    fn dot_segments_never_climb_above_root() {
        assert_eq!(segs("/a/./b/../c"), ["a", "c"]);
        assert_eq!(segs("/a/%2e%2e/c"), ["c"]);
        assert!(Target::parse("/a/..").unwrap().trailing_slash);
        for raw in [
            "/..",
            "/../etc/passwd",
            "/a/../../etc",
            "/%2e%2e/%2E%2E/etc",
        ] {
            assert_eq!(Target::parse(raw), Err(InvalidTarget), "{raw}");
        }
    }

    #[test]
    fn forms_other_than_origin_and_absolute_are_invalid() {
        for raw in ["abc", "*", "example.com:80", "http://", "http:///x", ""] {
            assert_eq!(Target::parse(raw), Err(InvalidTarget), "{raw}");
        }
    }

    #[test]
    fn absolute_form_uses_only_the_path() {
        assert_eq!(
            segs("http://127.0.0.1/dir2/page.html"),
            ["dir2", "page.html"]
        );
        assert_eq!(segs("HTTPS://host:8080/a?b"), ["a"]);
        assert_eq!(segs("http://host"), Vec::<String>::new());
        let t = Target::parse("http://host?q").unwrap();
        assert_eq!((t.segments.len(), t.query.as_str()), (0, "?q"));
    }

    #[test]
    fn encoded_path_is_normalized_and_safe() {
        let enc = |raw| Target::parse(raw).unwrap().encoded_path();
        assert_eq!(enc("/dir2"), "/dir2");
        assert_eq!(enc("//dir2//x/"), "/dir2/x/");
        assert_eq!(enc("/a b/<c>"), "/a%20b/%3Cc%3E");
        assert_eq!(enc("/"), "/");
        assert!(!enc("//evil.example/").starts_with("//"));
    }
}
