//! Request to response, with no sockets.
//!
//! Owns the site value ([`Site`]: root, settings, caches), the routing of a
//! request ([`handler`]: method, target, rules before and after the file
//! system, hidden files, the file cache lookup, `--autoindex`), the one
//! response path for files and listings ([`representation`]: every 200,
//! 206, 304, 412 and 416, with validators, preconditions, ranges,
//! negotiation and content types), all of compression ([`compress`]:
//! precompressed sidecars, compression on the fly and the store of
//! compressed variants), the file cache ([`file_cache`]), listings
//! ([`listing`]) and archives ([`archive`]) of directories, the site rules
//! ([`rules`]), extensionless URLs and the base path ([`clean_urls`]),
//! the limits ([`limits`]), and the document root ([`root`]):
//! the only layer that touches the file system. The answer of a listener
//! that only sends clients to HTTPS ([`https_redirect`]) is here too,
//! beside the site's.
//!
//! Imports: [`crate::http`], and [`crate::ops::metrics`] to count what it
//! does. What it is told comes in [`Options`], plain
//! values the configuration fills in; its enums derive `clap::ValueEnum` so
//! the command line can name them, and nothing here reads the command line.

pub(crate) mod archive;
pub(crate) mod clean_urls;
pub(crate) mod compress;
pub(crate) mod file_cache;
pub(crate) mod handler;
pub(crate) mod https_redirect;
pub(crate) mod limits;
pub(crate) mod listing;
pub(crate) mod representation;
pub(crate) mod root;
pub(crate) mod rules;

pub use representation::mime::MimeType;

use std::sync::Arc;

use crate::http::response::Response;
use crate::ops::metrics::Metrics;
use crate::site::file_cache::FileCache;
use crate::site::root::Root;

/// What to answer for a directory that has none of the `--index` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Autoindex {
    /// 404 Not Found: the directory's contents stay private.
    #[default]
    Off,
    /// 403 Forbidden, as many course test suites expect.
    Forbid,
    /// An HTML listing of the directory.
    On,
}

/// How the site answers, beside its root and symlink policy (see
/// [`root::Root`]).
#[derive(Debug, Clone)]
pub struct Options {
    /// The names tried, in order, for a directory requested with its
    /// trailing slash; the first that exists answers.
    pub index: Vec<String>,
    pub autoindex: Autoindex,
    /// Serve `FILE.br` / `FILE.gz` beside `FILE` to clients that accept them.
    pub precompressed: bool,
    /// Serve and list dotfiles; `/.well-known/` is always served.
    pub show_hidden: bool,
    /// `Cache-Control` for files, listings, 304s and redirects.
    pub cache_control: Option<String>,
    /// Added as `; charset=NAME` to `text/*` content types.
    pub charset: Option<String>,
    /// `--mime-type` overrides, matched before the built-in types.
    pub mime_types: Vec<MimeType>,
    /// `--try-extensions`: for a path that names nothing, the extensions
    /// tried on its last segment, in order (`about` -> `about.html`).
    pub try_extensions: Vec<String>,
    /// `--clean-urls`: also redirect `/about.html` and `/dir/index.html`
    /// to `/about` and `/dir/`; implies `try_extensions` `html` when none
    /// are given.
    pub clean_urls: bool,
    /// `--base-path`: the path prefix a proxy strips, `/` for none; put in
    /// front of every path staticd sends back (redirects, listings).
    pub base_path: String,
    /// Redirects, error pages, fallback, per-path headers, CORS.
    pub rules: rules::Rules,
    /// `--auth-file`, read when the site is made.
    pub auth: rules::auth::AuthOptions,
    pub compress: compress::CompressOptions,
    /// `--archive`: the format listings offer their directory in.
    pub archive: archive::Format,
}

/// The documented defaults; the command line takes its own from here.
impl Default for Options {
    fn default() -> Self {
        Options {
            index: vec![root::INDEX_FILE.to_owned()],
            autoindex: Autoindex::default(),
            precompressed: true,
            show_hidden: false,
            cache_control: None,
            charset: None,
            mime_types: Vec::new(),
            try_extensions: Vec::new(),
            clean_urls: false,
            base_path: "/".to_owned(),
            rules: rules::Rules::default(),
            auth: rules::auth::AuthOptions::default(),
            compress: compress::CompressOptions::default(),
            archive: archive::Format::default(),
        }
    }
}

/// The extension `--clean-urls` tries when `--try-extensions` names none.
const CLEAN_URL_EXTENSION: &str = "html";

