//! Site rules that add header fields: `--path-header` (pattern
//! semantics, order, replacing staticd's own fields on cached files and
//! 304s, never on errors, no dodging by dot segments or encoding),
//! `--security-headers` and `--cors-origin` (simple requests, `Vary`,
//! preflights), over raw TCP with exact fields; and the binary's start-up
//! refusals, naming the option and the config file's line.

use crate::common;

use clap::Parser;
use common::process::run;
use common::{Reply, TestServer, get, request, server};
use staticd::Config;

/// A fixture server configured by `args` as the command line gives them,
/// with assets, a secret page and a precompressed text beside the fixture.
fn with(args: &[&str]) -> TestServer {
    let parsed = Config::try_parse_from(std::iter::once("staticd").chain(args.iter().copied()))
        .expect("valid test arguments");
    let test = server(move |config| {
        config.header_rules = parsed.header_rules;
        config.cache_control = parsed.cache_control;
        config.headers = parsed.headers;
    });
    let root = test.root.path();
    for (name, content) in [
        ("assets/app.css", "body{}"),
        ("assets/img/logo.png", "png"),
        ("secret.html", "<p>secret</p>"),
        ("v.txt", "plain text"),
        ("v.txt.gz", "gzipped"),
    ] {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
    }
    test
}

/// Every value of the field `name` in `reply`, in order.
fn all<'a>(reply: &'a Reply, name: &str) -> Vec<&'a str> {
    reply
        .head
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(": "))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

