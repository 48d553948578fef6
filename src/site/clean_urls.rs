//! URLs as a site generator writes its links, and as a proxy publishes
//! them: `--try-extensions` answers `/about` with `about.html` when
//! `/about` names nothing; `--clean-urls` also sends `/about.html` and
//! `/dir/index.html` to those clean forms (308); `--base-path` is the prefix
//! a proxy strips, put back in front of every path staticd sends.
//!
//! A mapped request is answered exactly as a request for the file it
//! maps to (hidden files, the symlink policy, authentication, header
//! rules, sidecars and compression), after the redirect rules have seen the
//! URL as it was sent. A clean-URL redirect is sent only when the clean
//! form is answered by the very same file, so following it never loops.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::http::response::Response;
use crate::http::status::Status;
use crate::http::target::Target;
use crate::site::Site;
use crate::site::root::{self, Resolved};

/// The path below the root that `target` names.
fn relative(target: &Target) -> PathBuf {
    target
        .segments
        .iter()
        .map(|s| OsStr::from_bytes(s))
        .collect()
}

/// `target` with `suffix` appended to its last segment.
fn with_suffix(target: &Target, suffix: &[u8]) -> Target {
    let mut out = target.clone();
    if let Some(last) = out.segments.last_mut() {
        last.extend_from_slice(suffix);
    }
    out
}

impl Site {
    /// The target `target` is answered as: itself (`None`), or, under
    /// `--try-extensions`, for a path without a trailing slash that names
    /// nothing at all, the first `PATH.EXT` that names something other
    /// than a directory (a file, or what a direct request would refuse).
    pub(crate) fn mapped(&self, target: &Target) -> Option<Target> {
        if self.try_extensions.is_empty()
            || target.trailing_slash
            || target.segments.is_empty()
            || self.hidden(target)
            || self.cache.get(&relative(target)).is_some()
            || !self.names_nothing(target)
        {
            return None;
        }
        self.try_extensions.iter().find_map(|ext| {
            let candidate = with_suffix(target, format!(".{ext}").as_bytes());
            let none: &[&str] = &[];
            match root::resolve_with(&self.root, &candidate, none) {
                Ok(Resolved::File { .. }) => Some(candidate),
                Err(status) if status != Status::NotFound => Some(candidate),
                _ => None,
            }
        })
    }

    /// Whether nothing (no file, directory or anything else) is at
    /// `target`'s path.
    fn names_nothing(&self, target: &Target) -> bool {
        let none: &[&str] = &[];
        matches!(
            root::resolve_with(&self.root, target, none),
            Err(Status::NotFound)
        )
    }

    /// Under `--clean-urls`, the `308` from a file's own URL to its clean
    /// form, query kept: `/dir/index.html` to `/dir/` when that directory
    /// is answered by this index file, `/about.html` to `/about` when that
    /// is mapped to this file. `None` for anything else.
    pub(crate) fn clean_redirect(&self, target: &Target) -> Option<Response> {
        if !self.clean_urls || target.trailing_slash || self.hidden(target) {
            return None;
        }
        let clean = self
            .index_parent(target)
            .or_else(|| self.without_extension(target))?;
        let location = self.public(&clean.encoded_path()) + &target.query;
        let mut moved = Response::error(Status::PermanentRedirect);
        moved.headers.push(("Location", location));
        if let Some(cache_control) = &self.cache_control {
            moved.headers.push(("Cache-Control", cache_control.clone()));
        }
        Some(moved)
    }

    /// `/dir/` for `/dir/NAME` when NAME is the index file that answers
    /// `/dir/`.
    fn index_parent(&self, target: &Target) -> Option<Target> {
        let (last, parent) = target.segments.split_last()?;
        if !self.index.iter().any(|name| name.as_bytes() == &last[..]) {
            return None;
        }
        let dir = Target {
            segments: parent.to_vec(),
            trailing_slash: true,
            query: String::new(),
        };
        match root::resolve_with(&self.root, &dir, &self.index) {
            Ok(Resolved::File { name, .. }) if name == relative(target) => Some(dir),
            _ => None,
        }
    }

    /// `/about` for `/about.EXT` when `/about` is mapped to it.
    fn without_extension(&self, target: &Target) -> Option<Target> {
        let last = target.segments.last()?;
        self.try_extensions.iter().find_map(|ext| {
            let stem = last.strip_suffix(format!(".{ext}").as_bytes())?;
            if stem.is_empty() {
                return None;
            }
            let mut clean = target.clone();
            clean.query.clear();
            *clean.segments.last_mut()? = stem.to_vec();
            let back = self.mapped(&clean)?;
            (back.segments == target.segments).then_some(clean)
        })
    }

    /// `path` (from the root of the site, starting with `/`) as the client
    /// must ask for it: under `--base-path`.
    pub(crate) fn public(&self, path: &str) -> String {
        format!("{}{path}", self.base_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suffix_goes_on_the_last_segment() {
        let target = Target::parse("/a/b?q").unwrap();
        let longer = with_suffix(&target, b".html");
        assert_eq!(longer.encoded_path(), "/a/b.html");
        assert_eq!(longer.query, "?q");
        assert_eq!(relative(&longer), PathBuf::from("a/b.html"));
    }
}
