//! Behind a proxy: `--trusted-proxy` (the client named by `Forwarded` or
//! `X-Forwarded-For`, believed only from a trusted peer) and
//! `--proxy-protocol` (a PROXY protocol v1 or v2 header before the request
//! or the TLS handshake), each judged by the access log line the real
//! server writes; and the third parties that speak them: HAProxy's
//! `send-proxy-v2` and curl's `--haproxy-protocol`.

use crate::common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::process::{Started, run};
use common::tls::{certificate, client, options};
use common::tools::{lint_tool, text};
use common::{connect, fixture, read_reply, read_to_close, request, serve_options};
use rustls::pki_types::ServerName;
use staticd::wire::V2_SIGNATURE;
use staticd::{Config, LogFormat, TrustedProxy};

/// A request that asks nothing of the site beyond a file.
fn get_with(fields: &str) -> String {
    format!("GET /a.txt HTTP/1.1\r\nHost: t\r\n{fields}Connection: close\r\n\r\n")
}

fn trusted(values: &[&str]) -> Vec<TrustedProxy> {
    values.iter().map(|v| v.parse().unwrap()).collect()
}

/// Serves the fixture in process with `configure` applied and the access
/// log in a file, runs `exchanges` against it, stops it (which writes the
/// log out) and returns the log's lines.
fn logged(configure: impl FnOnce(&mut Config), exchanges: impl FnOnce(SocketAddr)) -> Vec<String> {
    let root = fixture();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let mut config = Config::for_root(root.path());
    config.access_log = Some(log.clone());
    configure(&mut config);
    let running = common::serve(config);
    exchanges(running.addr);
    running.shutdown();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    text.lines().map(str::to_owned).collect()
}

/// The host field of each Combined line.
fn hosts(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.split(" - - [").next().unwrap())
        .collect()
}

/// Sends `raw` on a new connection: the status of the one reply.
fn status(addr: SocketAddr, raw: &[u8]) -> u16 {
    let mut stream = connect(addr);
    stream.write_all(raw).unwrap();
    read_reply(&mut stream, false).status
}

#[test]
fn forwarding_fields_name_the_client_only_from_a_trusted_peer() {
    let cases: &[(&str, &str)] = &[
        ("X-Forwarded-For: 192.0.2.1, 10.0.0.5\r\n", "192.0.2.1"),
        // Over two lines, the second the nearest.
        (
            "X-Forwarded-For: 198.51.100.1\r\nX-Forwarded-For: 10.0.0.9\r\n",
            "198.51.100.1",
        ),
        ("X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n", "10.0.0.1"),
        ("X-Forwarded-For: 192.0.2.1, garbage\r\n", "127.0.0.1"),
        (
            "X-Forwarded-For: 192.0.2.1, unknown, 10.0.0.3\r\n",
            "10.0.0.3",
        ),
        (
            "Forwarded: for=\"[2001:db8::1]:4711\";proto=https\r\n",
            "2001:db8::1",
        ),
        (
            "Forwarded: for=unknown\r\nX-Forwarded-For: 192.0.2.1\r\n",
            "127.0.0.1",
        ),
        (
            "Forwarded: for=192.0.2.7\r\nX-Forwarded-For: 192.0.2.1\r\n",
            "192.0.2.7",
        ),
        ("", "127.0.0.1"),
    ];
    let run_all = |addr: SocketAddr| {
        for (fields, _) in cases {
            assert_eq!(status(addr, get_with(fields).as_bytes()), 200, "{fields}");
        }
        // A refused head has no fields to believe.
        assert_eq!(
            status(addr, b"garbage\r\nX-Forwarded-For: 192.0.2.1\r\n\r\n"),
            400
        );
    };
    let lines = logged(
        |c| c.trusted_proxies = trusted(&["127.0.0.1", "10.0.0.0/8"]),
        run_all,
    );
    let expected: Vec<&str> = cases.iter().map(|(_, host)| *host).collect();
    assert_eq!(hosts(&lines)[..cases.len()], expected[..]);
    assert_eq!(hosts(&lines)[cases.len()], "127.0.0.1");
    // The peer, 127.0.0.1, is not in the trusted networks: every field is
    // ignored, however plausible.
    let ignored = logged(
        |c| c.trusted_proxies = trusted(&["10.0.0.0/8", "::1"]),
        run_all,
    );
    assert!(
        hosts(&ignored).iter().all(|h| *h == "127.0.0.1"),
        "{ignored:?}"
    );
    assert_eq!(ignored.len(), cases.len() + 1);
}

