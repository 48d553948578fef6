//! Automatic HTTPS against a real ACME server: Debian's `pebble` (Let's
//! Encrypt's test CA, its 5% `badNonce` rejection left on) with
//! `pebble-challtestsrv` answering every name with 127.0.0.1, its
//! validation ports pointed at the test's staticd. Issuance by
//! TLS-ALPN-01 and by HTTP-01, the chain checked against pebble's root;
//! a restart reusing the stored certificate; renewal at start and in the
//! background with a connection open; a CA that comes up late; names
//! that are refused; file modes; and the flags that are refused.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::process::{BIN, run};
use common::tools::lint_tool;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

/// How long an issuance may take (pebble validates at once with
/// `PEBBLE_VA_NOSLEEP`; its own retry hints are a few seconds).
const ISSUANCE: Duration = Duration::from_secs(60);

/// A port nobody listens on right now, for a server that must be told
/// its port before it starts (pebble is told staticd's).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Lines from both of a child's pipes.
fn lines(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = channel();
    let out: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
    let err: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
    for pipe in [out, err] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    rx
}

/// The next line containing `needle` within `limit`, or a panic naming
/// what came instead.
fn wait_for(lines: &Receiver<String>, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {needle:?}; saw:\n{}", seen.join("\n")),
        }
    }
}

/// pebble and its DNS, killed on drop.
struct Pebble {
    children: Vec<Child>,
    dir: tempfile::TempDir,
    /// The directory URL.
    url: String,
    management: u16,
    /// The test CA pebble's own HTTPS certificate is from.
    ca_file: PathBuf,
    ca: Arc<rustls::ClientConfig>,
}

impl Drop for Pebble {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// pebble's own TLS: a test CA and a certificate from it for 127.0.0.1.
fn pebble_tls(dir: &Path) -> (PathBuf, Arc<rustls::ClientConfig>) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    std::fs::write(dir.join("pebble.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("pebble.key"), key.serialize_pem()).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    (ca_file.clone(), trusting(&std::fs::read(&ca_file).unwrap()))
}

/// A client trusting the PEM roots in `pem`.
fn trusting(pem: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

impl Pebble {
    /// pebble on `port` (a free one when 0), validating TLS-ALPN-01 on
    /// `tls_port` and HTTP-01 on `http_port`, issuing certificates valid
    /// for `validity` seconds. `None` (after a SKIP line) without pebble,
    /// unless the tools are required.
    fn start(port: u16, tls_port: u16, http_port: u16, validity: u64) -> Option<Pebble> {
        lint_tool("pebble", "apt-get install pebble")?;
        let dir = tempfile::tempdir().unwrap();
        pebble_tls(dir.path());
        Some(Pebble::start_in(dir, port, tls_port, http_port, validity))
    }

    /// pebble with the TLS files [`pebble_tls`] made in `dir`.
    fn start_in(
        dir: tempfile::TempDir,
        port: u16,
        tls_port: u16,
        http_port: u16,
        validity: u64,
    ) -> Pebble {
        let ca_file = dir.path().join("ca.pem");
        let ca = trusting(&std::fs::read(&ca_file).unwrap());
        let port = if port == 0 { free_port() } else { port };
        let (management, dns, dns_management) = (free_port(), free_port(), free_port());
        let config = format!(
            r#"{{"pebble": {{"listenAddress": "127.0.0.1:{port}",
                "managementListenAddress": "127.0.0.1:{management}",
                "certificate": "{dir}/pebble.pem", "privateKey": "{dir}/pebble.key",
                "httpPort": {http_port}, "tlsPort": {tls_port},
                "ocspResponderURL": "", "externalAccountBindingRequired": false,
                "certificateValidityPeriod": {validity}}}}}"#,
            dir = dir.path().display()
        );
        let config_file = dir.path().join("pebble.json");
        std::fs::write(&config_file, config).unwrap();
        let mut dns_server = Command::new("pebble-challtestsrv")
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-management", &format!("127.0.0.1:{dns_management}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pebble-challtestsrv");
        let dns_lines = lines(&mut dns_server);
        let mut children = vec![dns_server];
        wait_for(&dns_lines, "Starting challenge servers", ISSUANCE);
        let mut pebble = Command::new("pebble")
            .args(["-config", config_file.to_str().unwrap()])
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pebble");
        let pebble_lines = lines(&mut pebble);
        children.push(pebble);
        wait_for(&pebble_lines, "Listening on", ISSUANCE);
        std::thread::spawn(move || for _ in pebble_lines {});
        std::thread::spawn(move || for _ in dns_lines {});
        Pebble {
            children,
            url: format!("https://127.0.0.1:{port}/dir"),
            management,
            ca_file,
            ca,
            dir,
        }
    }

    /// pebble's root for the certificates it issues, from its management
    /// API.
    fn root(&self) -> Arc<rustls::ClientConfig> {
        let addr: SocketAddr = format!("127.0.0.1:{}", self.management).parse().unwrap();
        let body = https_get(addr, "127.0.0.1", &self.ca, "/roots/0");
        trusting(&body)
    }
}

