//! Path patterns for site rules: globs over the decoded, normalized path
//! (the one the root wall resolves), so that `/assets/../secret.html` or
//! `%2e%2e` is matched as the path it really names. Its own file because
//! every rule that picks paths (headers now, auth later) uses it.
//!
//! Syntax (`globset`, with `*` kept inside one segment):
//! - a pattern starting with `/` is matched against the whole path:
//!   `/assets/**` is everything below `/assets/`, `/docs/*.pdf` the PDFs
//!   directly in `/docs/`;
//! - a pattern without any `/` is matched against the last segment at any
//!   depth, like `.gitignore`: `*.html` matches `/a.html` and `/x/y/b.html`;
//! - `*` and `?` never cross a `/`; `**` as a whole segment crosses any
//!   number of them; `[abc]` and `{a,b}` work as in a shell.
//!
//! A directory's path ends in `/` (`/docs/`), so `/docs/**` matches it and
//! `*.html` does not.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use globset::{Candidate, Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::http::target::Target;

/// A compiled path pattern, with the text it was written as.
#[derive(Debug, Clone)]
pub struct Pattern {
    text: String,
    glob: Glob,
    matcher: GlobMatcher,
}

impl Pattern {
    /// Compiles `text`; refuses an invalid glob and a pattern with a `/`
    /// that does not start with one (it could only be a mistake).
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let full = if text.starts_with('/') {
            text.to_owned()
        } else if text.contains('/') {
            return Err(format!(
                "'{text}' has a '/' but does not start with one: write /{text}, or a name pattern without '/'"
            ));
        } else if text.is_empty() {
            return Err("the pattern is empty".to_owned());
        } else {
            format!("/**/{text}")
        };
        let glob: Glob = GlobBuilder::new(&full)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|err| format!("'{text}' is not a valid pattern: {}", err.kind()))?;
        Ok(Pattern {
            text: text.to_owned(),
            matcher: glob.compile_matcher(),
            glob,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the normalized path `path` (bytes, starting with `/`)
    /// matches.
    pub fn matches(&self, path: &[u8]) -> bool {
        self.matcher.is_match(Path::new(OsStr::from_bytes(path)))
    }
}

/// Several patterns matched at once: globset sorts them by kind (exact
/// paths, extensions, prefixes...) and tries each kind once, so twenty
/// rules cost little more than one.
#[derive(Debug, Clone, Default)]
pub(crate) struct PatternSet {
    /// `None` when globset could not combine them (past its size limits):
    /// then each is matched alone, from `each`.
    set: Option<GlobSet>,
    each: Vec<GlobMatcher>,
}

impl PatternSet {
    pub(crate) fn new<'a>(patterns: impl IntoIterator<Item = &'a Pattern>) -> PatternSet {
        let mut builder = GlobSetBuilder::new();
        let mut each = Vec::new();
        for pattern in patterns {
            builder.add(pattern.glob.clone());
            each.push(pattern.matcher.clone());
        }
        PatternSet {
            set: builder.build().ok(),
            each,
        }
    }

    /// The indices of the patterns `path` matches, in order, into `into`
    /// (emptied first).
    pub(crate) fn matches_into(&self, path: &[u8], into: &mut Vec<usize>) {
        into.clear();
        if self.each.is_empty() {
            return;
        }
        let candidate = Candidate::new(Path::new(OsStr::from_bytes(path)));
        match &self.set {
            Some(set) => set.matches_candidate_into(&candidate, into),
            None => into.extend(
                (0..self.each.len()).filter(|&i| self.each[i].is_match_candidate(&candidate)),
            ),
        }
    }
}

/// The normalized path of `target` as patterns see it: decoded segments
/// joined by `/`, with a trailing `/` for a directory.
pub(crate) fn normalized(target: &Target) -> Vec<u8> {
    let mut path = vec![b'/'];
    for (i, segment) in target.segments.iter().enumerate() {
        if i > 0 {
            path.push(b'/');
        }
        path.extend_from_slice(segment);
    }
    if target.trailing_slash && !target.segments.is_empty() {
        path.push(b'/');
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(path.as_bytes())
    }

    #[test]
    fn star_stays_in_a_segment_and_double_star_crosses() {
        assert!(matches("/assets/*", "/assets/a.css"));
        assert!(!matches("/assets/*", "/assets/img/a.png"));
        assert!(matches("/assets/**", "/assets/img/a.png"));
        assert!(matches("/assets/**", "/assets/a.css"));
        assert!(matches("/assets/**", "/assets/"));
        assert!(!matches("/assets/**", "/assets"));
        assert!(!matches("/assets/**", "/other/assets/a.css"));
        assert!(matches("/*.txt", "/a.txt"));
        assert!(!matches("/*.txt", "/d/a.txt"));
        assert!(matches("/a?c", "/abc"));
        assert!(!matches("/a?c", "/a/c"));
    }

    #[test]
    fn a_name_pattern_matches_at_any_depth() {
        assert!(matches("*.html", "/index.html"));
        assert!(matches("*.html", "/a/b/c.html"));
        assert!(!matches("*.html", "/a.html/"));
        assert!(!matches("*.html", "/a.htm"));
        assert!(matches("{*.js,*.css}", "/x/a.css"));
    }

    #[test]
    fn a_set_gives_the_matching_patterns_in_order() {
        let texts = ["/assets/**", "*.css", "/other/*", "/assets/app.css", "**"];
        let patterns: Vec<Pattern> = texts.iter().map(|t| Pattern::parse(t).unwrap()).collect();
        let set = PatternSet::new(&patterns);
        let mut got = Vec::new();
        for path in [
            "/assets/app.css",
            "/other/x.css",
            "/none",
            "/assets/img/a.png",
        ] {
            set.matches_into(path.as_bytes(), &mut got);
            let alone: Vec<usize> = (0..patterns.len())
                .filter(|&i| patterns[i].matches(path.as_bytes()))
                .collect();
            assert_eq!(got, alone, "{path}");
        }
        set.matches_into(b"/assets/app.css", &mut got);
        assert_eq!(got, [0, 1, 3, 4]);
        PatternSet::default().matches_into(b"/a", &mut got);
        assert!(got.is_empty());
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["", "/a/[b", "assets/*", "/a/{b"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_path_is_normalized() {
        let path = |raw: &str| String::from_utf8(normalized(&Target::parse(raw).unwrap())).unwrap();
        assert_eq!(path("/"), "/");
        assert_eq!(path("/assets/../secret.html"), "/secret.html");
        assert_eq!(path("/assets/%2e%2e/secret.html?x"), "/secret.html");
        assert_eq!(path("/a//b/"), "/a/b/");
        assert_eq!(path("/a/b/.."), "/a/");
    }
}
