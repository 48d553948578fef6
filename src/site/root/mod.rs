//! The document root, the only way the site reaches the file system:
//! the wall every open goes through ([`Root`], with its symlink policy
//! [`Symlinks`]), and the resolution of a request target to a file or a
//! directory below it ([`resolve`], with [`status_for`], the one table from
//! filesystem errors to status, and [`read_exactly`] for small bodies).

mod resolve;
mod wall;

pub(crate) use resolve::{INDEX_FILE, read_exactly, resolve_with, status_for};
pub use resolve::{Resolved, resolve};
pub use wall::{Root, Symlinks};
