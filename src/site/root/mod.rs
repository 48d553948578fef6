//! The document root, the only way the site reaches the file system:
//! the wall every open goes through ([`Root`], with its symlink policy
//! [`Symlinks`]), and the resolution of a request target to a file or a
//! directory below it ([`resolve`], with [`status_for`], the one table from
//! filesystem errors to status, and [`read_exactly`] for small bodies),
//! and [`plain`], how an I/O error reads to a person.

mod resolve;
mod wall;

pub use resolve::{INDEX_FILE, Resolved, read_exactly, resolve, status_for};
pub use wall::{Root, Symlinks};

/// An I/O error as a person reads it: without the "(os error N)" tail.
pub fn plain(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}
