//! Operations: what serves the people running staticd rather than its
//! clients: the access log ([`access_log`]) and the health probe
//! ([`probe`]).
//!
//! Imports: [`crate::http`] only (dates and escaping).

pub mod access_log;
pub mod limits;
pub mod probe;
