//! URLs without extensions and sites under a path, through the built
//! binary as a user starts it: `--try-extensions` maps `/about` to
//! `about.html` under every policy a direct request meets (hidden files,
//! symlinks, authentication, header rules, sidecars); `--clean-urls`
//! redirects the file's own URL to its clean form only when that form is
//! answered by the same file (so never in a loop); `--base-path` puts the
//! proxy's prefix in front of every redirect and listing link.

use crate::common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use common::process::{Started, run};
use common::{Reply, basic, get, htpasswd, request};

/// A generated site in `root/` of the returned directory, beside a page
/// outside it.
fn site() -> (tempfile::TempDir, PathBuf) {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("root");
    for dir in ["docs", "both-htm", "plain", "listed", "page.html"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    for (name, body) in [
        ("index.html", "home"),
        ("about.html", "about page"),
        ("docs.html", "docs page"),
        ("docs/index.html", "docs index"),
        ("both", "a file named both"),
        ("both.html", "both page"),
        ("both-htm/index.htm", "htm index"),
        ("both-htm/index.html", "html index"),
        ("plain/index.html", "plain index"),
        ("secret.html", "secret"),
        (".hidden.html", "hidden"),
        ("notes.htm", "notes"),
        ("listed/a.txt", "a"),
        ("zipped.html", "zipped original"),
    ] {
        std::fs::write(root.join(name), body).unwrap();
    }
    let gz = root.join("zipped.html.gz");
    std::fs::write(&gz, b"\x1f\x8b pretend gzip").unwrap();
    std::fs::write(top.path().join("outside.html"), "outside").unwrap();
    std::os::unix::fs::symlink(top.path().join("outside.html"), root.join("away.html")).unwrap();
    (top, root)
}

fn serve(root: &Path, args: &[&str]) -> (Started, SocketAddr) {
    let mut all = vec!["--root", root.to_str().unwrap(), "--port", "0"];
    all.extend_from_slice(args);
    let server = Started::new(&all, &[]);
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port()));
    (server, addr)
}

fn fetch(addr: SocketAddr, target: &str) -> Reply {
    get(addr, &request("GET", target))
}

fn body(addr: SocketAddr, target: &str) -> String {
    let reply = fetch(addr, target);
    assert_eq!(reply.status, 200, "{target}");
    String::from_utf8(reply.body).unwrap()
}

fn moved(addr: SocketAddr, target: &str) -> (u16, String) {
    let reply = fetch(addr, target);
    let location = reply.header("Location").unwrap_or_default().to_owned();
    (reply.status, location)
}

#[test]
fn try_extensions_answers_a_path_that_names_nothing_with_the_first_that_exists() {
    let (_top, root) = site();
    let (_server, addr) = serve(&root, &["--try-extensions", "html,htm"]);
    assert_eq!(body(addr, "/about"), "about page");
    assert_eq!(
        fetch(addr, "/about").header("Content-Type"),
        Some("text/html")
    );
    assert_eq!(body(addr, "/notes"), "notes");
    // The file's own URL still works; without --clean-urls nothing moves.
    assert_eq!(body(addr, "/about.html"), "about page");
    // What exists answers for itself: a directory is a directory, a file
    // a file, even with a page of the same name beside it.
    assert_eq!(moved(addr, "/docs"), (301, "/docs/".to_owned()));
    assert_eq!(body(addr, "/both"), "a file named both");
    assert_eq!(fetch(addr, "/about/").status, 404);
    assert_eq!(fetch(addr, "/nothing").status, 404);
    // A directory named page.html is not a page.
    assert_eq!(fetch(addr, "/page").status, 404);
    // As a direct request would be: hidden is 404, a link out is 403.
    assert_eq!(fetch(addr, "/.hidden").status, 404);
    assert_eq!(fetch(addr, "/away").status, 403);
    assert_eq!(fetch(addr, "/away.html").status, 403);
}

