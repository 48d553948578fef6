//! Precompressed sidecar files (FILE.br, FILE.gz): negotiation, Vary,
//! variant ETags, ranges on variants, and stale sidecars.

use crate::common;

use common::{Reply, get, serve_root};
use staticd::Switch;

const ORIGINAL: &str = "body { color: red; }\n";

struct Site {
    _root: tempfile::TempDir,
    addr: std::net::SocketAddr,
}

fn site(precompressed: Switch, stale_gz: bool) -> Site {
    let root = common::fixture();
    let dir = root.path();
    std::fs::write(dir.join("style.css"), ORIGINAL).unwrap();
    std::fs::write(dir.join("style.css.br"), "BROTLI-BYTES").unwrap();
    std::fs::write(dir.join("style.css.gz"), "GZIP-BYTES").unwrap();
    std::fs::write(dir.join("plain.css"), ORIGINAL).unwrap();
    std::fs::write(dir.join("old.css.gz"), "OLD-GZIP").unwrap();
    std::fs::write(dir.join("old.css"), ORIGINAL).unwrap();
    let older = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
    let gz = std::fs::File::options()
        .write(true)
        .open(dir.join("old.css.gz"))
        .unwrap();
    gz.set_modified(older).unwrap();
    if stale_gz {
        let gz = std::fs::File::options()
            .write(true)
            .open(dir.join("style.css.gz"))
            .unwrap();
        gz.set_modified(older).unwrap();
    }
    let addr = serve_root(dir, |config| config.precompressed = precompressed);
    Site { _root: root, addr }
}

fn fetch(addr: std::net::SocketAddr, target: &str, headers: &str) -> Reply {
    get(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: t\r\n{headers}Connection: close\r\n\r\n"),
    )
}

#[test]
fn the_best_accepted_variant_is_served() {
    let s = site(Switch::On, false);
    let br = fetch(
        s.addr,
        "/style.css",
        "Accept-Encoding: gzip, deflate, br\r\n",
    );
    assert_eq!(br.body, b"BROTLI-BYTES");
    assert_eq!(br.header("Content-Encoding"), Some("br"));
    assert_eq!(
        br.header("Content-Type"),
        Some("text/css"),
        "the original's type"
    );
    assert_eq!(br.header("Vary"), Some("Accept-Encoding"));

    let gz = fetch(s.addr, "/style.css", "Accept-Encoding: gzip\r\n");
    assert_eq!(
        (gz.body.as_slice(), gz.header("Content-Encoding")),
        (&b"GZIP-BYTES"[..], Some("gzip"))
    );
    let prefer_gz = fetch(s.addr, "/style.css", "Accept-Encoding: br;q=0.5, gzip\r\n");
    assert_eq!(prefer_gz.header("Content-Encoding"), Some("gzip"));

    let identity = fetch(s.addr, "/style.css", "");
    assert_eq!(identity.body, ORIGINAL.as_bytes());
    assert_eq!(identity.header("Content-Encoding"), None);
    assert_eq!(
        identity.header("Vary"),
        Some("Accept-Encoding"),
        "a variant exists"
    );
    let refused = fetch(
        s.addr,
        "/style.css",
        "Accept-Encoding: br;q=0, gzip;q=0\r\n",
    );
    assert_eq!(refused.body, ORIGINAL.as_bytes());

    let etags: Vec<_> = [&br, &gz, &identity]
        .iter()
        .map(|r| r.header("ETag").unwrap().to_owned())
        .collect();
    assert!(
        etags[0] != etags[1] && etags[1] != etags[2] && etags[0] != etags[2],
        "{etags:?}"
    );
    assert!(etags[0].ends_with("-br\""));
}

#[test]
fn files_without_variants_do_not_vary() {
    let s = site(Switch::On, false);
    let reply = fetch(s.addr, "/plain.css", "Accept-Encoding: gzip, br\r\n");
    assert_eq!(
        (reply.header("Vary"), reply.header("Content-Encoding")),
        (None, None)
    );
}

#[test]
fn stale_sidecars_are_never_served() {
    let s = site(Switch::On, true);
    let reply = fetch(s.addr, "/old.css", "Accept-Encoding: gzip\r\n");
    assert_eq!(reply.body, ORIGINAL.as_bytes());
    assert_eq!(
        (reply.header("Content-Encoding"), reply.header("Vary")),
        (None, None)
    );
    // style.css.gz is stale here, style.css.br is fresh.
    let gz_only = fetch(s.addr, "/style.css", "Accept-Encoding: gzip\r\n");
    assert_eq!(gz_only.body, ORIGINAL.as_bytes());
    assert_eq!(gz_only.header("Vary"), Some("Accept-Encoding"));
}

#[test]
fn ranges_and_conditionals_apply_to_the_chosen_variant() {
    let s = site(Switch::On, false);
    let part = fetch(
        s.addr,
        "/style.css",
        "Accept-Encoding: br\r\nRange: bytes=0-5\r\n",
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.header("Content-Range"), Some("bytes 0-5/12"));
    assert_eq!(
        (part.body.as_slice(), part.header("Content-Encoding")),
        (&b"BROTLI"[..], Some("br"))
    );

    let br_etag = fetch(s.addr, "/style.css", "Accept-Encoding: br\r\n")
        .header("ETag")
        .unwrap()
        .to_owned();
    let same = fetch(
        s.addr,
        "/style.css",
        &format!("Accept-Encoding: br\r\nIf-None-Match: {br_etag}\r\n"),
    );
    assert_eq!(same.status, 304);
    assert_eq!(same.header("Vary"), Some("Accept-Encoding"));
    let other = fetch(
        s.addr,
        "/style.css",
        &format!("If-None-Match: {br_etag}\r\n"),
    );
    assert_eq!(other.status, 200, "the identity variant has another ETag");
}

#[test]
fn precompressed_off_serves_only_originals() {
    let s = site(Switch::Off, false);
    let reply = fetch(s.addr, "/style.css", "Accept-Encoding: gzip, br\r\n");
    assert_eq!(reply.body, ORIGINAL.as_bytes());
    assert_eq!(
        (reply.header("Content-Encoding"), reply.header("Vary")),
        (None, None)
    );
}
