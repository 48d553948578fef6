//! Content types as a browser sees them: the built-in types against
//! nginx's `mime.types` (a third party, so a site moved from nginx is typed
//! as before), `--mime-type` overrides from the command line, the
//! environment and a config file, and bad overrides refused at start-up.

use crate::common;

use std::net::SocketAddr;
use std::path::Path;

use common::process::{Started, run};
use common::tools::{lint_tool, read};
use common::{get, request};

/// Where nginx's own table differs from ours, and why (docs/behaviour.md,
/// "Content types", says the same).
const UNLIKE_NGINX: &[(&str, &str, &str)] = &[
    (
        "js",
        "text/javascript",
        "RFC 9239 made application/javascript obsolete",
    ),
    (
        "xml",
        "application/xml",
        "RFC 7303 4.1 prefers it to text/xml",
    ),
    ("bmp", "image/bmp", "the IANA-registered name"),
    ("m4a", "audio/mp4", "RFC 4337's type for MPEG-4 audio"),
];

/// `extension -> type` from an nginx `types { TYPE EXT...; }` file.
fn nginx_types(text: &str) -> Vec<(String, String)> {
    let body = text.split_once('{').expect("a types block").1;
    let mut out = Vec::new();
    for entry in body.split(';') {
        let mut words = entry.split_whitespace();
        let Some(ty) = words.next().filter(|t| t.contains('/')) else {
            continue;
        };
        out.extend(words.map(|ext| (ext.to_owned(), ty.to_owned())));
    }
    out
}

fn content_type(addr: SocketAddr, target: &str) -> String {
    let reply = get(addr, &request("GET", target));
    assert_eq!(reply.status, 200, "{target}");
    reply.header("Content-Type").unwrap_or_default().to_owned()
}

fn serve(root: &Path, args: &[&str], env: &[(&str, &str)]) -> (Started, SocketAddr) {
    let mut all = vec!["--root", root.to_str().unwrap(), "--port", "0"];
    all.extend_from_slice(args);
    let server = Started::new(&all, env);
    let addr = SocketAddr::from(([127, 0, 0, 1], server.port()));
    (server, addr)
}

#[test]
fn every_type_nginx_knows_is_served_as_nginx_does_but_where_a_standard_differs() {
    if lint_tool("nginx", "apt-get install nginx").is_none() {
        return;
    }
    let types = nginx_types(&read(Path::new("/etc/nginx/mime.types")));
    assert!(types.len() > 100, "{} types", types.len());
    let root = tempfile::tempdir().unwrap();
    for (ext, _) in &types {
        std::fs::write(root.path().join(format!("f.{ext}")), "x").unwrap();
    }
    let (_server, addr) = serve(root.path(), &[], &[]);
    let mut differ = Vec::new();
    for (ext, nginx) in &types {
        let ours = content_type(addr, &format!("/f.{ext}"));
        if &ours != nginx {
            differ.push((ext.as_str(), ours));
        }
    }
    differ.sort();
    let mut expected: Vec<_> = UNLIKE_NGINX
        .iter()
        .map(|(ext, ty, _)| (*ext, ty.to_string()))
        .collect();
    expected.sort();
    assert_eq!(differ, expected);
}

#[test]
fn overrides_from_each_source_win_over_built_in_types_and_variants_keep_them() {
    let root = tempfile::tempdir().unwrap();
    for name in ["a.md", "a.ts", "a.ics", "a.html", "b.md", "b.md.gz"] {
        std::fs::write(root.path().join(name), "x").unwrap();
    }
    let (_cli, addr) = serve(
        root.path(),
        &[
            "--mime-type",
            "md=text/plain",
            "--mime-type",
            ".TS=text/x-typescript",
            "--mime-type",
            "ics=text/calendar; charset=iso-8859-1",
            "--charset",
            "utf-8",
        ],
        &[],
    );
    assert_eq!(content_type(addr, "/a.md"), "text/plain; charset=utf-8");
    assert_eq!(
        content_type(addr, "/a.ts"),
        "text/x-typescript; charset=utf-8"
    );
    // A type that names its charset keeps it.
    assert_eq!(
        content_type(addr, "/a.ics"),
        "text/calendar; charset=iso-8859-1"
    );
    assert_eq!(content_type(addr, "/a.html"), "text/html; charset=utf-8");
    // The gzip variant beside b.md is sent with b.md's type.
    let gzip = get(
        addr,
        "GET /b.md HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(gzip.header("Content-Encoding"), Some("gzip"));
    assert_eq!(
        gzip.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );

    let env = [("STATICD_MIME_TYPE", "md=text/x-markdown\nts=video/mp2t")];
    let (_env, addr) = serve(root.path(), &[], &env);
    assert_eq!(content_type(addr, "/a.md"), "text/x-markdown");
    assert_eq!(content_type(addr, "/a.ts"), "video/mp2t");

    let conf = root.path().join("staticd.conf");
    std::fs::write(
        &conf,
        "mime-type md=text/plain\nmime-type html=application/xhtml+xml\n",
    )
    .unwrap();
    let (_file, addr) = serve(root.path(), &["--config", conf.to_str().unwrap()], &[]);
    assert_eq!(content_type(addr, "/a.md"), "text/plain");
    assert_eq!(content_type(addr, "/a.html"), "application/xhtml+xml");
}

#[test]
fn bad_overrides_exit_2_naming_the_option() {
    for bad in [
        "md",
        "md=text",
        "a/b=text/plain",
        "tar.gz=application/gzip",
        "md=te xt/plain",
    ] {
        let (code, _, stderr) = run(&["--port", "0", "--mime-type", bad], &[]);
        assert_eq!(code, 2, "{bad}: {stderr}");
        assert!(stderr.contains("--mime-type"), "{bad}: {stderr}");
    }
    let (code, _, stderr) = run(&["--port", "0"], &[("STATICD_MIME_TYPE", "md")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--mime-type"), "{stderr}");
}
