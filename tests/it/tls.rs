//! HTTPS: the main listener over real TLS (a rustls client), everything
//! that works over plain HTTP working the same, and what only TLS has:
//! ALPN, SNI, resumption, the handshake deadline, plaintext on the TLS
//! port, HSTS, reloading certificates.

use crate::common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use common::tls::{certificate, client, client_for, connect_tls, exchange_tls, options};
use common::{Running, connect, fixture, read_reply, read_to_close, serve_options};
use rustls::version::{TLS12, TLS13};
use staticd::CertPair;
use staticd::Config;
use staticd::{Hsts, TlsOptions};

const PAGE: &[u8] = b"<html><body>Page Sample</body></html>\n";

/// An HTTPS server over the fixture root with a certificate for
/// `localhost`, configured by `configure`, and what the test needs of it.
struct Https {
    running: Running,
    pair: CertPair,
    _root: tempfile::TempDir,
    _certs: tempfile::TempDir,
}

impl Https {
    fn addr(&self) -> SocketAddr {
        self.running.addr
    }
}

/// [`Https`] with `configure` applied to the configuration, then `tls`
/// (given the `localhost` pair) to the HTTPS options.
fn https_with(
    configure: impl FnOnce(&mut Config),
    tls: impl FnOnce(&CertPair, &mut TlsOptions),
) -> Https {
    let root = fixture();
    let certs = tempfile::tempdir().unwrap();
    let pair = certificate(certs.path(), "localhost", &["localhost"]);
    let mut config = Config::for_root(root.path());
    configure(&mut config);
    let mut opts = config.options();
    let mut tls_options = options(std::slice::from_ref(&pair));
    tls(&pair, &mut tls_options);
    opts.tls = Some(tls_options);
    Https {
        running: serve_options(opts),
        pair,
        _root: root,
        _certs: certs,
    }
}

fn https(configure: impl FnOnce(&mut Config)) -> Https {
    https_with(configure, |_, _| {})
}

fn get_page(stream: &mut impl Write) {
    stream
        .write_all(b"GET /dir2/page.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
}

#[test]
fn both_versions_serve_the_page_over_http11_with_keep_alive() {
    let srv = https(|_| {});
    for version in [&TLS13, &TLS12] {
        let config = client_for(std::slice::from_ref(&srv.pair), &[version]);
        let mut stream = connect_tls(srv.addr(), "localhost", &config);
        assert_eq!(stream.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
        assert_eq!(stream.conn.protocol_version(), Some(version.version));
        for _ in 0..3 {
            get_page(&mut stream);
            let reply = read_reply(&mut stream, false);
            assert_eq!(reply.status, 200);
            assert_eq!(reply.header("Connection"), Some("keep-alive"));
            assert_eq!(reply.body, PAGE);
        }
    }
}

#[test]
fn pipelined_requests_are_answered_in_order_and_the_session_ends_cleanly() {
    let srv = https(|_| {});
    let config = client(std::slice::from_ref(&srv.pair));
    let raw = b"GET /a.txt HTTP/1.1\r\nHost: l\r\n\r\n\
                HEAD /a.css HTTP/1.1\r\nHost: l\r\n\r\n\
                GET /dir2/page.html HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n";
    // read_to_close fails on a TCP close without close_notify: a client
    // could not tell a complete response from a cut one.
    let got = exchange_tls(srv.addr(), &config, raw);
    assert_eq!(split_replies(&got), ["200 txt", "200 HEAD", "200 page"]);
}

/// The three replies of the pipelining test, as `STATUS WHAT`.
fn split_replies(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let mut out = Vec::new();
    for (i, part) in text.split("HTTP/1.1 ").skip(1).enumerate() {
        let status = &part[..3];
        let what = match i {
            0 if part.ends_with("\r\n\r\ntxt") => "txt",
            1 if part.ends_with("\r\n\r\n") && part.contains("Content-Length: 3") => "HEAD",
            2 if part.ends_with(std::str::from_utf8(PAGE).unwrap()) => "page",
            _ => "wrong",
        };
        out.push(format!("{status} {what}"));
    }
    out
}

#[test]
fn a_plain_http_request_on_the_tls_port_is_told_to_use_https() {
    let srv = https(|_| {});
    let mut stream = connect(srv.addr());
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let got = String::from_utf8(read_to_close(&mut stream)).unwrap();
    assert!(got.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{got}");
    assert!(got.contains("\r\nConnection: close\r\n"), "{got}");
    assert!(got.ends_with("use an https:// address.\n"), "{got}");
}

#[test]
fn garbage_and_a_truncated_client_hello_end_only_their_connection() {
    let srv = https(|c| c.header_timeout = Duration::from_millis(300));
    let mut garbage = connect(srv.addr());
    garbage.write_all(&[0x00, 0xff, 0x13, 0x37]).unwrap();
    assert!(read_to_close(&mut garbage).is_empty());
    // A handshake record header promising more than is ever sent.
    let mut truncated = connect(srv.addr());
    truncated
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01])
        .unwrap();
    assert!(read_to_close(&mut truncated).is_empty());
    // A well-framed record that is not a ClientHello: an alert back.
    let mut bogus = connect(srv.addr());
    bogus
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0x04, 0x63, 0x00, 0x00, 0x00])
        .unwrap();
    let alert = read_to_close(&mut bogus);
    assert_eq!(alert.first(), Some(&0x15), "a TLS alert record: {alert:?}");
    let config = client(std::slice::from_ref(&srv.pair));
    let mut good = connect_tls(srv.addr(), "localhost", &config);
    get_page(&mut good);
    assert_eq!(read_reply(&mut good, false).body, PAGE);
}

