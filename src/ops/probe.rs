//! `--probe PATH`: a health check for container runtimes that have no
//! shell or curl (a `HEALTHCHECK` in a scratch image). It asks the server
//! described by the same configuration for PATH and succeeds on any
//! status below 400, over TLS when that server's listener speaks it.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

use crate::ops::limits::PROBE_TIMEOUT;

/// The one application protocol the probe offers, as the server expects.
const ALPN_HTTP11: &[u8] = b"http/1.1";

/// Where a probe connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Tcp(SocketAddr),
    /// A Unix stream socket's path.
    Unix(PathBuf),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Tcp(addr) => addr.fmt(f),
            Target::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Where to probe: the bound address, with unspecified addresses
/// (`0.0.0.0`, `::`) replaced by loopback.
pub(crate) fn target(bind: IpAddr, port: u16) -> SocketAddr {
    let ip = match bind {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        other => other,
    };
    SocketAddr::new(ip, port)
}

/// `--probe PATH` against the server listening at `addr`, over TLS
/// when `tls` (its main listener speaks HTTPS): `Ok` when it answers below
/// 400, else the line to show.
pub fn check(addr: &Target, path: &str, tls: bool) -> Result<(), String> {
    let over = if tls { " over TLS" } else { "" };
    match probe(addr, path, tls) {
        Ok(status) if status < 400 => Ok(()),
        Ok(status) => Err(format!("probe {addr}{path}{over}: status {status}")),
        Err(err) => Err(format!("probe {addr}{path}{over}: {err}")),
    }
}

/// Sends `HEAD path`, over TLS when `tls`, and returns the status code.
pub(crate) fn probe(addr: &Target, path: &str, tls: bool) -> io::Result<u16> {
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the probe path must start with / and hold no spaces",
        ));
    }
    match addr {
        Target::Tcp(addr) => {
            let stream = TcpStream::connect_timeout(addr, PROBE_TIMEOUT)?;
            stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
            stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
            let host = match addr {
                SocketAddr::V4(a) => a.to_string(),
                SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
            };
            // An IP address: rustls sends no SNI for it, so the server
            // answers with its default certificate, as good as any here.
            let name = ServerName::IpAddress(addr.ip().into());
            ask(stream, &host, name, path, tls)
        }
        Target::Unix(socket) => {
            let stream = UnixStream::connect(socket)?;
            stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
            stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
            // A Unix socket has no host name of its own; a reverse proxy
            // in front of one says localhost too.
            let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
            ask(stream, "localhost", name, path, tls)
        }
    }
}

/// Sends `HEAD path` with `Host: host` on `stream`, over TLS to `name`
/// when `tls`, and returns the status code.
fn ask(
    stream: impl Read + Write,
    host: &str,
    name: ServerName<'static>,
    path: &str,
    tls: bool,
) -> io::Result<u16> {
    let request = format!(
        "HEAD {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: staticd-probe\r\n\r\n"
    );
    if !tls {
        return exchange(stream, &request);
    }
    let config = client_config().map_err(io::Error::other)?;
    let connection = ClientConnection::new(config, name).map_err(io::Error::other)?;
    exchange(StreamOwned::new(connection, stream), &request)
}

/// Writes `request` and reads the status code of the answer.
fn exchange(mut stream: impl Read + Write, request: &str) -> io::Result<u16> {
    stream.write_all(request.as_bytes())?;
    stream.flush()?;
    let mut head = [0u8; 64];
    let mut len = 0;
    while len < 12 {
        let n = stream.read(&mut head[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    status_of(&head[..len])
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP response"))
}

/// The probe's TLS client: TLS 1.3 and 1.2 with ring, as the server
/// speaks, offering `http/1.1`, and trusting any certificate (see
/// [`AnyCertificate`]).
fn client_config() -> Result<Arc<ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = AnyCertificate(provider.signature_verification_algorithms);
    let versions = [&rustls::version::TLS13, &rustls::version::TLS12];
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&versions)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_HTTP11.to_vec()];
    Ok(Arc::new(config))
}

