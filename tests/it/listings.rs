//! The directory listing of `--autoindex on` through the real server: the
//! page itself (phone-ready, dark mode, self-contained, breadcrumb), and
//! the `?sort=`/`?order=` query over HTML and JSON alike.

use crate::common;

use std::net::SocketAddr;

use common::{get, request, serve_root};
use staticd::Autoindex;

/// A root with names that sort differently byte-wise and naturally, and
/// sizes that sort differently again.
fn server() -> (tempfile::TempDir, SocketAddr) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    for (name, size) in [("file-1", 300), ("file-2", 20), ("file-10", 5000)] {
        std::fs::write(dir.join(name), vec![b'x'; size]).unwrap();
    }
    for sub in ["sub-10", "sub-2", "a/b c"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    std::fs::write(dir.join("a/b c/inner.txt"), "inner").unwrap();
    let addr = serve_root(dir, |config| config.autoindex = Autoindex::On);
    (root, addr)
}

fn html(addr: SocketAddr, target: &str) -> String {
    let reply = get(addr, &request("GET", target));
    assert_eq!(reply.status, 200, "{target}");
    assert_eq!(reply.header("Content-Type"), Some("text/html"));
    String::from_utf8(reply.body).unwrap()
}

fn json(addr: SocketAddr, target: &str) -> String {
    let raw = format!(
        "GET {target} HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    let reply = get(addr, &raw);
    assert_eq!(reply.status, 200, "{target}");
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    String::from_utf8(reply.body).unwrap()
}

/// The names in the order the HTML page links them.
fn html_order(page: &str, names: &[&str]) -> Vec<String> {
    ordered(page, names, |n| format!("<a href=\"{n}\">"))
}

fn json_order(body: &str, names: &[&str]) -> Vec<String> {
    ordered(body, names, |n| format!("{{\"name\":\"{n}\","))
}

fn ordered(text: &str, names: &[&str], marker: impl Fn(&str) -> String) -> Vec<String> {
    let mut found: Vec<(usize, String)> = names
        .iter()
        .map(|n| {
            let at = text
                .find(&marker(n))
                .unwrap_or_else(|| panic!("{n}: {text}"));
            (at, n.to_string())
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n).collect()
}

const FILES: [&str; 3] = ["file-1", "file-2", "file-10"];
const HTML_ALL: [&str; 5] = ["sub-2/", "sub-10/", "file-1", "file-2", "file-10"];
const JSON_ALL: [&str; 5] = ["sub-2", "sub-10", "file-1", "file-2", "file-10"];

#[test]
fn page_is_phone_ready_dark_aware_and_self_contained() {
    let (_root, addr) = server();
    let page = html(addr, "/");
    assert!(
        page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(page.contains("<meta name=\"color-scheme\" content=\"light dark\">"));
    assert!(page.contains("@media (prefers-color-scheme: dark)"));
    assert!(page.contains("<title>Index of /</title>"));
    for external in ["http://", "https://", "src=", "<script", "<link"] {
        assert!(!page.contains(external), "{external} in {page}");
    }
    assert!(!page.contains("href=\"../\""), "no parent link at the root");
    assert!(page.contains("title=\"5000 bytes\">4.9 KiB</td>"), "{page}");
    assert!(page.contains("title=\"20 bytes\">20 B</td>"));
    assert!(page.contains("Modified (UTC)"));
}

#[test]
fn breadcrumb_links_every_ancestor() {
    let (_root, addr) = server();
    let page = html(addr, "/a/b%20c/");
    assert!(page.contains("<title>Index of /a/b c/</title>"));
    assert!(
        page.contains(
            "<a href=\"../../\">/</a><a href=\"../\">a</a>/\
             <a href=\"./\" aria-current=\"page\">b c</a>/"
        ),
        "{page}"
    );
    assert!(page.contains("<a href=\"../\">../</a>"));
    assert!(page.contains("<a href=\"inner.txt\">inner.txt</a>"));
    let parent = html(addr, "/a/");
    assert!(parent.contains("<a href=\"b%20c/\">b c/</a>"));
}

#[test]
fn names_are_in_natural_order_directories_first() {
    let (_root, addr) = server();
    assert_eq!(html_order(&html(addr, "/"), &HTML_ALL), HTML_ALL);
    assert_eq!(json_order(&json(addr, "/"), &JSON_ALL), JSON_ALL);
    let desc = html(addr, "/?sort=name&order=desc");
    assert_eq!(
        html_order(&desc, &HTML_ALL),
        ["sub-10/", "sub-2/", "file-10", "file-2", "file-1"]
    );
}

#[test]
fn size_descending_in_html_and_json() {
    let (_root, addr) = server();
    let by_size = ["file-10", "file-1", "file-2"];
    let page = html(addr, "/?sort=size&order=desc");
    assert_eq!(html_order(&page, &FILES), by_size);
    let body = json(addr, "/?sort=size&order=desc");
    assert_eq!(json_order(&body, &FILES), by_size);
    assert!(
        body.find("\"sub-10\"").unwrap() < body.find("\"file-10\"").unwrap(),
        "directories still first"
    );
    assert!(page.find("sub-2/").unwrap() < page.find("href=\"file-10\"").unwrap());
    let ascending = ["file-2", "file-1", "file-10"];
    assert_eq!(json_order(&json(addr, "/?sort=size"), &FILES), ascending);
}

#[test]
fn unknown_or_malformed_queries_give_the_default_order() {
    let (_root, addr) = server();
    let default = html(addr, "/");
    for query in [
        "?sort=bogus",
        "?sort=name&order=asc",
        "?order=sideways",
        "?sort=%zz&&=&order",
        "?x=1&sort",
    ] {
        assert_eq!(html(addr, &format!("/{query}")), default, "{query}");
    }
    assert_eq!(json(addr, "/?sort=bogus"), json(addr, "/"));
}

#[test]
fn column_heads_link_to_each_sort() {
    let (_root, addr) = server();
    let page = html(addr, "/");
    assert!(page.contains("aria-sort=\"ascending\"><a href=\"?sort=name&amp;order=desc\">Name"));
    assert!(page.contains("<a href=\"?sort=size&amp;order=asc\">Size</a>"));
    assert!(page.contains("<a href=\"?sort=modified&amp;order=asc\">Modified (UTC)</a>"));
    let by_size = html(addr, "/?sort=size&order=asc");
    assert!(by_size.contains("aria-sort=\"ascending\"><a href=\"?sort=size&amp;order=desc\">Size"));
    assert!(by_size.contains("<a href=\"?sort=name&amp;order=asc\">Name</a>"));
    assert_eq!(by_size.matches("aria-sort=").count(), 1);
}

#[test]
fn head_has_the_length_of_get() {
    let (_root, addr) = server();
    for target in ["/", "/?sort=size&order=desc", "/a/b%20c/"] {
        let got = get(addr, &request("GET", target));
        let head = get(addr, &request("HEAD", target));
        assert_eq!(head.status, 200);
        assert!(head.body.is_empty());
        let length = head.header("Content-Length").unwrap();
        assert_eq!(got.header("Content-Length"), Some(length), "{target}");
        assert_eq!(length, got.body.len().to_string());
        assert_eq!(got.header("ETag"), head.header("ETag"));
    }
}

#[test]
fn each_order_has_its_own_etag() {
    let (_root, addr) = server();
    let by_name = get(addr, &request("GET", "/"));
    let by_size = get(addr, &request("GET", "/?sort=size&order=desc"));
    let name_tag = by_name.header("ETag").unwrap();
    let size_tag = by_size.header("ETag").unwrap();
    assert_ne!(name_tag, size_tag);
    let revalidate = |target: &str, tag: &str| {
        let raw = format!(
            "GET {target} HTTP/1.1\r\nHost: t\r\nIf-None-Match: {tag}\r\nConnection: close\r\n\r\n"
        );
        get(addr, &raw).status
    };
    assert_eq!(revalidate("/?sort=size&order=desc", size_tag), 304);
    assert_eq!(
        revalidate("/", size_tag),
        200,
        "one order's tag is not another's"
    );
    assert_eq!(
        revalidate("/?sort=bogus", name_tag),
        304,
        "same body, same tag"
    );
}

/// Listings are kept, but a directory that gains, loses or renames an
/// entry is listed afresh at once (its identity changed), and an entry
/// that changes in place shows within the trust window.
#[test]
fn a_kept_listing_follows_the_directory() {
    let (root, addr) = server();
    let first = html(addr, "/");
    assert_eq!(html(addr, "/"), first, "the same listing again");
    std::fs::write(root.path().join("file-3"), "new").unwrap();
    assert!(
        html(addr, "/").contains("file-3"),
        "a new entry shows at once"
    );
    std::fs::remove_file(root.path().join("file-3")).unwrap();
    assert!(!html(addr, "/").contains("file-3"), "so does a removed one");
    std::fs::write(root.path().join("file-2"), vec![b'x'; 3 * 1024 * 1024]).unwrap();
    let limit = staticd::limits::FILE_CACHE_VALID + std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    while !html(addr, "/").contains("3.0 MiB") {
        assert!(
            started.elapsed() < limit,
            "the new size not shown after {limit:?}"
        );
    }
}
