//! `--metrics-listen` through the built binary: the scrape is read by the
//! Prometheus project's own parser (prometheus_client, via
//! `httptest/metrics_parse.py`) and linted by `promtool check metrics`,
//! and its values are checked against a known sequence of requests;
//! timeouts, TLS handshakes, certificate expiry, auth failures and
//! reloads are counted; `/healthz` and `/readyz`, also while the server
//! drains at shutdown; the listener's own refusals and its connection
//! limit.

use crate::common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;

use common::monitored::{scrape, start};
use common::tools::{lint_tool, piped, repo};
use common::{connect, get, read_reply, read_to_close, request};

/// `text` as prometheus_client reads it: each sample as
/// `name{sorted labels}` and its value, each family's type as
/// `TYPE name`; `None` (after SKIP) when the parser is not installed.
fn parsed(text: &str) -> Option<HashMap<String, f64>> {
    let mut parser = Command::new("python3");
    parser.arg(repo("httptest/metrics_parse.py"));
    let out = piped(&mut parser, text.as_bytes());
    if out.status.code() == Some(2) {
        let message =
            "SKIP: prometheus_client not installed (pip, httptest/metrics-requirements.txt)";
        assert!(!common::tools::required(), "{message}");
        println!("{message}");
        return None;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}\n{text}");
    let mut values = HashMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        if let Some(family) = line.strip_prefix("TYPE ") {
            let (name, kind) = family.split_once(' ').unwrap();
            values.insert(format!("TYPE {name} {kind}"), 1.0);
            continue;
        }
        let (sample, value) = line.rsplit_once(' ').unwrap();
        values.insert(sample.to_owned(), value.parse().unwrap());
    }
    Some(values)
}

/// `promtool check metrics` finds nothing to say about `text`.
fn promtool_passes(text: &str) {
    let Some(promtool) = lint_tool("promtool", "apt-get install prometheus") else {
        return;
    };
    let out = piped(
        Command::new(promtool).args(["check", "metrics"]),
        text.as_bytes(),
    );
    let said = common::tools::text(&out);
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool: {said}\n{text}"
    );
}

fn value(values: &HashMap<String, f64>, sample: &str) -> f64 {
    *values
        .get(sample)
        .unwrap_or_else(|| panic!("no {sample} among {:?}", sorted(values)))
}

fn sorted(values: &HashMap<String, f64>) -> Vec<&String> {
    let mut keys: Vec<_> = values.keys().collect();
    keys.sort();
    keys
}

/// Sends `raw` on `conn` and reads the reply.
fn on(conn: &mut TcpStream, raw: &str) -> common::Reply {
    conn.write_all(raw.as_bytes()).unwrap();
    read_reply(conn, raw.starts_with("HEAD "))
}

fn kept(method: &str, target: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nHost: test\r\n\r\n")
}

