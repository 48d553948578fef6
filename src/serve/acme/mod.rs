//! Automatic HTTPS (`--acme-domain`): staticd as an ACME client (RFC
//! 8555) that obtains one certificate for the names at start, renews it in
//! the background and keeps serving through a CA outage.
//!
//! Owns the task and its schedule ([`task`], [`schedule`]), the order
//! itself ([`order`]), the HTTPS client it speaks through ([`client`]) and
//! the state directory ([`state`]). The certificate and the challenge
//! answers go to [`crate::serve::tls::Managed`], which the TLS resolver
//! (TLS-ALPN-01) and the redirect listener (HTTP-01) read.
//!
//! Imports: the serving layer's options, limits and TLS, `http` (the
//! response parser and dates), `ops` (metrics, diagnostics), `shutdown`.

mod client;
mod order;
mod schedule;
mod state;
mod task;

pub(crate) use task::{Acme, describe, prepare};