/// The body of GET `path` over HTTPS at `addr` for `name`.
fn https_get(
    addr: SocketAddr,
    name: &str,
    config: &Arc<rustls::ClientConfig>,
    path: &str,
) -> Vec<u8> {
    let mut tls = handshake(addr, name, config).expect("handshake");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = tls.read_to_end(&mut raw);
    let at = common::find(&raw, b"\r\n\r\n").expect("a response head") + 4;
    assert!(
        raw.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    raw[at..].to_vec()
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A finished TLS handshake with `addr` asking for `name`, or its error.
fn handshake(
    addr: SocketAddr,
    name: &str,
    config: &Arc<rustls::ClientConfig>,
) -> Result<Tls, std::io::Error> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(common::IO_TIMEOUT))?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(config), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock)?;
    }
    Ok(tls)
}

/// Asserts that a handshake for `name` fails with the server's alert,
/// before any certificate is shown.
fn refused(addr: SocketAddr, name: &str, config: &Arc<rustls::ClientConfig>) {
    let Err(err) = handshake(addr, name, config) else {
        panic!("{name}: the handshake succeeded");
    };
    // rustls answers a name it has no certificate for with access_denied.
    assert!(err.to_string().contains("fatal alert"), "{name}: {err}");
}

/// The certificate staticd shows a client asking for `name` in a full
/// handshake (a resumed one would show the session's first certificate).
fn served(addr: SocketAddr, name: &str, root: &Arc<rustls::ClientConfig>) -> Vec<u8> {
    let mut fresh = (**root).clone();
    fresh.resumption = rustls::client::Resumption::disabled();
    let tls =
        handshake(addr, name, &Arc::new(fresh)).expect("a handshake verified by pebble's root");
    tls.conn.peer_certificates().unwrap()[0].to_vec()
}

/// staticd with its stderr read line by line, killed on drop.
struct Staticd {
    child: Child,
    lines: Receiver<String>,
}

impl Drop for Staticd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Staticd {
    fn start(args: &[String]) -> Staticd {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn staticd");
        let lines = lines(&mut child);
        Staticd { child, lines }
    }

    fn wait_for(&self, needle: &str) -> String {
        wait_for(&self.lines, needle, ISSUANCE)
    }
}

/// staticd's arguments for ACME from `pebble` for `names` on `port`.
fn acme_args(pebble: &Pebble, root: &Path, state: &Path, port: u16, names: &[&str]) -> Vec<String> {
    let mut args = staticd_args(root, state, port, &pebble.url, Some(&pebble.ca_file), names);
    args.extend(["--acme-email".to_owned(), "ops@site.test".to_owned()]);
    args
}

