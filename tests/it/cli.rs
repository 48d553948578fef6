//! The built binary as a person or a script runs it: startup errors, the
//! listening line, worker threads, signals, descriptor exhaustion, and a
//! 3 GiB download that must not grow the server's memory.

use crate::common;

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;
use std::sync::mpsc::channel;

use common::process::{BIN, Process, Stdout, run};

fn assert_clean_failure(args: &[&str], expected: &str) {
    let (code, _, stderr) = run(args, &[]);
    assert_ne!(code, 0, "{args:?} must fail");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(expected), "{args:?}: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
}

#[test]
fn startup_errors_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let root_arg = |root: &'static str| ["--bind", "127.0.0.1", "--port", "0", "--root", root];
    let missing: &'static str = missing.to_str().unwrap().to_owned().leak();
    let file: &'static str = file.to_str().unwrap().to_owned().leak();
    assert_clean_failure(&root_arg(missing), "No such file or directory");
    assert_clean_failure(&root_arg(file), "is not a directory");
    assert_clean_failure(
        &["--port", "http"],
        "invalid value 'http' for '--port <PORT>'",
    );
    assert_clean_failure(&["--autoindex", "sometimes"], "invalid value 'sometimes'");
    assert_clean_failure(&["--workers", "0"], "invalid value '0'");

    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let root = dir.path().to_str().unwrap();
    let (code, _, stderr) = run(
        &["--root", root, "--bind", "127.0.0.1", "--port", &port],
        &[],
    );
    assert_ne!(code, 0);
    assert_eq!(
        stderr.trim_end(),
        format!("error: cannot listen on 127.0.0.1:{port}: Address already in use")
    );
}

/// Runs the binary with HTTPS options `args` and `env` that must be
/// refused before it starts (its root is missing, so even a binary that
/// let them through exits at once): exit 2 and one line, `expected`.
fn assert_https_refused(args: &[&str], env: &[(&str, &str)], expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let mut all = vec!["--root", missing.to_str().unwrap(), "--bind", "127.0.0.1"];
    all.extend_from_slice(args);
    let (code, _, stderr) = run(&all, env);
    assert_eq!(code, 2, "{args:?} {env:?}: {stderr}");
    assert_eq!(stderr, format!("error: {expected}\n"), "{args:?} {env:?}");
}

const CERT: [&str; 2] = ["--tls-cert", "site.crt"];
const KEY: [&str; 2] = ["--tls-key", "site.key"];

#[test]
fn a_certificate_without_its_key_is_refused() {
    assert_https_refused(&CERT, &[], "--tls-cert needs --tls-key");
}

#[test]
fn a_key_without_its_certificate_is_refused() {
    assert_https_refused(&KEY, &[], "--tls-key needs --tls-cert");
}

#[test]
fn unequal_numbers_of_certificates_and_keys_are_refused() {
    let args = [&CERT[..], &KEY, &["--tls-cert", "other.crt"]].concat();
    assert_https_refused(
        &args,
        &[],
        "2 certificates (--tls-cert) but 1 key (--tls-key): give one key per certificate, in the same order",
    );
}

#[test]
fn hsts_without_https_is_refused() {
    assert_https_refused(
        &["--hsts", "600"],
        &[],
        "--hsts needs --tls-cert and --tls-key, or --acme-domain (HTTPS)",
    );
}

#[test]
fn hsts_subdomains_without_https_is_refused() {
    assert_https_refused(
        &["--hsts-subdomains"],
        &[],
        "--hsts-subdomains needs --tls-cert and --tls-key, or --acme-domain (HTTPS)",
    );
}

#[test]
fn redirect_http_without_https_is_refused() {
    assert_https_refused(
        &["--redirect-http", "8081"],
        &[],
        "--redirect-http needs --tls-cert and --tls-key, or --acme-domain (HTTPS)",
    );
}