#[test]
fn a_known_sequence_of_requests_is_what_the_scrape_counts() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "a".repeat(100)).unwrap();
    let m = start(root.path(), &["--workers", "2"]);
    let mut conn = connect(m.site);
    let mut body_bytes = 0;
    for (method, target, status) in [
        ("GET", "/a.txt", 200),
        ("GET", "/a.txt", 200),
        ("GET", "/a.txt", 200),
        ("HEAD", "/a.txt", 200),
        ("GET", "/missing", 404),
        ("OPTIONS", "/a.txt", 405),
        ("DELETE", "/a.txt", 405),
        ("GET", "/../etc/passwd", 400),
    ] {
        let reply = on(&mut conn, &kept(method, target));
        assert_eq!(reply.status, status, "{method} {target}");
        body_bytes += reply.body.len();
        if status == 400 {
            break;
        }
    }
    drop(conn);
    let refused = common::exchange(m.site, b"NOT HTTP\r\n\r\n");
    assert!(refused.starts_with(b"HTTP/1.1 400 "));
    body_bytes += common::parse_all(&refused, false)[0].body.len();

    let text = scrape(m.metrics);
    promtool_passes(&text);
    let Some(values) = parsed(&text) else { return };
    let requests = |method: &str, code: &str| {
        value(
            &values,
            &format!("staticd_requests_total{{code=\"{code}\",method=\"{method}\"}}"),
        )
    };
    assert_eq!(requests("GET", "2xx"), 3.0);
    assert_eq!(requests("HEAD", "2xx"), 1.0);
    assert_eq!(requests("GET", "4xx"), 2.0, "the 404 and the 400");
    assert_eq!(requests("OPTIONS", "4xx"), 1.0);
    assert_eq!(
        requests("other", "4xx"),
        2.0,
        "DELETE and the head that did not parse"
    );
    assert_eq!(requests("GET", "5xx"), 0.0);
    let count = value(&values, "staticd_request_duration_seconds_count{}");
    assert_eq!(count, 9.0);
    assert_eq!(
        value(
            &values,
            "staticd_request_duration_seconds_bucket{le=\"+Inf\"}"
        ),
        9.0
    );
    let sum = value(&values, "staticd_request_duration_seconds_sum{}");
    assert!(sum > 0.0 && sum < 9.0, "{sum}");
    assert_eq!(
        value(&values, "staticd_response_body_bytes_total{}"),
        body_bytes as f64
    );
    assert_eq!(value(&values, "staticd_connections_accepted_total{}"), 2.0);
    // The first GET reads the file into the cache; the others and the
    // HEAD are answered from it; /missing is looked up too.
    assert_eq!(value(&values, "staticd_file_cache_hits_total{}"), 3.0);
    assert_eq!(value(&values, "staticd_file_cache_misses_total{}"), 2.0);
    assert_eq!(value(&values, "staticd_file_cache_entries{}"), 1.0);
    assert_eq!(value(&values, "staticd_file_cache_bytes{}"), 100.0);
    assert_eq!(value(&values, "staticd_workers{}"), 2.0);
    assert_eq!(value(&values, "staticd_ready{}"), 1.0);
    assert_eq!(value(&values, "staticd_config_generation{}"), 0.0);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        value(
            &values,
            &format!("staticd_build_info{{version=\"{version}\"}}")
        ),
        1.0
    );
    assert!(value(&values, "process_resident_memory_bytes{}") > 1e6);
    assert!(values.contains_key("TYPE staticd_request_duration_seconds histogram"));
    assert!(
        values.contains_key("TYPE staticd_requests counter"),
        "{:?}",
        sorted(&values)
    );
}

#[test]
fn timeouts_are_counted_by_kind() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("a.txt"), "a").unwrap();
    let m = start(
        root.path(),
        &["--header-timeout", "300ms", "--keepalive-timeout", "300ms"],
    );
    // Half a head: 408 once the header timeout is over.
    let mut half = connect(m.site);
    half.write_all(b"GET /a.txt HTTP/1.1\r\n").unwrap();
    assert!(read_to_close(&mut half).starts_with(b"HTTP/1.1 408 "));
    // Nothing at all: closed at the header timeout from the accept.
    let mut silent = connect(m.site);
    assert!(read_to_close(&mut silent).is_empty());
    // Kept alive, then idle: closed at the keep-alive timeout.
    let mut idle = connect(m.site);
    assert_eq!(on(&mut idle, &kept("GET", "/a.txt")).status, 200);
    assert!(read_to_close(&mut idle).is_empty());
    let Some(values) = parsed(&scrape(m.metrics)) else {
        return;
    };
    let timeouts = |kind: &str| {
        value(
            &values,
            &format!("staticd_timeouts_total{{kind=\"{kind}\"}}"),
        )
    };
    assert_eq!(timeouts("header"), 2.0);
    assert_eq!(timeouts("keepalive"), 1.0);
    assert_eq!(timeouts("send"), 0.0);
    assert_eq!(
        value(
            &values,
            "staticd_requests_total{code=\"4xx\",method=\"other\"}"
        ),
        1.0,
        "the 408"
    );
}

