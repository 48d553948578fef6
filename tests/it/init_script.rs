//! The init script (deploy/init.d/staticd) drives the release binary
//! through its whole life cycle, and passes shellcheck.

use crate::common;

use std::cell::RefCell;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::IO_TIMEOUT;
use common::process::BIN;
use common::tools::{lint_tool, read, repo, text};

/// Whether `pid` exists and is not a zombie. Orphans whose parent never
/// reaps them stay zombies, and `kill -0` still succeeds on those.
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(") ")
        .is_some_and(|(_, rest)| !rest.starts_with('Z'))
}

/// Whether `pid` has a handler for SIGHUP (SigCgt in /proc/PID/status).
fn catches_sighup(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let mask = status.lines().find_map(|l| l.strip_prefix("SigCgt:"));
    let mask = u64::from_str_radix(mask.unwrap_or("0").trim(), 16).unwrap_or(0);
    mask & 1 != 0 // bit 0: signal 1, SIGHUP
}

/// Whether `pid` is alive and runs our binary (not a reused pid).
fn is_ours(pid: u32) -> bool {
    let argv = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    alive(pid) && argv.split(|&b| b == 0).next() == Some(BIN.as_bytes())
}

/// The init script with every setting pointed into a temp dir. Dropping it
/// kills whatever staticd it started, so a failed assertion leaks nothing.
struct Init {
    dir: tempfile::TempDir,
    seen: RefCell<Vec<u32>>,
}

impl Init {
    fn new() -> Init {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("site");
        std::fs::create_dir(&root).expect("mkdir site");
        std::fs::write(root.join("hello.txt"), "hello from init.d\n").expect("write");
        let big = std::fs::File::create(root.join("big.bin")).expect("create");
        big.set_len(64 << 20).expect("a sparse 64 MiB file");
        let path = root.to_str().expect("UTF-8 temp path");
        let blank = path.contains(char::is_whitespace);
        assert!(!blank, "STATICD_ARGS splits {path}");
        let seen = RefCell::new(Vec::new());
        Init { dir, seen }
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.path().join("staticd.pid")
    }

    /// Runs one action; returns its exit code and output.
    fn run(&self, action: &str) -> (i32, String) {
        let dir = self.dir.path();
        let root = dir.join("site");
        let args = format!(
            "--root {} --bind 127.0.0.1 --port 0 --grace-period 1s",
            root.display()
        );
        let out = Command::new("sh")
            .arg(repo("deploy/init.d/staticd"))
            .arg(action)
            .env("STATICD_BIN", BIN)
            .env("STATICD_ARGS", args)
            .env("STATICD_PIDFILE", self.pidfile())
            .env("STATICD_LOGFILE", dir.join("staticd.log"))
            .env("STATICD_DEFAULTS", dir.join("no-defaults"))
            .env("STATICD_USER", "")
            .env("STATICD_STOP_TIMEOUT", "10")
            .stdin(Stdio::null())
            .output()
            .expect("run sh");
        let _ = self.pid(); // remembered for Drop
        (out.status.code().expect("exit code"), text(&out))
    }

    /// Runs `action`, asserting its exit code.
    fn expect(&self, action: &str, code: i32) {
        let (got, out) = self.run(action);
        assert_eq!(got, code, "`{action}` exited {got}, not {code}:\n{out}");
    }

    fn pid(&self) -> Option<u32> {
        let pid = std::fs::read_to_string(self.pidfile())
            .ok()?
            .trim()
            .parse()
            .ok()?;
        self.seen.borrow_mut().push(pid);
        Some(pid)
    }

    /// The address in the log's last "listening on" line.
    fn addr(&self) -> SocketAddr {
        let log = read(&self.dir.path().join("staticd.log"));
        let mut lines = log.lines().rev();
        let line = lines.find_map(|l| l.split_once("listening on http://"));
        let (_, rest) = line.unwrap_or_else(|| panic!("no 'listening on' line in:\n{log}"));
        let addr = rest.split_whitespace().next().unwrap_or_default();
        addr.parse().unwrap_or_else(|e| panic!("{addr}: {e}"))
    }

