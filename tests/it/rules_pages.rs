//! Site rules that decide the response: `--redirect`,
//! `--fallback` and `--error-page`, over raw TCP, in their order
//! (redirects, files, fallback, error pages), and their start-up errors
//! from the binary.

use crate::common;

use common::process::run;
use common::{MTIME_HTTP, etag_of, get, request};
use staticd::Config;
use staticd::{ErrorPage, PagePath, Redirect};

/// A fixture root with an app shell, error pages and a link out of the
/// root, served with the rules `configure` sets.
fn server(configure: impl FnOnce(&mut Config)) -> common::TestServer {
    common::server(|config| {
        let root = config.root.clone();
        let write = |name: &str, body: &str| {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, body).unwrap();
            common::set_mtime(&path);
        };
        write("app.html", "<html>app shell</html>\n");
        write("errors/404.html", "<p>not here</p>\n");
        write("errors/403.txt", "forbidden, sorry\n");
        write("old/page.html", "shadowed\n");
        write(".env", "SECRET=1\n");
        std::os::unix::fs::symlink("/etc/hostname", root.join("out.txt")).unwrap();
        configure(config);
    })
}

fn redirects(rules: &[&str]) -> Vec<Redirect> {
    rules.iter().map(|r| Redirect::parse(r).unwrap()).collect()
}

fn page(text: &str) -> ErrorPage {
    ErrorPage::parse(text).unwrap()
}

#[test]
fn exact_and_prefix_redirects_with_each_status() {
    let s = server(|c| {
        c.pages.redirects = redirects(&[
            "/a /b",
            "/t302 /b 302",
            "/t307 /b 307",
            "/t308 /b 308",
            "/docs/* /manual/v2/*",
            "/ext/* https://example.com/base/* 302",
            "/q /b?from=q",
        ]);
    });
    let cases = [
        ("/a", 301, "/b"),
        ("/a?x=1", 301, "/b?x=1"),
        ("/t302", 302, "/b"),
        ("/t307", 307, "/b"),
        ("/t308", 308, "/b"),
        ("/docs", 301, "/manual/v2"),
        ("/docs/", 301, "/manual/v2/"),
        ("/docs/a/b.html?v=1&w", 301, "/manual/v2/a/b.html?v=1&w"),
        ("/docs/sp%20ace/%C3%A4", 301, "/manual/v2/sp%20ace/%C3%A4"),
        ("/docs/a%3Fb", 301, "/manual/v2/a%3Fb"),
        ("/ext/x/y?z", 302, "https://example.com/base/x/y?z"),
        ("/q?ignored", 301, "/b?from=q"),
    ];
    for (target, status, location) in cases {
        let reply = get(s.addr, &request("GET", target));
        assert_eq!(reply.status, status, "{target}");
        assert_eq!(reply.header("Location"), Some(location), "{target}");
    }
    // Not a rule's path: `/a/` differs from `/a`, `/docsx` is not below `/docs`.
    assert_eq!(get(s.addr, &request("GET", "/a/")).status, 404);
    assert_eq!(get(s.addr, &request("GET", "/docsx")).status, 404);
}

#[test]
fn redirects_match_the_normalized_path_and_come_before_files() {
    let s = server(|c| {
        c.pages.redirects = redirects(&["/old/* /new/*", "/secret /login 307"]);
        c.cache_control = Some("max-age=60".to_owned());
    });
    for target in [
        "/x/../secret",
        "/x/%2e%2e/secret",
        "/%73ecret",
        "/./secret",
        "//secret",
    ] {
        let reply = get(s.addr, &request("GET", target));
        assert_eq!(reply.status, 307, "{target}");
        assert_eq!(reply.header("Location"), Some("/login"), "{target}");
        assert_eq!(reply.header("Cache-Control"), None, "temporary: {target}");
    }
    // The rule shadows a file that exists.
    let reply = get(s.addr, &request("GET", "/old/page.html"));
    assert_eq!(reply.status, 301);
    assert_eq!(reply.header("Location"), Some("/new/page.html"));
    assert_eq!(reply.header("Cache-Control"), Some("max-age=60"));
    let reply = get(s.addr, &request("HEAD", "/x/%2E%2E/old/page.html"));
    assert_eq!(reply.status, 301);
    assert_eq!(reply.header("Location"), Some("/new/page.html"));
}

