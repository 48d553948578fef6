//! Compression on the fly over raw TCP: every coding
//! round-trips to the file's exact bytes; each variant has its own ETag,
//! `Vary: Accept-Encoding` is on every answer for the file, HEAD has GET's
//! length, preconditions and ranges apply to the variant; requests asking
//! at the same time all get the whole file, a changed file is never
//! answered with old bytes, and compressing holds up no other request;
//! what is not compressed (small files, images, `--compress off`, a fresh
//! sidecar) is left alone. That a file is compressed once per coding,
//! however many ask meanwhile, is the compress module's unit test.

use crate::common;

use std::io::Read;
use std::time::{Duration, Instant};

use clap::Parser;
use common::{Reply, get};
use common::{Running, serve};
use staticd::Config;
use staticd::limits::FILE_CACHE_VALID;

/// A page of about 40 KiB that compresses well, different per `seed`.
fn page(seed: u32) -> Vec<u8> {
    (0..1500)
        .flat_map(|i| format!("<li id=\"n{i}\">item {} of {seed}</li>\n", i * seed).into_bytes())
        .collect()
}

/// A server for a fresh root holding `files`, configured by `args` as the
/// command line gives them.
fn with(files: &[(&str, &[u8])], args: &[&str]) -> (Running, tempfile::TempDir) {
    let root = tempfile::tempdir().unwrap();
    for (name, content) in files {
        std::fs::write(root.path().join(name), content).unwrap();
    }
    let line = ["staticd", "--bind", "127.0.0.1", "--port", "0", "--root"];
    let root_arg = root.path().to_str().unwrap();
    let args = line
        .iter()
        .copied()
        .chain([root_arg])
        .chain(args.iter().copied());
    let config = Config::try_parse_from(args).expect("valid test arguments");
    (serve(config), root)
}

fn fetch(running: &Running, method: &str, target: &str, fields: &str) -> Reply {
    let raw = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n{fields}Connection: close\r\n\r\n");
    get(running.addr, &raw)
}

fn decode(body: &[u8], coding: &str) -> Vec<u8> {
    let mut out = Vec::new();
    match coding {
        "br" => {
            brotli::Decompressor::new(body, 4096)
                .read_to_end(&mut out)
                .unwrap();
        }
        "zstd" => out = zstd::decode_all(body).unwrap(),
        "gzip" => {
            flate2::read::GzDecoder::new(body)
                .read_to_end(&mut out)
                .unwrap();
        }
        other => panic!("unexpected coding {other}"),
    }
    out
}

