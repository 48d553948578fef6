//! Operations: what serves the people running staticd rather than its
//! clients: the access log ([`access_log`]), diagnostics on standard error
//! ([`diagnostics`]), the health probe ([`probe`]) and the start-up QR
//! code ([`qrcode`]), and the metrics a monitoring system scrapes
//! ([`metrics`]).
//!
//! Imports: [`crate::http`] only (dates and escaping).

pub(crate) mod access_log;
pub(crate) mod diagnostics;
pub(crate) mod limits;
pub(crate) mod metrics;
pub(crate) mod probe;
pub(crate) mod qrcode;
