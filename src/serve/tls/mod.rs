//! TLS for the HTTPS listener: certificates and keys loaded from PEM and
//! chosen by SNI ([`certs`]), the server configuration built from them
//! ([`config`]), that configuration as one value a reload swaps whole
//! ([`acceptor`]), the slot of the certificate ACME keeps and of its
//! challenge answers ([`managed`]), and the validity period read from a certificate to warn
//! about one expired or not yet valid ([`x509`]). The connection layer
//! moves the records; nothing here touches a socket.

pub(crate) mod acceptor;
pub(crate) mod certs;
pub(crate) mod config;
pub(crate) mod managed;
pub(crate) mod x509;

pub use acceptor::Acceptor;
pub(crate) use acceptor::Http2;
pub(crate) use acceptor::Prepared;
pub use certs::{CertPair, TlsError};
pub(crate) use config::ALPN_H2;
pub(crate) use managed::{ALPN_ACME, Managed};
