//! Unit tests for command-line parsing and validation.
use super::*;

#[test]
fn command_line_names() {
    let c = Config::try_parse_from([
        "staticd",
        "-r",
        "/srv",
        "-b",
        "::1",
        "-p",
        "0",
        "-w",
        "3",
        "--autoindex",
        "forbid",
    ])
    .unwrap();
    assert_eq!(c.root, PathBuf::from("/srv"));
    assert_eq!(c.addr(), "[::1]:0".parse().unwrap());
    assert_eq!(c.worker_threads(), 3);
    assert_eq!(c.autoindex, Autoindex::Forbid);
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    for bad in [
        "",
        "s",
        "-1s",
        "1h",
        "1.5s",
        "99999999999999999999s",
        "18446744073709551615m",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
    let c = Config::try_parse_from([
        "staticd",
        "--header-timeout",
        "250ms",
        "--max-requests",
        "3",
    ])
    .unwrap();
    assert_eq!(
        (c.header_timeout, c.max_requests),
        (Duration::from_millis(250), 3)
    );
    let d = Config::try_parse_from(["staticd"]).unwrap();
    assert_eq!(d.send_timeout, Duration::from_secs(30));
    assert_eq!(
        (d.max_connections, d.grace_period),
        (10_000, Duration::from_secs(10))
    );
}

#[test]
fn http_options() {
    let c = Config::try_parse_from([
        "staticd",
        "--header",
        "X-Frame-Options: DENY",
        "--header",
        "X-A:b",
        "--cache-control",
        "max-age=60",
        "--charset",
        "utf-8",
        "--precompressed",
        "off",
        "--show-hidden",
    ])
    .unwrap();
    let want = [
        ("X-Frame-Options".to_owned(), "DENY".to_owned()),
        ("X-A".to_owned(), "b".to_owned()),
    ];
    assert_eq!(c.headers, want);
    assert_eq!(
        (c.cache_control.as_deref(), c.charset.as_deref()),
        (Some("max-age=60"), Some("utf-8"))
    );
    assert_eq!((c.precompressed, c.show_hidden), (Switch::Off, true));
    let d = Config::try_parse_from(["staticd"]).unwrap();
    assert_eq!(
        (d.precompressed, d.show_hidden, d.headers.len()),
        (Switch::On, false, 0)
    );
}

#[test]
fn bad_values_are_refused() {
    for args in [
        &["staticd", "--port", "70000"][..],
        &["staticd", "--workers", "0"],
        &["staticd", "--bind", "nowhere"],
        &["staticd", "--autoindex", "maybe"],
        &["staticd", "--bogus"],
        &["staticd", "--keepalive-timeout", "soon"],
        &["staticd", "--max-connections", "0"],
        &["staticd", "--symlinks", "sometimes"],
        &["staticd", "--header", "NoColon"],
        &["staticd", "--header", "Bad Name: x"],
        &["staticd", "--header", "Content-Length: 5"],
        &["staticd", "--header", "X: a\u{1}b"],
        &["staticd", "--charset", "utf 8"],
        &["staticd", "--precompressed", "maybe"],
    ] {
        assert!(Config::try_parse_from(args).is_err(), "{args:?}");
    }
}

#[test]
fn root_must_be_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f");
    std::fs::write(&file, "x").unwrap();
    assert!(canonical_root(dir.path()).is_ok());
    let err = canonical_root(&file).unwrap_err().to_string();
    assert!(err.ends_with("is not a directory"), "{err}");
    let err = canonical_root(&dir.path().join("missing"))
        .unwrap_err()
        .to_string();
    assert!(err.ends_with("No such file or directory"), "{err}");
}
