//! The HTTPS listener's configuration as one swappable value: built at
//! start-up from the certificate files, rebuilt from the same files on
//! reload (SIGHUP) and swapped whole, so new handshakes use the new
//! certificates while connections already open keep the configuration
//! they started with. A reload that fails leaves the current one in place.

use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;

use super::certs::{CertPair, Certificates, TlsError};
use super::config::{provider, server_config};
use super::managed::Managed;

/// The current server configuration, and where it comes from.
#[derive(Debug)]
pub struct Acceptor {
    provider: Arc<CryptoProvider>,
    current: RwLock<Prepared>,
    /// The ACME certificate (`--acme-domain`), the same in every
    /// configuration this acceptor puts in force.
    managed: Option<Arc<Managed>>,
}

/// Whether ALPN offers `h2` (`--http2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Http2(pub bool);

/// A configuration built from certificate files, ready to be put in force
/// with [`Acceptor::install`]: a reload builds everything it needs before
/// it changes anything.
#[derive(Debug)]
pub(crate) struct Prepared {
    pairs: Vec<CertPair>,
    http2: Http2,
    config: Arc<ServerConfig>,
    /// Each certificate's file and when it expires, for the metrics.
    expiries: Vec<(String, u64)>,
}

impl Acceptor {
    /// Loads every pair (the first is the default certificate); with a
    /// warning for each certificate not valid now.
    pub(crate) fn load(
        pairs: &[CertPair],
        http2: Http2,
        managed: Option<Arc<Managed>>,
    ) -> Result<(Acceptor, Vec<String>), TlsError> {
        let provider = provider();
        let (config, expiries, warnings) = build(pairs, &provider, http2, managed.clone())?;
        let current = Prepared {
            pairs: pairs.to_vec(),
            http2,
            config,
            expiries,
        };
        let acceptor = Acceptor {
            provider,
            current: RwLock::new(current),
            managed,
        };
        Ok((acceptor, warnings))
    }

    /// The configuration for a connection starting now.
    pub fn config(&self) -> Arc<ServerConfig> {
        // A poisoned lock still holds a whole configuration: swapping it
        // cannot be left half done.
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        Arc::clone(&current.config)
    }

    /// Reads the certificate files again and, if every pair loads, makes
    /// them the ones new handshakes use.
    pub fn reload(&self) -> Result<Vec<String>, TlsError> {
        let http2 = self.current.read().unwrap_or_else(|e| e.into_inner()).http2;
        let (prepared, warnings) = self.prepare(&self.pairs(), http2)?;
        self.install(prepared);
        Ok(warnings)
    }

    /// Reads `pairs` (which may name other files than those in use), for
    /// [`Acceptor::install`]; changes nothing.
    pub(crate) fn prepare(
        &self,
        pairs: &[CertPair],
        http2: Http2,
    ) -> Result<(Prepared, Vec<String>), TlsError> {
        let (config, expiries, warnings) =
            build(pairs, &self.provider, http2, self.managed.clone())?;
        let prepared = Prepared {
            pairs: pairs.to_vec(),
            http2,
            config,
            expiries,
        };
        Ok((prepared, warnings))
    }

    /// Makes `prepared` the configuration new handshakes use.
    pub(crate) fn install(&self, prepared: Prepared) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = prepared;
    }

    /// Each certificate in use: its file and its `notAfter` in Unix
    /// seconds (the ACME one's once there is one).
    pub(crate) fn expiries(&self) -> Vec<(String, u64)> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        let mut expiries = current.expiries.clone();
        if let Some((file, not_after)) = self.managed.as_ref().and_then(|m| m.expiry()) {
            expiries.push((file, not_after));
        }
        expiries
    }

    /// The ACME certificate's slot, with `--acme-domain`.
    pub(crate) fn managed(&self) -> Option<&Arc<Managed>> {
        self.managed.as_ref()
    }

    /// The certificate files in use, in order.
    pub fn pairs(&self) -> Vec<CertPair> {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.pairs.clone()
    }
}

/// What a built configuration comes with: when each certificate expires,
/// and the warnings to log.
type Built = (Arc<ServerConfig>, Vec<(String, u64)>, Vec<String>);

/// A server configuration for `pairs`, their expiries and the warnings for
/// them.
fn build(
    pairs: &[CertPair],
    provider: &Arc<CryptoProvider>,
    http2: Http2,
    managed: Option<Arc<Managed>>,
) -> Result<Built, TlsError> {
    let certificates = Arc::new(Certificates::load(pairs, provider)?.with_managed(managed));
    let warnings = certificates.warnings(pairs, std::time::SystemTime::now());
    let expiries = certificates.expiries(pairs);
    let config = server_config(certificates, Arc::clone(provider), http2.0).map_err(|err| {
        // Only a provider without TLS 1.2/1.3 or a ticketer could fail
        // here; name the first certificate so the line still says where.
        TlsError::Config(pairs.first().map(|p| p.key.clone()), err)
    })?;
    Ok((config, expiries, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serve::tls::certs::tests::pair_for;
    use crate::serve::tls::config::ALPN_HTTP11;
    use crate::serve::tls::config::tests::{client, handshake};

    /// The certificate a client asking for site.test is shown, checked
    /// against the certificate file as it is now.
    fn shown(acceptor: &Acceptor, pair: &CertPair) -> Vec<u8> {
        let client = client(
            std::slice::from_ref(pair),
            &[&rustls::version::TLS13],
            ALPN_HTTP11,
        );
        let done = handshake(&acceptor.config(), client, "site.test").unwrap();
        done.peer_certificates().unwrap()[0].to_vec()
    }

    #[test]
    fn a_reload_swaps_in_new_certificates_and_a_failed_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let pair = pair_for(dir.path(), "site", &["site.test"]);
        let (acceptor, warnings) =
            Acceptor::load(std::slice::from_ref(&pair), Http2(true), None).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let before = acceptor.config();
        let first = shown(&acceptor, &pair);

        let renewed = pair_for(dir.path(), "site", &["site.test"]);
        assert_eq!(renewed, pair, "the same files, new contents");
        acceptor.reload().unwrap();
        assert!(!Arc::ptr_eq(&before, &acceptor.config()), "swapped");
        assert_ne!(shown(&acceptor, &pair), first);

        let kept = acceptor.config();
        std::fs::write(&pair.key, "not a key").unwrap();
        let err = crate::ops::diagnostics::report(&acceptor.reload().unwrap_err());
        assert!(err.starts_with(&pair.key.display().to_string()), "{err}");
        assert!(Arc::ptr_eq(&kept, &acceptor.config()), "the old one stays");
    }
}
