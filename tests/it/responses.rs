//! Methods, status codes, and the exact bytes of response heads.

use crate::common;

use common::{MTIME_HTTP, get, request, start};
use staticd::Autoindex;

const SERVER: &str = concat!("staticd/", env!("CARGO_PKG_VERSION"));

#[test]
fn get_serves_exact_bytes() {
    let srv = start(Autoindex::Off);
    let reply = get(srv.addr, &request("GET", "/dir2/page.html"));
    let etag = common::etag_of(&srv.root.path().join("dir2/page.html"));
    assert_eq!(
        reply.head_without_date(),
        format!(
            "HTTP/1.1 200 OK\r\nServer: {SERVER}\r\nDate: <date>\r\nContent-Type: text/html\r\n\
             Last-Modified: {MTIME_HTTP}\r\nETag: {etag}\r\nAccept-Ranges: bytes\r\n\
             Content-Length: 38\r\nConnection: close"
        )
    );
    assert_eq!(reply.body, b"<html><body>Page Sample</body></html>\n");
}

#[test]
fn head_sends_the_get_headers_and_no_body() {
    let srv = start(Autoindex::Off);
    for target in ["/dir2/page.html", "/missing", "/dir2"] {
        let got = get(srv.addr, &request("GET", target));
        let head = get(srv.addr, &request("HEAD", target));
        assert_eq!(
            head.head_without_date(),
            got.head_without_date(),
            "{target}"
        );
        assert!(head.body.is_empty());
    }
}

#[test]
fn head_over_http10_reads_to_close() {
    let srv = start(Autoindex::Off);
    let raw = common::exchange(srv.addr, b"HEAD /dir2/page.html HTTP/1.0\r\n\r\n");
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.contains("\r\nContent-Length: 38\r\n"));
    assert!(
        text.ends_with("\r\nConnection: close\r\n\r\n"),
        "no body after the head"
    );
}

#[test]
fn other_methods_are_405_with_allow() {
    let srv = start(Autoindex::Off);
    for method in [
        "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT", "BREW",
    ] {
        let reply = get(srv.addr, &request(method, "/dir2/page.html"));
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("Allow"), Some("GET, HEAD"), "{method}");
    }
}

#[test]
fn lowercase_get_is_a_different_method() {
    let srv = start(Autoindex::Off);
    assert_eq!(get(srv.addr, &request("get", "/a.txt")).status, 405);
}

#[test]
fn malformed_heads_are_400_and_close() {
    let srv = start(Autoindex::Off);
    for raw in [
        "garbage\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        "GET / HTTP/1.1\r\nNo Colon Here\r\n\r\n",
        "GET / HTTP/1.1\r\nName : space-before-colon\r\n\r\n",
        "GET / XTTP/1.1\r\n\r\n",
    ] {
        // Keep-alive is asked for implicitly (HTTP/1.1); the server must
        // still close, which `get` checks by reading to EOF.
        let reply = get(srv.addr, raw);
        assert_eq!(reply.status, 400, "{raw:?}");
        assert_eq!(reply.header("Connection"), Some("close"));
    }
}

#[test]
fn every_response_has_date_server_connection() {
    let srv = start(Autoindex::Off);
    for (method, target) in [
        ("GET", "/a.txt"),
        ("GET", "/nope"),
        ("POST", "/"),
        ("GET", "/dir2"),
    ] {
        let reply = get(srv.addr, &request(method, target));
        let date = reply.header("Date").expect("Date");
        assert_eq!(date.len(), 29, "{date}");
        assert!(date.ends_with(" GMT"));
        assert_eq!(reply.header("Server"), Some(SERVER));
        assert!(reply.header("Connection").is_some());
    }
}

#[test]
fn content_types_are_exact() {
    let srv = start(Autoindex::Off);
    for (target, ty) in [
        ("/dir2/page.html", "text/html"),
        ("/a.htm", "text/html"),
        ("/a.css", "text/css"),
        ("/a.js", "text/javascript"),
        ("/a.jpg", "image/jpeg"),
        ("/a.jpeg", "image/jpeg"),
        ("/a.png", "image/png"),
        ("/a.gif", "image/gif"),
        ("/a.swf", "application/x-shockwave-flash"),
        ("/a.txt", "text/plain"),
        ("/a.unknownext", "application/octet-stream"),
        ("/noext", "application/octet-stream"),
    ] {
        let reply = get(srv.addr, &request("GET", target));
        assert_eq!(reply.status, 200, "{target}");
        assert_eq!(reply.header("Content-Type"), Some(ty), "{target}");
        assert!(reply.head.contains("\r\nContent-Length: "));
        assert!(
            reply
                .head
                .contains(&format!("\r\nLast-Modified: {MTIME_HTTP}\r\n"))
        );
    }
}

#[test]
fn error_pages_are_html_with_their_own_length() {
    let srv = start(Autoindex::Off);
    for (raw, status) in [
        (request("GET", "/nope"), 404),
        (request("POST", "/"), 405),
        (request("GET", "/%ZZ"), 400),
    ] {
        let reply = get(srv.addr, &raw);
        assert_eq!(reply.status, status);
        assert_eq!(reply.header("Content-Type"), Some("text/html"));
        let len: usize = reply.header("Content-Length").unwrap().parse().unwrap();
        assert_eq!(len, reply.body.len());
        let body = String::from_utf8(reply.body).unwrap();
        assert!(body.contains(&format!("<title>{status} ")), "{body}");
    }
}

#[test]
fn query_string_is_ignored() {
    let srv = start(Autoindex::Off);
    let reply = get(
        srv.addr,
        &request("GET", "/dir2/page.html?arg1=value&arg2=value"),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"<html><body>Page Sample</body></html>\n");
}

#[test]
fn nested_files_are_served() {
    let srv = start(Autoindex::Off);
    let reply = get(srv.addr, &request("GET", "/dir1/dir12/dir123/deep.txt"));
    assert_eq!(
        (reply.status, reply.body.as_slice()),
        (200, &b"bingo, you found it\n"[..])
    );
}