#[test]
fn a_mapped_page_gets_the_rules_and_variants_of_its_file() {
    let (top, root) = site();
    let users = htpasswd(top.path(), &[("ann", "pw")], 4);
    let (_server, addr) = serve(
        &root,
        &[
            "--try-extensions",
            "html",
            "--auth-file",
            users.to_str().unwrap(),
            "--auth-path",
            "/secret.html",
            "--path-header",
            "/*.html X-Page: yes",
        ],
    );
    // Protected by the file's path, whichever URL names it.
    assert_eq!(fetch(addr, "/secret").status, 401);
    assert_eq!(fetch(addr, "/secret.html").status, 401);
    let authorized = format!(
        "GET /secret HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nConnection: close\r\n\r\n",
        basic("ann", "pw")
    );
    assert_eq!(get(addr, &authorized).body, b"secret");
    assert_eq!(fetch(addr, "/about").header("X-Page"), Some("yes"));
    let gzip = get(
        addr,
        "GET /zipped HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(gzip.header("Content-Encoding"), Some("gzip"));
    assert_eq!(gzip.header("Content-Type"), Some("text/html"));
    assert_eq!(gzip.body, b"\x1f\x8b pretend gzip");
}

#[test]
fn clean_urls_redirect_to_the_clean_form_only_when_it_is_the_same_file() {
    let (_top, root) = site();
    let (_server, addr) = serve(&root, &["--clean-urls", "--index", "index.htm,index.html"]);
    assert_eq!(
        moved(addr, "/about.html?x=1"),
        (308, "/about?x=1".to_owned())
    );
    assert_eq!(
        moved(addr, "/plain/index.html"),
        (308, "/plain/".to_owned())
    );
    assert_eq!(moved(addr, "/index.html"), (308, "/".to_owned()));
    // Following each redirect is answered, not redirected again.
    assert_eq!(body(addr, "/about?x=1"), "about page");
    assert_eq!(body(addr, "/plain/"), "plain index");
    assert_eq!(body(addr, "/"), "home");
    // The clean form would answer with something else: no redirect.
    assert_eq!(body(addr, "/both.html"), "both page");
    // /both-htm/ is index.htm's: index.html's clean form is its stem.
    let stem = (308, "/both-htm/index".to_owned());
    assert_eq!(moved(addr, "/both-htm/index.html"), stem);
    assert_eq!(body(addr, "/both-htm/index"), "html index");
    assert_eq!(body(addr, "/docs.html"), "docs page");
    // .htm is not tried unless named: /notes.htm stays.
    assert_eq!(body(addr, "/notes.htm"), "notes");
    assert_eq!(fetch(addr, "/missing.html").status, 404);
    assert_eq!(fetch(addr, "/.hidden.html").status, 404);
}

#[test]
fn under_a_base_path_every_path_sent_back_carries_it() {
    let (_top, root) = site();
    let (_server, addr) = serve(
        &root,
        &[
            "--base-path",
            "/site/",
            "--clean-urls",
            "--autoindex",
            "on",
            "--redirect",
            "/old /about",
            "--redirect",
            "/away-old https://example.org/x",
        ],
    );
    assert_eq!(moved(addr, "/docs?q"), (301, "/site/docs/?q".to_owned()));
    assert_eq!(moved(addr, "/about.html"), (308, "/site/about".to_owned()));
    assert_eq!(
        moved(addr, "/plain/index.html"),
        (308, "/site/plain/".to_owned())
    );
    assert_eq!(moved(addr, "/old"), (301, "/site/about".to_owned()));
    assert_eq!(
        moved(addr, "/away-old"),
        (301, "https://example.org/x".to_owned())
    );
    let listing = body(addr, "/listed/");
    assert!(
        listing.contains("<title>Index of /site/listed/</title>"),
        "{listing}"
    );
    assert!(listing.contains("<a href=\"../\">/site/</a>"), "{listing}");
    assert!(listing.contains("href=\"a.txt\""), "{listing}");
    assert!(!listing.contains("href=\"/"), "no absolute link: {listing}");
}

#[test]
fn bad_values_exit_2_naming_the_option() {
    for (option, bad) in [
        ("--base-path", "docs/"),
        ("--base-path", "/a/../b"),
        ("--base-path", "/a b/"),
        ("--try-extensions", "a/b"),
        ("--try-extensions", "tar.gz"),
    ] {
        let (code, _, stderr) = run(&["--port", "0", option, bad], &[]);
        assert_eq!(code, 2, "{option} {bad}: {stderr}");
        assert!(stderr.contains(option), "{option} {bad}: {stderr}");
    }
    let (code, _, stderr) = run(&["--port", "0"], &[("STATICD_BASE_PATH", "x")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--base-path"), "{stderr}");
}
