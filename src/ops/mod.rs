//! Operations: what serves the people running staticd rather than its
//! clients: the access log ([`access_log`]), diagnostics on standard error
//! ([`diagnostics`]) and the health probe ([`probe`]).
//!
//! Imports: [`crate::http`] only (dates and escaping).

pub mod access_log;
pub mod diagnostics;
pub mod limits;
pub mod probe;
