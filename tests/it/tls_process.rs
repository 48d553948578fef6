//! HTTPS through the binary, as a user runs it: the options, start-up
//! errors, SIGHUP reloads, `--probe` over TLS, curl and `openssl s_client`
//! as clients, and a multi-GiB download over TLS in bounded memory.

use crate::common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::process::{BIN, Process, Stdout, run};
use common::tls::{certificate, client, connect_tls};
use common::tools::on_path;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use staticd::CertPair;

fn tls_args<'a>(root: &'a Path, pair: &'a CertPair) -> Vec<&'a str> {
    vec![
        "--root",
        root.to_str().unwrap(),
        "--tls-cert",
        pair.cert.to_str().unwrap(),
        "--tls-key",
        pair.key.to_str().unwrap(),
        "-w",
        "1",
    ]
}

fn der(pair: &CertPair) -> Vec<u8> {
    CertificateDer::from_pem_file(&pair.cert).unwrap().to_vec()
}

fn shown(server: &Process, trust: &CertPair) -> Vec<u8> {
    let stream = connect_tls(
        server.addr,
        "localhost",
        &client(std::slice::from_ref(trust)),
    );
    stream.conn.peer_certificates().unwrap()[0].to_vec()
}

#[test]
fn startup_errors_name_the_file_and_exit_non_zero() {
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let a = certificate(dir.path(), "a", &["localhost"]);
    let b = certificate(dir.path(), "b", &["localhost"]);
    let root_arg = root.path().to_str().unwrap();
    let missing = dir.path().join("missing.pem");
    let cases: [(&Path, &Path, String); 3] = [
        (
            &missing,
            &a.key,
            format!("{}: cannot read", missing.display()),
        ),
        (
            &a.key,
            &a.key,
            format!("{}: no certificate in this file", a.key.display()),
        ),
        (
            &a.cert,
            &b.key,
            format!("{}: this key does not match", b.key.display()),
        ),
    ];
    for (cert, key, want) in cases {
        let args = [
            "--root",
            root_arg,
            "--port",
            "0",
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ];
        let (code, _, stderr) = run(&args, &[]);
        assert_ne!(code, 0, "{args:?}");
        assert!(stderr.contains(&want), "{want:?} not in {stderr}");
    }
}

#[test]
fn an_expired_certificate_is_a_warning_not_a_refusal() {
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let pair = CertPair {
        cert: dir.path().join("old.crt"),
        key: dir.path().join("old.key"),
    };
    std::fs::write(&pair.cert, params.self_signed(&key).unwrap().pem()).unwrap();
    std::fs::write(&pair.key, key.serialize_pem()).unwrap();
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let warning = server
        .startup
        .iter()
        .find(|line| line.contains("expired"))
        .unwrap_or_else(|| panic!("no warning in {:?}", server.startup));
    assert!(warning.contains("WARN"), "{warning}");
    assert!(warning.contains(pair.cert.to_str().unwrap()), "{warning}");
}

#[test]
fn sighup_reloads_the_certificates_and_a_bad_reload_keeps_them() {
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["localhost"]);
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let mut open = connect_tls(
        server.addr,
        "localhost",
        &client(std::slice::from_ref(&pair)),
    );
    let renewed = certificate(dir.path(), "site", &["localhost"]);
    server.signal(libc::SIGHUP);
    server.line_with("SIGHUP: reloaded, no setting changed");
    assert_eq!(shown(&server, &renewed), der(&renewed));
    open.write_all(b"GET /a.txt HTTP/1.1\r\nHost: l\r\n\r\n")
        .unwrap();
    assert_eq!(common::read_reply(&mut open, false).body, b"txt");

    std::fs::write(&pair.key, "not a key at all\n").unwrap();
    server.signal(libc::SIGHUP);
    let error = server.line_with("reload refused");
    assert!(error.contains("ERROR"), "{error}");
    assert!(error.contains(pair.key.to_str().unwrap()), "{error}");
    assert_eq!(shown(&server, &renewed), der(&renewed), "kept");
}

#[test]
fn https_requests_are_in_the_access_log_like_plain_ones() {
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["localhost"]);
    let server = Process::start_with(
        Command::new(BIN),
        &tls_args(root.path(), &pair),
        &[],
        Stdout::Lines,
    );
    let mut stream = connect_tls(
        server.addr,
        "localhost",
        &client(std::slice::from_ref(&pair)),
    );
    stream
        .write_all(b"GET /dir2/page.html HTTP/1.1\r\nHost: l\r\nUser-Agent: tls/1\r\n\r\n")
        .unwrap();
    assert_eq!(common::read_reply(&mut stream, false).status, 200);
    let line = server.access_line();
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    assert!(
        line.contains("] \"GET /dir2/page.html HTTP/1.1\" 200 38 \"-\" \"tls/1\" "),
        "{line}"
    );
}

#[test]
fn sighup_without_https_reloads_and_serves_on() {
    let root = common::fixture();
    let server = Process::start(&["--root", root.path().to_str().unwrap()], &[]);
    server.signal(libc::SIGHUP);
    server.line_with("SIGHUP: reloaded, no setting changed");
    let reply = common::get(server.addr, &common::request("GET", "/a.txt"));
    assert_eq!(reply.body, b"txt");
}