#[test]
fn the_json_log_shows_the_client_with_its_port_when_one_is_known() {
    let lines = logged(
        |c| {
            c.trusted_proxies = trusted(&["127.0.0.0/8"]);
            c.log_format = LogFormat::Json;
        },
        |addr| {
            let fields = [
                "X-Forwarded-For: 192.0.2.1\r\n",
                "Forwarded: for=\"[2001:db8::1]:4711\"\r\n",
            ];
            for fields in fields {
                assert_eq!(status(addr, get_with(fields).as_bytes()), 200);
            }
        },
    );
    assert!(lines[0].contains("\"peer\":\"192.0.2.1\""), "{}", lines[0]);
    assert!(
        lines[1].contains("\"peer\":\"[2001:db8::1]:4711\""),
        "{}",
        lines[1]
    );
}

/// A v2 header: command byte, family byte, payload.
fn v2(command: u8, family: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = V2_SIGNATURE.to_vec();
    out.extend_from_slice(&[command, family]);
    out.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A v2 PROXY header for TCP over IPv4 from `source`:`port`.
fn v2_inet(source: [u8; 4], port: u16, tlvs: &[u8]) -> Vec<u8> {
    let mut payload = source.to_vec();
    payload.extend_from_slice(&[127, 0, 0, 1]);
    payload.extend_from_slice(&port.to_be_bytes());
    payload.extend_from_slice(&80u16.to_be_bytes());
    payload.extend_from_slice(tlvs);
    v2(0x21, 0x11, &payload)
}

fn v2_inet6(source: &str, port: u16) -> Vec<u8> {
    let source: std::net::Ipv6Addr = source.parse().unwrap();
    let mut payload = source.octets().to_vec();
    payload.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    payload.extend_from_slice(&port.to_be_bytes());
    payload.extend_from_slice(&80u16.to_be_bytes());
    v2(0x21, 0x21, &payload)
}

fn with_request(header: &[u8], fields: &str) -> Vec<u8> {
    [header, get_with(fields).as_bytes()].concat()
}

#[test]
fn proxy_headers_v1_and_v2_name_the_client() {
    let headers: Vec<(Vec<u8>, &str)> = vec![
        (
            b"PROXY TCP4 192.0.2.1 127.0.0.1 4711 80\r\n".to_vec(),
            "192.0.2.1:4711",
        ),
        (
            b"PROXY TCP6 2001:db8::2 ::1 4712 80\r\n".to_vec(),
            "[2001:db8::2]:4712",
        ),
        (b"PROXY UNKNOWN\r\n".to_vec(), "127.0.0.1:"),
        (v2_inet([192, 0, 2, 3], 4713, &[]), "192.0.2.3:4713"),
        (
            v2_inet([192, 0, 2, 4], 4714, &[0xea, 0, 3, b'v', b'p', b'c']),
            "192.0.2.4:4714",
        ),
        (v2_inet6("2001:db8::5", 4715), "[2001:db8::5]:4715"),
        // LOCAL (a health check) and UNSPEC: the real peer.
        (v2(0x20, 0x00, &[]), "127.0.0.1:"),
        (v2(0x21, 0x00, &[]), "127.0.0.1:"),
    ];
    let lines = logged(
        |c| {
            c.proxy_protocol = true;
            c.log_format = LogFormat::Json;
        },
        |addr| {
            for (header, _) in &headers {
                assert_eq!(status(addr, &with_request(header, "")), 200, "{header:?}");
            }
            // Header and request in separate writes work the same.
            let mut stream = connect(addr);
            stream
                .write_all(&v2_inet([192, 0, 2, 9], 4719, &[]))
                .unwrap();
            stream.flush().unwrap();
            stream.write_all(get_with("").as_bytes()).unwrap();
            assert_eq!(read_reply(&mut stream, false).status, 200);
        },
    );
    assert_eq!(lines.len(), headers.len() + 1, "{lines:?}");
    for (line, (_, peer)) in lines.iter().zip(&headers) {
        assert!(
            line.contains(&format!("\"peer\":\"{peer}")),
            "{peer} in {line}"
        );
    }
    assert!(lines[headers.len()].contains("\"peer\":\"192.0.2.9:4719\""));
}

#[test]
fn a_connection_without_a_valid_header_is_closed_without_an_answer() {
    let over = vec![0u8; staticd::limits::MAX_PROXY_V2_LENGTH + 1];
    let mut short_v1 = b"PROXY UNKNOWN ".to_vec();
    short_v1.resize(staticd::limits::MAX_PROXY_V1_LINE, b'x');
    short_v1.extend_from_slice(b"\r\n");
    let refused: Vec<(&str, Vec<u8>)> = vec![
        ("no header", get_with("").into_bytes()),
        ("TLS first", vec![0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0]),
        (
            "v1 malformed",
            b"PROXY TCP4 192.0.2.1 127.0.0.1 4711\r\n".to_vec(),
        ),
        ("v1 too long", short_v1),
        ("v2 version 1", v2(0x11, 0x11, &[0; 12])),
        ("v2 AF_INET in 11 bytes", v2(0x21, 0x11, &[0; 11])),
        ("v2 AF_INET6 in 12 bytes", v2(0x21, 0x21, &[0; 12])),
        ("v2 over the limit", v2(0x21, 0x11, &over)),
        ("v2 TLV overrun", v2_inet([192, 0, 2, 1], 1, &[0x04, 0, 9])),
        ("v2 family 0x41", v2(0x21, 0x41, &[0; 12])),
    ];
    let lines = logged(
        |c| c.proxy_protocol = true,
        |addr| {
            for (what, header) in &refused {
                let mut stream = connect(addr);
                stream.write_all(header).unwrap();
                stream.write_all(get_with("").as_bytes()).unwrap_or(());
                let answer = read_to_close(&mut stream);
                assert!(
                    answer.is_empty(),
                    "{what}: {}",
                    String::from_utf8_lossy(&answer)
                );
            }
        },
    );
    assert!(lines.is_empty(), "nothing was served: {lines:?}");
}

#[test]
fn a_header_trickled_in_within_the_header_timeout_is_read() {
    let lines = logged(
        |c| {
            c.proxy_protocol = true;
            c.header_timeout = Duration::from_secs(5);
        },
        |addr| {
            for header in [
                v2_inet([192, 0, 2, 1], 1, &[0x04, 0, 2, 0, 0]),
                b"PROXY TCP4 192.0.2.2 127.0.0.1 4711 80\r\n".to_vec(),
            ] {
                let mut stream = connect(addr);
                stream.set_nodelay(true).unwrap();
                for byte in &header {
                    stream.write_all(std::slice::from_ref(byte)).unwrap();
                    // The client's pace, so the bytes arrive apart.
                    std::thread::sleep(Duration::from_millis(5));
                }
                stream.write_all(get_with("").as_bytes()).unwrap();
                assert_eq!(read_reply(&mut stream, false).status, 200);
            }
        },
    );
    assert_eq!(hosts(&lines), ["192.0.2.1", "192.0.2.2"]);
}

#[test]
fn a_header_not_whole_at_the_header_timeout_is_closed() {
    let timeout = Duration::from_millis(300);
    let root = fixture();
    let mut config = Config::for_root(root.path());
    config.proxy_protocol = true;
    config.header_timeout = timeout;
    let running = common::serve(config);
    // Half a header, then nothing.
    let started = Instant::now();
    let mut stream = connect(running.addr);
    stream
        .write_all(&v2_inet([192, 0, 2, 1], 1, &[])[..20])
        .unwrap();
    assert!(read_to_close(&mut stream).is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= timeout && waited < Duration::from_secs(4),
        "{waited:?}"
    );
    // A byte every 20 ms of a 107-byte line: about 2 s, never done in time.
    let started = Instant::now();
    let mut stream = connect(running.addr);
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut line = b"PROXY UNKNOWN ".to_vec();
        line.resize(105, b'x');
        line.extend_from_slice(b"\r\n");
        for byte in line {
            if writer.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20)); // the attack's pace
        }
    });
    assert!(read_to_close(&mut stream).is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= timeout && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    running.shutdown();
}

