//! Paths and files under attack: decoding tricks, symlink policies, special
//! files, and files that change while they are sent.

use crate::common;

use std::io::Write;
use std::os::unix::fs::symlink;

use common::{connect, get, read_reply, request, serve_root, start};
use staticd::Autoindex;
use staticd::Symlinks;

#[test]
fn decoding_tricks_never_leave_the_root() {
    let srv = start(Autoindex::Off);
    for (target, status) in [
        ("/%252e%252e/%252e%252e/etc/passwd", 404), // decoded once: literal "%2e%2e"
        ("/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", 404), // overlong UTF-8 is not "."
        ("/%2fetc%2fpasswd", 400),
        ("/%5c..%5c..%5cetc%5cpasswd", 400),
        ("//etc/passwd", 404),
        ("http://h/../../etc/passwd", 400),
        ("http://h//etc/passwd", 404),
        ("/dir2/%2e%2e/%2e%2e/%2e%2e/etc/passwd", 400),
    ] {
        let reply = get(srv.addr, &request("GET", target));
        assert_eq!(reply.status, status, "{target}");
        assert!(!String::from_utf8_lossy(&reply.body).contains("root:"));
    }
}

fn start_with_links(symlinks: Symlinks) -> (tempfile::TempDir, std::net::SocketAddr) {
    let dir = common::fixture();
    let outside = dir
        .path()
        .parent()
        .unwrap()
        .join(format!("staticd-out-{}-{symlinks:?}", std::process::id()));
    std::fs::write(&outside, "OUTSIDE").unwrap();
    symlink(&outside, dir.path().join("out.txt")).unwrap();
    symlink("text..txt", dir.path().join("in.txt")).unwrap();
    let addr = serve_root(dir.path(), |config| config.symlinks = symlinks);
    (dir, addr)
}

#[test]
fn symlink_policies() {
    for (policy, inside, outside) in [
        (Symlinks::Inside, 200, 403),
        (Symlinks::Never, 403, 403),
        (Symlinks::Any, 200, 200),
    ] {
        let (_dir, addr) = start_with_links(policy);
        assert_eq!(
            get(addr, &request("GET", "/in.txt")).status,
            inside,
            "{policy:?}"
        );
        let out = get(addr, &request("GET", "/out.txt"));
        assert_eq!(out.status, outside, "{policy:?}");
        if outside != 200 {
            assert!(!String::from_utf8_lossy(&out.body).contains("OUTSIDE"));
        }
    }
}

#[test]
fn special_files_are_403_and_block_nothing() {
    let srv = start(Autoindex::Off);
    let fifo = srv.root.path().join("fifo");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
    let _sock = std::os::unix::net::UnixListener::bind(srv.root.path().join("sock")).unwrap();
    let mut stream = connect(srv.addr);
    for target in ["/fifo", "/sock", "/fifo", "/a.txt"] {
        stream
            .write_all(format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap();
        let reply = read_reply(&mut stream, false);
        let expected = if target == "/a.txt" { 200 } else { 403 };
        assert_eq!(reply.status, expected, "{target}");
    }
}

#[test]
fn a_file_that_shrinks_mid_transfer_ends_the_connection_unpadded() {
    const SIZE: u64 = 64 << 20;
    let srv = start(Autoindex::Off);
    let path = srv.root.path().join("shrinks.bin");
    std::fs::File::create(&path).unwrap().set_len(SIZE).unwrap();
    let mut stream = connect(srv.addr);
    stream
        .write_all(
            b"GET /shrinks.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
    let reply = read_reply(&mut stream, true);
    assert_eq!(reply.header("Content-Length"), Some("67108864"));
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    let rest = common::read_to_close(&mut stream);
    assert!(
        (rest.len() as u64) < SIZE,
        "got {} bytes: padded?",
        rest.len()
    );
    assert!(
        common::find(&rest, b"HTTP/1.1 200").is_none(),
        "connection was reused"
    );
}