#[test]
fn the_first_matching_redirect_wins() {
    let s = server(|c| c.pages.redirects = redirects(&["/a/b /first 302", "/a/* /second/*"]));
    let first = get(s.addr, &request("GET", "/a/b"));
    assert_eq!(
        (first.status, first.header("Location")),
        (302, Some("/first"))
    );
    let second = get(s.addr, &request("GET", "/a/c"));
    assert_eq!(
        (second.status, second.header("Location")),
        (301, Some("/second/c"))
    );
}

#[test]
fn fallback_answers_app_routes_only() {
    let s = server(|c| {
        c.pages.fallback = Some(PagePath::parse("/app.html").unwrap());
        c.cache_control = Some("max-age=60".to_owned());
    });
    for target in ["/app/settings/42", "/users", "/a.txt/x", "/v1.2/page/"] {
        let reply = get(s.addr, &request("GET", target));
        assert_eq!(reply.status, 200, "{target}");
        assert_eq!(reply.body, b"<html>app shell</html>\n", "{target}");
        assert_eq!(reply.header("Content-Type"), Some("text/html"));
        assert_eq!(reply.header("Cache-Control"), Some("no-cache"));
        assert_eq!(reply.head.matches("Cache-Control").count(), 1);
    }
    let head = get(s.addr, &request("HEAD", "/deep/route"));
    assert_eq!(head.status, 200);
    assert_eq!(head.header("Content-Length"), Some("23"));
    // Extensions, dotfiles, directories and real files are not app routes.
    for (target, status) in [
        ("/missing.js", 404),
        ("/logo.png", 404),
        ("/.hidden", 404),
        ("/.env", 404),
        ("/x/.git/config", 404),
        ("/empty/", 404),
        ("/out.txt", 403),
    ] {
        let reply = get(s.addr, &request("GET", target));
        assert_eq!(reply.status, status, "{target}");
        assert_ne!(reply.body, b"<html>app shell</html>\n", "{target}");
    }
    let file = get(s.addr, &request("GET", "/noext"));
    assert_eq!((file.status, file.body.as_slice()), (200, &b"none"[..]));
    assert_eq!(file.header("Cache-Control"), Some("max-age=60"));
}

#[test]
fn fallback_skips_dotfile_segments_even_when_hidden_files_are_served() {
    let s = server(|c| {
        c.pages.fallback = Some(PagePath::parse("/app.html").unwrap());
        c.show_hidden = true;
    });
    for target in ["/.config/route", "/x/.git/config"] {
        let reply = get(s.addr, &request("GET", target));
        assert_eq!(reply.status, 404, "{target}");
    }
    assert_eq!(get(s.addr, &request("GET", "/.env")).body, b"SECRET=1\n");
    assert_eq!(get(s.addr, &request("GET", "/config/route")).status, 200);
}

#[test]
fn fallback_answers_conditional_and_range_requests() {
    let s = server(|c| c.pages.fallback = Some(PagePath::parse("/app.html").unwrap()));
    let etag = etag_of(&s.root.path().join("app.html"));
    let first = get(s.addr, &request("GET", "/route"));
    assert_eq!(first.header("ETag"), Some(etag.as_str()));
    assert_eq!(first.header("Last-Modified"), Some(MTIME_HTTP));
    let raw = format!(
        "GET /route HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
    );
    let not_modified = get(s.addr, &raw);
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("Cache-Control"), Some("no-cache"));
    let raw = "GET /route HTTP/1.1\r\nHost: t\r\nRange: bytes=6-10\r\nConnection: close\r\n\r\n";
    let part = get(s.addr, raw);
    assert_eq!(part.status, 206);
    assert_eq!(part.body, b"app s");
    assert_eq!(part.header("Content-Range"), Some("bytes 6-10/23"));
    assert_eq!(part.header("Cache-Control"), Some("no-cache"));
}