#[test]
fn every_coding_round_trips_with_its_own_etag_and_length() {
    let content = page(1);
    let (running, _root) = with(&[("page.html", &content)], &[]);
    let identity = fetch(&running, "GET", "/page.html", "");
    assert_eq!(identity.body, content);
    assert_eq!(identity.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(identity.header("Content-Encoding"), None);
    let mut etags = vec![identity.header("ETag").unwrap().to_owned()];
    for coding in ["br", "zstd", "gzip"] {
        let field = format!("Accept-Encoding: {coding}\r\n");
        for _ in 0..2 {
            // Compressed on the first request, from the store on the second.
            let reply = fetch(&running, "GET", "/page.html", &field);
            assert_eq!(reply.status, 200);
            assert_eq!(reply.header("Content-Encoding"), Some(coding));
            assert_eq!(reply.header("Content-Type"), Some("text/html"));
            assert_eq!(reply.header("Vary"), Some("Accept-Encoding"));
            assert!(reply.body.len() * 4 < content.len(), "{coding} shrinks it");
            assert_eq!(decode(&reply.body, coding), content, "{coding}");
            let head = fetch(&running, "HEAD", "/page.html", &field);
            assert_eq!(
                head.header("Content-Length"),
                reply.header("Content-Length")
            );
            assert_eq!(head.header("ETag"), reply.header("ETag"));
            etags.push(reply.header("ETag").unwrap().to_owned());
        }
    }
    etags.dedup();
    assert_eq!(etags.len(), 4, "one ETag per variant: {etags:?}");
}

#[test]
fn the_best_accepted_coding_wins_by_weight_then_by_ours() {
    let (running, _root) = with(&[("page.html", &page(2))], &[]);
    let coding = |accept: &str| {
        let reply = fetch(
            &running,
            "GET",
            "/page.html",
            &format!("Accept-Encoding: {accept}\r\n"),
        );
        reply.header("Content-Encoding").map(str::to_owned)
    };
    assert_eq!(coding("gzip, deflate, br, zstd").as_deref(), Some("br"));
    assert_eq!(coding("gzip;q=1, br;q=0.5").as_deref(), Some("gzip"));
    assert_eq!(coding("zstd, gzip").as_deref(), Some("zstd"));
    // Bad weights are skipped, not trusted; refusing identity with
    // nothing else acceptable still gets identity (docs/behaviour.md).
    assert_eq!(coding("gzip;q=1.5, br;q=x"), None);
    assert_eq!(coding("identity;q=0"), None);
    assert_eq!(coding("deflate, compress"), None);
    assert_eq!(coding("*;q=0"), None);
}

#[test]
fn preconditions_and_ranges_apply_to_the_variant() {
    let content = page(3);
    let (running, _root) = with(&[("page.html", &content)], &[]);
    let gzip = "Accept-Encoding: gzip\r\n";
    let whole = fetch(&running, "GET", "/page.html", gzip);
    let etag = whole.header("ETag").unwrap().to_owned();
    let not_modified = fetch(
        &running,
        "GET",
        "/page.html",
        &format!("{gzip}If-None-Match: {etag}\r\n"),
    );
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("Vary"), Some("Accept-Encoding"));
    assert_eq!(not_modified.header("ETag"), Some(etag.as_str()));
    // The identity ETag does not match the variant, nor the other way.
    let identity = fetch(&running, "GET", "/page.html", "")
        .header("ETag")
        .unwrap()
        .to_owned();
    let other = fetch(
        &running,
        "GET",
        "/page.html",
        &format!("{gzip}If-None-Match: {identity}\r\n"),
    );
    assert_eq!(other.status, 200);
    let plain = fetch(
        &running,
        "GET",
        "/page.html",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(plain.status, 200);
    let len = whole.body.len();
    let range = fetch(
        &running,
        "GET",
        "/page.html",
        &format!("{gzip}Range: bytes=10-19\r\n"),
    );
    assert_eq!(range.status, 206);
    assert_eq!(
        range.header("Content-Range"),
        Some(format!("bytes 10-19/{len}").as_str())
    );
    assert_eq!(range.header("Content-Encoding"), Some("gzip"));
    assert_eq!(range.body, whole.body[10..20]);
    let if_range = format!("{gzip}Range: bytes=0-9\r\nIf-Range: {identity}\r\n");
    let stale = fetch(&running, "GET", "/page.html", &if_range);
    assert_eq!(
        (stale.status, stale.body.len()),
        (200, len),
        "If-Range of another variant"
    );
    let past = fetch(
        &running,
        "GET",
        "/page.html",
        &format!("{gzip}Range: bytes={len}-\r\n"),
    );
    assert_eq!(past.status, 416);
    assert_eq!(
        past.header("Content-Range"),
        Some(format!("bytes */{len}").as_str())
    );
}

#[test]
fn concurrent_requests_all_get_the_whole_file() {
    // 2 MB: brotli takes a hundred milliseconds or more on it, far longer
    // than sending eight requests, so they overlap: one compresses, the
    // others wait for its bytes.
    let content: Vec<u8> = (0..50).flat_map(|i| page(10 + i)).collect();
    let (running, _root) = with(&[("big.json", &content)], &[]);
    let addr = running.addr;
    let raw =
        "GET /big.json HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n";
    let threads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(move || get(addr, raw)))
        .collect();
    let bodies: Vec<Vec<u8>> = threads
        .into_iter()
        .map(|t| t.join().unwrap().body)
        .collect();
    for body in &bodies {
        assert_eq!(decode(body, "br"), content);
    }
}

#[test]
fn a_changed_file_is_never_answered_with_old_bytes() {
    let (running, root) = with(&[("page.html", &page(4))], &[]);
    let gzip = "Accept-Encoding: gzip\r\n";
    assert_eq!(
        decode(&fetch(&running, "GET", "/page.html", gzip).body, "gzip"),
        page(4)
    );
    let newer = page(5);
    std::fs::write(root.path().join("page.html"), &newer).unwrap();
    let limit = FILE_CACHE_VALID + Duration::from_secs(2);
    let started = Instant::now();
    loop {
        let body = decode(&fetch(&running, "GET", "/page.html", gzip).body, "gzip");
        // Old or new, never a mix; the new one within the trust window.
        assert!(body == page(4) || body == newer, "a body of neither file");
        if body == newer {
            break;
        }
        assert!(
            started.elapsed() < limit,
            "the new bytes not seen after {limit:?}"
        );
    }
}

