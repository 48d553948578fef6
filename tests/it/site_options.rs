//! What a deployer configures: listings (HTML and JSON), hidden files,
//! Cache-Control, extra headers, charsets, and the method table.

use crate::common;

use common::{get, request, serve_root};
use staticd::{Autoindex, Config};

fn server(configure: impl FnOnce(&mut Config)) -> (tempfile::TempDir, std::net::SocketAddr) {
    let root = common::fixture();
    let dir = root.path();
    std::fs::create_dir_all(dir.join(".git")).unwrap();
    std::fs::write(dir.join(".git/config"), "[core]\n").unwrap();
    std::fs::write(dir.join(".env"), "SECRET=1\n").unwrap();
    std::fs::create_dir_all(dir.join(".well-known")).unwrap();
    std::fs::write(dir.join(".well-known/security.txt"), "Contact: x\n").unwrap();
    std::fs::write(dir.join("empty/<img src=x onerror=alert(1)>.txt"), "12345").unwrap();
    let addr = serve_root(dir, |config| {
        config.autoindex = Autoindex::On;
        configure(config);
    });
    (root, addr)
}

#[test]
fn html_listing_shows_name_size_and_date_escaped() {
    let (_root, addr) = server(|_| {});
    let reply = get(addr, &request("GET", "/empty/"));
    assert_eq!(reply.header("Content-Type"), Some("text/html"));
    assert_eq!(reply.header("Vary"), Some("Accept"));
    let page = String::from_utf8(reply.body).unwrap();
    assert!(!page.contains("<img"), "{page}");
    assert!(page.contains(
        "<a href=\"%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\">&lt;img src=x onerror=alert(1)&gt;.txt</a></td><td class=\"size\" title=\"5 bytes\">5 B</td><td class=\"date\"><time datetime=\""
    ));
    assert!(!page.contains(".keep"), "dotfiles are hidden");
    let root = String::from_utf8(get(addr, &request("GET", "/dir1/")).body).unwrap();
    assert!(root.contains("<a href=\"dir12/\">dir12/</a></td><td class=\"size\">—</td>"));
}

#[test]
fn json_listing_on_request() {
    let (_root, addr) = server(|_| {});
    let raw =
        "GET /empty/ HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\nConnection: close\r\n\r\n";
    let reply = get(addr, raw);
    assert_eq!(reply.header("Content-Type"), Some("application/json"));
    let json = String::from_utf8(reply.body).unwrap();
    assert!(json.contains("{\"name\":\"\\u003cimg src=x onerror=alert(1)\\u003e.txt\",\"type\":\"file\",\"size\":5,"), "{json}");
    let browser = "GET /empty/ HTTP/1.1\r\nHost: t\r\nAccept: text/html,*/*;q=0.8\r\nConnection: close\r\n\r\n";
    assert_eq!(get(addr, browser).header("Content-Type"), Some("text/html"));
}

#[test]
fn dotfiles_are_404_unless_shown() {
    let (_root, addr) = server(|_| {});
    for target in ["/.git/config", "/.env", "/.git/", "/empty/.keep", "/%2eenv"] {
        assert_eq!(get(addr, &request("GET", target)).status, 404, "{target}");
    }
    assert_eq!(
        get(addr, &request("GET", "/.well-known/security.txt")).status,
        200
    );
    let (_root, shown) = server(|c| c.show_hidden = true);
    assert_eq!(get(shown, &request("GET", "/.env")).body, b"SECRET=1\n");
    let listing = String::from_utf8(get(shown, &request("GET", "/")).body).unwrap();
    assert!(listing.contains(".git/") || listing.contains("<html>root</html>"));
    let empty = String::from_utf8(get(shown, &request("GET", "/empty/")).body).unwrap();
    assert!(empty.contains(".keep"));
}

