//! Operating the binary: the access log (formats, destinations, a stalled
//! terminal), diagnostics levels, and configuration files with their
//! precedence.

use crate::common;

use std::io::Write;
use std::process::Command;

use common::process::{BIN, Process, Stdout, run};
use common::{connect, get};

fn send(addr: std::net::SocketAddr, raw: &str) -> common::Reply {
    get(addr, raw)
}

const WITH_HEADERS: &str = "GET /dir2/page.html?x=1 HTTP/1.1\r\nHost: t\r\nReferer: http://ref.example/\r\n\
                            User-Agent: agent/1.0 \"quoted\"\r\nConnection: close\r\n\r\n";

#[test]
fn combined_log_lines_on_stdout_after_each_response() {
    let dir = common::fixture();
    let server = Process::start_with(
        Command::new(BIN),
        &["--root", dir.path().to_str().unwrap()],
        &[],
        Stdout::Lines,
    );
    send(server.addr, WITH_HEADERS);
    let line = server.access_line();
    assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
    let after_date = line.split_once("] ").unwrap().1;
    let (fixed, duration) = after_date.rsplit_once(' ').unwrap();
    assert_eq!(
        fixed,
        "\"GET /dir2/page.html?x=1 HTTP/1.1\" 200 38 \"http://ref.example/\" \"agent/1.0 \\\"quoted\\\"\""
    );
    assert!(duration.parse::<f64>().unwrap() >= 0.0);
    send(server.addr, &common::request("DELETE", "/x"));
    assert!(server.access_line().contains("\"DELETE /x HTTP/1.1\" 405 "));
    send(server.addr, "garbage\r\n\r\n");
    assert!(server.access_line().contains("] \"-\" 400 "));
}

#[test]
fn json_lines_and_files_and_off() {
    let dir = common::fixture();
    let root = dir.path().to_str().unwrap();
    let server = Process::start_with(
        Command::new(BIN),
        &["--root", root, "--log-format", "json"],
        &[],
        Stdout::Lines,
    );
    send(server.addr, WITH_HEADERS);
    let line = server.access_line();
    for field in [
        "\"peer\":\"127.0.0.1:",
        "\"request\":\"GET /dir2/page.html?x=1 HTTP/1.1\"",
        "\"status\":200,\"bytes\":38,",
        "\"referer\":\"http://ref.example/\"",
        "\"user_agent\":\"agent/1.0 \\\"quoted\\\"\"",
        "\"completed\":true}",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }

    let log = dir.path().join("access.log");
    let mut to_file = Process::start(
        &[
            "--root",
            root,
            "--access-log",
            log.to_str().unwrap(),
            "--grace-period",
            "5s",
        ],
        &[],
    );
    send(to_file.addr, &common::request("GET", "/a.txt"));
    send(to_file.addr, &common::request("GET", "/nope"));
    // A graceful stop flushes the log before exiting.
    // SAFETY: signalling our own child.
    assert_eq!(
        unsafe { libc::kill(to_file.child.id() as libc::pid_t, libc::SIGTERM) },
        0
    );
    assert!(to_file.child.wait().unwrap().success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("\"GET /nope HTTP/1.1\" 404 "));

    let mut off = Process::start_with(
        Command::new(BIN),
        &["--root", root, "--log-format", "off"],
        &[],
        Stdout::Lines,
    );
    send(off.addr, &common::request("GET", "/a.txt"));
    off.child.kill().unwrap();
    off.child.wait().unwrap();
    let lines: Vec<String> = off.stdout.take().unwrap().iter().collect();
    assert!(lines.is_empty(), "{lines:?}");
}