#[test]
fn error_pages_have_their_type_length_and_no_validators() {
    let s = server(|c| {
        c.pages.error_pages = vec![page("404=/errors/404.html"), page("403=/errors/403.txt")];
        c.autoindex = staticd::Autoindex::Forbid;
    });
    for (method, target, status, body, ty) in [
        (
            "GET",
            "/missing",
            404,
            &b"<p>not here</p>\n"[..],
            "text/html",
        ),
        ("GET", "/.env", 404, b"<p>not here</p>\n", "text/html"),
        ("GET", "/empty/", 403, b"forbidden, sorry\n", "text/plain"),
        ("GET", "/out.txt", 403, b"forbidden, sorry\n", "text/plain"),
        ("HEAD", "/missing", 404, b"", "text/html"),
    ] {
        let reply = get(s.addr, &request(method, target));
        assert_eq!(reply.status, status, "{method} {target}");
        assert_eq!(reply.body, body, "{method} {target}");
        assert_eq!(reply.header("Content-Type"), Some(ty));
        let length = if status == 404 { "16" } else { "17" };
        assert_eq!(reply.header("Content-Length"), Some(length));
        for field in ["ETag", "Last-Modified", "Accept-Ranges", "Cache-Control"] {
            assert_eq!(reply.header(field), None, "{field} on {target}");
        }
    }
    // A code without a page keeps the built-in one.
    let reply = get(s.addr, &request("DELETE", "/"));
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("Allow"), Some("GET, HEAD"));
    assert!(
        String::from_utf8(reply.body)
            .unwrap()
            .contains("405 Method Not Allowed")
    );
}

#[test]
fn a_missing_error_page_falls_back_to_the_built_in_one_and_warns_once() {
    let missing = page("404=/errors/gone.html");
    let present = page("403=/errors/403.txt");
    let (watched, fine) = (missing.page.clone(), present.page.clone());
    let s = server(|c| c.pages.error_pages = vec![missing, present]);
    assert!(!watched.warned());
    for _ in 0..2 {
        let reply = get(s.addr, &request("GET", "/nothing"));
        assert_eq!(reply.status, 404);
        let body = String::from_utf8(reply.body).unwrap();
        assert!(body.contains("<h1>404 Not Found</h1>"), "{body}");
    }
    assert!(watched.warned());
    assert!(!fine.warned());
    // A page that is itself a link out of the root is refused by the wall.
    let s = server(|c| c.pages.error_pages = vec![page("404=/out.txt")]);
    let body = get(s.addr, &request("GET", "/nothing")).body;
    assert!(
        String::from_utf8(body)
            .unwrap()
            .contains("<h1>404 Not Found</h1>")
    );
}

#[test]
fn order_is_redirects_files_fallback_error_pages() {
    let s = server(|c| {
        c.pages.redirects = redirects(&["/app.html /moved"]);
        c.pages.fallback = Some(PagePath::parse("/errors/404.html").unwrap());
        c.pages.error_pages = vec![page("404=/app.html")];
    });
    assert_eq!(get(s.addr, &request("GET", "/app.html")).status, 301);
    assert_eq!(get(s.addr, &request("GET", "/a.txt")).body, b"txt");
    let route = get(s.addr, &request("GET", "/route"));
    assert_eq!(
        (route.status, route.body.as_slice()),
        (200, &b"<p>not here</p>\n"[..])
    );
    let miss = get(s.addr, &request("GET", "/route.css"));
    assert_eq!(
        (miss.status, miss.body.as_slice()),
        (404, &b"<html>app shell</html>\n"[..])
    );
}

#[test]
fn default_responses_are_unchanged() {
    let s = server(|_| {});
    let reply = get(s.addr, &request("GET", "/route"));
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.head_without_date(),
        "HTTP/1.1 404 Not Found\r\nServer: staticd/0.1.0\r\nDate: <date>\r\nContent-Type: text/html\r\nContent-Length: 106\r\nConnection: close"
    );
}

fn refused(args: &[&str], env: &[(&str, &str)], expected: &str) {
    let (code, _, stderr) = run(args, env);
    assert_ne!(code, 0, "{args:?} must fail");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
}

