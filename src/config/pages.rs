//! The options of the rules that decide which response a request gets:
//! `--redirect`, `--fallback`, `--error-page` (see [`crate::site::rules::pages`]).
//!
//! Each value is parsed alone by its rule's parser, which refuses what
//! cannot work (a redirect onto itself, a page outside the root), so the
//! error names the option and, from a config file, its file and line.

use clap::Args;

use crate::site::rules::pages::{ErrorPage, PagePath, PageRules, Redirect};

/// `--redirect`, `--fallback`, `--error-page`.
#[derive(Debug, Clone, Default, Args)]
pub struct PageArgs {
    /// Redirect FROM to TO (a path or an http(s) URL) with 301, 302, 307 or 308 [default: 301]; FROM/* → TO/* carries the rest of the path; the query is kept; checked before files, first match wins (repeatable)
    #[arg(long = "redirect", env = "STATICD_REDIRECT", value_name = "FROM TO [STATUS]",
          value_parser = Redirect::parse, value_delimiter = '\n', help_heading = "Site rules")]
    pub redirects: Vec<Redirect>,

    /// A GET/HEAD for a missing path without a file extension gets this file (e.g. /index.html), 200 with Cache-Control: no-cache
    #[arg(long, env = "STATICD_FALLBACK", value_name = "PATH",
          value_parser = PagePath::parse, help_heading = "Site rules")]
    pub fallback: Option<PagePath>,

    /// The body of error CODE (400-599) is the file PATH in the root, e.g. 404=/404.html (repeatable)
    #[arg(long = "error-page", env = "STATICD_ERROR_PAGE", value_name = "CODE=PATH",
          value_parser = ErrorPage::parse, value_delimiter = '\n', help_heading = "Site rules")]
    pub error_pages: Vec<ErrorPage>,
}

impl PageArgs {
    /// The rules as the site takes them.
    pub fn rules(&self) -> PageRules {
        PageRules {
            redirects: self.redirects.clone(),
            fallback: self.fallback.clone(),
            error_pages: self.error_pages.clone(),
        }
    }
}