#[test]
fn the_proxy_address_is_the_peer_trust_is_judged_on() {
    let lines = logged(
        |c| {
            c.proxy_protocol = true;
            c.trusted_proxies = trusted(&["192.0.2.0/24"]);
        },
        |addr| {
            let xff = "X-Forwarded-For: 203.0.113.9\r\n";
            let from_trusted = v2_inet([192, 0, 2, 1], 1, &[]);
            assert_eq!(status(addr, &with_request(&from_trusted, xff)), 200);
            let from_other = v2_inet([198, 51, 100, 1], 1, &[]);
            assert_eq!(status(addr, &with_request(&from_other, xff)), 200);
            // LOCAL: the real peer (127.0.0.1), not trusted here.
            assert_eq!(status(addr, &with_request(&v2(0x20, 0, &[]), xff)), 200);
        },
    );
    assert_eq!(hosts(&lines), ["203.0.113.9", "198.51.100.1", "127.0.0.1"]);
}

#[test]
fn a_proxy_header_before_the_tls_handshake_reaches_rustls_intact() {
    let root = fixture();
    let certs = tempfile::tempdir().unwrap();
    let pair = certificate(certs.path(), "localhost", &["localhost"]);
    let log = certs.path().join("access.log");
    let mut config = Config::for_root(root.path());
    config.proxy_protocol = true;
    config.access_log = Some(log.clone());
    let mut opts = config.options();
    opts.tls = Some(options(std::slice::from_ref(&pair)));
    opts.redirect_http = Some(0);
    let running = serve_options(opts);
    let tls_config = client(std::slice::from_ref(&pair));
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::clone(&tls_config), name).unwrap();
    // The header and the ClientHello in one write: the server must hand
    // rustls exactly the bytes after the header.
    let mut first = v2_inet([192, 0, 2, 44], 4444, &[]);
    conn.write_tls(&mut first).unwrap();
    let mut sock = connect(running.addr);
    sock.write_all(&first).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    tls.write_all(get_with("").as_bytes()).unwrap();
    let reply = read_reply(&mut tls, false);
    assert_eq!(reply.status, 200);
    // The redirect listener takes no header: it answers the same to all.
    let redirect = running.redirect.unwrap();
    let reply = read_reply(&mut sent(redirect, &request("GET", "/a.txt")), true);
    assert_eq!(reply.status, 301, "{}", reply.head);
    running.shutdown();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(hosts(&lines)[0], "192.0.2.44", "{text}");
}