#[test]
fn bad_rules_stop_the_server_naming_the_option() {
    let cases = [
        ("--redirect", "/a /b 303", "'303' is not a redirect status"),
        ("--redirect", "/a", "is not 'FROM TO [STATUS]'"),
        ("--redirect", "a /b", "FROM 'a' is not a path"),
        ("--redirect", "/a*/b /c", "'*' only as a final /*"),
        ("--redirect", "/a/* /b", "FROM/* goes with TO/*"),
        ("--redirect", "/a /a", "'/a' redirects onto itself"),
        ("--redirect", "/x/../a /a", "redirects onto itself"),
        ("--redirect", "/a/* /a/*", "'/a/*' redirects onto itself"),
        ("--redirect", "/a/* /a/b/* 302", "redirects onto itself"),
        ("--redirect", "/a ftp://h/x", "neither a path"),
        ("--redirect", "/a https:///x", "a URL without a host"),
        (
            "--fallback",
            "index.html",
            "not a file path inside the root",
        ),
        (
            "--fallback",
            "/../index.html",
            "not a file path inside the root",
        ),
        (
            "--error-page",
            "404=/../x.html",
            "not a file path inside the root",
        ),
        (
            "--error-page",
            "404=x.html",
            "not a file path inside the root",
        ),
        (
            "--error-page",
            "302=/x.html",
            "'302' is not an error status",
        ),
        ("--error-page", "/x.html", "is not 'CODE=PATH'"),
    ];
    for (option, value, expected) in cases {
        let named = format!("for '{option} <");
        refused(&[option, value], &[], &named);
        refused(&[option, value], &[], expected);
    }
    refused(
        &[],
        &[("STATICD_REDIRECT", "/a /b\n/c /c")],
        "'/c' redirects onto itself",
    );
}

#[test]
fn bad_rules_in_a_config_file_name_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("site.conf");
    std::fs::write(
        &conf,
        "# rules\nredirect /a /b\nredirect /c /d 399\nerror-page 404=/404.html\n",
    )
    .unwrap();
    let conf_text = conf.to_str().unwrap();
    refused(
        &["--config", conf_text],
        &[],
        &format!("config {conf_text}:3: "),
    );
    refused(
        &["--config", conf_text],
        &[],
        "'399' is not a redirect status",
    );
    std::fs::write(
        &conf,
        "redirect /a /b\nfallback /index.html\nerror-page 404=../x\n",
    )
    .unwrap();
    refused(
        &["--config", conf_text],
        &[],
        &format!("config {conf_text}:3: "),
    );
}

#[test]
fn rules_come_from_the_environment_and_files_as_repeated_lines() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("site.conf");
    std::fs::write(
        &conf,
        "redirect /a /b\nredirect /c/* https://example.com/* 308\nfallback /app.html\nerror-page 404=/404.html\nerror-page 500=/500.html\n",
    )
    .unwrap();
    let (code, out, err) = run(&["--config", conf.to_str().unwrap(), "--print-config"], &[]);
    assert_eq!(code, 0, "{err}");
    for expected in [
        "/c/* https://example.com/* 308",
        "/app.html",
        "500=/500.html",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    let env = [
        ("STATICD_REDIRECT", "/a /b\n/e /f 302"),
        ("STATICD_FALLBACK", "/index.html"),
        ("STATICD_ERROR_PAGE", "404=/404.html\n410=/gone.html"),
    ];
    let (code, out, err) = run(&["--print-config"], &env);
    assert_eq!(code, 0, "{err}");
    for expected in [
        "/e /f 302",
        "/index.html",
        "410=/gone.html",
        "STATICD_REDIRECT",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
}

#[test]
fn the_missing_page_warning_is_logged_once_per_page() {
    let root = common::fixture();
    let root_text = root.path().to_str().unwrap();
    let args = ["--root", root_text, "--error-page", "404=/gone.html"];
    let server = common::process::Process::start(&args, &[]);
    for _ in 0..3 {
        assert_eq!(get(server.addr, &request("GET", "/nothing")).status, 404);
    }
    let mut warnings = Vec::new();
    while let Ok(line) = server
        .stderr
        .recv_timeout(std::time::Duration::from_millis(500))
    {
        if line.contains("page unavailable") {
            warnings.push(line);
        }
    }
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("WARN") && warnings[0].contains("/gone.html"));
}
