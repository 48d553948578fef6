//! HTTPS in tests: certificates made at test time (never committed keys),
//! and a rustls client that trusts exactly them.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use staticd::CertPair;
use staticd::TlsOptions;

use super::connect;

/// A TLS client stream, as the tests read and write it.
pub type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A self-signed ECDSA P-256 certificate for `names`, written as PEM files
/// `STEM.crt` and `STEM.key` into `dir`.
pub fn certificate(dir: &Path, stem: &str, names: &[&str]) -> CertPair {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let made = rcgen::generate_simple_self_signed(names).expect("certificate");
    let pair = CertPair {
        cert: dir.join(format!("{stem}.crt")),
        key: dir.join(format!("{stem}.key")),
    };
    std::fs::write(&pair.cert, made.cert.pem()).unwrap();
    std::fs::write(&pair.key, made.signing_key.serialize_pem()).unwrap();
    pair
}

/// HTTPS options serving `pairs`, without HSTS.
pub fn options(pairs: &[CertPair]) -> TlsOptions {
    TlsOptions {
        certificates: pairs.to_vec(),
        acme: None,
        hsts: None,
    }
}

/// A client trusting the certificates in `pairs` as they are on disk now,
/// offering `http/1.1` and speaking `versions`.
pub fn client_for(
    pairs: &[CertPair],
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for pair in pairs {
        for cert in CertificateDer::pem_file_iter(&pair.cert).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

/// [`client_for`] with TLS 1.3 and 1.2.
pub fn client(pairs: &[CertPair]) -> Arc<ClientConfig> {
    client_for(pairs, rustls::DEFAULT_VERSIONS)
}

/// A TLS connection to `addr` asking for `name`, handshake done.
pub fn connect_tls(addr: SocketAddr, name: &str, config: &Arc<ClientConfig>) -> Tls {
    let name = ServerName::try_from(name.to_owned()).expect("server name");
    let conn = ClientConnection::new(Arc::clone(config), name).expect("client");
    let mut stream = StreamOwned::new(conn, connect(addr));
    while stream.conn.is_handshaking() {
        stream
            .conn
            .complete_io(&mut stream.sock)
            .expect("handshake");
    }
    stream
}

/// Sends `raw` over a new TLS connection and reads until the server ends
/// the session.
pub fn exchange_tls(addr: SocketAddr, config: &Arc<ClientConfig>, raw: &[u8]) -> Vec<u8> {
    let mut stream = connect_tls(addr, "localhost", config);
    stream.write_all(raw).unwrap();
    stream.flush().unwrap();
    super::read_to_close(&mut stream)
}
