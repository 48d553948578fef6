//! Unit tests for config files. Environment precedence is tested with the
//! binary (tests/operate.rs), since the environment is process-wide.

use super::*;
use std::time::Duration;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn args(list: &[&str]) -> Vec<OsString> {
    std::iter::once("staticd")
        .chain(list.iter().copied())
        .map(OsString::from)
        .collect()
}

#[test]
fn parses_keys_aliases_comments_and_quotes() {
    let text = "# comment\n\ncpu_limit 4   # trailing\nthread_limit 256\ndocument_root /var/www/html\n\
                cache-control \"public, max-age=60\"\nshow_hidden\nheader X-A: b#c\n";
    let settings = parse(text, Path::new("httpd.conf")).unwrap();
    let pairs: Vec<(&str, &str, usize)> = settings
        .iter()
        .map(|s| (s.option.as_str(), s.value.as_str(), s.line))
        .collect();
    assert_eq!(
        pairs,
        [
            ("workers", "4", 3),
            ("max-connections", "256", 4),
            ("root", "/var/www/html", 5),
            ("cache-control", "public, max-age=60", 6),
            ("show-hidden", "", 7),
            ("header", "X-A: b#c", 8),
        ]
    );
}

#[test]
fn unknown_keys_name_the_file_and_line() {
    let err = parse("port 80\nbogus 1\n", Path::new("x.conf")).unwrap_err();
    assert_eq!(err.to_string(), "config x.conf:2: unknown key 'bogus'");
    let err = parse("config other.conf\n", Path::new("x.conf")).unwrap_err();
    assert_eq!(err.to_string(), "config x.conf:1: unknown key 'config'");
}

#[test]
fn the_assignment_style_file_works_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "httpd.conf",
        "cpu_limit 4\nthread_limit 256\ndocument_root /var/www/html\n",
    );
    let loaded = load(args(&["--config", file.to_str().unwrap()])).unwrap();
    let c = &loaded.config;
    assert_eq!((c.worker_threads(), c.max_connections), (4, 256));
    assert_eq!(c.root, PathBuf::from("/var/www/html"));
    let origin = loaded
        .origins
        .iter()
        .find(|(o, _)| o == "max-connections")
        .unwrap();
    assert_eq!(origin.1, Origin::File(file.clone(), 2));
}

#[test]
fn the_command_line_wins_and_later_files_win() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.conf",
        "port 81\nkeepalive-timeout 2s\nheader X-A: 1\nheader X-B: 2\n",
    );
    let b = write(dir.path(), "b.conf", "port 82\n");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let loaded = load(args(&[
        "--config",
        a,
        "--config",
        b,
        "--keepalive-timeout",
        "3s",
    ]))
    .unwrap();
    assert_eq!(loaded.config.port, 82);
    assert_eq!(loaded.config.keepalive_timeout, Duration::from_secs(3));
    assert_eq!(
        loaded.config.headers.len(),
        2,
        "all header lines of the file that sets them"
    );
    let rendered = loaded.render();
    assert!(rendered.contains("# command line"), "{rendered}");
    assert!(
        rendered
            .lines()
            .any(|l| l.starts_with("port ") && l.contains("82") && l.ends_with(":1")),
        "{rendered}"
    );
    assert!(
        rendered
            .lines()
            .any(|l| l.starts_with("bind ") && l.ends_with("# default")),
        "{rendered}"
    );
}

#[test]
fn bad_values_and_missing_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(dir.path(), "bad.conf", "port 80\n\nport eighty\n");
    let err = load(args(&["--config", bad.to_str().unwrap()]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!(
            "config {}:3: invalid value 'eighty'",
            bad.display()
        )),
        "{err}"
    );
    let flag = write(dir.path(), "flag.conf", "show-hidden maybe\n");
    let err = load(args(&["--config", flag.to_str().unwrap()]))
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with(":1: 'maybe' is not on or off for 'show-hidden'"),
        "{err}"
    );
    let missing = dir.path().join("missing.conf");
    let err = load(args(&["--config", missing.to_str().unwrap()]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("config {}: No such file", missing.display())),
        "{err}"
    );
    let ok = load(args(&["--optional-config", missing.to_str().unwrap()])).unwrap();
    assert_eq!(ok.config.port, 8080);
}

#[test]
fn switches_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "f.conf", "show-hidden off\n");
    assert!(
        !load(args(&["--config", file.to_str().unwrap()]))
            .unwrap()
            .config
            .show_hidden
    );
    let file = write(dir.path(), "g.conf", "show-hidden yes\n");
    assert!(
        load(args(&["--config", file.to_str().unwrap()]))
            .unwrap()
            .config
            .show_hidden
    );
}