    /// Waits, within IO_TIMEOUT, until staticd has logged `needle`: the
    /// proof that it handled a signal rather than merely received it.
    fn await_log_line(&self, needle: &str) {
        let log = self.dir.path().join("staticd.log");
        let deadline = std::time::Instant::now() + IO_TIMEOUT;
        while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains(needle)) {
            assert!(
                std::time::Instant::now() < deadline,
                "no {needle:?} in the log"
            );
            std::thread::park_timeout(std::time::Duration::from_millis(10));
        }
    }

    /// Sends `GET path HTTP/1.0`; every socket operation has a timeout.
    fn request(&self, path: &str) -> TcpStream {
        let mut stream = TcpStream::connect_timeout(&self.addr(), IO_TIMEOUT).expect("connect");
        stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let request = format!("GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("send");
        stream
    }

    /// Fetches /hello.txt and checks the answer.
    fn assert_serves(&self) {
        let mut response = Vec::new();
        let mut stream = self.request("/hello.txt");
        stream.read_to_end(&mut response).expect("read response");
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").expect("a complete head");
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        assert_eq!(body, "hello from init.d\n");
    }

    /// Starts downloading /big.bin and stops reading: a request in flight
    /// that keeps staticd busy until its grace period is over.
    fn stalled_download(&self) -> TcpStream {
        let mut stream = self.request("/big.bin");
        let mut start = [0u8; 512];
        let n = stream.read(&mut start).expect("read the head");
        let head = String::from_utf8_lossy(&start[..n]);
        assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
        stream
    }
}

impl Drop for Init {
    fn drop(&mut self) {
        for pid in self.seen.borrow().iter().filter(|&&pid| is_ours(pid)) {
            let _ = Command::new("sh")
                .arg("-c")
                .arg(format!("kill -9 {pid}"))
                .status();
        }
    }
}

#[test]
fn init_script_passes_shellcheck() {
    let Some(tool) = lint_tool("shellcheck", "apt-get install shellcheck") else {
        return;
    };
    let script = repo("deploy/init.d/staticd");
    let out = Command::new(tool).args(["-s", "sh"]).arg(script).output();
    let out = out.expect("run shellcheck");
    assert!(out.status.success(), "shellcheck -s sh:\n{}", text(&out));
}

#[test]
fn init_script_drives_the_release_binary() {
    let init = Init::new();
    init.expect("status", 3);
    init.expect("start", 0);
    // start returns once the log says "listening on": no wait needed.
    let first = init.pid().expect("start wrote the pidfile");
    assert!(is_ours(first), "pid {first} is not a running staticd");
    init.assert_serves();

    init.expect("start", 0);
    assert_eq!(init.pid(), Some(first), "a second start started another");
    init.expect("status", 0);

    // reload: SIGHUP to the same process, which goes on serving. staticd
    // must catch it itself (the script's `trap '' HUP` only ignores it
    // until staticd installs its handler), even with HTTPS off: a SIGHUP
    // that is neither caught nor ignored would end it under systemd.
    assert!(catches_sighup(first), "staticd has no SIGHUP handler");
    init.expect("reload", 0);
    init.await_log_line("SIGHUP: reloaded");
    assert_eq!(init.pid(), Some(first), "reload started another staticd");
    assert!(is_ours(first), "reload stopped staticd");
    init.assert_serves();

    init.expect("restart", 0);
    let second = init.pid().expect("pidfile after restart");
    assert_ne!(second, first);
    assert!(!alive(first), "restart left the old pid {first} running");
    assert!(is_ours(second));
    init.assert_serves();

    // With a download in flight, staticd drains for its 1 s grace period
    // after SIGTERM; stop returns only once the process is gone.
    let _stalled = init.stalled_download();
    let (code, out) = init.run("stop");
    assert_eq!(code, 0, "stop:\n{out}");
    assert!(!out.contains("SIGKILL"), "SIGTERM was not enough:\n{out}");
    assert!(!alive(second), "pid {second} still running after stop");
    assert!(!init.pidfile().exists(), "stop left the pidfile");
    init.expect("status", 3);
    init.expect("stop", 0);
    init.expect("no-such-action", 2);
    init.expect("reload", 7);

    // A stale pidfile: the pid of a process that has exited.
    let mut exited = Command::new("true").spawn().expect("spawn true");
    exited.wait().expect("reap true");
    std::fs::write(init.pidfile(), format!("{}\n", exited.id())).expect("write pidfile");
    init.expect("status", 1);
    init.expect("stop", 0);
    assert!(!init.pidfile().exists(), "stop left the stale pidfile");
}
