//! The first hour at the command line, through the built binary: the
//! document root as the first argument, `--check` before going live,
//! `--print-config` read back as a config file, and what staticd says
//! about itself (`--generate man|bash|zsh|fish`, `--version`).

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common;
use crate::common::process::{BIN, Process, finish, run};
use staticd::FEATURES;

/// Runs the binary with a cleared environment: (exit code, stdout, stderr).
fn clean(args: &[&str]) -> (i32, String, String) {
    finish(Command::new(BIN).args(args).env_clear())
}

#[test]
fn the_root_can_be_the_first_argument() {
    let site = common::fixture();
    let root = site.path().to_str().expect("UTF-8");
    let server = Process::start(&[root], &[]);
    let reply = common::get(server.addr, &common::request("GET", "/text..txt"));
    assert_eq!(reply.body, b"hello");
    // It wins over the environment and a file, as any command-line value.
    let conf = site.path().join("other.conf");
    std::fs::write(&conf, "root /nonexistent\n").unwrap();
    let env = [("STATICD_ROOT", "/also/nonexistent")];
    let conf = conf.to_str().unwrap();
    let (code, out, err) = run(&[root, "--config", conf, "--print-config"], &env);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("root "))
        .unwrap_or_default();
    assert!(
        line.contains(root) && line.ends_with("# command line"),
        "{line}"
    );
}

#[test]
fn the_root_given_twice_is_refused() {
    let (code, _, err) = clean(&["/srv/a", "--root", "/srv/b"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("'[DIR]' cannot be used with '--root <DIR>'"),
        "{err}"
    );
}

#[test]
fn check_says_ok_without_binding_anything() {
    let site = common::fixture();
    let root = site.path().to_str().unwrap();
    // The port is taken: --check binds nothing, so it does not notice.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    for flag in ["--check", "-t"] {
        let (code, out, err) = clean(&[root, "--bind", "127.0.0.1", "--port", &port, flag]);
        assert_eq!((code, out.as_str()), (0, "configuration ok\n"), "{err}");
    }
}

#[test]
fn check_names_every_error_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let (cert, key) = (dir.path().join("no.crt"), dir.path().join("no.key"));
    let auth = dir.path().join("users");
    std::fs::write(&auth, "alice:plaintext\n").unwrap();
    let args = [
        missing.to_str().unwrap(),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--auth-file",
        auth.to_str().unwrap(),
        "--check",
    ];
    let (code, out, err) = clean(&args);
    assert_eq!(code, 1, "{out}{err}");
    assert!(!out.contains("configuration ok"), "{out}");
    for want in [
        format!("error: HTTPS: {}: cannot read", cert.display()),
        format!("error: document root {}", missing.display()),
        format!("{}:1", auth.display()),
    ] {
        assert!(err.contains(&want), "{want:?} not in:\n{err}");
    }
}

#[test]
fn check_places_a_bad_config_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("site.conf");
    std::fs::write(&conf, "port 8080\nmax-connections lots\n").unwrap();
    let (code, _, err) = clean(&["--config", conf.to_str().unwrap(), "--check"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains(&format!("{}:2", conf.display())), "{err}");
    // Without --check the same fault is a start-up error, exit 2.
    let (code, _, _) = clean(&["--config", conf.to_str().unwrap(), "--print-config"]);
    assert_eq!(code, 2);
}

/// The civil date `days` after 1970-01-01 (proleptic Gregorian).
fn civil(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month as u8, day as u8)
}

#[test]
fn check_warns_of_a_certificate_that_ends_within_two_weeks() {
    let site = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let today = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH))
        .unwrap()
        .as_secs() as i64
        / 86_400;
    let write = |stem: &str, days_left: i64| {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        let (y, m, d) = civil(today - 30);
        params.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = civil(today + days_left);
        params.not_after = rcgen::date_time_ymd(y, m, d);
        let key = rcgen::KeyPair::generate().unwrap();
        let (cert, key_file) = (
            dir.path().join(format!("{stem}.crt")),
            dir.path().join(format!("{stem}.key")),
        );
        std::fs::write(&cert, params.self_signed(&key).unwrap().pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        (cert.display().to_string(), key_file.display().to_string())
    };
    let root = site.path().to_str().unwrap();
    let check =
        |(cert, key): &(String, String)| clean(&[root, "--tls-cert", cert, "--tls-key", key, "-t"]);
    let soon = write("soon", 7);
    let (code, out, err) = check(&soon);
    assert_eq!((code, out.as_str()), (0, "configuration ok\n"), "{err}");
    assert!(
        err.contains(&format!("warning: {}: certificate expires on", soon.0)),
        "{err}"
    );
    let later = write("later", 60);
    let (code, _, err) = check(&later);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
}

