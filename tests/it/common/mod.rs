//! Shared helpers for integration tests, each defined once: the server in
//! process (`in_process`), the binary as a child process (`process`), a
//! fixture document root, raw-TCP clients, and repository tools (`tools`).

pub mod frames;
mod in_process;
pub mod monitored;
pub mod process;
pub mod tls;
pub mod tools;

pub use in_process::{Running, TestServer, serve, serve_options, serve_root, server, start};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Safety net so a broken server fails a test instead of hanging it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Fixed mtime for fixture files, so `Last-Modified` is known exactly.
pub const MTIME_SECS: u64 = 1_700_000_000;
pub const MTIME_HTTP: &str = "Tue, 14 Nov 2023 22:13:20 GMT";

/// Builds the fixture document root.
pub fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let files: &[(&str, &[u8])] = &[
        ("index.html", b"<html>root</html>\n"),
        ("dir1/dir12/dir123/deep.txt", b"bingo, you found it\n"),
        ("dir2/index.html", b"<html>Directory index file</html>\n"),
        ("dir2/page.html", b"<html><body>Page Sample</body></html>\n"),
        ("space in name.txt", b"letters and spaces\n"),
        ("text..txt", b"hello"),
        ("%20", b"literal percent name\n"),
        ("a.htm", b"htm"),
        ("a.css", b"css"),
        ("a.js", b"js"),
        ("a.jpg", b"jpg"),
        ("a.jpeg", b"jpeg"),
        ("a.png", b"png"),
        ("a.gif", b"gif"),
        ("a.swf", b"swf"),
        ("a.txt", b"txt"),
        ("a.unknownext", b"unknown"),
        ("noext", b"none"),
        ("empty/.keep", b""),
    ];
    for (name, content) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        set_mtime(&path);
    }
    dir
}

/// The ETag staticd gives the file at `path` (inode, size, mtime in ns).
pub fn etag_of(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    format!(
        "\"{:x}-{:x}-{:x}.{:x}\"",
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec()
    )
}

pub fn set_mtime(path: &Path) {
    let when = SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME_SECS);
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(when).unwrap();
}

/// The last bytes of every [`sparse_file`].
pub const SPARSE_END: &[u8; 8] = b"THE-END!";

/// A sparse file of `size` bytes at `path`: holes, then [`SPARSE_END`].
pub fn sparse_file(path: &Path, size: u64) {
    use std::io::{Seek, SeekFrom};
    let mut file = std::fs::File::create(path).unwrap();
    file.set_len(size).unwrap();
    file.seek(SeekFrom::Start(size - SPARSE_END.len() as u64))
        .unwrap();
    file.write_all(SPARSE_END).unwrap();
}

/// Reads `stream` to its end (over TLS, to close_notify), keeping only a
/// count and the last 8 bytes, so a multi-GiB body costs no memory.
pub fn count_to_end(stream: &mut impl Read) -> (u64, Vec<u8>) {
    let (mut total, mut tail) = (0u64, Vec::new());
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = read_some(stream, &mut buf).expect("read to the end");
        if n == 0 {
            return (total, tail);
        }
        total += n as u64;
        tail.extend_from_slice(&buf[..n]);
        tail.drain(..tail.len().saturating_sub(8));
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    stream
}

/// Sends `raw` on a new connection and reads until the server closes it.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(raw).unwrap();
    read_to_close(&mut stream)
}

/// One `read`, retried when a signal interrupts it (as `read_exact` does);
/// the test harness's own child processes make that happen.
pub fn read_some(stream: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Reads until EOF; a reset after some bytes counts as the end too.
pub fn read_to_close(stream: &mut impl Read) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match read_some(stream, &mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("read failed after {} bytes: {e}", out.len()),
        }
    }
}

/// One parsed response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The head exactly as received, without the blank line.
    pub head: String,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(": ")?;
            n.eq_ignore_ascii_case(name).then_some(v)
        })
    }

    /// The head with the Date value replaced, for exact comparison.
    pub fn head_without_date(&self) -> String {
        self.head
            .split("\r\n")
            .map(|l| {
                if l.starts_with("Date: ") {
                    "Date: <date>"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\r\n")
    }
}

/// Reads one response from `stream`, whose body length comes from
/// Content-Length (HEAD responses: pass `head_only`).
pub fn read_reply(stream: &mut impl Read, head_only: bool) -> Reply {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = read_some(stream, &mut byte).expect("read head");
        assert!(
            n == 1,
            "connection closed inside a head: {:?}",
            String::from_utf8_lossy(&raw)
        );
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw[..raw.len() - 4].to_vec()).expect("utf-8 head");
    let mut reply = Reply {
        status: status_of(&head),
        head,
        body: Vec::new(),
    };
    if !head_only && reply.status != 304 {
        let len: usize = reply
            .header("Content-Length")
            .expect("Content-Length")
            .parse()
            .unwrap();
        reply.body = vec![0u8; len];
        stream.read_exact(&mut reply.body).expect("read body");
    }
    reply
}

/// Parses every response in `raw` (read to close), in order.
pub fn parse_all(mut raw: &[u8], head_only: bool) -> Vec<Reply> {
    let mut replies = Vec::new();
    while !raw.is_empty() {
        let end = find(raw, b"\r\n\r\n").expect("complete head") + 4;
        let head = String::from_utf8(raw[..end - 4].to_vec()).unwrap();
        let mut reply = Reply {
            status: status_of(&head),
            head,
            body: Vec::new(),
        };
        // Responses to HEAD and 304s have no body (RFC 9112 §6.3).
        let len: usize = if head_only || reply.status == 304 {
            0
        } else {
            reply
                .header("Content-Length")
                .expect("Content-Length")
                .parse()
                .unwrap()
        };
        reply.body = raw[end..end + len].to_vec();
        raw = &raw[end + len..];
        replies.push(reply);
    }
    replies
}

/// Sends one request on a fresh connection and returns the only reply,
/// asserting that nothing follows it.
pub fn get(addr: SocketAddr, raw: &str) -> Reply {
    let head_only = raw.starts_with("HEAD ");
    let mut replies = parse_all(&exchange(addr, raw.as_bytes()), head_only);
    assert_eq!(replies.len(), 1, "expected exactly one reply to {raw:?}");
    replies.remove(0)
}

/// A one-shot HTTP/1.1 request for `target` with `Connection: close`.
pub fn request(method: &str, target: &str) -> String {
    format!("{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
}

fn status_of(head: &str) -> u16 {
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code")
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An `Authorization` value for `user` and `password` (RFC 7617).
pub fn basic(user: &str, password: &str) -> String {
    const DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::from("Basic ");
    for chunk in format!("{user}:{password}").as_bytes().chunks(3) {
        let bits = chunk
            .iter()
            .enumerate()
            .fold(0u32, |bits, (i, &b)| bits | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            let digit = DIGITS[(bits >> (18 - 6 * i) & 63) as usize] as char;
            out.push(if i <= chunk.len() { digit } else { '=' });
        }
    }
    out
}

/// An htpasswd file of bcrypt entries at `cost` for `users` (name,
/// password), written into `dir`; its path.
pub fn htpasswd(dir: &Path, users: &[(&str, &str)], cost: u32) -> std::path::PathBuf {
    let lines: String = users
        .iter()
        .map(|(user, password)| format!("{user}:{}\n", bcrypt::hash(password, cost).unwrap()))
        .collect();
    let path = dir.join("users.htpasswd");
    std::fs::write(&path, lines).unwrap();
    path
}