#[test]
fn cache_control_goes_on_successful_and_not_modified_responses() {
    let (_root, addr) = server(|c| c.cache_control = Some("public, max-age=3600".into()));
    let ok = get(addr, &request("GET", "/a.txt"));
    assert_eq!(ok.header("Cache-Control"), Some("public, max-age=3600"));
    let etag = ok.header("ETag").unwrap().to_owned();
    let raw = format!(
        "GET /a.txt HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(
        get(addr, &raw).header("Cache-Control"),
        Some("public, max-age=3600")
    );
    assert_eq!(
        get(addr, &request("GET", "/dir2")).header("Cache-Control"),
        Some("public, max-age=3600")
    );
    assert_eq!(
        get(addr, &request("GET", "/empty/")).header("Cache-Control"),
        Some("public, max-age=3600")
    );
    assert_eq!(
        get(addr, &request("GET", "/nope")).header("Cache-Control"),
        None
    );
    let (_root, plain) = server(|_| {});
    assert_eq!(
        get(plain, &request("GET", "/a.txt")).header("Cache-Control"),
        None,
        "none by default"
    );
}

#[test]
fn extra_headers_go_on_every_response() {
    let headers = vec![
        ("X-Frame-Options".to_owned(), "DENY".to_owned()),
        ("X-Test".to_owned(), "a b".to_owned()),
    ];
    let (_root, addr) = server(|c| c.headers = headers);
    for (method, target) in [
        ("GET", "/a.txt"),
        ("GET", "/nope"),
        ("POST", "/"),
        ("GET", "/dir2"),
    ] {
        let reply = get(addr, &request(method, target));
        assert!(
            reply
                .head
                .contains("\r\nX-Frame-Options: DENY\r\nX-Test: a b\r\n"),
            "{method} {target}"
        );
    }
}

#[test]
fn charset_applies_to_text_types_only() {
    let (_root, addr) = server(|c| c.charset = Some("utf-8".into()));
    assert_eq!(
        get(addr, &request("GET", "/a.txt")).header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        get(addr, &request("GET", "/dir2/page.html")).header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        get(addr, &request("GET", "/a.png")).header("Content-Type"),
        Some("image/png")
    );
    let (_root, plain) = server(|_| {});
    assert_eq!(
        get(plain, &request("GET", "/dir2/page.html")).header("Content-Type"),
        Some("text/html")
    );
}

#[test]
fn options_is_405_and_allow_is_accurate() {
    let (_root, addr) = server(|_| {});
    for target in ["/a.txt", "*"] {
        let reply = get(addr, &request("OPTIONS", target));
        assert_eq!(
            (reply.status, reply.header("Allow")),
            (405, Some("GET, HEAD")),
            "{target}"
        );
    }
}

#[test]
fn listings_have_validators_that_follow_their_entries() {
    let (root, addr) = server(|_| {});
    let first = get(addr, &request("GET", "/empty/"));
    let etag = first.header("ETag").unwrap().to_owned();
    let modified = first.header("Last-Modified").unwrap().to_owned();
    let conditional = |field: &str, value: &str| {
        get(
            addr,
            &format!(
                "GET /empty/ HTTP/1.1\r\nHost: t\r\n{field}: {value}\r\nConnection: close\r\n\r\n"
            ),
        )
    };
    let not_modified = conditional("If-None-Match", &etag);
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("Vary"), Some("Accept"));
    assert_eq!(conditional("If-Modified-Since", &modified).status, 304);
    assert_eq!(
        conditional("If-Unmodified-Since", "Thu, 01 Jan 1970 00:00:01 GMT").status,
        412
    );
    // Rewriting an entry in place changes the listing (its size and date)
    // but not the directory's own mtime: the validators must still move.
    let entry = root.path().join("empty/<img src=x onerror=alert(1)>.txt");
    std::fs::write(&entry, "123456789").unwrap();
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&entry)
        .unwrap()
        .set_modified(later)
        .unwrap();
    // Rendered listings are kept for the file cache's trust window, so
    // the change shows within it.
    let limit = staticd::limits::FILE_CACHE_VALID + std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    let after = loop {
        let after = conditional("If-None-Match", &etag);
        if after.status == 200 {
            break after;
        }
        assert!(
            started.elapsed() < limit,
            "the listing still unchanged after {limit:?}"
        );
    };
    assert_ne!(after.header("Last-Modified"), Some(modified.as_str()));
    assert_eq!(conditional("If-Modified-Since", &modified).status, 200);
}