/// The settings of a `--print-config` output, comments dropped.
fn settings(printed: &str) -> Vec<String> {
    printed
        .lines()
        .map(|line| line.split(" # ").next().unwrap_or("").trim())
        .filter(|setting| !setting.is_empty() && !setting.starts_with('#'))
        .map(|setting| setting.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn print_config_reads_back_as_the_same_configuration() {
    let site = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pair = common::tls::certificate(dir.path(), "site", &["localhost"]);
    let auth = common::htpasswd(dir.path(), &[("alice", "secret")], 4);
    let root = site.path().to_str().unwrap();
    let args = [
        root,
        "--port",
        "8443",
        "--autoindex",
        "on",
        "--cache-control",
        "public, max-age=60",
        "--header",
        "X-One: 1",
        "--header",
        "X-Two: two words",
        "--path-header",
        "/assets/* Cache-Control: max-age=31536000",
        "--redirect",
        "/old /new",
        "--error-page",
        "404=/404.html",
        "--cors-origin",
        "https://example.com",
        "--auth-file",
        auth.to_str().unwrap(),
        "--auth-realm",
        "Members",
        "--compress-types",
        "text/*,application/json",
        "--tls-cert",
        pair.cert.to_str().unwrap(),
        "--tls-key",
        pair.key.to_str().unwrap(),
        "--hsts",
        "600",
        "--hsts-subdomains",
        "--redirect-http",
        "8080",
        "--show-hidden",
        "--keepalive-timeout",
        "7s",
        "--print-config",
    ];
    let (code, first, err) = clean(&args);
    assert_eq!(code, 0, "{err}");
    assert!(!first.contains("(unset)"), "{first}");
    let file = dir.path().join("printed.conf");
    std::fs::File::create(&file)
        .and_then(|mut f| f.write_all(first.as_bytes()))
        .unwrap();
    let (code, second, err) = clean(&["--config", file.to_str().unwrap(), "--print-config"]);
    assert_eq!(code, 0, "{err}\n{first}");
    assert_eq!(settings(&second), settings(&first));
    assert!(
        settings(&first).contains(&"header X-Two: two words".to_owned()),
        "{first}"
    );
    let at = first.lines().position(|l| l.starts_with("port ")).unwrap() + 1;
    let from_file = second.lines().find(|l| l.starts_with("port ")).unwrap();
    assert!(
        from_file.ends_with(&format!("# {}:{at}", file.display())),
        "{from_file}"
    );
}

/// The long flags of `--help`.
fn long_flags() -> Vec<String> {
    let (_, help, _) = clean(&["--help"]);
    let flags = help.lines().filter(|l| l.trim_start().starts_with('-'));
    let long = flags.filter_map(|l| l.split_whitespace().find(|w| w.starts_with("--")));
    long.map(|flag| flag.trim_end_matches(',').to_owned())
        .collect()
}

#[test]
fn the_man_page_and_completions_know_every_flag() {
    let flags = long_flags();
    assert!(flags.len() > 30, "{flags:?}");
    let (code, man, err) = clean(&["--generate", "man"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        man.starts_with(".ie") && man.contains(".TH staticd 1"),
        "{man}"
    );
    for flag in &flags {
        // roff escapes each hyphen of a flag.
        let escaped = flag.replace('-', "\\-");
        assert!(man.contains(&escaped), "the man page lacks {flag}");
    }
    for (shell, spelled) in [("bash", "--"), ("zsh", "--"), ("fish", "-l ")] {
        let (code, script, err) = clean(&["--generate", shell]);
        assert_eq!(code, 0, "{err}");
        for flag in &flags {
            let name = &flag[2..];
            let found = match spelled {
                "-l " => script.contains(&format!("-l {name} ")),
                _ => script.contains(flag.as_str()),
            };
            assert!(found, "the {shell} completion lacks {flag}");
        }
    }
    let (_, bash, _) = clean(&["--generate", "bash"]);
    let mut check = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .spawn()
        .expect("bash");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(bash.as_bytes())
        .unwrap();
    assert!(
        check.wait().unwrap().success(),
        "bash -n refused the completion"
    );
    let (code, _, err) = clean(&["--generate", "pdf"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--generate"), "{err}");
}

#[test]
fn version_lists_each_feature_with_an_option_that_exists() {
    let flags = long_flags();
    let (code, version, _) = clean(&["--version"]);
    assert_eq!(code, 0);
    assert!(version.starts_with(&format!("staticd {}\n", env!("CARGO_PKG_VERSION"))));
    for (feature, option) in FEATURES {
        assert!(
            flags.iter().any(|f| f == option),
            "{feature}: no {option} in --help"
        );
        assert!(
            version.contains(&format!("  {feature} ({option})")),
            "{version}"
        );
    }
}