#[test]
fn tls_handshakes_certificate_expiry_and_auth_failures_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("site")).unwrap();
    std::fs::write(dir.path().join("site/a.txt"), "a").unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_after = rcgen::date_time_ymd(2031, 3, 4);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_file, key_file) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    std::fs::write(&cert_file, cert.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let auth = common::htpasswd(dir.path(), &[("ann", "secret")], 4);
    let m = start(
        &dir.path().join("site"),
        &[
            "--tls-cert",
            cert_file.to_str().unwrap(),
            "--tls-key",
            key_file.to_str().unwrap(),
            "--auth-file",
            auth.to_str().unwrap(),
        ],
    );
    let pair = staticd::CertPair {
        cert: cert_file.clone(),
        key: key_file.clone(),
    };
    let client = common::tls::client(&[pair]);
    let denied = common::tls::exchange_tls(m.site, &client, request("GET", "/a.txt").as_bytes());
    assert!(denied.starts_with(b"HTTP/1.1 401 "));
    let allowed = format!(
        "GET /a.txt HTTP/1.1\r\nHost: localhost\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        common::basic("ann", "secret")
    );
    let answered = common::tls::exchange_tls(m.site, &client, allowed.as_bytes());
    assert!(answered.starts_with(b"HTTP/1.1 200 "));
    // Plain HTTP on the HTTPS port: a handshake that never was.
    let plain = common::exchange(m.site, request("GET", "/").as_bytes());
    assert!(plain.starts_with(b"HTTP/1.1 400 "));
    let Some(values) = parsed(&scrape(m.metrics)) else {
        return;
    };
    assert_eq!(value(&values, "staticd_tls_handshakes_total{}"), 2.0);
    assert_eq!(
        value(&values, "staticd_tls_handshake_failures_total{}"),
        1.0
    );
    assert_eq!(value(&values, "staticd_auth_failures_total{}"), 1.0);
    let expiry = format!(
        "staticd_certificate_expiry_timestamp_seconds{{certificate=\"{}\"}}",
        cert_file.display()
    );
    // 2031-03-04T00:00:00Z.
    assert_eq!(value(&values, &expiry), 1_930_348_800.0);
}

#[test]
fn reloads_are_counted_by_outcome_and_counters_carry_across_them() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    let conf = dir.path().join("staticd.conf");
    let good = format!("root {}\n", dir.path().display());
    std::fs::write(&conf, &good).unwrap();
    let m = start(dir.path(), &["--config", conf.to_str().unwrap()]);
    assert_eq!(get(m.site, &request("GET", "/a.txt")).status, 200);
    let hangup = || {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(m.server.child.id() as libc::pid_t, libc::SIGHUP) };
    };
    hangup();
    m.server.line_with("SIGHUP: reloaded");
    std::fs::write(&conf, "header-timeout soon\n").unwrap();
    hangup();
    m.server.line_with("SIGHUP: reload refused");
    assert_eq!(get(m.site, &request("GET", "/a.txt")).status, 200);
    let Some(values) = parsed(&scrape(m.metrics)) else {
        return;
    };
    assert_eq!(
        value(&values, "staticd_reloads_total{outcome=\"applied\"}"),
        1.0
    );
    assert_eq!(
        value(&values, "staticd_reloads_total{outcome=\"refused\"}"),
        1.0
    );
    assert_eq!(value(&values, "staticd_config_generation{}"), 1.0);
    assert_eq!(
        value(
            &values,
            "staticd_requests_total{code=\"2xx\",method=\"GET\"}"
        ),
        2.0,
        "the request before the reload is still counted"
    );
}

