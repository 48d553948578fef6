//! The server side of TLS, built once per load of the certificates and
//! shared by every connection that starts while it is current.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::ServerSessionMemoryCache;
use rustls::{ServerConfig, version};

use crate::serve::limits::TLS_SESSIONS;

use super::certs::Certificates;
use super::managed::ALPN_ACME;

/// HTTP/1.1's application protocol name (RFC 7301).
pub(crate) const ALPN_HTTP11: &[u8] = b"http/1.1";

/// HTTP/2's over TLS (RFC 9113 §3.2), offered first unless `--http2 off`.
pub(crate) const ALPN_H2: &[u8] = b"h2";

/// The crypto provider staticd uses (ring: see Cargo.toml).
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The server side of TLS, built once and shared by every connection: TLS
/// 1.3 and 1.2 only (ring offers only AEAD suites with forward secrecy),
/// ALPN `h2` (with `http2`) then `http/1.1` (and `acme-tls/1` for the
/// CA, with ACME), resumption by ticket and by a bounded session cache,
/// and `certificates` chosen by SNI.
pub(crate) fn server_config(
    certificates: Arc<Certificates>,
    provider: Arc<CryptoProvider>,
    http2: bool,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let acme = certificates.has_acme();
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(certificates);
    config.alpn_protocols = match http2 {
        true => vec![ALPN_H2.to_vec(), ALPN_HTTP11.to_vec()],
        false => vec![ALPN_HTTP11.to_vec()],
    };
    if acme {
        config.alpn_protocols.push(ALPN_ACME.to_vec());
    }
    config.session_storage = ServerSessionMemoryCache::new(TLS_SESSIONS);
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    Ok(Arc::new(config))
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};

    use super::*;
    use crate::serve::tls::certs::CertPair;
    use crate::serve::tls::certs::tests::pair_for;

    /// A client trusting the certificates in `pairs`, speaking `versions`
    /// and offering `alpn`.
    pub(crate) fn client(
        pairs: &[CertPair],
        versions: &[&'static rustls::SupportedProtocolVersion],
        alpn: &[u8],
    ) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        for pair in pairs {
            for cert in CertificateDer::pem_file_iter(&pair.cert).unwrap() {
                roots.add(cert.unwrap()).unwrap();
            }
        }
        let mut config = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![alpn.to_vec()];
        config
    }

    /// A handshake in memory between `server` and a `client` asking for
    /// `name`: the client's view of it, or the server's error.
    pub(crate) fn handshake(
        server: &Arc<ServerConfig>,
        client: rustls::ClientConfig,
        name: &str,
    ) -> Result<rustls::ClientConnection, rustls::Error> {
        let mut server = rustls::ServerConnection::new(Arc::clone(server))?;
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(client), name)?;
        let mut wire = Vec::new();
        while client.is_handshaking() || server.is_handshaking() {
            wire.clear();
            client.write_tls(&mut wire).unwrap();
            server.read_tls(&mut &wire[..]).unwrap();
            server.process_new_packets()?;
            wire.clear();
            server.write_tls(&mut wire).unwrap();
            client.read_tls(&mut &wire[..]).unwrap();
            client.process_new_packets()?;
        }
        Ok(client)
    }

    fn two_sites(dir: &Path) -> (Vec<CertPair>, Arc<ServerConfig>) {
        two_sites_offering(dir, true)
    }

    fn two_sites_offering(dir: &Path, http2: bool) -> (Vec<CertPair>, Arc<ServerConfig>) {
        let pairs = vec![
            pair_for(dir, "main", &["main.test"]),
            pair_for(dir, "other", &["other.test"]),
        ];
        let certs = Arc::new(Certificates::load(&pairs, &provider()).unwrap());
        (pairs, server_config(certs, provider(), http2).unwrap())
    }

    #[test]
    fn tls13_and_tls12_handshakes_agree_on_http11_with_the_named_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (pairs, server) = two_sites(dir.path());
        for version in [&version::TLS13, &version::TLS12] {
            for name in ["main.test", "other.test"] {
                // The client checks the certificate against `name`.
                let client = client(&pairs, &[version], ALPN_HTTP11);
                let done = handshake(&server, client, name).unwrap();
                assert_eq!(done.alpn_protocol(), Some(ALPN_HTTP11));
                assert_eq!(done.protocol_version(), Some(version.version));
            }
        }
    }

    #[test]
    fn h2_is_agreed_when_offered_and_refused_with_http2_off() {
        let dir = tempfile::tempdir().unwrap();
        let (pairs, server) = two_sites(dir.path());
        let h2_only = client(&pairs, &[&version::TLS13], ALPN_H2);
        let done = handshake(&server, h2_only, "main.test").unwrap();
        assert_eq!(done.alpn_protocol(), Some(ALPN_H2));
        let (pairs, server) = two_sites_offering(dir.path(), false);
        let h2_only = client(&pairs, &[&version::TLS13], ALPN_H2);
        let refused = handshake(&server, h2_only, "main.test").unwrap_err();
        assert_eq!(refused, rustls::Error::NoApplicationProtocol);
    }

    #[test]
    fn the_session_cache_forgets_beyond_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let (_, server) = two_sites(dir.path());
        let store = &server.session_storage;
        for n in 0..=TLS_SESSIONS as u32 {
            assert!(store.put(n.to_be_bytes().to_vec(), vec![1]));
        }
        assert!(
            store.get(&0u32.to_be_bytes()).is_none(),
            "the oldest is forgotten"
        );
        let newest = (TLS_SESSIONS as u32).to_be_bytes();
        assert!(store.get(&newest).is_some());
    }
}
