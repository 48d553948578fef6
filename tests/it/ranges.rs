//! Byte ranges (RFC 9110 §14) over raw TCP: single, multiple, invalid,
//! unsatisfiable, If-Range, and offsets deep in a 3 GiB file.

use crate::common;

use std::io::Write;

use common::{Reply, etag_of, get, read_reply, start};
use staticd::Autoindex;
use staticd::limits::MAX_RANGES;

/// 100 bytes: "0123456789" ten times.
const DIGITS: &str = "0123456789";

fn server() -> common::TestServer {
    let srv = start(Autoindex::Off);
    std::fs::write(srv.root.path().join("digits.txt"), DIGITS.repeat(10)).unwrap();
    srv
}

fn range(addr: std::net::SocketAddr, value: &str) -> Reply {
    get(
        addr,
        &format!(
            "GET /digits.txt HTTP/1.1\r\nHost: t\r\nRange: {value}\r\nConnection: close\r\n\r\n"
        ),
    )
}

#[test]
fn files_advertise_byte_ranges() {
    let srv = server();
    let reply = get(srv.addr, &common::request("GET", "/digits.txt"));
    assert_eq!(reply.header("Accept-Ranges"), Some("bytes"));
}

#[test]
fn single_ranges_are_206() {
    let srv = server();
    for (value, content_range, body) in [
        ("bytes=0-9", "bytes 0-9/100", "0123456789"),
        ("bytes=95-", "bytes 95-99/100", "56789"),
        ("bytes=-3", "bytes 97-99/100", "789"),
        ("bytes=98-1000", "bytes 98-99/100", "89"),
        (
            "bytes=0-18446744073709551615",
            "bytes 0-99/100",
            &DIGITS.repeat(10),
        ),
    ] {
        let reply = range(srv.addr, value);
        assert_eq!(reply.status, 206, "{value}");
        assert_eq!(
            reply.header("Content-Range"),
            Some(content_range),
            "{value}"
        );
        assert_eq!(reply.header("Content-Type"), Some("text/plain"));
        assert_eq!(reply.body, body.as_bytes(), "{value}");
    }
}

#[test]
fn unsatisfiable_ranges_are_416() {
    let srv = server();
    for value in ["bytes=100-", "bytes=200-300", "bytes=-0"] {
        let reply = range(srv.addr, value);
        assert_eq!(reply.status, 416, "{value}");
        assert_eq!(reply.header("Content-Range"), Some("bytes */100"));
    }
}

#[test]
fn invalid_or_foreign_ranges_are_ignored() {
    let srv = server();
    for value in ["bytes=5-1", "bytes=x-y", "items=0-1", "bytes 0-1", "bytes="] {
        let reply = range(srv.addr, value);
        assert_eq!((reply.status, reply.body.len()), (200, 100), "{value}");
    }
}

/// Splits a multipart/byteranges body into (Content-Range, data) parts.
fn parts(reply: &Reply) -> Vec<(String, Vec<u8>)> {
    let ty = reply.header("Content-Type").unwrap();
    let boundary = ty
        .strip_prefix("multipart/byteranges; boundary=")
        .expect(ty);
    let delimiter = format!("\r\n--{boundary}");
    let text = String::from_utf8(reply.body.clone()).unwrap();
    assert!(
        text.ends_with(&format!("{delimiter}--\r\n")),
        "closing delimiter"
    );
    text.split(&delimiter)
        .skip(1)
        .filter(|p| !p.starts_with("--"))
        .map(|part| {
            let (head, data) = part.split_once("\r\n\r\n").unwrap();
            assert!(head.contains("\r\nContent-Type: text/plain"), "{head}");
            let range = head.split("Content-Range: ").nth(1).unwrap().to_owned();
            (range, data.as_bytes().to_vec())
        })
        .collect()
}

#[test]
fn multiple_ranges_are_multipart_merged_and_sorted() {
    let srv = server();
    let reply = range(srv.addr, "bytes=50-52, 0-1, 2-3, 51-55");
    assert_eq!(reply.status, 206);
    assert_eq!(
        parts(&reply),
        [
            ("bytes 0-3/100".to_owned(), b"0123".to_vec()),
            ("bytes 50-55/100".to_owned(), b"012345".to_vec())
        ]
    );
    // Content-Length covers the whole multipart body.
    assert_eq!(
        reply.header("Content-Length").unwrap(),
        reply.body.len().to_string()
    );
}

#[test]
fn range_abuse_gets_the_whole_file() {
    let srv = server();
    let many = (0..=MAX_RANGES)
        .map(|i| format!("{}-{}", i * 3, i * 3))
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(range(srv.addr, &format!("bytes={many}")).status, 200);
    assert_eq!(range(srv.addr, "bytes=0-99,0-99,10-60").status, 200);
}

#[test]
fn if_range_applies_the_range_only_to_the_same_representation() {
    let srv = server();
    let etag = etag_of(&srv.root.path().join("digits.txt"));
    let modified = get(srv.addr, &common::request("GET", "/digits.txt"))
        .header("Last-Modified")
        .unwrap()
        .to_owned();
    let ask = |if_range: &str| {
        get(
            srv.addr,
            &format!("GET /digits.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-0\r\nIf-Range: {if_range}\r\nConnection: close\r\n\r\n"),
        )
        .status
    };
    assert_eq!(ask(&etag), 206);
    assert_eq!(ask("\"stale\""), 200);
    assert_eq!(
        ask(&format!("W/{etag}")),
        200,
        "weak tags never match If-Range"
    );
    assert_eq!(ask(&modified), 206);
    assert_eq!(ask("Mon, 01 Jan 2001 00:00:00 GMT"), 200);
}

#[test]
fn head_ignores_range() {
    let srv = server();
    let reply = get(
        srv.addr,
        "HEAD /digits.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(
        (reply.status, reply.header("Content-Length")),
        (200, Some("100"))
    );
}

#[test]
fn ranges_deep_inside_a_3gib_file() {
    const SIZE: u64 = 3 << 30;
    let srv = start(Autoindex::Off);
    let path = srv.root.path().join("big.bin");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(SIZE).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, b"DEEP", SIZE - 1000).unwrap();
    let mut stream = common::connect(srv.addr);
    let first = SIZE - 1000;
    stream
        .write_all(
            format!(
                "GET /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes={first}-{}\r\n\r\n",
                first + 3
            )
            .as_bytes(),
        )
        .unwrap();
    let reply = read_reply(&mut stream, false);
    assert_eq!(
        reply.header("Content-Range"),
        Some(format!("bytes {first}-{}/{SIZE}", first + 3).as_str())
    );
    assert_eq!(reply.body, b"DEEP");
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=-4\r\n\r\n")
        .unwrap();
    let tail = read_reply(&mut stream, false);
    assert_eq!(
        tail.header("Content-Range"),
        Some("bytes 3221225468-3221225471/3221225472")
    );
    assert_eq!(tail.body, [0, 0, 0, 0]);
}