#[test]
fn a_silent_or_dripping_client_is_cut_off_at_the_header_timeout() {
    let srv = https(|c| c.header_timeout = Duration::from_millis(300));
    let started = std::time::Instant::now();
    let mut silent = connect(srv.addr());
    let mut buf = [0u8; 64];
    assert_eq!(silent.read(&mut buf).unwrap_or(0), 0, "closed");
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A real ClientHello, a byte every 20 ms: never idle, never done.
    let config = client(std::slice::from_ref(&srv.pair));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut hello = Vec::new();
    let mut conn = rustls::ClientConnection::new(config, name).unwrap();
    conn.write_tls(&mut hello).unwrap();
    let stream = connect(srv.addr());
    let mut writer = stream.try_clone().unwrap();
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        for byte in hello {
            if writer.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20)); // the attack's pace
        }
    });
    let mut reader = stream;
    let got = read_to_close(&mut reader);
    let waited = started.elapsed();
    assert!(got.is_empty(), "no handshake reply to half a ClientHello");
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(waited < Duration::from_secs(4), "not cut off: {waited:?}");
}

#[test]
fn sni_chooses_the_certificate_and_others_get_the_first() {
    let certs = tempfile::tempdir().unwrap();
    let other = certificate(certs.path(), "other", &["other.test"]);
    let srv = https_with(|_| {}, |_, tls| tls.certificates.push(other.clone()));
    let main = srv.pair.clone();
    let pairs = [main.clone(), other.clone()];
    let trust = client(&pairs);
    let shown = |name: &str| {
        let stream = connect_tls(srv.addr(), name, &trust);
        stream.conn.peer_certificates().unwrap()[0].to_vec()
    };
    let der = |pair: &CertPair| {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_file(&pair.cert)
            .unwrap()
            .to_vec()
    };
    assert_eq!(shown("other.test"), der(&other));
    assert_eq!(shown("localhost"), der(&main));
}

#[test]
fn a_second_connection_resumes_the_session() {
    let srv = https(|_| {});
    for version in [&TLS13, &TLS12] {
        let config = client_for(std::slice::from_ref(&srv.pair), &[version]);
        let mut first = connect_tls(srv.addr(), "localhost", &config);
        get_page(&mut first);
        assert_eq!(read_reply(&mut first, false).body, PAGE);
        assert_eq!(
            first.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Full)
        );
        let mut second = connect_tls(srv.addr(), "localhost", &config);
        get_page(&mut second);
        assert_eq!(read_reply(&mut second, false).body, PAGE);
        assert_eq!(
            second.conn.handshake_kind(),
            Some(rustls::HandshakeKind::Resumed),
            "{version:?}"
        );
    }
}

#[test]
fn hsts_is_on_every_https_response_when_asked_for() {
    let hsts = Hsts {
        max_age: 31_536_000,
        include_subdomains: true,
    };
    let srv = https_with(|_| {}, |_, tls| tls.hsts = Some(hsts));
    let config = client(std::slice::from_ref(&srv.pair));
    let mut stream = connect_tls(srv.addr(), "localhost", &config);
    for target in ["/dir2/page.html", "/missing"] {
        write!(stream, "GET {target} HTTP/1.1\r\nHost: l\r\n\r\n").unwrap();
        let reply = read_reply(&mut stream, false);
        assert_eq!(
            reply.header("Strict-Transport-Security"),
            Some("max-age=31536000; includeSubDomains"),
            "{target}"
        );
    }
}

#[test]
fn without_hsts_no_strict_transport_security_is_sent() {
    let srv = https(|_| {});
    let config = client(std::slice::from_ref(&srv.pair));
    let mut stream = connect_tls(srv.addr(), "localhost", &config);
    get_page(&mut stream);
    let reply = read_reply(&mut stream, false);
    assert_eq!(reply.header("Strict-Transport-Security"), None);
}