/// staticd's arguments for ACME from the CA at `directory` (trusting
/// `ca_file`) for `names` on `port`, the state in `state`.
fn staticd_args(
    root: &Path,
    state: &Path,
    port: u16,
    directory: &str,
    ca_file: Option<&Path>,
    names: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "--root",
        root.to_str().unwrap(),
        "--bind",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "-w",
        "1",
        "--log-format",
        "off",
        "--acme-directory",
        directory,
        "--acme-state",
        state.to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(ca_file) = ca_file {
        args.extend(["--acme-ca-file".to_owned(), ca_file.display().to_string()]);
    }
    for name in names {
        args.extend(["--acme-domain".to_owned(), name.to_string()]);
    }
    args
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

#[test]
fn tls_alpn_01_issues_a_certificate_pebble_verifies_and_a_restart_reuses_it() {
    let port = free_port();
    let Some(pebble) = Pebble::start(0, port, free_port(), 157_766_400) else {
        return;
    };
    let site = common::fixture();
    let state = pebble.dir.path().join("state/acme");
    let args = acme_args(
        &pebble,
        site.path(),
        &state,
        port,
        &["site.test", "www.site.test"],
    );
    let server = Staticd::start(&args);
    server.wait_for("accepts the CA's terms of service");
    let issued = server.wait_for("ACME: certificate for site.test, www.site.test issued");
    assert!(issued.contains("valid until"), "{issued}");
    let root = pebble.root();
    let first = served(addr(port), "site.test", &root);
    assert_eq!(
        served(addr(port), "www.site.test", &root),
        first,
        "one certificate"
    );
    let body = https_get(addr(port), "site.test", &root, "/index.html");
    assert!(!body.is_empty());
    refused(addr(port), "other.test", &root);

    let cert = state.join("certs/site.test/cert.pem");
    let key = state.join("certs/site.test/key.pem");
    assert_eq!((mode(&state), mode(&key)), (0o700, 0o600));
    let stored = CertificateDer::pem_file_iter(&cert)
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(stored.to_vec(), first, "the state holds what is served");

    drop(server);
    let again = Staticd::start(&args);
    again.wait_for("listening on");
    assert_eq!(
        served(addr(port), "site.test", &root),
        first,
        "reused, not ordered again"
    );
}

#[test]
fn http_01_is_answered_on_the_redirect_listener() {
    let (port, http_port) = (free_port(), free_port());
    let Some(pebble) = Pebble::start(0, free_port(), http_port, 157_766_400) else {
        return;
    };
    let site = common::fixture();
    let state = pebble.dir.path().join("acme");
    let mut args = acme_args(&pebble, site.path(), &state, port, &["site.test"]);
    args.extend(["--acme-challenge", "http-01", "--redirect-http"].map(String::from));
    args.push(http_port.to_string());
    let server = Staticd::start(&args);
    server.wait_for("ACME: certificate for site.test issued");
    let root = pebble.root();
    assert!(!https_get(addr(port), "site.test", &root, "/index.html").is_empty());
    // Unknown tokens are 404 on the redirect listener; the rest redirects.
    let raw = common::exchange(
        addr(http_port),
        b"GET /.well-known/acme-challenge/nope HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n",
    );
    assert!(
        raw.starts_with(b"HTTP/1.1 404"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
    let raw = common::exchange(
        addr(http_port),
        b"GET /x HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n",
    );
    assert!(
        raw.starts_with(b"HTTP/1.1 301"),
        "{}",
        String::from_utf8_lossy(&raw)
    );
}

#[test]
fn renewal_in_the_background_swaps_the_certificate_with_a_connection_open() {
    let port = free_port();
    // Certificates valid 20 s, renewed with 10 s left (half, the most a
    // margin may be): the renewal starts 10 to 11 s after the issuance.
    let Some(pebble) = Pebble::start(0, port, free_port(), 20) else {
        return;
    };
    let site = common::fixture();
    let state = pebble.dir.path().join("acme");
    let mut args = acme_args(&pebble, site.path(), &state, port, &["site.test"]);
    args.extend(
        [
            "--acme-renew-before",
            "10s",
            "--metrics-listen",
            "127.0.0.1:0",
            "--keepalive-timeout",
            "1m",
        ]
        .map(String::from),
    );
    let server = Staticd::start(&args);
    let metrics = server.wait_for("metrics on http://");
    let metrics: SocketAddr = metrics
        .split("http://")
        .nth(1)
        .unwrap()
        .trim_end_matches("/metrics")
        .parse()
        .unwrap();
    server.wait_for("ACME: certificate for site.test issued");
    let root = pebble.root();
    let first = served(addr(port), "site.test", &root);
    let mut open = handshake(addr(port), "site.test", &root).unwrap();
    let get = b"GET /index.html HTTP/1.1\r\nHost: site.test\r\n\r\n";
    open.write_all(get).unwrap();
    assert_eq!(common::read_reply(&mut open, false).status, 200);
    server.wait_for("ACME: certificate for site.test issued");
    let renewed = served(addr(port), "site.test", &root);
    assert_ne!(renewed, first, "new handshakes get the renewed certificate");
    open.write_all(get).unwrap();
    let reply = common::read_reply(&mut open, false);
    assert_eq!(reply.status, 200, "the open connection carries on");
    let scrape = common::exchange(
        metrics,
        b"GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n",
    );
    let scrape = String::from_utf8_lossy(&scrape);
    for line in [
        "staticd_acme_orders_total{kind=\"first\",outcome=\"issued\"} 1",
        "staticd_acme_orders_total{kind=\"renewal\",outcome=\"issued\"} 1",
        "staticd_acme_last_issued_timestamp_seconds ",
        "staticd_certificate_expiry_timestamp_seconds{certificate=",
    ] {
        assert!(scrape.contains(line), "{line}: {scrape}");
    }
}

#[test]
fn a_stored_certificate_inside_its_window_serves_until_it_is_renewed_at_start() {
    let port = free_port();
    let Some(pebble) = Pebble::start(0, port, free_port(), 157_766_400) else {
        return;
    };
    let site = common::fixture();
    let state = pebble.dir.path().join("acme");
    // Ten days old with an hour left: inside a third of its lifetime.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["site.test".to_owned()]).unwrap();
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let now = rcgen::date_time_ymd(1970, 1, 1) + Duration::from_secs(secs);
    params.not_before = now - Duration::from_secs(10 * 86_400);
    params.not_after = now + Duration::from_secs(3_600);
    let old = params.self_signed(&key).unwrap();
    let certs = state.join("certs/site.test");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("cert.pem"), old.pem()).unwrap();
    std::fs::write(certs.join("key.pem"), key.serialize_pem()).unwrap();
    let args = acme_args(&pebble, site.path(), &state, port, &["site.test"]);
    let server = Staticd::start(&args);
    server.wait_for("listening on");
    let shown = handshake(addr(port), "site.test", &trusting(old.pem().as_bytes()))
        .expect("the stored certificate serves meanwhile");
    assert_eq!(
        shown.conn.peer_certificates().unwrap()[0].to_vec(),
        old.der().to_vec()
    );
    server.wait_for("ACME: certificate for site.test issued");
    let root = pebble.root();
    assert_ne!(
        served(addr(port), "site.test", &root),
        old.der().to_vec(),
        "renewed at start"
    );
}

#[test]
fn a_ca_that_is_down_at_start_is_retried_until_it_answers() {
    if lint_tool("pebble", "apt-get install pebble").is_none() {
        return;
    }
    let (port, pebble_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let site = common::fixture();
    // pebble's TLS files are made before it starts, so staticd trusts it.
    pebble_tls(dir.path());
    let ca_file = dir.path().join("ca.pem");
    let state = dir.path().join("acme");
    let directory = format!("https://127.0.0.1:{pebble_port}/dir");
    let args = staticd_args(
        site.path(),
        &state,
        port,
        &directory,
        Some(&ca_file),
        &["site.test"],
    );
    let server = Staticd::start(&args);
    let failed = server.wait_for("ACME: order from");
    assert!(
        failed.contains("WARN") && failed.contains(&format!("127.0.0.1:{pebble_port}")),
        "{failed}"
    );
    assert!(failed.contains("retrying in 1 s"), "{failed}");
    refused(
        addr(port),
        "site.test",
        &trusting(&std::fs::read(&ca_file).unwrap()),
    );
    let pebble = Pebble::start_in(dir, pebble_port, port, free_port(), 157_766_400);
    server.wait_for("ACME: certificate for site.test issued");
    let root = pebble.root();
    assert!(!https_get(addr(port), "site.test", &root, "/index.html").is_empty());
}

#[test]
fn bad_acme_options_exit_2_naming_the_option_and_a_bad_state_directory_exits_1() {
    let root = common::fixture();
    let root_arg = root.path().to_str().unwrap();
    let cases: [(&[&str], &str); 6] = [
        (&["--acme-domain", "*.site.test"], "DNS-01"),
        (&["--acme-domain", "192.0.2.1"], "IP address"),
        (&["--acme-domain", "bad_name.test"], "not a valid host name"),
        (
            &[
                "--acme-domain",
                "site.test",
                "--acme-directory",
                "http://ca.test/dir",
            ],
            "https://",
        ),
        (
            &["--acme-domain", "site.test", "--acme-challenge", "http-01"],
            "--redirect-http",
        ),
        (
            &["--acme-domain", "site.test", "--acme-renew-before", "soon"],
            "duration",
        ),
    ];
    for (extra, want) in cases {
        let mut args = vec!["--root", root_arg, "--port", "0"];
        args.extend_from_slice(extra);
        let (code, _, stderr) = run(&args, &[]);
        assert_eq!(code, 2, "{extra:?}: {stderr}");
        assert!(stderr.contains(want), "{extra:?}: {stderr}");
        assert!(stderr.contains("acme"), "names the option: {stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let state = file.join("acme");
    let args = [
        "--root",
        root_arg,
        "--port",
        "0",
        "--acme-domain",
        "site.test",
        "--acme-state",
        state.to_str().unwrap(),
    ];
    let (code, _, stderr) = run(&args, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&state.display().to_string()) && stderr.contains("--acme-state"),
        "{stderr}"
    );
    let mut check = args.to_vec();
    check.push("--check");
    let (code, _, stderr) = run(&check, &[]);
    assert_eq!(code, 1, "--check: {stderr}");
    let good = dir.path().join("state");
    let args = [
        "--root",
        root_arg,
        "--acme-domain",
        "site.test",
        "--acme-state",
        good.to_str().unwrap(),
        "--check",
    ];
    let (code, stdout, stderr) = run(&args, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("acme: site.test: no certificate stored"),
        "{stdout}"
    );
    assert!(!good.exists(), "--check creates nothing");
}

#[test]
fn sighup_with_other_names_orders_one_certificate_for_all_of_them() {
    let port = free_port();
    let Some(pebble) = Pebble::start(0, port, free_port(), 157_766_400) else {
        return;
    };
    let site = common::fixture();
    let state = pebble.dir.path().join("acme");
    let config = pebble.dir.path().join("staticd.conf");
    std::fs::write(&config, "acme-domain site.test\n").unwrap();
    let mut args = acme_args(&pebble, site.path(), &state, port, &[]);
    args.extend(["--config".to_owned(), config.display().to_string()]);
    let server = Staticd::start(&args);
    server.wait_for("ACME: certificate for site.test issued");
    let root = pebble.root();
    let first = served(addr(port), "site.test", &root);
    std::fs::write(
        &config,
        "acme-domain site.test\nacme-domain new.site.test\n",
    )
    .unwrap();
    // SAFETY: signalling our own child process.
    assert_eq!(
        unsafe { libc::kill(server.child.id() as libc::pid_t, libc::SIGHUP) },
        0
    );
    let reloaded = server.wait_for("SIGHUP: reloaded");
    assert!(reloaded.contains("acme-domain"), "{reloaded}");
    server.wait_for("ACME: certificate for site.test, new.site.test issued");
    let both = served(addr(port), "new.site.test", &root);
    assert_ne!(both, first);
    assert_eq!(
        served(addr(port), "site.test", &root),
        both,
        "one certificate for both"
    );
    assert!(state.join("certs/site.test/cert.pem").exists());
}

#[test]
fn a_process_holding_the_state_lock_is_waited_for_and_its_certificate_used() {
    // Another process (this test) holds the lock while it stores a
    // certificate: staticd waits, then uses that one and orders nothing
    // (its CA is not even up).
    let dir = tempfile::tempdir().unwrap();
    let site = common::fixture();
    let state = dir.path().join("acme");
    std::fs::create_dir_all(&state).unwrap();
    let lock = std::fs::File::create(state.join("lock")).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) },
        0
    );
    let port = free_port();
    let directory = format!("https://127.0.0.1:{}/dir", free_port());
    let args = staticd_args(site.path(), &state, port, &directory, None, &["site.test"]);
    let server = Staticd::start(&args);
    server.wait_for("listening on");
    let made = rcgen::generate_simple_self_signed(vec!["site.test".to_owned()]).unwrap();
    let certs = state.join("certs/site.test");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::write(certs.join("key.pem"), made.signing_key.serialize_pem()).unwrap();
    std::fs::write(certs.join("cert.pem"), made.cert.pem()).unwrap();
    drop(lock);
    let found = server.wait_for("ACME: certificate for site.test found in the state directory");
    assert!(found.contains("valid until"), "{found}");
    let shown = handshake(
        addr(port),
        "site.test",
        &trusting(made.cert.pem().as_bytes()),
    )
    .expect("the stored certificate");
    assert_eq!(
        shown.conn.peer_certificates().unwrap()[0].to_vec(),
        made.cert.der().to_vec()
    );
    let stderr: Vec<String> = server.lines.try_iter().collect();
    assert!(
        !stderr.iter().any(|l| l.contains("order from")),
        "ordered: {stderr:?}"
    );
}