#[test]
fn redirect_http_on_the_https_port_is_refused() {
    let args = [
        &CERT[..],
        &KEY,
        &["--port", "8443", "--redirect-http", "8443"],
    ]
    .concat();
    assert_https_refused(
        &args,
        &[],
        "--redirect-http and --port are both 8443: the HTTP redirect needs a port of its own",
    );
}

#[test]
fn https_refusals_name_the_variable_or_the_file_line() {
    assert_https_refused(
        &[],
        &[("STATICD_TLS_KEY", "site.key")],
        "environment STATICD_TLS_KEY: --tls-key needs --tls-cert",
    );
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("https.conf");
    std::fs::write(
        &conf,
        "# HTTPS\ntls-cert site.crt\ntls-key site.key\nredirect-http 80\n",
    )
    .unwrap();
    let conf = conf.to_str().unwrap();
    assert_https_refused(
        &["--config", conf, "--port", "80"],
        &[],
        &format!(
            "config {conf}:4: --redirect-http and --port are both 80: the HTTP redirect needs a port of its own"
        ),
    );
}

#[test]
fn https_options_come_from_the_environment_one_per_line() {
    let env = [
        ("STATICD_TLS_CERT", "a.crt\nb.crt"),
        ("STATICD_TLS_KEY", "a.key\nb.key"),
        ("STATICD_HSTS", "31536000"),
        ("STATICD_HSTS_SUBDOMAINS", "true"),
        ("STATICD_REDIRECT_HTTP", "8081"),
    ];
    let (code, out, err) = run(&["--print-config"], &env);
    assert_eq!(code, 0, "{err}");
    // One line per value, as a config file repeats a key.
    let lines = |name: &str| {
        let found = out.lines().filter(|l| l.starts_with(&format!("{name} ")));
        let words = found.map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "));
        words.collect::<Vec<_>>().join("; ")
    };
    let line = |name: &str| lines(name);
    assert_eq!(
        lines("tls-cert"),
        "tls-cert a.crt # environment STATICD_TLS_CERT; tls-cert b.crt # environment STATICD_TLS_CERT"
    );
    assert_eq!(
        lines("tls-key"),
        "tls-key a.key # environment STATICD_TLS_KEY; tls-key b.key # environment STATICD_TLS_KEY"
    );
    assert_eq!(line("hsts"), "hsts 31536000 # environment STATICD_HSTS");
    assert_eq!(
        line("hsts-subdomains"),
        "hsts-subdomains true # environment STATICD_HSTS_SUBDOMAINS"
    );
    assert_eq!(
        line("redirect-http"),
        "redirect-http 8081 # environment STATICD_REDIRECT_HTTP"
    );
}

#[test]
fn options_come_from_the_environment_too() {
    let dir = common::fixture();
    let root = dir.path().to_str().unwrap();
    let server = Process::start(
        &[],
        &[("STATICD_ROOT", root), ("STATICD_AUTOINDEX", "forbid")],
    );
    let reply = common::get(server.addr, &common::request("GET", "/dir1/"));
    assert_eq!(reply.status, 403);
    assert_eq!(
        common::get(server.addr, &common::request("GET", "/a.txt")).body,
        b"txt"
    );
}

#[test]
fn workers_flag_sets_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    for workers in ["1", "3"] {
        let server = Process::start(
            &["--root", dir.path().to_str().unwrap(), "-w", workers],
            &[],
        );
        // The workers (the main thread is the first) and the access-log
        // writer: nothing else runs. Thread names are set by each thread
        // itself, so they are not counted on.
        let tasks = std::fs::read_dir(format!("/proc/{}/task", server.child.id())).unwrap();
        let count = tasks.count() - 1;
        assert_eq!(count.to_string(), workers);
    }
}

