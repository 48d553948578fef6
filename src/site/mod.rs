//! Request to response, with no sockets.
//!
//! Owns the handler ([`handler`]), the representations of files and
//! listings with their validators and preconditions ([`representation`],
//! [`validators`]), content negotiation ([`negotiate`]), listing rendering
//! ([`listing`]), content types ([`mime`]), the file cache ([`cache`]) and
//! the root wall ([`root`]): the only layer that touches the file system.
//!
//! Imports: [`crate::http`] only.

pub mod cache;
pub mod handler;
pub mod listing;
pub mod mime;
pub mod negotiate;
pub mod representation;
pub mod root;
pub mod validators;