/// A `method` request for `target` with the extra request fields `fields`
/// (each ending in CRLF). An OPTIONS reply is read to the close, since a
/// 204 has no Content-Length for [`get`] to go by.
fn get_with(test: &TestServer, method: &str, target: &str, fields: &str) -> Reply {
    let raw = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n{fields}Connection: close\r\n\r\n");
    if method != "OPTIONS" {
        return get(test.addr, &raw);
    }
    let bytes = common::exchange(test.addr, raw.as_bytes());
    let end = common::find(&bytes, b"\r\n\r\n").expect("a whole head");
    let head = String::from_utf8(bytes[..end].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let body = bytes[end + 4..].to_vec();
    Reply { status, head, body }
}

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[test]
fn patterns_match_segments_trees_and_names_at_any_depth() {
    let test = with(&[
        "--path-header",
        &format!("/assets/** Cache-Control: {IMMUTABLE}"),
        "--path-header",
        "/assets/* X-Top: 1",
        "--path-header",
        "*.html X-Page: yes",
    ]);
    let css = get(test.addr, &request("GET", "/assets/app.css"));
    assert_eq!(all(&css, "Cache-Control"), [IMMUTABLE]);
    assert_eq!(all(&css, "X-Top"), ["1"]);
    let png = get(test.addr, &request("HEAD", "/assets/img/logo.png"));
    assert_eq!(all(&png, "Cache-Control"), [IMMUTABLE]);
    assert_eq!(
        all(&png, "X-Top"),
        Vec::<&str>::new(),
        "* stays in its segment"
    );
    for target in ["/index.html", "/dir2/page.html", "/dir2/"] {
        let page = get(test.addr, &request("GET", target));
        assert_eq!(page.status, 200, "{target}");
        let want: &[&str] = if target.ends_with('/') { &[] } else { &["yes"] };
        assert_eq!(all(&page, "X-Page"), want, "{target}");
        assert_eq!(all(&page, "Cache-Control"), Vec::<&str>::new(), "{target}");
    }
    let text = get(test.addr, &request("GET", "/a.txt"));
    assert!(!text.head.contains("X-"), "{}", text.head);
}

#[test]
fn later_rules_replace_earlier_ones_and_staticd_s_cache_control() {
    let test = with(&[
        "--cache-control",
        "max-age=60",
        "--path-header",
        "*.html Cache-Control: public",
        "--path-header",
        "/dir2/** Cache-Control: no-cache",
        "--path-header",
        "*.html X-Order: first",
        "--path-header",
        "*.html x-order: second",
    ]);
    // Twice: the second answer comes from the file cache, with its fields
    // encoded ahead of time.
    for round in 0..2 {
        let page = get(test.addr, &request("GET", "/dir2/page.html"));
        assert_eq!(all(&page, "Cache-Control"), ["no-cache"], "round {round}");
        assert_eq!(all(&page, "X-Order"), ["second"], "round {round}");
        assert_eq!(all(&page, "Content-Type"), ["text/html"], "round {round}");
        assert_eq!(all(&page, "Accept-Ranges"), ["bytes"], "round {round}");
        let index = get(test.addr, &request("GET", "/index.html"));
        assert_eq!(all(&index, "Cache-Control"), ["public"], "round {round}");
    }
    let etag = common::etag_of(&test.root.path().join("dir2/page.html"));
    let fresh = get_with(
        &test,
        "GET",
        "/dir2/page.html",
        &format!("If-None-Match: {etag}\r\n"),
    );
    assert_eq!(fresh.status, 304);
    assert_eq!(all(&fresh, "Cache-Control"), ["no-cache"]);
    assert_eq!(all(&fresh, "X-Order"), ["second"]);
    let other = get(test.addr, &request("GET", "/a.txt"));
    assert_eq!(
        all(&other, "Cache-Control"),
        ["max-age=60"],
        "no rule: staticd's own"
    );
}

#[test]
fn path_headers_apply_to_redirects_and_listings_but_not_to_errors() {
    let test = with(&["--path-header", "/** X-Rule: on"]);
    let moved = get(test.addr, &request("GET", "/dir2"));
    assert_eq!((moved.status, all(&moved, "X-Rule")), (301, vec!["on"]));
    for (target, status) in [("/missing.html", 404), ("/.env", 404), ("/dir1/", 404)] {
        let refused = get(test.addr, &request("GET", target));
        assert_eq!(refused.status, status, "{target}");
        assert_eq!(all(&refused, "X-Rule"), Vec::<&str>::new(), "{target}");
    }
    let not_allowed = get(test.addr, &request("DELETE", "/index.html"));
    assert_eq!(not_allowed.status, 405);
    assert_eq!(all(&not_allowed, "X-Rule"), Vec::<&str>::new());
    // The same root with listings on: /dir1/ has no index.html.
    let addr = common::serve_root(test.root.path(), |config| {
        config.autoindex = staticd::Autoindex::On;
        config.header_rules =
            Config::try_parse_from(["staticd", "--path-header", "/** X-Rule: on"])
                .unwrap()
                .header_rules;
    });
    let page = get(addr, &request("GET", "/dir1/"));
    assert_eq!((page.status, all(&page, "X-Rule")), (200, vec!["on"]));
}

#[test]
fn dot_segments_and_encoding_cannot_dodge_a_pattern() {
    let test = with(&["--path-header", "/secret.html X-Secret: matched"]);
    for target in [
        "/secret.html",
        "/assets/../secret.html",
        "/assets/%2e%2e/secret.html",
        "/%73ecret.html",
        "/assets/img/../../secret.html",
    ] {
        let reply = get(test.addr, &request("GET", target));
        assert_eq!(reply.status, 200, "{target}");
        assert_eq!(all(&reply, "X-Secret"), ["matched"], "{target}");
    }
    let slash = get(test.addr, &request("GET", "/assets%2f..%2fsecret.html"));
    assert_ne!(slash.status, 200, "an encoded slash names no file");
    assert_eq!(all(&slash, "X-Secret"), Vec::<&str>::new());
}

#[test]
fn security_headers_go_on_every_response_and_rules_override_them() {
    let test = with(&[
        "--security-headers",
        "--path-header",
        "/assets/** X-Frame-Options: DENY",
    ]);
    for (target, status) in [("/a.txt", 200), ("/missing", 404), ("/dir2", 301)] {
        let reply = get(test.addr, &request("GET", target));
        assert_eq!(reply.status, status, "{target}");
        assert_eq!(
            all(&reply, "X-Content-Type-Options"),
            ["nosniff"],
            "{target}"
        );
        assert_eq!(
            all(&reply, "Referrer-Policy"),
            ["strict-origin-when-cross-origin"],
            "{target}"
        );
        assert_eq!(all(&reply, "X-Frame-Options"), ["SAMEORIGIN"], "{target}");
    }
    let options = get(test.addr, &request("OPTIONS", "/a.txt"));
    assert_eq!(all(&options, "X-Content-Type-Options"), ["nosniff"]);
    let asset = get(test.addr, &request("GET", "/assets/app.css"));
    assert_eq!(all(&asset, "X-Frame-Options"), ["DENY"]);
    assert_eq!(all(&asset, "X-Content-Type-Options"), ["nosniff"]);
}

#[test]
fn a_path_rule_replaces_a_header_field_of_the_same_name() {
    let test = with(&[
        "--header",
        "X-Served-By: edge",
        "--path-header",
        "/assets/** x-served-by: assets",
        "--header",
        "Cache-Control: no-store",
        "--cache-control",
        "max-age=60",
    ]);
    for _ in 0..3 {
        // Uncached, then from the file cache (the rules' fields made,
        // then taken ready-made).
        let css = get(test.addr, &request("GET", "/assets/app.css"));
        assert_eq!(all(&css, "X-Served-By"), ["assets"], "{}", css.head);
        // So does staticd's own field, from --cache-control.
        let text = get(test.addr, &request("GET", "/a.txt"));
        assert_eq!(all(&text, "Cache-Control"), ["max-age=60"], "{}", text.head);
    }
    let page = get(test.addr, &request("GET", "/v.txt"));
    assert_eq!(all(&page, "X-Served-By"), ["edge"]);
    // Path rules skip errors, so --header's field stays on them.
    let missing = get(test.addr, &request("GET", "/assets/missing.css"));
    assert_eq!(
        (missing.status, all(&missing, "X-Served-By")),
        (404, vec!["edge"])
    );
    assert_eq!(all(&missing, "Cache-Control"), ["no-store"]);
}

#[test]
fn security_headers_go_on_refusals_of_unparsable_heads_too() {
    let test = with(&["--security-headers"]);
    let long = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(9 * 1024));
    for (raw, status) in [
        ("GARBAGE\r\n\r\n".to_owned(), 400),
        ("GET / HTTP/2.0\r\nHost: t\r\n\r\n".to_owned(), 505),
        (long, 414),
    ] {
        let bytes = common::exchange(test.addr, raw.as_bytes());
        let reply = &common::parse_all(&bytes, false)[0];
        assert_eq!(reply.status, status);
        assert_eq!(
            all(reply, "X-Content-Type-Options"),
            ["nosniff"],
            "{status}"
        );
        assert_eq!(all(reply, "X-Frame-Options"), ["SAMEORIGIN"], "{status}");
    }
}

