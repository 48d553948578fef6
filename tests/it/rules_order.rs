//! All the site rules at once, in their documented order: a CORS preflight
//! first; then redirects, authentication, the file lookup, the app
//! fallback and error pages; then security headers, per-path headers and
//! CORS on whatever is sent (per-path headers never on errors).

use crate::common;

use clap::Parser;
use common::{Reply, TestServer, get, server};
use staticd::Config;

const ORIGIN: &str = "https://app.example";

/// The fixture server with every rule on.
fn all_rules() -> TestServer {
    all_rules_and(&[])
}

/// [`all_rules`] with the arguments `more`.
fn all_rules_and(more: &[&str]) -> TestServer {
    let args = [
        "staticd",
        "--redirect",
        "/old /dir2/page.html",
        "--redirect",
        "/dir2/index.html /moved",
        "--fallback",
        "/index.html",
        "--error-page",
        "404=/dir2/page.html",
        "--path-header",
        "/old X-Rule: redirect",
        "--path-header",
        "/app/** X-Rule: app",
        "--path-header",
        "*.js X-Rule: script",
        "--security-headers",
        "--cors-origin",
        ORIGIN,
    ];
    let args: Vec<&str> = args.iter().chain(more).copied().collect();
    let parsed = Config::try_parse_from(args).expect("valid rules");
    server(move |config| {
        config.pages = parsed.pages;
        config.header_rules = parsed.header_rules;
        config.auth = parsed.auth;
    })
}

fn ask(srv: &TestServer, method: &str, target: &str, extra: &str) -> Reply {
    let raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: t\r\nOrigin: {ORIGIN}\r\n{extra}Connection: close\r\n\r\n"
    );
    get(srv.addr, &raw)
}

fn assert_site_fields(reply: &Reply, what: &str) {
    assert_eq!(
        reply.header("X-Content-Type-Options"),
        Some("nosniff"),
        "{what}"
    );
    assert_eq!(
        reply.header("Access-Control-Allow-Origin"),
        Some(ORIGIN),
        "{what}"
    );
}

#[test]
fn a_redirect_comes_before_the_file_and_carries_the_header_rules() {
    let srv = all_rules();
    let reply = ask(&srv, "GET", "/old", "");
    assert_eq!(reply.status, 301);
    assert_eq!(reply.header("Location"), Some("/dir2/page.html"));
    assert_eq!(reply.header("X-Rule"), Some("redirect"));
    assert_site_fields(&reply, "redirect");
    // A rule shadows a file that exists.
    let shadowed = ask(&srv, "GET", "/dir2/index.html", "");
    assert_eq!(shadowed.status, 301);
    assert_eq!(shadowed.header("Location"), Some("/moved"));
}

#[test]
fn the_fallback_answers_a_miss_with_no_extension_and_gets_path_headers() {
    let srv = all_rules();
    let reply = ask(&srv, "GET", "/app/settings/42", "");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"<html>root</html>\n");
    assert_eq!(reply.header("Cache-Control"), Some("no-cache"));
    assert_eq!(reply.header("X-Rule"), Some("app"));
    assert_site_fields(&reply, "fallback");
    let head = ask(&srv, "HEAD", "/app/settings/42", "");
    assert_eq!(
        head.header("Content-Length"),
        reply.header("Content-Length")
    );
}

#[test]
fn a_miss_with_an_extension_gets_the_error_page_without_path_headers() {
    let srv = all_rules();
    let reply = ask(&srv, "GET", "/missing.js", "");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.body, b"<html><body>Page Sample</body></html>\n");
    assert_eq!(
        reply.header("ETag"),
        None,
        "an error page has no validators"
    );
    assert_eq!(reply.header("X-Rule"), None, "path headers skip errors");
    assert_site_fields(&reply, "error page");
}

#[test]
fn a_preflight_is_answered_before_redirects() {
    let srv = all_rules();
    let raw = format!(
        "OPTIONS /old HTTP/1.1\r\nHost: t\r\nOrigin: {ORIGIN}\r\n\
         Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n"
    );
    // A 204 has no body and no Content-Length (RFC 9110 §8.6).
    let got = String::from_utf8(common::exchange(srv.addr, raw.as_bytes())).unwrap();
    assert!(got.starts_with("HTTP/1.1 204 No Content\r\n"), "{got}");
    assert!(
        got.contains(&format!("\r\nAccess-Control-Allow-Origin: {ORIGIN}\r\n")),
        "{got}"
    );
    assert!(!got.contains("Location:"), "{got}");
    assert!(got.ends_with("\r\n\r\n"), "{got}");
}

/// [`all_rules`] with `/old` (a redirect), `/app/**` (fallback routes)
/// and `/dir2/**` protected; the auth file's directory lives as long as
/// the server is used.
fn all_rules_with_auth() -> (TestServer, tempfile::TempDir) {
    let users = tempfile::tempdir().unwrap();
    let file = common::htpasswd(users.path(), &[("alice", "pw")], 4);
    let file = file.to_str().unwrap();
    let srv = all_rules_and(&[
        "--auth-file",
        file,
        "--auth-path",
        "/old",
        "--auth-path",
        "/app/**",
        "--auth-path",
        "/dir2/**",
    ]);
    (srv, users)
}

#[test]
fn authentication_comes_after_redirects_and_before_files_fallback_and_error_pages() {
    let (srv, _users) = all_rules_with_auth();
    let alice = format!("Authorization: {}\r\n", common::basic("alice", "pw"));
    // A redirect rule answers before credentials are asked for.
    let moved = ask(&srv, "GET", "/old", "");
    assert_eq!(moved.status, 301);
    assert_eq!(moved.header("Location"), Some("/dir2/page.html"));
    // Without credentials, a file, a fallback route and a miss alike are
    // 401: nothing says which exists. The 401 gets the security and CORS
    // fields, and no path headers (it is an error).
    for target in ["/dir2/page.html", "/app/settings/42", "/app/missing.js"] {
        let refused = ask(&srv, "GET", target, "");
        assert_eq!(refused.status, 401, "{target}");
        assert!(refused.header("WWW-Authenticate").is_some(), "{target}");
        assert_eq!(refused.header("X-Rule"), None, "{target}");
        assert_site_fields(&refused, target);
    }
    // With them, each goes on to what it would have been.
    let page = ask(&srv, "GET", "/dir2/page.html", &alice);
    assert_eq!(page.status, 200);
    let route = ask(&srv, "GET", "/app/settings/42", &alice);
    assert_eq!(
        (route.status, &route.body[..]),
        (200, &b"<html>root</html>\n"[..])
    );
    assert_eq!(route.header("X-Rule"), Some("app"));
    let missing = ask(&srv, "GET", "/app/missing.js", &alice);
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body, b"<html><body>Page Sample</body></html>\n");
    assert_site_fields(&missing, "error page");
    // A preflight carries no credentials (browsers never send them): it
    // is answered before authentication.
    let raw = format!(
        "OPTIONS /app/x HTTP/1.1\r\nHost: t\r\nOrigin: {ORIGIN}\r\n\
         Access-Control-Request-Method: GET\r\nConnection: close\r\n\r\n"
    );
    let got = String::from_utf8(common::exchange(srv.addr, raw.as_bytes())).unwrap();
    assert!(got.starts_with("HTTP/1.1 204 No Content\r\n"), "{got}");
}