/// The extensions tried for a path that names nothing.
fn extensions(given: &[String], clean_urls: bool) -> Vec<String> {
    match (given.is_empty(), clean_urls) {
        (true, true) => vec![CLEAN_URL_EXTENSION.to_owned()],
        _ => given.to_vec(),
    }
}

/// Everything needed to answer requests for one document root. It is
/// defined here, apart from [`handler`] (which answers with it, see
/// [`Site::handle`]) and [`representation`] (which reads its settings), so
/// neither of the two has to name the other's module for it.
#[derive(Debug)]
pub(crate) struct Site {
    pub root: Root,
    /// The index names tried, without the hidden ones unless hidden
    /// files are served (a hidden index is never sent, as a request
    /// naming it is not).
    pub index: Vec<String>,
    pub autoindex: Autoindex,
    pub precompressed: bool,
    pub show_hidden: bool,
    pub cache_control: Option<String>,
    pub charset: Option<String>,
    pub mime_types: Vec<MimeType>,
    /// The extensions tried for a path that names nothing, `html` under
    /// `--clean-urls` when none were given.
    pub try_extensions: Vec<String>,
    pub clean_urls: bool,
    /// The base path without its trailing slash: empty for `/`, so that
    /// `format!("{base_path}{path}")` is always a path from the host.
    pub base_path: String,
    pub rules: rules::Rules,
    pub auth: rules::auth::Auth,
    /// Small files recently read, see [`FileCache`].
    pub cache: FileCache,
    /// Listings recently rendered.
    pub listings: listing::cache::ListingCache,
    pub compress: compress::Compressor,
    pub archive: archive::Format,
    /// The server's counters, which outlive this site across reloads.
    pub metrics: Arc<Metrics>,
}

/// The site's answer to a request: a response, or work to do first (off
/// the event loop) before asking again with its outcome in a [`Prior`]:
/// a credential to check (bcrypt, see [`rules::auth`]) or a file to
/// compress ([`compress`]).
#[derive(Debug)]
pub(crate) enum Answer {
    Ready(Response),
    Verify(rules::auth::Check),
    Compress(compress::Work),
}

/// The outcomes of the work the site asked for before, for the same
/// request.
#[derive(Debug, Default)]
pub(crate) struct Prior {
    pub verdict: Option<rules::auth::Verdict>,
    pub compressed: Option<compress::Outcome>,
}

impl Site {
    /// The pages the rules name (`--fallback`, `--error-page`) that cannot
    /// be served now, one line each: served without them, so a start only
    /// warns when one is asked for, and `--check` reports them ahead.
    pub(crate) fn missing_pages(&self) -> Vec<String> {
        let pages = &self.rules.pages;
        let fallback = pages.fallback.iter().map(|page| ("fallback", page));
        let errors = pages.error_pages.iter().map(|e| ("error-page", &e.page));
        fallback
            .chain(errors)
            .filter_map(|(option, page)| Some(format!("{option} {}", page.problem(&self.root)?)))
            .collect()
    }

    /// The site for `root`, answering as `options` say and counting into
    /// `metrics`; fails only when the auth file cannot be used.
    pub(crate) fn new(
        root: Root,
        options: &Options,
        metrics: Arc<Metrics>,
    ) -> Result<Site, rules::auth::AuthError> {
        let auth = rules::auth::Auth::load(&options.auth)?;
        let options = options.clone();
        let index = options
            .index
            .iter()
            .filter(|name| options.show_hidden || !name.starts_with('.'))
            .cloned()
            .collect();
        Ok(Site {
            root,
            index,
            autoindex: options.autoindex,
            precompressed: options.precompressed,
            show_hidden: options.show_hidden,
            cache_control: options.cache_control,
            charset: options.charset,
            mime_types: options.mime_types,
            try_extensions: extensions(&options.try_extensions, options.clean_urls),
            clean_urls: options.clean_urls,
            base_path: options.base_path.trim_end_matches('/').to_owned(),
            rules: options.rules,
            auth,
            cache: FileCache::new(Arc::clone(&metrics)),
            listings: Default::default(),
            compress: compress::Compressor::new(options.compress, Arc::clone(&metrics)),
            archive: options.archive,
            metrics,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_urls_try_html_only_when_no_extensions_are_given() {
        let given = vec!["htm".to_owned()];
        assert_eq!(extensions(&[], true), ["html"]);
        assert_eq!(extensions(&given, true), ["htm"]);
        assert!(extensions(&[], false).is_empty());
    }
}
