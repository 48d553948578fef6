//! What can be checked of the container image without a Docker engine:
//! the Dockerfile parses, every file it copies exists, the final image is
//! non-root with exec-form ENTRYPOINT and HEALTHCHECK, and the release
//! binary works with the exact arguments the image uses.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::process::{BIN, Process};
use common::tools::repo;

const KNOWN: &[&str] = &[
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
];

/// The Dockerfile's instructions: (keyword, arguments), continuations joined.
fn instructions() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(trimmed);
                let (keyword, args) = current.split_once(' ').expect("instruction with arguments");
                out.push((keyword.to_owned(), args.trim().to_owned()));
                current.clear();
            }
        }
    }
    assert!(current.is_empty(), "dangling continuation");
    out
}

/// Parses a JSON array of strings (exec form); `None` if not one.
fn exec_form(args: &str) -> Option<Vec<String>> {
    let inner = args.trim().strip_prefix('[')?.strip_suffix(']')?;
    inner
        .split(',')
        .map(|s| {
            s.trim()
                .strip_prefix('"')?
                .strip_suffix('"')
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn the_dockerfile_parses_and_copies_only_what_exists() {
    let all = instructions();
    for (keyword, _) in &all {
        assert!(
            KNOWN.contains(&keyword.as_str()),
            "unknown instruction {keyword}"
        );
    }
    let froms: Vec<&String> = all
        .iter()
        .filter(|(k, _)| k == "FROM")
        .map(|(_, a)| a)
        .collect();
    assert!(froms.len() >= 2, "multi-stage");
    assert_eq!(
        froms.last().unwrap().as_str(),
        "scratch",
        "minimal runtime image"
    );
    for (_, args) in all.iter().filter(|(k, _)| k == "COPY" || k == "ADD") {
        if args.starts_with("--from") {
            continue;
        }
        let parts: Vec<&str> = args.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            assert!(repo(source).exists(), "COPY source {source} is missing");
        }
    }
    let last_stage = all.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let user = all[last_stage..]
        .iter()
        .find(|(k, _)| k == "USER")
        .expect("USER in the final stage");
    let uid: u32 = user
        .1
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("numeric user");
    assert_ne!(uid, 0, "not root");
    let healthcheck = &all.iter().find(|(k, _)| k == "HEALTHCHECK").unwrap().1;
    let cmd = healthcheck.split_once("CMD ").unwrap().1;
    assert!(exec_form(cmd).is_some(), "HEALTHCHECK needs no shell");
    assert!(exec_form(&all.iter().find(|(k, _)| k == "ENTRYPOINT").unwrap().1).is_some());
}

/// Files the image holds, by their path in the image, as copied from the repo.
fn image_files() -> HashMap<String, PathBuf> {
    instructions()
        .iter()
        .filter(|(k, a)| k == "COPY" && !a.starts_with("--from"))
        .filter_map(|(_, args)| {
            let (source, dest) = args.split_once(' ')?;
            let in_image = dest.trim().strip_prefix("/out")?;
            Some((in_image.to_owned(), repo(source)))
        })
        .collect()
}

/// The image's exec-form command for `keyword`, with files the image
/// copies mapped to the repo and `/etc/httpd.conf` mapped to `httpd_conf`.
fn image_command(keyword: &str, httpd_conf: &Path) -> Vec<String> {
    let all = instructions();
    let args = &all.iter().find(|(k, _)| k == keyword).unwrap().1;
    let args = args
        .split_once("CMD ")
        .map_or(args.as_str(), |(_, cmd)| cmd);
    let files = image_files();
    exec_form(args)
        .unwrap()
        .into_iter()
        .skip(1) // the binary itself
        .map(|arg| match files.get(&arg) {
            Some(path) => path.display().to_string(),
            None if arg == "/etc/httpd.conf" => httpd_conf.display().to_string(),
            None => arg,
        })
        .collect()
}

#[test]
fn the_binary_runs_with_the_image_arguments_and_its_probe_works() {
    let site = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let httpd_conf = dir.path().join("httpd.conf");
    std::fs::write(&httpd_conf, "cpu_limit 2\nthread_limit 64\n").unwrap();
    let entry = image_command("ENTRYPOINT", &httpd_conf);
    let args: Vec<&str> = entry.iter().map(String::as_str).collect();
    // The environment outranks both config files: a free loopback port and
    // the test's document root instead of port 80 and /var/www/html.
    let root = site.path().to_str().unwrap();
    let server = Process::start(&args, &[("STATICD_ROOT", root)]);
    assert_eq!(
        common::get(server.addr, &common::request("GET", "/text..txt")).body,
        b"hello"
    );

    let port = server.addr.port().to_string();
    let probe = image_command("HEALTHCHECK", &httpd_conf);
    let run = |port: &str| {
        Command::new(BIN)
            .args(&probe)
            .env("STATICD_PORT", port)
            .env("STATICD_BIND", "0.0.0.0")
            .output()
            .unwrap()
    };
    assert!(run(&port).status.success(), "probe of a healthy server");
    drop(server);
    let failed = run(&port);
    assert_eq!(failed.status.code(), Some(1), "probe of a dead server");
    assert!(String::from_utf8_lossy(&failed.stderr).starts_with("error: probe 127.0.0.1:"));
}

#[test]
fn the_image_defaults_are_port_80_and_var_www_html() {
    let files = image_files();
    let conf = std::fs::read_to_string(&files["/etc/staticd/container.conf"]).unwrap();
    let out = Command::new(BIN)
        .args([
            "--config",
            files["/etc/staticd/container.conf"].to_str().unwrap(),
            "--print-config",
        ])
        .env_remove("STATICD_PORT")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(conf.contains("document_root /var/www/html"));
    assert!(
        text.lines()
            .any(|l| l.starts_with("port ") && l.contains(" 80 ")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("root ") && l.contains("/var/www/html")),
        "{text}"
    );
    assert!(files.contains_key("/var/www/html/index.html"));
}

/// The HEALTHCHECK is the ENTRYPOINT plus `--probe PATH`: the probe reads
/// the same config files (and, run in the same container, the same
/// environment), so it finds the server wherever those put it and speaks
/// TLS when they turn HTTPS on. Only arguments after the image name in
/// `docker run` are not seen by it.
#[test]
fn the_healthcheck_reads_the_entrypoint_configuration() {
    let conf = Path::new("/etc/httpd.conf");
    let entry = image_command("ENTRYPOINT", conf);
    let probe = image_command("HEALTHCHECK", conf);
    let at = probe.iter().position(|a| a == "--probe").expect("--probe");
    assert_eq!(probe.len(), at + 2, "--probe PATH comes last: {probe:?}");
    assert_eq!(probe[..at], entry[..], "HEALTHCHECK and ENTRYPOINT differ");
}

/// With certificates given as the Docker docs show (STATICD_TLS_CERT and
/// STATICD_TLS_KEY), the server the image runs speaks HTTPS and its
/// HEALTHCHECK, given the same environment, succeeds.
#[test]
fn the_healthcheck_follows_the_server_to_https() {
    let site = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let httpd_conf = dir.path().join("httpd.conf");
    let entry = image_command("ENTRYPOINT", &httpd_conf);
    let args: Vec<&str> = entry.iter().map(String::as_str).collect();
    let root = site.path().to_str().unwrap();
    let env = [
        ("STATICD_ROOT", root),
        ("STATICD_TLS_CERT", cert.to_str().unwrap()),
        ("STATICD_TLS_KEY", key.to_str().unwrap()),
    ];
    let server = common::tools::listening(&args, &env);
    assert_eq!(
        server.scheme, "https",
        "STATICD_TLS_* did not turn HTTPS on"
    );
    let port = server.addr.port().to_string();
    let probe = image_command("HEALTHCHECK", &httpd_conf);
    let out = Command::new(BIN)
        .args(&probe)
        .envs(env)
        .env("STATICD_PORT", &port)
        .env("STATICD_BIND", "0.0.0.0")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "HEALTHCHECK over TLS: {said}");
}