#[test]
fn probe_speaks_tls_to_a_tls_listener() {
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["example.test"]);
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let port = server.addr.port().to_string();
    let mut args = tls_args(root.path(), &pair);
    args.extend(["--bind", "127.0.0.1", "--port", &port]);
    let (code, _, stderr) = run(&[&args[..], &["--probe", "/a.txt"]].concat(), &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&[&args[..], &["--probe", "/missing"]].concat(), &[]);
    assert_ne!(code, 0);
    assert!(stderr.contains("status 404"), "{stderr}");
}

/// Whether `tool` is installed; without it the test is skipped, saying
/// so, except in CI (STATICD_REQUIRE_LINT=1), which installs it.
fn have(tool: &str) -> bool {
    if on_path(tool).is_some() {
        return true;
    }
    assert!(
        std::env::var_os("STATICD_REQUIRE_LINT").is_none_or(|v| v != "1"),
        "{tool} is required (STATICD_REQUIRE_LINT=1)"
    );
    eprintln!("SKIP: {tool} is not installed");
    false
}

/// `curl` against the server, trusting `pair`: (exit code, stdout).
fn curl(server: &Process, pair: &CertPair, extra: &[&str]) -> (i32, String) {
    let port = server.addr.port();
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "10",
            "--cacert",
            pair.cert.to_str().unwrap(),
        ])
        .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
        .args(extra)
        .arg(format!("https://localhost:{port}/dir2/page.html"))
        .output()
        .expect("run curl");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn curl_gets_the_page_over_h2_when_it_asks_and_over_http11_when_it_does_not() {
    if !have("curl") {
        return;
    }
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["localhost"]);
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let (code, body) = curl(&server, &pair, &[]);
    assert_eq!(
        (code, body.as_str()),
        (0, "<html><body>Page Sample</body></html>\n")
    );
    let (code, version) = curl(
        &server,
        &pair,
        &["--http2", "-o", "/dev/null", "-w", "%{http_version}"],
    );
    assert_eq!((code, version.as_str()), (0, "2"), "ALPN picks h2");
    let (code, version) = curl(
        &server,
        &pair,
        &["--http1.1", "-o", "/dev/null", "-w", "%{http_version}"],
    );
    assert_eq!(
        (code, version.as_str()),
        (0, "1.1"),
        "a client offering only http/1.1"
    );
    let off = Process::start(
        &[&tls_args(root.path(), &pair)[..], &["--http2", "off"]].concat(),
        &[],
    );
    let (code, version) = curl(
        &off,
        &pair,
        &["--http2", "-o", "/dev/null", "-w", "%{http_version}"],
    );
    assert_eq!(
        (code, version.as_str()),
        (0, "1.1"),
        "--http2 off never picks h2"
    );
    let (code, _) = curl(
        &server,
        &pair,
        &["--tlsv1.2", "--tls-max", "1.2", "-o", "/dev/null"],
    );
    assert_eq!(code, 0, "TLS 1.2 works");
}

/// `openssl s_client` with `args`: whether the handshake succeeded, and
/// what it printed.
fn s_client(server: &Process, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &server.addr.to_string(),
            "-servername",
            "localhost",
        ])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run openssl");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (
        out.status.success() && text.contains("BEGIN CERTIFICATE"),
        text,
    )
}

#[test]
fn openssl_sees_only_tls12_and_tls13_and_h2_then_http11() {
    if !have("openssl") {
        return;
    }
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["localhost"]);
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let (ok, text) = s_client(&server, &["-alpn", "h2,http/1.1"]);
    assert!(ok, "{text}");
    assert!(text.contains("ALPN protocol: h2"), "{text}");
    let (ok, text) = s_client(&server, &["-alpn", "http/1.1"]);
    assert!(ok && text.contains("ALPN protocol: http/1.1"), "{text}");
    assert!(text.contains("TLSv1.3"), "{text}");
    let (ok, text) = s_client(&server, &["-tls1_2"]);
    assert!(ok && text.contains("TLSv1.2"), "{text}");
    for old in ["-tls1_1", "-tls1"] {
        let (ok, text) = s_client(&server, &[old]);
        assert!(!ok, "{old} accepted: {text}");
    }
    let (ok, text) = s_client(&server, &["-alpn", "h3"]);
    assert!(!ok, "a client offering neither is refused: {text}");
}

#[test]
fn a_2gib_sparse_file_streams_over_tls_in_bounded_memory() {
    const SIZE: u64 = 2 << 30;
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("big.bin");
    common::sparse_file(&path, SIZE);
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["localhost"]);
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let rss_before = server.proc_status("VmRSS:");
    let mut stream = connect_tls(
        server.addr,
        "localhost",
        &client(std::slice::from_ref(&pair)),
    );
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: l\r\nConnection: close\r\n\r\n")
        .unwrap();
    let reply = common::read_reply(&mut stream, true);
    assert_eq!(reply.header("Content-Length"), Some("2147483648"));
    let (total, tail) = common::count_to_end(&mut stream);
    assert_eq!(total, SIZE);
    assert_eq!(tail, common::SPARSE_END);
    let peak_kib = server.proc_status("VmHWM:");
    assert!(
        peak_kib < rss_before + 16 * 1024,
        "peak RSS {peak_kib} KiB after streaming vs {rss_before} KiB before"
    );
}
