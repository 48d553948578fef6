//! Keep-alive, HTTP/1.0, pipelining, request bodies, and clients that
//! misbehave without disturbing anyone else.

use crate::common;

use std::io::Write;

use common::{connect, exchange, parse_all, read_reply, read_to_close, start};
use staticd::Autoindex;

const PAGE: &[u8] = b"<html><body>Page Sample</body></html>\n";

#[test]
fn http11_keeps_the_connection_open() {
    let srv = start(Autoindex::Off);
    let mut stream = connect(srv.addr);
    for _ in 0..3 {
        stream
            .write_all(b"GET /dir2/page.html HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let reply = read_reply(&mut stream, false);
        assert_eq!(reply.header("Connection"), Some("keep-alive"));
        assert_eq!(reply.body, PAGE);
    }
}

#[test]
fn http11_connection_close_is_honoured() {
    let srv = start(Autoindex::Off);
    let raw = exchange(
        srv.addr,
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let replies = parse_all(&raw, false);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].header("Connection"), Some("close"));
}

#[test]
fn http10_closes_by_default() {
    let srv = start(Autoindex::Off);
    let raw = exchange(srv.addr, b"GET /a.txt HTTP/1.0\r\n\r\n");
    let replies = parse_all(&raw, false);
    assert_eq!(replies.len(), 1, "closed after one response");
    assert_eq!(replies[0].header("Connection"), Some("close"));
    assert_eq!(replies[0].body, b"txt");
}

#[test]
fn http10_keep_alive_is_honoured() {
    let srv = start(Autoindex::Off);
    let mut stream = connect(srv.addr);
    stream
        .write_all(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let first = read_reply(&mut stream, false);
    assert_eq!(first.header("Connection"), Some("keep-alive"));
    stream
        .write_all(b"GET /text..txt HTTP/1.0\r\n\r\n")
        .unwrap();
    let rest = parse_all(&read_to_close(&mut stream), false);
    assert_eq!(rest.len(), 1);
    assert_eq!(
        (rest[0].header("Connection"), rest[0].body.as_slice()),
        (Some("close"), &b"hello"[..])
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = start(Autoindex::Off);
    let raw = exchange(
        srv.addr,
        b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n\
          HEAD /dir2/page.html HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /nope HTTP/1.1\r\nHost: t\r\n\r\n\
          GET /text..txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    // The HEAD reply announces 38 bytes but carries none; split by hand.
    let text = String::from_utf8(raw).unwrap();
    let statuses: Vec<&str> = text
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &text[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "200", "404", "200"]);
    assert!(text.contains("\r\n\r\ntxtHTTP/1.1 200 OK\r\n"));
    assert!(text.ends_with("\r\n\r\nhello"));
}

#[test]
fn pipelined_requests_split_across_writes() {
    let srv = start(Autoindex::Off);
    let mut stream = connect(srv.addr);
    let all = b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\nGET /text..txt HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    for piece in all.chunks(7) {
        stream.write_all(piece).unwrap();
    }
    let replies = parse_all(&read_to_close(&mut stream), false);
    let bodies: Vec<&[u8]> = replies.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies, [&b"txt"[..], b"hello"]);
}

#[test]
fn leading_empty_lines_are_ignored() {
    let srv = start(Autoindex::Off);
    let replies = parse_all(
        &exchange(srv.addr, b"\r\n\r\nGET /a.txt HTTP/1.0\r\n\r\n"),
        false,
    );
    assert_eq!((replies.len(), replies[0].status), (1, 200));
}

#[test]
fn a_request_body_is_never_read_as_a_request() {
    let srv = start(Autoindex::Off);
    // Each body is itself a request for /text..txt; it must never be answered.
    let follow = "GET /dir2/page.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    for (head, first) in [
        (
            "POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 34\r\n\r\n",
            405,
        ),
        (
            "GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 34\r\n\r\n",
            200,
        ),
    ] {
        let raw = format!("{head}GET /text..txt HTTP/1.1\r\nHost: t\r\n\r\n{follow}");
        let replies = parse_all(&exchange(srv.addr, raw.as_bytes()), false);
        let got: Vec<(u16, &[u8])> = replies
            .iter()
            .map(|r| (r.status, r.body.as_slice()))
            .collect();
        assert_eq!(got.len(), 2, "{head}");
        assert_eq!(got[0].0, first);
        assert_eq!(got[1], (200, PAGE), "the request after the body comes next");
    }
}

#[test]
fn misbehaving_clients_do_not_disturb_others() {
    let srv = start(Autoindex::Off);
    let mut bystander = connect(srv.addr);
    bystander
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut bystander, false).status, 200);

    let send_and_close = |raw: &[u8]| connect(srv.addr).write_all(raw).unwrap();
    send_and_close(b"\n"); // an empty line, then close
    send_and_close(b"GET /dir2/pa"); // closes mid-request
    let tls_hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n";
    assert_eq!(
        parse_all(&exchange(srv.addr, tls_hello), false)[0].status,
        400
    );
    drop(connect(srv.addr)); // connects and says nothing

    bystander
        .write_all(b"GET /text..txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_reply(&mut bystander, false).body, b"hello");
}
