//! `--bind unix:PATH`: the built binary serving on a Unix stream socket,
//! spoken to with raw bytes (and TLS) over `UnixStream`.

use crate::common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::process::{Started, run};
use common::{read_reply, read_to_close};

/// A fixture root, a directory for the socket, and the binary serving the
/// one on `s.sock` in the other with `extra` options.
struct Unix {
    _root: tempfile::TempDir,
    dir: tempfile::TempDir,
    server: Started,
}

impl Unix {
    fn start(extra: &[&str]) -> Unix {
        let dir = tempfile::tempdir().unwrap();
        Unix::start_in(dir, extra)
    }

    fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Unix {
        let root = common::fixture();
        let bind = format!("unix:{}", dir.path().join("s.sock").display());
        let mut args = vec!["--root", root.path().to_str().unwrap(), "--bind", &bind];
        args.extend_from_slice(extra);
        let server = Started::new(&args, &[]);
        Unix {
            _root: root,
            dir,
            server,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("s.sock")
    }

    fn connect(&self) -> UnixStream {
        let stream = UnixStream::connect(self.path()).expect("connect to the socket");
        stream.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
        stream
    }
}

fn root_arg(root: &Path) -> String {
    root.to_str().unwrap().to_owned()
}

#[test]
fn get_head_keep_alive_and_404_over_a_unix_socket() {
    let unix = Unix::start(&[]);
    assert_eq!(
        unix.server.listening_on(),
        format!("unix:{} (http)", unix.path().display())
    );
    let mut conn = unix.connect();
    conn.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let first = read_reply(&mut conn, false);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("Connection"), Some("keep-alive"));
    let body = first.body.clone();
    // The same connection: HEAD, then a missing file.
    conn.write_all(b"HEAD /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let head = read_reply(&mut conn, true);
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("Content-Length"),
        Some(&*body.len().to_string())
    );
    conn.write_all(b"GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let missing = read_reply(&mut conn, false);
    assert_eq!(missing.status, 404);
    assert!(read_to_close(&mut conn).is_empty());
}

#[test]
fn idle_connections_park_and_wake_over_a_unix_socket() {
    let unix = Unix::start(&["--workers", "2"]);
    let mut conn = unix.connect();
    for _ in 0..3 {
        conn.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        assert_eq!(read_reply(&mut conn, false).status, 200);
        // Idle past the parking delay (25 ms, doubling with use), so the
        // next request wakes it from its worker's table.
        std::thread::sleep(Duration::from_millis(300)); // the client's idle time, not synchronisation
    }
}

#[test]
fn the_socket_file_has_its_mode_and_is_removed_at_shutdown() {
    let mut unix = Unix::start(&[]);
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&unix.path()), 0o660, "the default");
    let path = unix.path();
    unix.server.stop();
    assert!(!path.exists(), "removed at shutdown");

    let mut narrow = Unix::start(&["--socket-mode", "0600"]);
    assert_eq!(mode(&narrow.path()), 0o600);
    narrow.server.stop();
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    let bind = format!("unix:{}", sock.display());
    let args = ["--root", &root_arg(root.path()), "--bind", &bind];
    let _server = Started::new(&args, &[("STATICD_SOCKET_MODE", "640")]);
    assert_eq!(mode(&sock), 0o640, "from STATICD_SOCKET_MODE");
}

#[test]
fn a_stale_socket_file_is_replaced_and_one_in_use_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.sock");
    // Left behind by a process that is gone: nobody listens on it.
    drop(UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let unix = Unix::start_in(dir, &[]);
    let mut conn = unix.connect();
    conn.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut conn, false).status, 200);

    // Someone listens on it: it is left alone, and staticd says so.
    let root = common::fixture();
    let bind = format!("unix:{}", unix.path().display());
    let (code, _, stderr) = run(&["--root", &root_arg(root.path()), "--bind", &bind], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot listen on {bind}: another process is listening on it"
        )),
        "{stderr}"
    );
    assert!(unix.path().exists(), "the other server's socket stays");
}

#[test]
fn a_path_that_is_not_a_socket_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.sock");
    std::fs::write(&file, "precious").unwrap();
    let root = common::fixture();
    let bind = format!("unix:{}", file.display());
    let (code, _, stderr) = run(&["--root", &root_arg(root.path()), "--bind", &bind], &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("is not a socket"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
}

#[test]
fn a_socket_in_a_missing_directory_and_a_redirect_with_it_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let root = common::fixture();
    let root = root_arg(root.path());
    let bind = format!("unix:{}/missing/s.sock", dir.path().display());
    let (code, _, stderr) = run(&["--root", &root, "--bind", &bind], &[]);
    assert_eq!(code, 2, "{stderr}");
    let first = stderr.lines().next().unwrap_or("");
    assert!(
        first.contains("--bind") && first.contains("does not exist"),
        "{stderr}"
    );

    let certs = tempfile::tempdir().unwrap();
    let pair = common::tls::certificate(certs.path(), "site", &["localhost"]);
    let bind = format!("unix:{}/s.sock", dir.path().display());
    let (code, _, stderr) = run(
        &[
            "--root",
            &root,
            "--bind",
            &bind,
            "--tls-cert",
            pair.cert.to_str().unwrap(),
            "--tls-key",
            pair.key.to_str().unwrap(),
            "--redirect-http",
            "8081",
        ],
        &[],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--redirect-http needs --bind to be an IP address"),
        "{stderr}"
    );
}

#[test]
fn tls_over_a_unix_socket() {
    let certs = tempfile::tempdir().unwrap();
    let pair = common::tls::certificate(certs.path(), "site", &["localhost"]);
    let unix = Unix::start(&[
        "--tls-cert",
        pair.cert.to_str().unwrap(),
        "--tls-key",
        pair.key.to_str().unwrap(),
    ]);
    assert!(unix.server.listening_on().ends_with("(https)"));
    let config = common::tls::client(std::slice::from_ref(&pair));
    let name = "localhost".try_into().unwrap();
    let session = rustls::ClientConnection::new(config, name).unwrap();
    let mut tls = rustls::StreamOwned::new(session, unix.connect());
    tls.write_all(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    tls.read_to_end(&mut got).unwrap();
    let reply = common::parse_all(&got, false);
    assert_eq!(reply[0].status, 200);
}

#[test]
fn the_probe_and_the_access_log_over_a_unix_socket() {
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("access.log");
    let mut unix = Unix::start(&["--access-log", log.to_str().unwrap()]);
    let bind = format!("unix:{}", unix.path().display());
    let (code, _, stderr) = run(&["--bind", &bind, "--probe", "/a.txt"], &[]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&["--bind", &bind, "--probe", "/missing"], &[]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!("probe {bind}/missing: status 404")),
        "{stderr}"
    );
    unix.server.stop();
    let lines = std::fs::read_to_string(&log).unwrap();
    let first = lines.lines().next().expect("an access log line");
    assert!(first.starts_with("unix: - - ["), "{first}");
    assert!(first.contains("\"HEAD /a.txt HTTP/1.1\" 200"), "{first}");
}
