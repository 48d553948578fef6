//! Validators and conditional requests (RFC 9110 §8.8, §13): exact status
//! codes and headers over raw TCP.

use crate::common;

use common::{MTIME_HTTP, etag_of, get, start};
use staticd::Autoindex;

const EARLIER: &str = "Mon, 13 Nov 2023 22:13:20 GMT";
const LATER: &str = "Wed, 15 Nov 2023 22:13:20 GMT";

fn ask(addr: std::net::SocketAddr, method: &str, headers: &str) -> common::Reply {
    get(
        addr,
        &format!(
            "{method} /dir2/page.html HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n"
        ),
    )
}

#[test]
fn every_file_has_a_strong_etag_that_follows_changes() {
    let srv = start(Autoindex::Off);
    let path = srv.root.path().join("dir2/page.html");
    let first = ask(srv.addr, "GET", "");
    let etag = first.header("ETag").unwrap().to_owned();
    assert_eq!(etag, etag_of(&path));
    assert!(etag.starts_with('"') && !etag.starts_with("W/"));
    // Same size, same second, different nanoseconds: still a new ETag.
    // (A Range request always reads the file itself, never the small-file
    // cache, which may answer for up to a second after an edit.)
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    let when = std::time::UNIX_EPOCH + std::time::Duration::new(common::MTIME_SECS, 500);
    file.set_modified(when).unwrap();
    let second = ask(srv.addr, "GET", "Range: bytes=0-\r\n");
    assert_ne!(second.header("ETag").unwrap(), etag);
    assert_eq!(second.header("ETag").unwrap(), etag_of(&path));
    assert_eq!(second.header("Last-Modified"), Some(MTIME_HTTP));
}

#[test]
fn if_none_match_gives_304_with_validators_and_no_body() {
    let srv = start(Autoindex::Off);
    let etag = etag_of(&srv.root.path().join("dir2/page.html"));
    let weak = format!("W/{etag}");
    let list = format!("\"nope\", {etag}");
    for value in [etag.as_str(), weak.as_str(), list.as_str(), "*"] {
        for method in ["GET", "HEAD"] {
            let reply = ask(srv.addr, method, &format!("If-None-Match: {value}\r\n"));
            assert_eq!(reply.status, 304, "{method} {value}");
            assert_eq!(reply.header("ETag"), Some(etag.as_str()));
            assert_eq!(reply.header("Last-Modified"), Some(MTIME_HTTP));
            assert!(reply.header("Date").is_some());
            assert_eq!(
                reply.header("Content-Length"),
                None,
                "a 304 announces no length"
            );
            assert!(reply.body.is_empty());
        }
    }
    assert_eq!(
        ask(srv.addr, "GET", "If-None-Match: \"other\"\r\n").status,
        200
    );
}

#[test]
fn if_modified_since_counts_later_dates_and_ignores_bad_ones() {
    let srv = start(Autoindex::Off);
    let since = |date: &str| ask(srv.addr, "GET", &format!("If-Modified-Since: {date}\r\n")).status;
    assert_eq!(since(MTIME_HTTP), 304);
    assert_eq!(since(LATER), 304);
    assert_eq!(since("Wednesday, 15-Nov-23 22:13:20 GMT"), 304);
    assert_eq!(since("Wed Nov 15 22:13:20 2023"), 304);
    assert_eq!(since(EARLIER), 200);
    assert_eq!(since("not a date"), 200);
    // If-None-Match takes precedence, both ways.
    let reply = ask(
        srv.addr,
        "GET",
        &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {LATER}\r\n"),
    );
    assert_eq!(reply.status, 200);
}

#[test]
fn if_match_and_if_unmodified_since_give_412() {
    let srv = start(Autoindex::Off);
    let etag = etag_of(&srv.root.path().join("dir2/page.html"));
    let status = |headers: String| ask(srv.addr, "GET", &headers).status;
    assert_eq!(status(format!("If-Match: {etag}\r\n")), 200);
    assert_eq!(status("If-Match: *\r\n".into()), 200);
    assert_eq!(status("If-Match: \"other\"\r\n".into()), 412);
    assert_eq!(
        status(format!("If-Match: W/{etag}\r\n")),
        412,
        "If-Match compares strongly"
    );
    assert_eq!(status(format!("If-Unmodified-Since: {EARLIER}\r\n")), 412);
    assert_eq!(
        status(format!("If-Unmodified-Since: {MTIME_HTTP}\r\n")),
        200
    );
    assert_eq!(status("If-Unmodified-Since: garbage\r\n".into()), 200);
    // If-Match decides over If-Unmodified-Since; 412 comes before 304.
    assert_eq!(
        status(format!(
            "If-Match: {etag}\r\nIf-Unmodified-Since: {EARLIER}\r\n"
        )),
        200
    );
    assert_eq!(
        status(format!("If-Match: \"other\"\r\nIf-None-Match: {etag}\r\n")),
        412
    );
    let failed = ask(srv.addr, "GET", "If-Match: \"other\"\r\n");
    assert_eq!(failed.header("Content-Type"), Some("text/html"));
}
