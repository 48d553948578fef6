//! Each protocol limit, gone over by one.

use crate::common;

use common::{get, start};
use staticd::Autoindex;
use staticd::limits::{MAX_HEAD, MAX_HEADERS, MAX_REQUEST_LINE};

#[test]
fn request_line_over_the_limit_is_414() {
    let srv = start(Autoindex::Off);
    let fits = format!(
        "GET /{} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "a".repeat(MAX_REQUEST_LINE - 16)
    );
    assert_eq!(get(srv.addr, &fits).status, 404);
    let long = format!(
        "GET /{} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        "a".repeat(MAX_REQUEST_LINE)
    );
    let reply = get(srv.addr, &long);
    assert_eq!(reply.status, 414);
    assert_eq!(reply.header("Connection"), Some("close"));
}

#[test]
fn head_over_the_limit_is_431() {
    let srv = start(Autoindex::Off);
    let field = format!("X-Pad: {}\r\n", "p".repeat(500));
    let fits = format!(
        "GET /a.txt HTTP/1.1\r\nHost: t\r\n{}Connection: close\r\n\r\n",
        field.repeat(MAX_HEAD / 600)
    );
    assert_eq!(get(srv.addr, &fits).status, 200);
    let big = format!(
        "GET /a.txt HTTP/1.1\r\nHost: t\r\n{}Connection: close\r\n\r\n",
        field.repeat(MAX_HEAD / 500 + 1)
    );
    assert_eq!(get(srv.addr, &big).status, 431);
}

#[test]
fn too_many_header_fields_is_431() {
    let srv = start(Autoindex::Off);
    let fits = format!(
        "GET /a.txt HTTP/1.1\r\nHost: t\r\n{}Connection: close\r\n\r\n",
        "A: b\r\n".repeat(MAX_HEADERS - 2)
    );
    assert_eq!(get(srv.addr, &fits).status, 200);
    let over = format!(
        "GET /a.txt HTTP/1.1\r\nHost: t\r\n{}Connection: close\r\n\r\n",
        "A: b\r\n".repeat(MAX_HEADERS - 1)
    );
    assert_eq!(get(srv.addr, &over).status, 431);
}
