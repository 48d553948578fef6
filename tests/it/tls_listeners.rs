//! HTTPS beside the rest of the server: the `--redirect-http` listener,
//! reloading certificates while connections are open, graceful shutdown
//! with a TLS download in flight, and TLS connections moving between
//! workers and waking from parking.

use crate::common;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::tls::{Tls, certificate, client, connect_tls, options};
use common::{Running, connect, fixture, read_reply, read_to_close, serve_options};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use staticd::Balance;
use staticd::CertPair;
use staticd::Config;
use staticd::{Drained, Hsts, TlsOptions};

/// A server over `root` with a `localhost` certificate written into
/// `certs`, the configuration as `configure` changes it and the HTTPS
/// options as `tls` does.
fn https_server(
    root: &std::path::Path,
    certs: &std::path::Path,
    configure: impl FnOnce(&mut staticd::Options),
) -> (Running, CertPair) {
    let pair = certificate(certs, "localhost", &["localhost"]);
    let mut opts = Config::for_root(root).options();
    opts.tls = Some(options(std::slice::from_ref(&pair)));
    configure(&mut opts);
    (serve_options(opts), pair)
}

fn page(stream: &mut Tls) -> Vec<u8> {
    stream
        .write_all(b"GET /dir2/page.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    read_reply(stream, false).body
}

const PAGE: &[u8] = b"<html><body>Page Sample</body></html>\n";

/// Sends `raw` to the redirect listener and returns the one reply, read
/// until the listener closes (it always does).
fn redirected(addr: SocketAddr, raw: &str) -> common::Reply {
    let mut stream = connect(addr);
    stream.write_all(raw.as_bytes()).unwrap();
    let got = read_to_close(&mut stream);
    let head_only = raw.starts_with("HEAD");
    let mut replies = common::parse_all(&got, head_only);
    assert_eq!(replies.len(), 1, "{raw:?}");
    replies.remove(0)
}

#[test]
fn the_redirect_listener_sends_every_request_to_https() {
    let (root, certs) = (fixture(), tempfile::tempdir().unwrap());
    let (srv, _) = https_server(root.path(), certs.path(), |o| {
        o.redirect_http = Some(0);
        o.tls.as_mut().unwrap().hsts = Some(Hsts {
            max_age: 60,
            include_subdomains: false,
        });
    });
    let plain = srv.redirect.expect("redirect listener");
    let https_port = srv.addr.port();
    let cases = [
        (
            "GET /dir2/page.html?a=1&b=%20 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n",
            301,
            "/dir2/page.html?a=1&b=%20",
        ),
        ("HEAD /x HTTP/1.1\r\nHost: example.test\r\n\r\n", 301, "/x"),
        (
            "POST /form HTTP/1.1\r\nHost: example.test\r\nContent-Length: 0\r\n\r\n",
            308,
            "/form",
        ),
        (
            "GET //evil.example/x HTTP/1.1\r\nHost: example.test\r\n\r\n",
            301,
            "/evil.example/x",
        ),
        (
            "GET http://other.test/abs?q HTTP/1.1\r\nHost: example.test\r\n\r\n",
            301,
            "/abs?q",
        ),
        ("GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n", 301, "/"),
    ];
    for (raw, status, path) in cases {
        let reply = redirected(plain, raw);
        assert_eq!(reply.status, status, "{raw:?}");
        let host = if raw.contains("[::1]") {
            "[::1]"
        } else {
            "example.test"
        };
        let want = format!("https://{host}:{https_port}{path}");
        assert_eq!(reply.header("Location"), Some(want.as_str()), "{raw:?}");
        assert_eq!(reply.header("Connection"), Some("close"), "{raw:?}");
        // HSTS only ever over HTTPS (RFC 6797 §7.2).
        assert_eq!(reply.header("Strict-Transport-Security"), None);
    }
    for raw in [
        "GET / HTTP/1.0\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: bad host\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
    ] {
        let reply = redirected(plain, raw);
        assert_eq!(reply.status, 400, "{raw:?}");
        assert_eq!(reply.header("Location"), None, "{raw:?}");
    }
}

/// The end-entity certificate a new handshake for `localhost` is shown.
fn shown(addr: SocketAddr, trust: &CertPair) -> Vec<u8> {
    let config = client(std::slice::from_ref(trust));
    let stream = connect_tls(addr, "localhost", &config);
    stream.conn.peer_certificates().unwrap()[0].to_vec()
}

fn der(pair: &CertPair) -> Vec<u8> {
    CertificateDer::from_pem_file(&pair.cert).unwrap().to_vec()
}

#[test]
fn a_reload_serves_new_handshakes_the_new_certificate_and_open_ones_carry_on() {
    let (root, certs) = (fixture(), tempfile::tempdir().unwrap());
    let (srv, pair) = https_server(root.path(), certs.path(), |_| {});
    let tls = srv.tls.clone().expect("HTTPS");
    let old = der(&pair);
    let mut open = connect_tls(srv.addr, "localhost", &client(std::slice::from_ref(&pair)));
    assert_eq!(page(&mut open), PAGE);

    // Renewed in place, as certbot does, then reloaded.
    let renewed = certificate(certs.path(), "localhost", &["localhost"]);
    assert_ne!(der(&renewed), old);
    tls.reload().expect("reload");
    assert_eq!(shown(srv.addr, &renewed), der(&renewed));
    assert_eq!(page(&mut open), PAGE, "the open connection carries on");

    // A broken renewal: the reload fails and the current pair stays.
    std::fs::write(&pair.key, "-----BEGIN PRIVATE KEY-----\nbroken\n").unwrap();
    let err = staticd::report(&tls.reload().expect_err("a bad key cannot load"));
    assert!(err.contains(&pair.key.display().to_string()), "{err}");
    assert_eq!(shown(srv.addr, &renewed), der(&renewed));
    assert_eq!(page(&mut open), PAGE);
}

#[test]
fn shutdown_lets_a_tls_download_in_flight_finish() {
    const SIZE: usize = 8 << 20;
    let (root, certs) = (fixture(), tempfile::tempdir().unwrap());
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.path().join("big.bin"), &data).unwrap();
    let (srv, pair) = https_server(root.path(), certs.path(), |_| {});
    let mut stream = connect_tls(srv.addr, "localhost", &client(std::slice::from_ref(&pair)));
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    // The head is here, so the download is in flight; the body is not
    // read yet, so it cannot have finished.
    let mut head = [0u8; 16];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(&head[..], b"HTTP/1.1 200 OK\r");
    let shutdown = std::thread::spawn(move || srv.shutdown());
    let rest = read_to_close(&mut stream);
    let body_at = common::find(&rest, b"\r\n\r\n").unwrap() + 4;
    assert!(
        String::from_utf8_lossy(&rest[..body_at]).contains("Connection: keep-alive"),
        "the response had started before the shutdown"
    );
    assert_eq!(
        &rest[body_at..],
        &data[..],
        "the whole body, then close_notify"
    );
    assert_eq!(shutdown.join().unwrap(), Drained::All);
}

