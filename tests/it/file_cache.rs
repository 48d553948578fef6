//! The small-file cache over the wire: hits answer like the disk would,
//! and edits and deletions show up within FILE_CACHE_VALID.

use crate::common;

use std::time::{Duration, Instant};

use common::{get, request, start};
use staticd::Autoindex;
use staticd::limits::FILE_CACHE_VALID;

/// Repeats `GET target` until `done` holds for the reply or `limit` passes;
/// returns how long that took. The condition is time-based by design.
fn until(
    addr: std::net::SocketAddr,
    target: &str,
    limit: Duration,
    done: impl Fn(&common::Reply) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let reply = get(addr, &request("GET", target));
        if done(&reply) {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "still not seen after {limit:?}");
    }
}

#[test]
fn cached_answers_match_the_disk() {
    let srv = start(Autoindex::Off);
    let first = get(srv.addr, &request("GET", "/dir2/page.html"));
    let second = get(srv.addr, &request("GET", "/dir2/page.html"));
    assert_eq!(first.head_without_date(), second.head_without_date());
    assert_eq!(first.body, second.body);
    let etag = second.header("ETag").unwrap();
    let raw = format!(
        "GET /dir2/page.html HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(get(srv.addr, &raw).status, 304);
    let head = get(srv.addr, &request("HEAD", "/dir2/page.html"));
    assert_eq!(head.head_without_date(), first.head_without_date());
}

#[test]
fn edits_and_deletions_show_up_within_the_validity() {
    let srv = start(Autoindex::Off);
    let path = srv.root.path().join("text..txt");
    assert_eq!(get(srv.addr, &request("GET", "/text..txt")).body, b"hello");
    std::fs::write(&path, "changed!").unwrap();
    let limit = FILE_CACHE_VALID + Duration::from_secs(2);
    until(srv.addr, "/text..txt", limit, |r| r.body == b"changed!");
    std::fs::remove_file(&path).unwrap();
    until(srv.addr, "/text..txt", limit, |r| r.status == 404);
}