#[test]
fn a_3gib_sparse_file_streams_in_bounded_memory() {
    const SIZE: u64 = 3 << 30;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    common::sparse_file(&path, SIZE);

    let server = Process::start(&["--root", dir.path().to_str().unwrap(), "-w", "1"], &[]);
    let rss_before = server.proc_status("VmRSS:");
    let mut stream = common::connect(server.addr);
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let reply = common::read_reply(&mut stream, true);
    assert_eq!(reply.header("Content-Length"), Some("3221225472"));
    let (total, tail) = common::count_to_end(&mut stream);
    assert_eq!(total, SIZE);
    assert_eq!(tail, common::SPARSE_END);
    let peak_kib = server.proc_status("VmHWM:");
    assert!(
        peak_kib < rss_before + 32 * 1024,
        "peak RSS {peak_kib} KiB after streaming vs {rss_before} KiB before"
    );
}

#[test]
fn sigterm_and_sigint_stop_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let mut server = Process::start(&["--root", dir.path().to_str().unwrap()], &[]);
        self::signal(&server, signal);
        let status = wait_exit(&mut server);
        assert!(status.success(), "signal {signal}: {status:?}");
        assert!(server.line_with("stopping").contains("stopping on signal"));
    }
}

/// CPU time (user + system) the process has used, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn running_out_of_descriptors_neither_spins_nor_stops_accepting() {
    use std::os::unix::process::CommandExt;
    let dir = common::fixture();
    let mut command = Command::new(BIN);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 48,
                rlim_max: 48,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    let args = ["--root", dir.path().to_str().unwrap(), "-w", "1"];
    let server = Process::start_with(command, &args, &[], Stdout::Null);
    let clients: Vec<_> = (0..80).map(|_| common::connect(server.addr)).collect();
    assert!(
        server
            .line_with("accept failed")
            .contains("Too many open files")
    );
    let before = cpu_ticks(server.child.id());
    // An observation window, not a synchronisation: a spinning accept loop
    // would burn the whole second.
    std::thread::sleep(std::time::Duration::from_secs(1));
    let used = cpu_ticks(server.child.id()) - before;
    assert!(
        used < 30,
        "{used} ticks of CPU in 1 s while out of descriptors"
    );
    drop(clients);
    let reply = common::get(server.addr, &common::request("GET", "/a.txt"));
    assert_eq!(reply.body, b"txt", "serves again once descriptors are free");
}

#[test]
fn sigterm_lets_a_download_finish_and_a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::File::create(dir.path().join("big.bin"))
        .unwrap()
        .set_len(32 << 20)
        .unwrap();
    let root = dir.path().to_str().unwrap();
    // First signal: the download in flight completes, then exit 0.
    let mut server = Process::start(&["--root", root], &[]);
    let mut stream = common::connect(server.addr);
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let head = common::read_reply(&mut stream, true);
    assert_eq!(head.header("Content-Length"), Some("33554432"));
    signal(&server, libc::SIGTERM);
    server.line_with("stopping on signal");
    let body = common::read_to_close(&mut stream);
    assert_eq!(body.len(), 32 << 20);
    assert!(wait_exit(&mut server).success());

    // Second signal: a stalled download is abandoned at once, long before
    // the grace period.
    let mut server = Process::start(&["--root", root, "--grace-period", "60s"], &[]);
    let mut stalled = common::connect(server.addr);
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let _ = common::read_reply(&mut stalled, true);
    signal(&server, libc::SIGTERM);
    server.line_with("stopping on signal");
    signal(&server, libc::SIGINT);
    assert_eq!(wait_exit(&mut server).code(), Some(1));
}

fn signal(server: &Process, signal: libc::c_int) {
    // SAFETY: signalling our own child process.
    assert_eq!(
        unsafe { libc::kill(server.child.id() as libc::pid_t, signal) },
        0
    );
}

/// Waits for the process to exit, at most IO_TIMEOUT.
fn wait_exit(server: &mut Process) -> std::process::ExitStatus {
    let (tx, rx) = channel();
    let mut child = std::mem::replace(&mut server.child, Command::new("true").spawn().unwrap());
    std::thread::spawn(move || tx.send(child.wait()));
    rx.recv_timeout(common::IO_TIMEOUT)
        .expect("exited in time")
        .unwrap()
}