#[test]
fn a_stalled_log_reader_never_blocks_requests() {
    let dir = common::fixture();
    let server = Process::start_with(
        Command::new(BIN),
        &[
            "--root",
            dir.path().to_str().unwrap(),
            "-w",
            "1",
            "--max-requests",
            "100000",
        ],
        &[],
        Stdout::Stalled,
    );
    // More lines (at least 60 bytes each) than the buffer
    // (ACCESS_LOG_BUFFER) and the 64 KiB pipe can hold, sent in pipelined
    // batches; every batch must be answered in full.
    let total = staticd::limits::ACCESS_LOG_BUFFER / 60 + 2_000;
    let batch = "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n".repeat(100);
    let mut stream = connect(server.addr);
    let mut buf = vec![0u8; 64 * 1024];
    for _ in 0..total / 100 {
        stream.write_all(batch.as_bytes()).unwrap();
        let mut answered = Vec::new();
        while answered.windows(7).filter(|w| w == b"\r\n\r\ntxt").count() < 100 {
            let n = common::read_some(&mut stream, &mut buf).unwrap();
            assert!(n > 0, "closed");
            answered.extend_from_slice(&buf[..n]);
        }
    }
    assert!(server.line_with("access log too slow").contains("dropped"));
}

#[test]
fn log_level_sets_diagnostics() {
    let dir = common::fixture();
    let root = dir.path().to_str().unwrap();
    let verbose = Process::start(
        &["--root", root, "--log-level", "debug"],
        &[("RUST_LOG", "error")],
    );
    drop(connect(verbose.addr));
    assert!(verbose.line_with("connection ended").contains("DEBUG"));
    let quiet = Process::start(&["--root", root, "--log-level", "warn"], &[]);
    // Lifecycle lines stay; the listening line was read by start().
    assert!(quiet.child.id() > 0);
}

#[test]
fn precedence_is_command_line_then_environment_then_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("httpd.conf");
    std::fs::write(
        &conf,
        "listen 81\nkeepalive-timeout 2s\ncpu_limit 3\ndocument_root /srv/www # the site\n",
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    let (code, out, _) = run(
        &[
            "--config",
            conf,
            "--keepalive-timeout",
            "4s",
            "--print-config",
        ],
        &[("STATICD_PORT", "82"), ("STATICD_KEEPALIVE_TIMEOUT", "3s")],
    );
    assert_eq!(code, 0);
    let line = |name: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap()
            .to_owned()
    };
    assert!(
        line("port").contains(" 82 ") && line("port").ends_with("# environment STATICD_PORT"),
        "{out}"
    );
    assert!(
        line("keepalive-timeout").contains("4s")
            && line("keepalive-timeout").ends_with("# command line")
    );
    assert!(line("workers").contains(" 3 ") && line("workers").ends_with(&format!("# {conf}:3")));
    assert!(line("root").contains("/srv/www") && line("root").ends_with(&format!("# {conf}:4")));
    assert!(line("grace-period").ends_with("# default"));
}

#[test]
fn config_file_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "port 80\nworkers many\n").unwrap();
    let (code, _, err) = run(&["--config", conf.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(&format!(
            "error: config {}:2: invalid value 'many'",
            conf.display()
        )),
        "{err}"
    );
    std::fs::write(&conf, "colour blue\n").unwrap();
    let (_, _, err) = run(&["--config", conf.to_str().unwrap()], &[]);
    assert_eq!(
        err.trim_end(),
        format!("error: config {}:1: unknown key 'colour'", conf.display())
    );
}

#[test]
fn an_assignment_style_config_file_runs_as_is() {
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("httpd.conf");
    let text = format!(
        "cpu_limit 2\nthread_limit 256\ndocument_root {}\n",
        root.path().display()
    );
    std::fs::write(&conf, text).unwrap();
    let server = Process::start(&["--config", conf.to_str().unwrap()], &[]);
    assert_eq!(
        send(server.addr, &common::request("GET", "/text..txt")).body,
        b"hello"
    );
    let threads = std::fs::read_dir(format!("/proc/{}/task", server.child.id()))
        .unwrap()
        .count();
    assert_eq!(
        threads,
        2 + 1,
        "2 workers (main is one) + the access-log writer"
    );
}