#[test]
fn what_is_not_compressed_is_left_alone() {
    let small = b"<p>tiny</p>".to_vec();
    let png: Vec<u8> = page(6);
    let files: &[(&str, &[u8])] = &[
        ("small.html", &small),
        ("logo.png", &png),
        ("side.css", &page(7)),
        ("side.css.gz", b"the sidecar"),
    ];
    let (running, root) = with(files, &[]);
    let all = "Accept-Encoding: br, zstd, gzip\r\n";
    let tiny = fetch(&running, "GET", "/small.html", all);
    assert_eq!(
        (tiny.header("Content-Encoding"), tiny.header("Vary")),
        (None, None)
    );
    let image = fetch(&running, "GET", "/logo.png", all);
    assert_eq!(
        (image.header("Content-Encoding"), image.body.len()),
        (None, png.len())
    );
    // A fresh sidecar wins over compressing.
    let side = fetch(&running, "GET", "/side.css", "Accept-Encoding: gzip\r\n");
    assert_eq!(side.body, b"the sidecar");
    drop(root);
    let (off, _root) = with(&[("page.html", &page(8))], &["--compress", "off"]);
    let reply = fetch(&off, "GET", "/page.html", all);
    assert_eq!(
        (reply.header("Content-Encoding"), reply.header("Vary")),
        (None, None)
    );
    let (min, _root) = with(&[("page.html", &page(8))], &["--compress-min", "1M"]);
    assert_eq!(
        fetch(&min, "GET", "/page.html", all).header("Content-Encoding"),
        None
    );
    let types = ["--compress-types", "application/json"];
    let (only_json, _root) = with(&[("page.html", &page(8)), ("a.json", &page(9))], &types);
    assert_eq!(
        fetch(&only_json, "GET", "/page.html", all).header("Content-Encoding"),
        None
    );
    assert_eq!(
        fetch(&only_json, "GET", "/a.json", all).header("Content-Encoding"),
        Some("br")
    );
}

#[test]
fn http10_gets_a_length_not_chunks() {
    let (running, _root) = with(&[("page.html", &page(11))], &[]);
    let raw = "GET /page.html HTTP/1.0\r\nAccept-Encoding: gzip\r\n\r\n";
    let reply = get(running.addr, raw);
    assert_eq!(reply.header("Content-Encoding"), Some("gzip"));
    assert_eq!(reply.header("Transfer-Encoding"), None);
    assert_eq!(decode(&reply.body, "gzip"), page(11));
}

#[test]
fn the_options_refuse_bad_values_by_name() {
    for (args, named) in [
        (&["--compress-min", "lots"][..], "--compress-min"),
        (&["--compress-cache", "1T"][..], "--compress-cache"),
        (&["--compress-types", "text"][..], "--compress-types"),
        (&["--compress", "maybe"][..], "--compress"),
    ] {
        let line = ["staticd"].iter().copied().chain(args.iter().copied());
        let err = Config::try_parse_from(line).unwrap_err().to_string();
        assert!(err.contains(named), "{err}");
    }
}

#[test]
fn compressing_runs_off_the_event_loop() {
    // 8 MiB of text that brotli must work at (a pseudo-random word
    // stream): hundreds of milliseconds. One worker: were it compressed on
    // the event loop, a request arriving meanwhile would wait for the rest
    // of the compression. The small file is asked for again and again
    // until the big one is answered, so some of those requests arrive
    // while it is compressed; each must be answered at once.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let words = [
        "alpha ", "beta ", "gamma ", "delta ", "epsilon ", "zeta ", "eta ", "theta ",
    ];
    let mut big = Vec::with_capacity(8 << 20);
    while big.len() < (8 << 20) - 16 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        big.extend_from_slice(words[(state % 8) as usize].as_bytes());
        big.extend_from_slice(format!("{} ", state % 1000).as_bytes());
    }
    let small = page(12);
    let files: &[(&str, &[u8])] = &[("big.txt", &big), ("small.html", &small)];
    let (running, _root) = with(files, &["--workers", "1"]);
    let addr = running.addr;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&done);
    let started = Instant::now();
    let slow = std::thread::spawn(move || {
        let raw =
            "GET /big.txt HTTP/1.1\r\nHost: t\r\nAccept-Encoding: br\r\nConnection: close\r\n\r\n";
        let reply = get(addr, raw);
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        reply
    });
    let mut slowest = Duration::ZERO;
    let mut answered = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) {
        let asked = Instant::now();
        let open = fetch(&running, "GET", "/small.html", "");
        slowest = slowest.max(asked.elapsed());
        assert_eq!(open.body, small);
        answered += 1;
        // A pause between requests, only to keep the access log short.
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let reply = slow.join().unwrap();
    assert_eq!(decode(&reply.body, "br"), big);
    eprintln!("{answered} small requests, the slowest {slowest:?}, the big one {took:?}");
    assert!(answered >= 2, "only {answered} small requests in {took:?}");
    assert!(
        slowest < took / 4,
        "a small file took {slowest:?} while the big one took {took:?}"
    );
}