/// Accepts any server certificate, unverified. The probe asks whether the
/// server on this machine's own address is up and answering, not who it
/// is: it connects to loopback or the bound address, and the certificate
/// may be self-signed, for another name, expired or not yet trusted, and
/// staticd should still be reported alive. The handshake's signatures are
/// still checked, so the peer must hold the key of the certificate it
/// sent: a TLS stack that merely echoes bytes does not pass.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The status code of a response that starts `HTTP/1.x NNN`.
fn status_of(head: &[u8]) -> Option<u16> {
    let rest = head.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread::{self, JoinHandle};
    use std::time::Instant;

    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    use rustls::{ServerConfig, ServerConnection, SupportedProtocolVersion};

    use super::*;

    /// A TLS server speaking only `version`, with a fresh self-signed
    /// certificate (built here: this layer may not name `serve::tls`).
    fn tls_server(version: &'static SupportedProtocolVersion) -> Arc<ServerConfig> {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[version])
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![made.cert.der().clone()], PrivateKeyDer::Pkcs8(key))
            .unwrap();
        Arc::new(config)
    }

    /// A server on loopback for one connection, over TLS with `tls`,
    /// answering `status`: its address and its thread.
    fn serve_once(tls: Option<Arc<ServerConfig>>, status: u16) -> (SocketAddr, JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let thread = thread::spawn(move || {
            let (socket, _) = listener.accept().unwrap();
            socket.set_read_timeout(Some(PROBE_TIMEOUT)).unwrap();
            let _ = match tls {
                Some(config) => {
                    let connection = ServerConnection::new(config).unwrap();
                    answer(StreamOwned::new(connection, socket), status)
                }
                None => answer(socket, status),
            };
        });
        (addr, thread)
    }

    /// Reads a request head and answers `status`. As staticd does, bytes
    /// that cannot start a request (a TLS hello) are answered at once.
    fn answer(mut stream: impl Read + Write, status: u16) -> io::Result<()> {
        let mut seen = Vec::new();
        let mut buf = [0u8; 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n")
            && seen.first().is_none_or(u8::is_ascii_alphabetic)
        {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        let head =
            format!("HTTP/1.1 {status} Any\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes())?;
        stream.flush()
    }

    /// `check` against a server answering `status`, which must be done
    /// within [`PROBE_TIMEOUT`].
    fn check_once(
        server_tls: Option<Arc<ServerConfig>>,
        status: u16,
        tls: bool,
    ) -> Result<(), String> {
        let (addr, server) = serve_once(server_tls, status);
        let start = Instant::now();
        let checked = check(&Target::Tcp(addr), "/health", tls);
        assert!(start.elapsed() < PROBE_TIMEOUT, "{checked:?} took too long");
        server.join().unwrap();
        checked
    }

    #[test]
    fn tls_probes_pass_below_400_with_either_version() {
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            assert_eq!(check_once(Some(tls_server(version)), 200, true), Ok(()));
            assert_eq!(check_once(Some(tls_server(version)), 301, true), Ok(()));
        }
        assert_eq!(check_once(None, 200, false), Ok(()));
    }

    #[test]
    fn tls_probes_report_a_status_of_400_or_more() {
        let server = tls_server(&rustls::version::TLS13);
        let err = check_once(Some(server), 404, true).unwrap_err();
        assert!(err.ends_with("/health over TLS: status 404"), "{err}");
        let err = check_once(None, 503, false).unwrap_err();
        assert!(err.ends_with("/health: status 503"), "{err}");
    }

    #[test]
    fn the_wrong_protocol_fails_either_way() {
        let server = tls_server(&rustls::version::TLS13);
        let plain_to_tls = check_once(Some(server), 200, false);
        assert!(plain_to_tls.is_err(), "{plain_to_tls:?}");
        // The plain server's 200 is not taken for a TLS answer.
        let tls_to_plain = check_once(None, 200, true);
        assert!(tls_to_plain.is_err(), "{tls_to_plain:?}");
    }

    #[test]
    fn status_line() {
        assert_eq!(status_of(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_of(b"HTTP/1.0 404 Not Found"), Some(404));
        assert_eq!(status_of(b"SSH-2.0-x"), None);
        assert_eq!(status_of(b"HTTP/1.1"), None);
    }

    #[test]
    fn unspecified_binds_are_probed_on_loopback() {
        assert_eq!(
            target("0.0.0.0".parse().unwrap(), 80),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            target("::".parse().unwrap(), 80),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            target("10.1.2.3".parse().unwrap(), 81),
            "10.1.2.3:81".parse().unwrap()
        );
    }

    #[test]
    fn refuses_odd_paths() {
        let addr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            probe(&Target::Tcp(addr), "x", false).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            probe(&Target::Tcp(addr), "/a b", true).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
