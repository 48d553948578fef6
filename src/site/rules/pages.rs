//! Redirects, the app fallback and error pages: the rules that decide which
//! response a request gets, as parsed from their options. They are
//! answered by the handler ([`crate::site::handler`]), apart, because answering needs the
//! [`Site`](crate::site::Site) that holds these rules.
//!
//! Every rule is parsed here, from the text an option holds, so a rule
//! that cannot work (a bad status, a redirect onto itself, a page outside
//! the root) stops the server at start-up instead of failing per request.

use std::ffi::OsStr;
use std::fs::{File, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use crate::http::status::Status;
use crate::http::target::{Target, encode_segment};
use crate::site::root::Root;

/// What a `TO` written by the operator may not hold as is in `Location`:
/// controls, space and the characters RFC 3986 never allows. `%` is kept,
/// so an escape the operator wrote stays one; non-ASCII is always encoded.
const LOCATION: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'\\')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// `--redirect`, `--fallback` and `--error-page`.
#[derive(Debug, Clone, Default)]
pub struct PageRules {
    /// In the order given; the first that matches wins.
    pub redirects: Vec<Redirect>,
    pub fallback: Option<PagePath>,
    /// The first page given for a code is used.
    pub error_pages: Vec<ErrorPage>,
}

/// One `--redirect 'FROM TO [STATUS]'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The decoded, normalized segments of FROM (of its prefix for `/*`).
    from: Vec<Vec<u8>>,
    /// Whether an exact FROM ends in `/` (`/docs` and `/docs/` differ).
    from_slash: bool,
    /// `FROM/*`: FROM and everything below it.
    prefix: bool,
    /// TO, percent-encoded, without its `/*`.
    to: String,
    /// Whether the request's query is appended: not when TO has its own.
    carries_query: bool,
    pub(crate) status: Status,
}

impl Redirect {
    /// Parses `FROM TO [STATUS]`.
    pub fn parse(text: &str) -> Result<Redirect, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let (from, to, status) = match words[..] {
            [from, to] => (from, to, Status::MovedPermanently),
            [from, to, status] => (from, to, redirect_status(status)?),
            _ => return Err(format!("'{text}' is not 'FROM TO [STATUS]'")),
        };
        let (from_path, prefix) = split_star(from);
        let (to_base, to_prefix) = split_star(to);
        if prefix != to_prefix {
            return Err(format!("'{text}': FROM/* goes with TO/*, and only with it"));
        }
        if !from.starts_with('/') || from_path.contains(['*', '?', '#']) {
            return Err(format!(
                "FROM '{from}' is not a path (starting with /, '*' only as a final /*)"
            ));
        }
        let from_target = Target::parse(or_root(from_path))
            .map_err(|_| format!("FROM '{from}' is not a path inside the site"))?;
        if to_base.contains('*') || (prefix && to_base.contains(['?', '#'])) {
            return Err(format!("TO '{to}' may hold '*' only as a final /*"));
        }
        check_to(to, to_base, &from_target, prefix)?;
        Ok(Redirect {
            from: from_target.segments,
            from_slash: from_target.trailing_slash,
            prefix,
            to: utf8_percent_encode(to_base, LOCATION).to_string(),
            carries_query: !to_base.contains(['?', '#']),
            status,
        })
    }

    /// Where this rule sends `target`, or `None` when it does not match.
    pub fn location(&self, target: &Target) -> Option<String> {
        let mut location = self.to.clone();
        if self.prefix {
            let rest = target.segments.strip_prefix(self.from.as_slice())?;
            for segment in rest {
                location.push('/');
                location.push_str(&encode_segment(segment));
            }
            if target.trailing_slash || location.is_empty() {
                location.push('/');
            }
        } else if target.segments != self.from || target.trailing_slash != self.from_slash {
            return None;
        }
        if self.carries_query {
            location.push_str(&target.query);
        }
        Some(location)
    }
}

/// `FROM/*` as (`FROM`, true); anything else as it is.
fn split_star(text: &str) -> (&str, bool) {
    match text.strip_suffix("/*") {
        Some(base) => (base, true),
        None => (text, false),
    }
}

