//! The README's "behind a reverse proxy, under a path" as it is run: the
//! nginx from Debian, publishing the site at `/docs/` and stripping that
//! prefix, proxies to staticd on a Unix socket started with
//! `--base-path /docs/ --clean-urls`; every URL a browser is sent (a
//! redirect, a listing link) must work from the outside. Skipped, saying
//! so, without nginx, unless STATICD_REQUIRE_LINT=1 (as in CI).

use crate::common;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::Started;
use common::tools::{lint_tool, text};
use common::{Reply, read_reply};

/// nginx in the foreground's stead: `daemon on` returns once its socket is
/// listening (it binds before it forks), and `master_process off` keeps
/// it one process with the test's user, which can reach staticd's socket.
/// Everything it writes stays in `dir`.
fn nginx_conf(dir: &Path, upstream: &Path) -> String {
    let d = dir.display();
    format!(
        "daemon on;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{}}\nhttp {{\n    access_log off;\n\
             client_body_temp_path {d}/body;\n    proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n    uwsgi_temp_path {d}/uwsgi;\n\
             scgi_temp_path {d}/scgi;\n\
             server {{\n        listen unix:{d}/nginx.sock;\n\
                 location /docs/ {{\n            proxy_pass http://unix:{}:/;\n        }}\n\
             }}\n}}\n",
        upstream.display()
    )
}

/// A running nginx, stopped (by its pid file) when dropped.
struct Nginx {
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(self.dir.join("nginx.pid")).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<i32>() {
            // SAFETY: signalling the nginx this test started.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
    }
}

fn start_nginx(nginx: &Path, dir: &Path, upstream: &Path) -> Nginx {
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(dir, upstream)).unwrap();
    let out = Command::new(nginx)
        .args(["-e", "stderr", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .output()
        .expect("run nginx");
    assert!(out.status.success(), "nginx did not start:\n{}", text(&out));
    Nginx {
        dir: dir.to_owned(),
    }
}

fn through(dir: &Path, target: &str) -> Reply {
    let mut stream = UnixStream::connect(dir.join("nginx.sock")).expect("connect to nginx");
    stream.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
    let raw = format!("GET {target} HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
    stream.write_all(raw.as_bytes()).unwrap();
    read_reply(&mut stream, false)
}

#[test]
fn nginx_under_a_path_to_a_unix_socket_keeps_every_link_working() {
    let Some(nginx) = lint_tool("nginx", "apt-get install nginx") else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("guide")).unwrap();
    std::fs::create_dir_all(root.path().join("files")).unwrap();
    std::fs::write(root.path().join("about.html"), "about").unwrap();
    std::fs::write(root.path().join("guide/index.html"), "guide").unwrap();
    std::fs::write(root.path().join("files/a b.txt"), "a").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("staticd.sock");
    let bind = format!("unix:{}", socket.display());
    let root_arg = root.path().to_str().unwrap();
    let args = [
        "--root",
        root_arg,
        "--bind",
        &bind,
        "--base-path",
        "/docs/",
        "--clean-urls",
        "--autoindex",
        "on",
    ];
    let _staticd = Started::new(&args, &[]);
    let _nginx = start_nginx(&nginx, dir.path(), &socket);
    let at = |target: &str| through(dir.path(), target);

    assert_eq!(at("/docs/about").body, b"about");
    for (target, location) in [
        ("/docs/about.html?v=2", "/docs/about?v=2"),
        ("/docs/guide", "/docs/guide/"),
        ("/docs/guide/index.html", "/docs/guide/"),
    ] {
        let moved = at(target);
        assert!(
            matches!(moved.status, 301 | 308),
            "{target}: {}",
            moved.status
        );
        assert_eq!(moved.header("Location"), Some(location), "{target}");
        // Followed from the outside, it is answered.
        assert_eq!(at(location).status, 200, "{location}");
    }
    let listing = String::from_utf8(at("/docs/files/").body).unwrap();
    assert!(
        listing.contains("<title>Index of /docs/files/</title>"),
        "{listing}"
    );
    assert!(listing.contains("href=\"a%20b.txt\""), "{listing}");
    // The listing's links resolve, from its own URL, to pages that answer.
    assert_eq!(at("/docs/files/a%20b.txt").body, b"a");
    assert!(listing.contains("<a href=\"../\">/docs/</a>"), "{listing}");
}
