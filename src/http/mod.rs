//! The wire format, pure: request heads in, response heads out, no I/O.
//!
//! Owns request-head parsing ([`request`], [`fields`], with the protocol
//! [`version`], the `Host` value ([`host`]), the CORS fields ([`cors`]),
//! `Basic` credentials ([`auth`]) and the reasons a head is refused,
//! [`error`]), request targets ([`target`]), `Range` syntax
//! ([`range`]), the response value and its encoding ([`response`]), the
//! chunked coding of streamed bodies ([`chunked`]), responses read as a
//! client ([`answer`]), the status table ([`status`]), HTTP dates ([`date`]), escaping ([`escape`]),
//! the client a proxy speaks for (the PROXY protocol header,
//! [`proxy_protocol`], and the `Forwarded` and `X-Forwarded-For` fields,
//! [`forwarded`]) and the protocol limits ([`limits`]).
//!
//! Imports: nothing else of the crate.

pub(crate) mod answer;
pub(crate) mod auth;
pub(crate) mod chunked;
pub(crate) mod cors;
pub(crate) mod date;
pub(crate) mod error;
pub(crate) mod escape;
pub(crate) mod fields;
pub(crate) mod forwarded;
pub(crate) mod host;
pub(crate) mod limits;
pub(crate) mod proxy_protocol;
pub(crate) mod range;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod status;
pub(crate) mod target;
pub(crate) mod version;