fn or_root(path: &str) -> &str {
    if path.is_empty() { "/" } else { path }
}

fn redirect_status(text: &str) -> Result<Status, String> {
    match text {
        "301" => Ok(Status::MovedPermanently),
        "302" => Ok(Status::Found),
        "307" => Ok(Status::TemporaryRedirect),
        "308" => Ok(Status::PermanentRedirect),
        _ => Err(format!(
            "'{text}' is not a redirect status (301, 302, 307 or 308)"
        )),
    }
}

/// TO is an http(s) URL with a host, or a path inside the site that does
/// not lead back to FROM (which would redirect forever).
fn check_to(to: &str, base: &str, from: &Target, prefix: bool) -> Result<(), String> {
    let lower = base.to_ascii_lowercase();
    let after_scheme = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    if let Some(rest) = after_scheme {
        return match rest.split(['/', '?', '#']).next() {
            Some(host) if !host.is_empty() => Ok(()),
            _ => Err(format!("TO '{to}' is a URL without a host")),
        };
    }
    let path = or_root(base);
    if !path.starts_with('/') || path.starts_with("//") {
        return Err(format!(
            "TO '{to}' is neither a path starting with one / nor an http(s):// URL"
        ));
    }
    // A fragment is the client's; only the path can lead back to FROM.
    let without_fragment = path.split('#').next().unwrap_or(path);
    let to_target = Target::parse(without_fragment)
        .map_err(|_| format!("TO '{to}' is not a path inside the site"))?;
    let onto_itself = if prefix {
        to_target.segments.starts_with(&from.segments)
    } else {
        to_target.segments == from.segments && to_target.trailing_slash == from.trailing_slash
    };
    if onto_itself {
        return Err(format!("'{to}' redirects onto itself: it would never end"));
    }
    Ok(())
}

/// A file inside the root named by `--fallback` or `--error-page`, with
/// the flag that keeps its "missing" warning to one line per process.
#[derive(Debug, Clone)]
pub struct PagePath {
    /// Relative to the root, normalized, for [`Root::open_beneath`].
    pub name: PathBuf,
    text: String,
    warned: Arc<AtomicBool>,
}

