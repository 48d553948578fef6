//! The wire format, pure: request heads in, response heads out, no I/O.
//!
//! Owns request-head parsing ([`request`], [`fields`], with the protocol
//! [`version`], the `Host` value ([`host`]), the CORS fields ([`cors`]),
//! `Basic` credentials ([`auth`]) and the reasons a head is refused,
//! [`error`]), request targets ([`target`]), `Range` syntax
//! ([`range`]), the response value and its encoding ([`response`]), the
//! chunked coding of streamed bodies ([`chunked`]), the
//! status table ([`status`]), HTTP dates ([`date`]), escaping ([`escape`])
//! and the protocol limits ([`limits`]).
//!
//! Imports: nothing else of the crate.

pub mod auth;
pub mod chunked;
pub mod cors;
pub mod date;
pub mod error;
pub mod escape;
pub mod fields;
pub mod host;
pub mod limits;
pub mod range;
pub mod request;
pub mod response;
pub mod status;
pub mod target;
pub mod version;