#[test]
fn without_rules_nothing_changes() {
    let test = with(&[]);
    let plain = get(test.addr, &request("GET", "/a.txt"));
    let fields: Vec<&str> = plain
        .head
        .split("\r\n")
        .skip(1)
        .map(|l| l.split(": ").next().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "Server",
            "Date",
            "Content-Type",
            "Last-Modified",
            "ETag",
            "Accept-Ranges",
            "Content-Length",
            "Connection"
        ]
    );
    let options = get_with(
        &test,
        "OPTIONS",
        "/a.txt",
        "Origin: https://app.example\r\nAccess-Control-Request-Method: GET\r\n",
    );
    assert_eq!(options.status, 405);
    assert_eq!(all(&options, "Allow"), ["GET, HEAD"]);
    assert!(!options.head.contains("Access-Control"), "{}", options.head);
}

const ORIGIN: &str = "Origin: https://app.example\r\n";
const EXPOSE: &str = "Content-Range, Content-Length, ETag, Last-Modified, Accept-Ranges";

#[test]
fn cors_allows_the_origins_named() {
    let test = with(&[
        "--cors-origin",
        "https://app.example",
        "--cors-origin",
        "http://localhost:3000",
    ]);
    for method in ["GET", "HEAD"] {
        let reply = get_with(&test, method, "/a.txt", ORIGIN);
        assert_eq!(
            all(&reply, "Access-Control-Allow-Origin"),
            ["https://app.example"]
        );
        assert_eq!(all(&reply, "Access-Control-Expose-Headers"), [EXPOSE]);
        assert_eq!(all(&reply, "Vary"), ["Origin"]);
    }
    let local = get_with(&test, "GET", "/a.txt", "Origin: http://localhost:3000\r\n");
    assert_eq!(
        all(&local, "Access-Control-Allow-Origin"),
        ["http://localhost:3000"]
    );
    for fields in [
        "Origin: https://evil.example\r\n",
        "Origin: https://app.example.evil\r\n",
        "",
    ] {
        let reply = get_with(&test, "GET", "/a.txt", fields);
        assert!(
            !reply.head.contains("Access-Control"),
            "{fields}: {}",
            reply.head
        );
        assert_eq!(
            all(&reply, "Vary"),
            ["Origin"],
            "the answer still depends on it"
        );
    }
    let missing = get_with(&test, "GET", "/missing", ORIGIN);
    assert_eq!(missing.status, 404);
    assert_eq!(
        all(&missing, "Access-Control-Allow-Origin"),
        ["https://app.example"]
    );
}