fn sent(addr: SocketAddr, raw: &str) -> TcpStream {
    let mut stream = connect(addr);
    stream.write_all(raw.as_bytes()).unwrap();
    stream
}

#[test]
fn a_unix_socket_peer_is_trusted_with_unix() {
    use std::os::unix::net::UnixStream;
    let root = fixture();
    let dir = tempfile::tempdir().unwrap();
    let served = |trust: &str| -> Vec<String> {
        let socket = dir.path().join(format!("{trust}.sock"));
        let log = dir.path().join(format!("{trust}.log"));
        let bind = format!("unix:{}", socket.display());
        let args = [
            "--root",
            root.path().to_str().unwrap(),
            "--bind",
            &bind,
            "--trusted-proxy",
            trust,
            "--access-log",
            log.to_str().unwrap(),
        ];
        let mut server = Started::new(&args, &[]);
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
        let raw = get_with("X-Forwarded-For: 192.0.2.1\r\n");
        stream.write_all(raw.as_bytes()).unwrap();
        assert_eq!(read_reply(&mut stream, false).status, 200);
        server.stop();
        let text = std::fs::read_to_string(&log).unwrap();
        text.lines().map(str::to_owned).collect()
    };
    assert_eq!(hosts(&served("unix")), ["192.0.2.1"]);
    assert_eq!(hosts(&served("127.0.0.1")), ["unix:"]);
}