#[test]
fn during_shutdown_readyz_says_503_and_metrics_still_answer_then_the_port_closes() {
    let root = tempfile::tempdir().unwrap();
    common::sparse_file(&root.path().join("big.bin"), 256 << 20);
    let mut m = start(root.path(), &["--grace-period", "20s"]);
    assert_eq!(get(m.metrics, &request("GET", "/readyz")).status, 200);
    // A download the client does not read: in flight until it is cut.
    let mut download = connect(m.site);
    download
        .write_all(request("GET", "/big.bin").as_bytes())
        .unwrap();
    let mut first = [0u8; 1];
    download.read_exact(&mut first).unwrap();
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(m.server.child.id() as libc::pid_t, libc::SIGTERM) };
    m.server.line_with("stopping on signal");
    let ready = get(m.metrics, &request("GET", "/readyz"));
    assert_eq!(
        (ready.status, &ready.body[..]),
        (503, &b"shutting down\n"[..])
    );
    assert_eq!(get(m.metrics, &request("GET", "/healthz")).status, 200);
    let text = scrape(m.metrics);
    assert!(text.contains("\nstaticd_ready 0\n"), "{text}");
    assert!(text.contains("\nstaticd_connections_open 1\n"), "{text}");
    drop(download);
    let _ = m.server.child.wait();
    assert!(
        TcpStream::connect(m.metrics).is_err(),
        "the metrics port is closed"
    );
}

#[test]
fn the_metrics_listener_answers_only_its_three_paths() {
    let root = tempfile::tempdir().unwrap();
    let m = start(root.path(), &[]);
    assert_eq!(get(m.metrics, &request("GET", "/")).status, 404);
    assert_eq!(get(m.metrics, &request("GET", "/metrics/x")).status, 404);
    let post = get(m.metrics, &request("POST", "/metrics"));
    assert_eq!(
        (post.status, post.header("Allow")),
        (405, Some("GET, HEAD"))
    );
    let bad = common::exchange(m.metrics, b"GET /metrics HTTP/9\r\n\r\n");
    assert!(bad.starts_with(b"HTTP/1.1 505 ") || bad.starts_with(b"HTTP/1.1 400 "));
    let head = get(m.metrics, &request("HEAD", "/metrics?x=1"));
    assert_eq!(head.status, 200);
    assert!(
        head.header("Content-Length")
            .unwrap()
            .parse::<u32>()
            .unwrap()
            > 1000
    );
    assert_eq!(head.header("Cache-Control"), Some("no-store"));
    // Kept alive: a scraper reuses its connection.
    let mut conn = connect(m.metrics);
    for _ in 0..3 {
        let reply = on(&mut conn, &kept("GET", "/healthz"));
        assert_eq!((reply.status, &reply.body[..]), (200, &b"ok\n"[..]));
    }
    // The site's requests are not counted with the listener's.
    let values = parsed(&scrape(m.metrics));
    if let Some(values) = values {
        let total: f64 = values
            .iter()
            .filter(|(k, _)| k.starts_with("staticd_requests_total"))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(total, 0.0);
    }
}

#[test]
fn the_metrics_listener_serves_eight_connections_at_once_and_queues_the_ninth() {
    let root = tempfile::tempdir().unwrap();
    let m = start(root.path(), &[]);
    let mut held: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut conn = connect(m.metrics);
            assert_eq!(on(&mut conn, &kept("GET", "/healthz")).status, 200);
            conn
        })
        .collect();
    let mut ninth = connect(m.metrics);
    ninth
        .write_all(request("GET", "/healthz").as_bytes())
        .unwrap();
    ninth
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = ninth.read(&mut byte);
    assert!(
        early.is_err(),
        "the ninth was answered with eight held: {early:?}"
    );
    held.pop();
    ninth.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
    assert!(read_to_close(&mut ninth).starts_with(b"HTTP/1.1 200 "));
}

#[test]
fn a_metrics_address_in_use_stops_the_start_naming_the_option() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let root = tempfile::tempdir().unwrap();
    let (code, _, stderr) = common::process::run(
        &[
            "--port",
            "0",
            "--metrics-listen",
            &addr,
            "--root",
            root.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains(&format!("cannot listen on {addr} (--metrics-listen)")),
        "{stderr}"
    );
    let (code, _, stderr) = common::process::run(&["--metrics-listen", "9090"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("'9090' is not ADDRESS:PORT"), "{stderr}");
}