impl PagePath {
    /// A path starting with `/` that stays inside the root and names a file.
    pub fn parse(text: &str) -> Result<PagePath, String> {
        let outside = || format!("'{text}' is not a file path inside the root (starting with /)");
        if !text.starts_with('/') || text.contains('?') {
            return Err(outside());
        }
        let target = Target::parse(text).map_err(|_| outside())?;
        if target.segments.is_empty() || target.trailing_slash {
            return Err(outside());
        }
        let name = target
            .segments
            .iter()
            .map(|s| OsStr::from_bytes(s))
            .collect();
        Ok(PagePath {
            name,
            text: text.to_owned(),
            warned: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The page, opened under the root wall and its symlink policy, or
    /// `None` (and the one warning) when it is not a regular file now.
    pub(crate) fn open(&self, root: &Root) -> Option<(File, Metadata)> {
        let opened = root.open_beneath(&self.name).and_then(|file| {
            let meta = file.metadata()?;
            Ok((file, meta))
        });
        match opened {
            Ok((file, meta)) if meta.is_file() => Some((file, meta)),
            Ok(_) => self.warn_once("not a regular file"),
            Err(err) => self.warn_once(&err.to_string()),
        }
    }

    /// Why the page cannot be served now, or `None` when it can: what
    /// `--check` reports, without the serving path's one-time warning.
    pub(crate) fn problem(&self, root: &Root) -> Option<String> {
        let opened = root
            .open_beneath(&self.name)
            .and_then(|file| file.metadata());
        match opened {
            Ok(meta) if meta.is_file() => None,
            Ok(_) => Some(format!("{}: not a regular file", self.text)),
            Err(err) => Some(format!("{}: {err}", self.text)),
        }
    }

    pub(crate) fn warn_once<T>(&self, why: &str) -> Option<T> {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(page = %self.text, why, "page unavailable; answering without it (warned once)");
        }
        None
    }

    /// Whether the warning was logged.
    pub fn warned(&self) -> bool {
        self.warned.load(Ordering::Relaxed)
    }
}

/// One `--error-page CODE=PATH`.
#[derive(Debug, Clone)]
pub struct ErrorPage {
    pub code: u16,
    pub page: PagePath,
}

impl ErrorPage {
    /// Parses `CODE=PATH`, CODE from 400 to 599.
    pub fn parse(text: &str) -> Result<ErrorPage, String> {
        let (code, path) = text
            .split_once('=')
            .ok_or_else(|| format!("'{text}' is not 'CODE=PATH'"))?;
        let code: u16 = match code.trim().parse() {
            Ok(code @ 400..=599) => code,
            _ => return Err(format!("'{code}' is not an error status (400 to 599)")),
        };
        let page = PagePath::parse(path.trim())?;
        Ok(ErrorPage { code, page })
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests for parsing rules and matching redirects; responses are
    //! tested over TCP in tests/it/rules_pages.rs.
    use super::*;

    fn location(rule: &str, target: &str) -> Option<String> {
        let rule = Redirect::parse(rule).unwrap();
        rule.location(&Target::parse(target).unwrap())
    }

    #[test]
    fn redirect_locations() {
        assert_eq!(location("/a /b", "/a?q"), Some("/b?q".to_owned()));
        assert_eq!(location("/a /b", "/a/"), None);
        assert_eq!(location("/a/ /b", "/a/"), Some("/b".to_owned()));
        assert_eq!(location("/a/* /*", "/a"), Some("/".to_owned()));
        assert_eq!(location("/a/* /*", "/a/x/"), Some("/x/".to_owned()));
        assert_eq!(
            location("/* https://h/*", "/p%20q"),
            Some("https://h/p%20q".to_owned())
        );
        assert_eq!(
            location("/a /caf\u{e9} 302", "/a"),
            Some("/caf%C3%A9".to_owned())
        );
        assert_eq!(location("/a /b#top", "/a?q"), Some("/b#top".to_owned()));
        assert_eq!(location("/a/* /b/*", "/ab"), None);
    }

    #[test]
    fn redirect_refusals() {
        for bad in [
            "",
            "/a",
            "/a /b 300",
            "/a /b 301 x",
            "a /b",
            "/a* /b",
            "/a/*/c /b/*",
            "/a/* /b",
            "/a /b/*",
            "/a /a",
            "/a/* /a/*",
            "/a/* /a/b/*",
            "/* /*",
            "/a //h/x",
            "/a ftp://h",
            "/a https://",
            "/a /../b",
            "/a?x /b",
        ] {
            assert!(Redirect::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Redirect::parse("/* https://new.example/* 308").is_ok());
        assert!(Redirect::parse("/a/* /b/a/*").is_ok());
    }

    #[test]
    fn page_paths() {
        assert_eq!(
            PagePath::parse("/e/404.html").unwrap().name,
            PathBuf::from("e/404.html")
        );
        assert_eq!(
            PagePath::parse("/a/../b.html").unwrap().name,
            PathBuf::from("b.html")
        );
        for bad in ["404.html", "/../x", "/", "/dir/", "/x?y", ""] {
            assert!(PagePath::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(ErrorPage::parse("410=/gone.html").unwrap().code, 410);
        for bad in ["399=/x", "600=/x", "x=/x", "/x", "404=x"] {
            assert!(ErrorPage::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_missing_page_warns_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = Root::open(dir.path(), crate::site::root::Symlinks::Inside).unwrap();
        let page = PagePath::parse("/missing.html").unwrap();
        let shared = page.clone();
        assert!(page.open(&root).is_none());
        assert!(shared.warned(), "clones share the flag");
        assert!(page.open(&root).is_none());
        std::fs::write(dir.path().join("missing.html"), "x").unwrap();
        assert!(page.open(&root).is_some());
    }
}