#[test]
fn the_options_from_the_command_line_the_environment_and_files() {
    for bad in ["10.0.0.1/8", "10.0.0.0/33", "example.com", "::1/"] {
        let (code, _, stderr) = run(&["--trusted-proxy", bad, "--print-config"], &[]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("--trusted-proxy"), "{bad}: {stderr}");
    }
    let env = [("STATICD_TRUSTED_PROXY", "10.0.0.0/8\nunix\n2001:db8::/32")];
    let (code, out, _) = run(&["--print-config"], &env);
    assert_eq!(code, 0);
    for value in ["10.0.0.0/8", "unix", "2001:db8::/32"] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("trusted-proxy") && l.contains(value)),
            "{value}: {out}"
        );
    }
    let (code, _, stderr) = run(
        &["--print-config"],
        &[("STATICD_TRUSTED_PROXY", "10.0.0.0/8\nnope")],
    );
    assert_eq!(code, 2, "{stderr}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("staticd.conf");
    std::fs::write(&file, "trusted-proxy 127.0.0.1\nproxy-protocol\n").unwrap();
    let (code, out, err) = run(&["--config", file.to_str().unwrap(), "--print-config"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("trusted-proxy") && l.contains("127.0.0.1")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("proxy-protocol") && l.contains("true")),
        "{out}"
    );
    std::fs::write(&file, "trusted-proxy 10.0.0.1/8\n").unwrap();
    let (code, _, err) = run(&["--config", file.to_str().unwrap(), "--print-config"], &[]);
    assert_ne!(code, 0);
    assert!(err.contains("trusted-proxy"), "{err}");
}

#[test]
fn curl_with_haproxy_protocol_is_served() {
    let Some(curl) = lint_tool("curl", "apt-get install curl") else {
        return;
    };
    let lines = logged(
        |c| c.proxy_protocol = true,
        |addr| {
            let out = std::process::Command::new(&curl)
                .args([
                    "-sS",
                    "--haproxy-protocol",
                    "-o",
                    "/dev/null",
                    "-w",
                    "%{http_code}",
                ])
                .arg(format!("http://{addr}/a.txt"))
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "200",
                "{}",
                text(&out)
            );
        },
    );
    // curl's header says where it connects from: the same loopback.
    assert_eq!(hosts(&lines), ["127.0.0.1"]);
}

/// HAProxy in the background: `-D` returns once it listens (it binds
/// before it forks); stopped by its pid file when dropped.
struct Haproxy {
    pid_file: std::path::PathBuf,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(&self.pid_file).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: signalling the HAProxy this test started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

/// A free loopback port for HAProxy to listen on (it cannot be asked for
/// port 0 and say which it got).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn start_haproxy(haproxy: &Path, dir: &Path, listen: u16, staticd: SocketAddr) -> Haproxy {
    let conf = dir.join("haproxy.cfg");
    std::fs::write(
        &conf,
        format!(
            "defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 10s\n    \
             timeout server 10s\nfrontend in\n    bind 127.0.0.1:{listen}\n    \
             default_backend staticd\nbackend staticd\n    server s {staticd} send-proxy-v2\n"
        ),
    )
    .unwrap();
    let pid_file = dir.join("haproxy.pid");
    let out = std::process::Command::new(haproxy)
        .arg("-D")
        .arg("-p")
        .arg(&pid_file)
        .arg("-f")
        .arg(&conf)
        .output()
        .expect("run haproxy");
    assert!(
        out.status.success(),
        "haproxy did not start:\n{}",
        text(&out)
    );
    Haproxy { pid_file }
}

#[test]
fn haproxy_send_proxy_v2_names_the_client_and_its_port() {
    let Some(haproxy) = lint_tool("haproxy", "apt-get install haproxy") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut client_port = 0;
    let lines = logged(
        |c| {
            c.proxy_protocol = true;
            c.log_format = LogFormat::Json;
        },
        |addr| {
            let listen = free_port();
            let _haproxy = start_haproxy(&haproxy, dir.path(), listen, addr);
            let mut stream = connect(SocketAddr::from(([127, 0, 0, 1], listen)));
            client_port = stream.local_addr().unwrap().port();
            stream
                .write_all(request("GET", "/a.txt").as_bytes())
                .unwrap();
            assert_eq!(read_reply(&mut stream, false).body, b"txt");
        },
    );
    // The client's own port, not the one HAProxy connected from.
    let peer = format!("\"peer\":\"127.0.0.1:{client_port}\"");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains(&peer), "{peer} in {}", lines[0]);
}
