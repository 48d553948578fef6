//! systemd socket activation: the binary serving sockets passed as
//! systemd passes them, by `systemd-socket-activate` and by hand.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use common::process::{BIN, Started};
use common::read_reply;
use common::tools::lint_tool;

/// `sh` runs the binary with LISTEN_PID set to its own pid (`exec` keeps
/// the shell's, `$$`): what systemd sets in the child it forks, without
/// touching the environment between fork and exec.
const AS_SYSTEMD: &str = "LISTEN_PID=${PID:-$$} exec \"$0\" \"$@\"";

/// The binary started with `listener` as descriptor 3, LISTEN_FDS=1 and
/// LISTEN_FDNAMES=`name`; LISTEN_PID is its own unless `pid` is given.
fn activated(listener: &impl AsRawFd, name: &str, pid: Option<u32>, args: &[&str]) -> Started {
    Started::spawn(as_systemd(listener, name, pid, args))
}

/// The command [`activated`] runs.
fn as_systemd(listener: &impl AsRawFd, name: &str, pid: Option<u32>, args: &[&str]) -> Command {
    let fd = listener.as_raw_fd();
    let mut command = Command::new("sh");
    command
        .args(["-c", AS_SYSTEMD, BIN])
        .args(args)
        .env("LISTEN_FDS", "1")
        .env("LISTEN_FDNAMES", name);
    if let Some(pid) = pid {
        command.env("PID", pid.to_string());
    }
    // SAFETY: dup2 and fcntl are async-signal-safe; nothing allocates.
    unsafe {
        command.pre_exec(move || {
            if fd == 3 {
                // dup2 onto itself would leave close-on-exec set.
                if libc::fcntl(3, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command
}

#[test]
fn systemd_socket_activate_passes_a_unix_socket_named_http() {
    let Some(tool) = lint_tool("systemd-socket-activate", "apt-get install systemd") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let root = common::fixture();
    let sock = dir.path().join("s.sock");
    let mut child = Command::new(tool)
        .arg("-l")
        .arg(&sock)
        .args(["--fdname=http", BIN, "--root"])
        .arg(root.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn systemd-socket-activate");
    let mut stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut next = || stderr.next().expect("a line").expect("text");
    // It listens, then starts staticd at the first connection.
    while !next().contains("Listening on") {}
    let mut conn = UnixStream::connect(&sock).unwrap();
    conn.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
    conn.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let reply = read_reply(&mut conn, false);
    assert_eq!(reply.status, 200);
    let inherited = loop {
        let line = next();
        if line.contains("inherited fd 3") {
            break line;
        }
    };
    let path = sock.display();
    assert!(
        inherited.contains(&format!("http: unix:{path}")),
        "{inherited}"
    );
    assert!(next().contains(&format!("listening on unix:{path} (http)")));
    let _ = child.kill();
    let _ = child.wait();
    assert!(sock.exists(), "the socket is systemd's: staticd leaves it");
}

#[test]
fn a_socket_named_https_is_served_over_tls() {
    let certs = tempfile::tempdir().unwrap();
    let pair = common::tls::certificate(certs.path(), "site", &["localhost"]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let root = common::fixture();
    let args = [
        "--root",
        root.path().to_str().unwrap(),
        "--tls-cert",
        pair.cert.to_str().unwrap(),
        "--tls-key",
        pair.key.to_str().unwrap(),
    ];
    let server = activated(&listener, "https", None, &args);
    drop(listener);
    assert_eq!(server.listening_on(), format!("https://{addr}"));
    let config = common::tls::client(std::slice::from_ref(&pair));
    let mut tls = common::tls::connect_tls(addr, "localhost", &config);
    tls.write_all(b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    tls.read_to_end(&mut got).unwrap();
    assert_eq!(common::parse_all(&got, false)[0].status, 200);

    // The same, plain: not TLS.
    let plain = common::exchange(addr, b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert!(
        plain.starts_with(b"HTTP/1.1 400"),
        "a plain request on the TLS socket"
    );
}

#[test]
fn a_socket_named_https_without_a_certificate_is_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let root = common::fixture();
    let args = ["--root", root.path().to_str().unwrap()];
    let out = as_systemd(&listener, "https", None, &args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("inherited socket fd 3 https: https needs --tls-cert"),
        "{stderr}"
    );
}

#[test]
fn listen_pid_of_another_process_is_ignored() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let passed = listener.local_addr().unwrap();
    let root = common::fixture();
    let args = [
        "--root",
        root.path().to_str().unwrap(),
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
    ];
    let mut server = activated(&listener, "http", Some(1), &args);
    let own = format!("127.0.0.1:{}", server.port());
    assert_ne!(own, passed.to_string(), "bound its own socket");
    let reply = common::get(
        own.parse().unwrap(),
        "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(reply.status, 200);
    let lines = server.stop();
    assert!(!lines.iter().any(|l| l.contains("inherited")), "{lines:?}");
}
