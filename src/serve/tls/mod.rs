//! TLS for the HTTPS listener: certificates and keys loaded from PEM and
//! chosen by SNI ([`certs`]), the server configuration built from them
//! ([`config`]), that configuration as one value a reload swaps whole
//! ([`acceptor`]), and the validity period read from a certificate to warn
//! about one expired or not yet valid ([`validity`], with what it needs of
//! DER in [`der`]). The connection layer moves the records; nothing here
//! touches a socket.

pub mod acceptor;
pub mod certs;
pub mod config;
pub mod der;
pub mod validity;

pub use acceptor::Acceptor;
pub use certs::{CertPair, Certificates, TlsError, load_pair};
pub use config::{ALPN_HTTP11, provider, server_config};