#[test]
fn cors_star_allows_any_origin_without_vary() {
    let test = with(&["--cors-origin", "*"]);
    let reply = get_with(&test, "GET", "/a.txt", "Origin: https://anyone.example\r\n");
    assert_eq!(all(&reply, "Access-Control-Allow-Origin"), ["*"]);
    assert_eq!(all(&reply, "Access-Control-Expose-Headers"), [EXPOSE]);
    assert_eq!(all(&reply, "Vary"), Vec::<&str>::new());
}

#[test]
fn vary_merges_with_a_precompressed_variant_s() {
    let test = with(&["--cors-origin", "https://app.example"]);
    for coding in ["gzip", "identity"] {
        let fields = format!("{ORIGIN}Accept-Encoding: {coding}\r\n");
        let reply = get_with(&test, "GET", "/v.txt", &fields);
        assert_eq!(reply.status, 200);
        assert_eq!(all(&reply, "Vary"), ["Accept-Encoding, Origin"], "{coding}");
        let etag = reply.header("ETag").unwrap().to_owned();
        let fresh = get_with(
            &test,
            "GET",
            "/v.txt",
            &format!("{fields}If-None-Match: {etag}\r\n"),
        );
        assert_eq!(fresh.status, 304);
        assert_eq!(all(&fresh, "Vary"), ["Accept-Encoding, Origin"], "{coding}");
        assert_eq!(
            all(&fresh, "Access-Control-Allow-Origin"),
            ["https://app.example"]
        );
    }
}

#[test]
fn preflights_are_answered_for_allowed_origins_and_methods_only() {
    let test = with(&["--cors-origin", "https://app.example"]);
    let preflight = |origin: &str, method: &str, requested: &str| {
        let fields =
            format!("Origin: {origin}\r\nAccess-Control-Request-Method: {method}\r\n{requested}");
        get_with(&test, "OPTIONS", "/a.txt", &fields)
    };
    let ok = preflight(
        "https://app.example",
        "GET",
        "Access-Control-Request-Headers: range, x-custom, if-none-match, authorization\r\n",
    );
    assert_eq!(ok.status, 204);
    assert_eq!(
        all(&ok, "Access-Control-Allow-Origin"),
        ["https://app.example"]
    );
    assert_eq!(all(&ok, "Access-Control-Allow-Methods"), ["GET, HEAD"]);
    assert_eq!(
        all(&ok, "Access-Control-Allow-Headers"),
        ["Range, If-None-Match"]
    );
    assert_eq!(all(&ok, "Access-Control-Max-Age"), ["86400"]);
    assert_eq!(all(&ok, "Content-Length"), Vec::<&str>::new());
    assert!(ok.body.is_empty(), "a 204 has no body");
    assert_eq!(all(&ok, "Vary"), ["Origin"]);
    let head = preflight("https://app.example", "HEAD", "");
    assert_eq!(head.status, 204);
    assert_eq!(
        all(&head, "Access-Control-Allow-Headers"),
        Vec::<&str>::new()
    );
    for (origin, method) in [
        ("https://evil.example", "GET"),
        ("https://app.example", "PUT"),
    ] {
        let refused = preflight(origin, method, "");
        assert_eq!(refused.status, 405, "{origin} {method}");
        assert_eq!(all(&refused, "Allow"), ["GET, HEAD"]);
        assert!(!refused.head.contains("Access-Control"), "{}", refused.head);
    }
    let plain_options = get_with(&test, "OPTIONS", "/a.txt", ORIGIN);
    assert_eq!(
        plain_options.status, 405,
        "no Access-Control-Request-Method"
    );
}