#[test]
fn tls_connections_move_between_workers_and_wake_from_parking() {
    let (root, certs) = (fixture(), tempfile::tempdir().unwrap());
    let (srv, pair) = https_server(root.path(), certs.path(), |o| {
        o.workers = 2;
        o.balance = Balance::Spread;
    });
    let pool = Arc::clone(&srv.pool);
    pool.set_active(1);
    let trust = client(std::slice::from_ref(&pair));
    let mut conns: Vec<Tls> = (0..4)
        .map(|_| connect_tls(srv.addr, "localhost", &trust))
        .collect();
    let round = |conns: &mut Vec<Tls>| {
        for conn in conns.iter_mut() {
            assert_eq!(page(conn), PAGE);
        }
    };
    round(&mut conns);
    assert_eq!(pool.held(), [4, 0]);
    pool.set_active(2);
    round(&mut conns);
    round(&mut conns);
    assert_eq!(pool.held(), [2, 2], "moved with their TLS sessions");
    pool.set_active(1);
    round(&mut conns);
    round(&mut conns);
    assert_eq!(pool.held(), [4, 0]);
    // Idle well past the parking delay (25 ms, doubling up to 1.6 s with
    // use), so each is parked and woken by its next request.
    std::thread::sleep(Duration::from_millis(300)); // the client's idle time, not synchronisation
    round(&mut conns);
    let _ = srv.detach();
}

#[test]
fn https_options_with_no_certificate_files_refuse_to_start() {
    let root = fixture();
    let dir = tempfile::tempdir().unwrap();
    let missing = CertPair {
        cert: dir.path().join("missing.crt"),
        key: dir.path().join("missing.key"),
    };
    let mut opts = Config::for_root(root.path()).options();
    opts.tls = Some(TlsOptions {
        certificates: vec![missing.clone()],
        acme: None,
        hsts: None,
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = match runtime.block_on(staticd::Server::bind(&opts)) {
        Ok(_) => panic!("started without a certificate"),
        Err(err) => staticd::report(&err),
    };
    assert!(
        err.starts_with(&format!("HTTPS: {}: cannot read", missing.cert.display())),
        "{err}"
    );
}
