//! Request syntax and framing (RFC 9112) under attack: every ambiguous or
//! malformed message gets a status, and where the framing is in doubt the
//! connection is closed so nothing after it is read as a request.

use crate::common;

use std::io::Write;

use common::{connect, exchange, get, parse_all, read_reply, start};
use staticd::Autoindex;
use staticd::limits::MAX_DISCARD_BODY;

/// A request that would be answered with "hello" if it were ever parsed.
const SMUGGLED: &str = "GET /text..txt HTTP/1.1\r\nHost: t\r\n\r\n";

/// Sends `raw` followed by a smuggled request; expects exactly one reply
/// with `status`, `Connection: close`, and the connection closed.
fn refused_and_closed(addr: std::net::SocketAddr, raw: &str, status: u16) {
    let all = format!("{raw}{SMUGGLED}");
    let replies = parse_all(&exchange(addr, all.as_bytes()), false);
    assert_eq!(replies.len(), 1, "{raw:?}: {replies:?}");
    assert_eq!(replies[0].status, status, "{raw:?}");
    assert_eq!(replies[0].header("Connection"), Some("close"), "{raw:?}");
}

#[test]
fn content_length_must_be_one_plain_number() {
    let srv = start(Autoindex::Off);
    for value in ["+2", "-1", "1, 2", "1,1", "0x5", "5 5", &"9".repeat(25)] {
        let raw = format!("GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: {value}\r\n\r\nhello");
        refused_and_closed(srv.addr, &raw, 400);
    }
    let differing =
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello";
    refused_and_closed(srv.addr, differing, 400);
}

#[test]
fn transfer_encoding_rules() {
    let srv = start(Autoindex::Off);
    let both = "POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    refused_and_closed(srv.addr, both, 400);
    for coding in ["gzip", "chunked, gzip", "chunked, chunked"] {
        let raw = format!("GET /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: {coding}\r\n\r\n");
        refused_and_closed(srv.addr, &raw, 400);
    }
    let unknown =
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: zstd, chunked\r\n\r\n0\r\n\r\n";
    refused_and_closed(srv.addr, unknown, 501);
    let http10 = "GET /a.txt HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    refused_and_closed(srv.addr, http10, 400);
}

#[test]
fn chunked_bodies_are_answered_then_closed() {
    let srv = start(Autoindex::Off);
    let raw = format!(
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{SMUGGLED}\r\n0\r\n\r\n",
        SMUGGLED.len()
    );
    refused_and_closed(srv.addr, &raw, 200);
}

#[test]
fn small_bodies_are_discarded_and_the_connection_continues() {
    let srv = start(Autoindex::Off);
    let mut stream = connect(srv.addr);
    for method in ["GET", "HEAD", "POST"] {
        let head = format!(
            "{method} /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            SMUGGLED.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(SMUGGLED.as_bytes()).unwrap();
        let reply = read_reply(&mut stream, method == "HEAD");
        assert_eq!(reply.header("Connection"), Some("keep-alive"), "{method}");
    }
    stream
        .write_all(b"GET /dir2/page.html HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_reply(&mut stream, false).body.len(),
        38,
        "the next request, not the bodies"
    );
}

#[test]
fn large_bodies_are_not_read_but_the_answer_arrives() {
    let srv = start(Autoindex::Off);
    let len = MAX_DISCARD_BODY + 1;
    let mut stream = connect(srv.addr);
    let head = format!("POST /a.txt HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\n\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // Keep sending body bytes while the server answers and closes; the
    // lingering close lets us read the answer instead of a reset.
    stream.write_all(&vec![b'x'; 32 * 1024]).unwrap();
    let reply = read_reply(&mut stream, false);
    assert_eq!(
        (reply.status, reply.header("Connection")),
        (405, Some("close"))
    );
}

#[test]
fn expect_100_continue_gets_the_final_status_at_once() {
    let srv = start(Autoindex::Off);
    let reply = get(
        srv.addr,
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(reply.status, 200);
    // With a body announced, the client may never send it: close after.
    let raw =
        "PUT /a.txt HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n";
    let replies = parse_all(&exchange(srv.addr, raw.as_bytes()), false);
    assert_eq!(replies.len(), 1);
    assert_eq!(
        (replies[0].status, replies[0].header("Connection")),
        (405, Some("close"))
    );
}

#[test]
fn malformed_syntax_is_400_and_closes() {
    let srv = start(Autoindex::Off);
    for raw in [
        "GET /a.txt HTTP/1.1\r\nHost: t\rX-Bare: cr\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n  continued\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nX-Space : before-colon\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nBad[Name]: x\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nX-Nul: a\0b\r\n\r\n",
        "GET /a\x01b HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /a\0b HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /a.txt#frag HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET * HTTP/1.1\r\nHost: t\r\n\r\n",
        "GET /a.txt\r\n\r\n",
        "GET /a.txt HTTP/1.2\r\nHost: t\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nHost: t\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: a b\r\n\r\n",
        "GET /a.txt HTTP/1.1\r\nHost: evil/path\r\n\r\n",
    ] {
        refused_and_closed(srv.addr, raw, 400);
    }
}

#[test]
fn later_http_versions_are_505() {
    let srv = start(Autoindex::Off);
    // The HTTP/2 preface itself starts HTTP/2 (tests/it/http2.rs).
    for raw in [
        "GET /a.txt HTTP/2.0\r\nHost: t\r\n\r\n",
        "GET /a.txt HTTP/3.0\r\nHost: t\r\n\r\n",
    ] {
        refused_and_closed(srv.addr, raw, 505);
    }
}

#[test]
fn host_is_optional_only_in_http10() {
    let srv = start(Autoindex::Off);
    assert_eq!(get(srv.addr, "GET /a.txt HTTP/1.0\r\n\r\n").status, 200);
    let v6 = "GET /a.txt HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n";
    assert_eq!(get(srv.addr, v6).status, 200);
}

#[test]
fn bare_lf_line_endings_are_accepted_consistently() {
    let srv = start(Autoindex::Off);
    let raw =
        "\nGET /a.txt HTTP/1.1\nHost: t\n\nGET /text..txt HTTP/1.1\nHost: t\nConnection: close\n\n";
    let replies = parse_all(&exchange(srv.addr, raw.as_bytes()), false);
    let bodies: Vec<&[u8]> = replies.iter().map(|r| r.body.as_slice()).collect();
    assert_eq!(bodies, [&b"txt"[..], b"hello"]);
}

#[test]
fn errors_are_read_by_the_client_not_lost_to_a_reset() {
    let srv = start(Autoindex::Off);
    let mut stream = connect(srv.addr);
    stream
        .write_all(format!("GET /{} HTTP/1.1\r\n", "a".repeat(20_000)).as_bytes())
        .unwrap();
    // The server has answered 414 by now or soon; it keeps reading what we
    // still send until we stop, then closes cleanly.
    let _ = stream.write_all(&vec![b'a'; 64 * 1024]);
    let reply = read_reply(&mut stream, false);
    assert_eq!(reply.status, 414);
}