/// The binary's refusal of `args` (with `env`): its exit code is not 0
/// and stderr holds every one of `needles`.
fn refused(args: &[&str], env: &[(&str, &str)], needles: &[&str]) {
    let (code, _, stderr) = run(args, env);
    assert_ne!(code, 0, "{args:?} started");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: {needle:?} not in {stderr}"
        );
    }
}

#[test]
fn bad_rules_stop_the_binary_naming_option_and_line() {
    for (value, why) in [
        ("/a/[b X-A: 1", "not a valid pattern"),
        ("/assets/** NoColon", "is not 'Name: value'"),
        ("/assets/** Bad Name: x", "not a valid header name"),
        ("/assets/** Content-Length: 5", "set by staticd itself"),
        (
            "/assets/** Content-Range: bytes 0-1/2",
            "set by staticd itself",
        ),
        ("/assets/**", "is not 'PATTERN NAME: VALUE'"),
    ] {
        refused(&["--path-header", value], &[], &["--path-header", why]);
        refused(
            &[],
            &[("STATICD_PATH_HEADER", value)],
            &["--path-header", why],
        );
    }
    refused(
        &["--cors-origin", "https://example.com/"],
        &[],
        &["--cors-origin", "is not an origin"],
    );
    // A bad line in a config file is refused naming the file and line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.conf");
    let refused_at = |text: &str, line: usize, why: &[&str]| {
        std::fs::write(&file, text).unwrap();
        let at = format!("{}:{line}", file.display());
        let want: Vec<&str> = std::iter::once(at.as_str())
            .chain(why.iter().copied())
            .collect();
        refused(&["--config", file.to_str().unwrap()], &[], &want);
    };
    refused_at(
        "security-headers on\ncors-origin https://a.example\npath-header *.html Cache-Control: no-cache\npath-header *.js Transfer-Encoding: gzip\n",
        4,
        &["--path-header", "set by staticd itself"],
    );
    refused_at(
        "cors-origin https://a.example\ncors-origin example.com\n",
        2,
        &["--cors-origin", "is not an origin"],
    );
}

#[test]
fn rules_load_from_the_environment_and_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("site.conf");
    std::fs::write(&file, "security-headers on\ncors-origin https://a.example\npath-header *.html Cache-Control: no-cache\n").unwrap();
    let (code, out, err) = run(&["--config", file.to_str().unwrap(), "--print-config"], &[]);
    assert_eq!(code, 0, "{err}");
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or("")
            .to_owned()
    };
    assert!(
        line("path-header").contains("*.html Cache-Control: no-cache"),
        "{out}"
    );
    assert!(line("path-header").ends_with(":3"), "{out}");
    assert!(line("cors-origin").contains("https://a.example"), "{out}");
    assert!(line("security-headers").ends_with(":1"), "{out}");
    let env = [
        ("STATICD_PATH_HEADER", "*.html X-A: 1\n/assets/** X-B: 2"),
        (
            "STATICD_CORS_ORIGIN",
            "https://a.example\nhttps://b.example",
        ),
        ("STATICD_SECURITY_HEADERS", "true"),
    ];
    let (code, out, err) = run(&["--print-config"], &env);
    assert_eq!(code, 0, "{err}");
    // One line per value, as a config file repeats a key.
    let line = |name: &str| {
        let lines = out.lines().filter(|l| l.starts_with(&format!("{name} ")));
        let values = lines.map(|l| l[name.len()..].split(" # ").next().unwrap_or("").trim());
        values.collect::<Vec<_>>().join(", ")
    };
    assert!(
        line("path-header").contains("*.html X-A: 1, /assets/** X-B: 2"),
        "{out}"
    );
    assert!(
        line("cors-origin").contains("https://a.example, https://b.example"),
        "{out}"
    );
    assert!(
        out.lines().any(|l| l.starts_with("security-headers ")
            && l.ends_with("# environment STATICD_SECURITY_HEADERS")),
        "{out}"
    );
}
