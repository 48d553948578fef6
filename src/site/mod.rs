//! Request to response, with no sockets.
//!
//! Owns the handler ([`handler`]), the representations of files and
//! listings with their validators and preconditions ([`representation`],
//! [`validators`]), content negotiation ([`negotiate`]), listing rendering
//! ([`listing`]), content types ([`mime`]), the file cache ([`cache`]) and
//! the root wall ([`root`]): the only layer that touches the file system.
//!
//! Imports: [`crate::http`] only. What it is told comes in [`Options`], plain
//! values the configuration fills in; its enums derive `clap::ValueEnum` so
//! the command line can name them, and nothing here reads the command line.

pub mod cache;
pub mod handler;
pub mod limits;
pub mod listing;
pub mod mime;
pub mod negotiate;
pub mod representation;
pub mod root;
pub mod validators;

pub use handler::Site;

/// What to answer for a directory that has no `index.html`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Autoindex {
    /// 404 Not Found: the directory's contents stay private.
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
    pub autoindex: Autoindex,
    /// Serve `FILE.br` / `FILE.gz` beside `FILE` to clients that accept them.
    pub precompressed: bool,
    /// Serve and list dotfiles; `/.well-known/` is always served.
    pub show_hidden: bool,
    /// `Cache-Control` for files, listings, 304s and redirects.
    pub cache_control: Option<String>,
    /// Added as `; charset=NAME` to `text/*` content types.
    pub charset: Option<String>,
}
