//! Percent-decoding, the document-root wall, and directories.

use crate::common;

use std::os::unix::fs::symlink;

use common::{get, request, start};
use staticd::Autoindex;

#[test]
fn percent_decoding_happens_exactly_once() {
    let srv = start(Autoindex::Off);
    for (target, status, body) in [
        ("/space%20in%20name.txt", 200, &b"letters and spaces\n"[..]),
        (
            "/dir2/%70%61%67%65%2e%68%74%6d%6c",
            200,
            b"<html><body>Page Sample</body></html>\n",
        ),
        (
            "/dir2/%70%61%67%65%2E%68%74%6D%6C",
            200,
            b"<html><body>Page Sample</body></html>\n",
        ),
        ("/text..txt", 200, b"hello"),
        ("/%2520", 200, b"literal percent name\n"),
        ("/space%2520in%2520name.txt", 404, b""),
    ] {
        let reply = get(srv.addr, &request("GET", target));
        assert_eq!(reply.status, status, "{target}");
        if status == 200 {
            assert_eq!(reply.body, body, "{target}");
        }
    }
}

#[test]
fn invalid_targets_are_400() {
    let srv = start(Autoindex::Off);
    for target in [
        "/%ZZ",
        "/abc%",
        "/abc%2",
        "/a%00.txt",
        "abc",
        "*",
        "/a%2fb",
        "/x#y",
    ] {
        assert_eq!(
            get(srv.addr, &request("GET", target)).status,
            400,
            "{target}"
        );
    }
}

#[test]
fn absolute_form_is_served() {
    let srv = start(Autoindex::Off);
    let reply = get(srv.addr, &request("GET", "http://127.0.0.1/dir2/page.html"));
    assert_eq!((reply.status, reply.body.len()), (200, 38));
}

#[test]
fn the_root_is_a_wall() {
    let srv = start(Autoindex::Off);
    let outside = srv
        .root
        .path()
        .parent()
        .unwrap()
        .join(format!("staticd-secret-{}", std::process::id()));
    std::fs::write(&outside, "TOP SECRET").unwrap();
    symlink(&outside, srv.root.path().join("leak.txt")).unwrap();
    symlink("/etc", srv.root.path().join("etc")).unwrap();
    for target in [
        "/../../../../etc/passwd",
        "/dir2/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc/passwd",
        "/dir2/..%5c..%5cetc%5cpasswd",
        "/dir2/..\\..\\etc\\passwd",
        "http://h/../etc/passwd",
        "/leak.txt",
        "/etc/passwd",
        "/etc/",
    ] {
        let reply = get(srv.addr, &request("GET", target));
        assert!(
            [400, 403, 404].contains(&reply.status),
            "{target}: {}",
            reply.status
        );
        let body = String::from_utf8_lossy(&reply.body);
        assert!(
            !body.contains("TOP SECRET") && !body.contains("root:"),
            "{target}"
        );
    }
    std::fs::remove_file(outside).unwrap();
}

#[test]
fn symlinks_inside_the_root_are_followed() {
    let srv = start(Autoindex::Off);
    symlink(
        srv.root.path().join("text..txt"),
        srv.root.path().join("alias.txt"),
    )
    .unwrap();
    symlink("dir2", srv.root.path().join("dir2-alias")).unwrap();
    assert_eq!(get(srv.addr, &request("GET", "/alias.txt")).body, b"hello");
    assert_eq!(
        get(srv.addr, &request("GET", "/dir2-alias/")).body.len(),
        34
    );
}

#[test]
fn dot_segments_inside_the_root_are_resolved() {
    let srv = start(Autoindex::Off);
    let reply = get(srv.addr, &request("GET", "/dir1/../dir2/./page.html"));
    assert_eq!((reply.status, reply.body.len()), (200, 38));
}

#[test]
fn directory_index_and_redirects() {
    let srv = start(Autoindex::Off);
    let index = get(srv.addr, &request("GET", "/dir2/"));
    assert_eq!(index.status, 200);
    assert_eq!(index.body, b"<html>Directory index file</html>\n");
    assert_eq!(index.header("Content-Type"), Some("text/html"));

    let moved = get(srv.addr, &request("GET", "/dir2"));
    assert_eq!(
        (moved.status, moved.header("Location")),
        (301, Some("/dir2/"))
    );
    let moved = get(srv.addr, &request("GET", "/dir2?x=1&y"));
    assert_eq!(moved.header("Location"), Some("/dir2/?x=1&y"));
    let moved = get(srv.addr, &request("GET", "//dir2"));
    assert_eq!(
        moved.header("Location"),
        Some("/dir2/"),
        "never a //host location"
    );

    assert_eq!(
        get(srv.addr, &request("GET", "/dir2/page.html/")).status,
        404
    );
    assert_eq!(
        get(srv.addr, &request("GET", "/")).body,
        b"<html>root</html>\n"
    );
}

#[test]
fn autoindex_modes() {
    for (mode, status) in [
        (Autoindex::Off, 404),
        (Autoindex::Forbid, 403),
        (Autoindex::On, 200),
    ] {
        let srv = start(mode);
        let reply = get(srv.addr, &request("GET", "/dir1/"));
        assert_eq!(reply.status, status, "{mode:?}");
        assert_eq!(reply.header("Content-Type"), Some("text/html"));
        if status == 200 {
            let page = String::from_utf8(reply.body).unwrap();
            assert!(page.contains("<a href=\"dir12/\">dir12/</a>"), "{page}");
            assert!(reply.head.contains("\r\nLast-Modified: "));
        }
    }
}

#[test]
fn listing_escapes_hostile_names() {
    let srv = start(Autoindex::On);
    let dir = srv.root.path().join("empty");
    std::fs::write(dir.join("<img src=x onerror=alert(1)>.txt"), "x").unwrap();
    std::fs::write(dir.join("a&b \"q\".txt"), "x").unwrap();
    let page = String::from_utf8(get(srv.addr, &request("GET", "/empty/")).body).unwrap();
    assert!(!page.contains("<img"), "{page}");
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;.txt</a>"));
    assert!(page.contains("href=\"%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\""));
    assert!(page.contains("href=\"a%26b%20%22q%22.txt\">a&amp;b &quot;q&quot;.txt</a>"));
    let reply = get(srv.addr, &request("GET", "/empty/a%26b%20%22q%22.txt"));
    assert_eq!(reply.status, 200, "the link works");
}
