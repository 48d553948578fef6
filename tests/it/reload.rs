//! SIGHUP reloads the whole configuration in place, through the built
//! binary started with a config file as an operator runs it: settings
//! change from the next request on (on connections kept alive too), a
//! reload that fails changes nothing, socket settings are named and left,
//! a storm of reloads under load never cuts or mixes a response; SIGUSR1
//! reopens the access log, and `logrotate` rotating it under load loses
//! and duplicates no line.

use crate::common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::process::Started;
use common::tools::lint_tool;
use common::{get, read_reply, request};

/// Two roots with different `x.txt`, and the config file naming one.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        for (root, body) in [("a", "A".repeat(300)), ("b", "B".repeat(7000))] {
            std::fs::create_dir(dir.path().join(root)).unwrap();
            std::fs::write(dir.path().join(root).join("x.txt"), body).unwrap();
        }
        Site { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes the config file: `root` and `extra` lines, on 127.0.0.1:0.
    fn configure(&self, root: &str, extra: &str) {
        let text = format!(
            "bind 127.0.0.1\nport 0\nroot {}\n{extra}",
            self.path(root).display()
        );
        // Whole or not at all, as an editor that renames does: a reload
        // may read the file at any moment.
        std::fs::write(self.path("staticd.conf.new"), text).unwrap();
        std::fs::rename(self.path("staticd.conf.new"), self.path("staticd.conf")).unwrap();
    }

    fn start(&self) -> (Started, SocketAddr) {
        let conf = self.path("staticd.conf");
        let server = Started::new(&["--config", conf.to_str().unwrap()], &[]);
        let addr = SocketAddr::from(([127, 0, 0, 1], server.port()));
        (server, addr)
    }
}

fn hangup(server: &Started) {
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(server.child.id() as libc::pid_t, libc::SIGHUP) };
}

/// Which root's `x.txt` a body is, by its first byte and length.
fn which(body: &[u8]) -> (u8, usize) {
    (body.first().copied().unwrap_or(0), body.len())
}

fn keep_alive_get(conn: &mut TcpStream, target: &str) -> common::Reply {
    let raw = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    conn.write_all(raw.as_bytes()).unwrap();
    read_reply(conn, false)
}

#[test]
fn a_reload_applies_from_the_next_request_and_names_what_needs_a_restart() {
    let site = Site::new();
    site.configure("a", "header X-Old: 1\n");
    let (server, addr) = site.start();
    let mut kept = common::connect(addr);
    assert_eq!(
        keep_alive_get(&mut kept, "/x.txt").body,
        "A".repeat(300).as_bytes()
    );

    let extra = "header X-New: 2\nautoindex on\nworkers 3\ncache-control max-age=5\n";
    site.configure("b", extra);
    hangup(&server);
    let line = server.line_with("SIGHUP:");
    assert!(
        line.contains("reloaded, changed: root, autoindex, cache-control, header; needs a restart, left as it was: workers"),
        "{line}"
    );
    // The connection kept alive takes the new configuration, caches and all.
    let reply = keep_alive_get(&mut kept, "/x.txt");
    assert_eq!(which(&reply.body), (b'B', 7000));
    assert_eq!(reply.header("X-New"), Some("2"));
    assert_eq!(reply.header("X-Old"), None);
    assert_eq!(reply.header("Cache-Control"), Some("max-age=5"));
    assert_eq!(get(addr, &request("GET", "/")).status, 200, "autoindex on");
}

#[test]
fn a_reload_that_fails_changes_nothing_and_says_where() {
    let site = Site::new();
    site.configure("a", "");
    let (server, addr) = site.start();
    let conf = site.path("staticd.conf").display().to_string();
    for (root, extra, said) in [
        ("a", "autoindex maybe\n", format!("{conf}:4")),
        ("gone", "", "document root".to_owned()),
        (
            "b",
            "auth-file /nonexistent/users\n",
            "/nonexistent/users".to_owned(),
        ),
    ] {
        site.configure(root, extra);
        hangup(&server);
        let line = server.line_with("SIGHUP:");
        assert!(
            line.contains("reload refused, the configuration in force stays"),
            "{line}"
        );
        assert!(line.contains(&said), "{said}: {line}");
        let reply = get(addr, &request("GET", "/x.txt"));
        assert_eq!(which(&reply.body), (b'A', 300), "{line}");
    }
}

#[test]
fn a_storm_of_reloads_under_load_never_cuts_or_mixes_a_response() {
    let site = Site::new();
    site.configure("a", "");
    let (server, addr) = site.start();
    let stop = Arc::new(AtomicBool::new(false));
    let clients = load(addr, &stop);
    for round in 0..60 {
        site.configure(if round % 2 == 0 { "b" } else { "a" }, "");
        hangup(&server);
        server.line_with("SIGHUP: reloaded");
    }
    let total = finish(&stop, clients);
    assert!(total > 60, "{total} requests");
    // The last configuration (root a) is in force on a new connection.
    assert_eq!(
        which(&get(addr, &request("GET", "/x.txt")).body),
        (b'A', 300)
    );
}

/// Three clients asking for `/x.txt` on connections kept alive until
/// `stop`, each checking that every response is complete and one root's.
fn load(addr: SocketAddr, stop: &Arc<AtomicBool>) -> Vec<std::thread::JoinHandle<[usize; 2]>> {
    let (a, b) = ("A".repeat(300).into_bytes(), "B".repeat(7000).into_bytes());
    (0..3)
        .map(|_| {
            let (stop, a, b) = (Arc::clone(stop), a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut conn = common::connect(addr);
                let mut seen = [0usize; 2];
                while !stop.load(Ordering::Relaxed) {
                    let reply = keep_alive_get(&mut conn, "/x.txt");
                    assert_eq!(reply.status, 200);
                    let length: usize = reply.header("Content-Length").unwrap().parse().unwrap();
                    assert_eq!(length, reply.body.len(), "a complete body");
                    assert!(
                        reply.body == a || reply.body == b,
                        "one configuration's file"
                    );
                    seen[usize::from(reply.body == b)] += 1;
                    // --max-requests ends a connection now and then.
                    if reply.header("Connection") == Some("close") {
                        conn = common::connect(addr);
                    }
                }
                seen
            })
        })
        .collect()
}

/// Stops the clients of [`load`]: how many requests they made, having
/// seen both roots.
fn finish(stop: &AtomicBool, clients: Vec<std::thread::JoinHandle<[usize; 2]>>) -> usize {
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<[usize; 2]> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(
        seen.iter().any(|s| s[0] > 0) && seen.iter().any(|s| s[1] > 0),
        "{seen:?}"
    );
    seen.iter().map(|s| s[0] + s[1]).sum()
}

/// Resident memory of `server`, in KiB.
fn resident_kib(server: &Started) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Sends SIGHUP `n` times at 50 a second, switching the root each time,
/// without waiting for any reload to finish; then one more that also sets
/// `key` (to `value`), which none of the others set, and waits until a
/// reload has put that in force.
fn hangups_at_fifty_a_second(site: &Site, server: &Started, n: usize, key: &str, value: &str) {
    let pace = std::time::Duration::from_millis(20);
    let mut next = std::time::Instant::now();
    for round in 0..n {
        site.configure(if round % 2 == 0 { "b" } else { "a" }, "");
        hangup(server);
        // Pacing the signals, not waiting for the server.
        next += pace;
        std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
    }
    site.configure("a", &format!("{key} {value}\n"));
    hangup(server);
    loop {
        let line = server.line_with("SIGHUP:");
        assert!(!line.contains("refused"), "{line}");
        let changed = line.split("changed: ").nth(1).unwrap_or_default();
        if changed.split([',', ';']).any(|k| k.trim() == key) {
            return;
        }
    }
}

#[test]
fn fifty_hangups_a_second_under_load_neither_leak_memory_nor_drop_a_request() {
    let site = Site::new();
    site.configure("a", "");
    let (server, addr) = site.start();
    let stop = Arc::new(AtomicBool::new(false));
    let clients = load(addr, &stop);
    // Warm up: the allocator's arenas and the caches take their size.
    hangups_at_fifty_a_second(&site, &server, 50, "cache-control", "max-age=1");
    let before = resident_kib(&server);
    hangups_at_fifty_a_second(&site, &server, 250, "charset", "utf-8");
    let after = resident_kib(&server);
    let total = finish(&stop, clients);
    assert!(total > 300, "{total} requests");
    // A reload that leaked its site (root, caches, rules) would add up
    // over 250 reloads; the allocator's own slack stays under this.
    assert!(
        after < before + 1024,
        "resident memory grew from {before} KiB to {after} KiB over 250 reloads"
    );
    let reply = get(addr, &request("GET", "/x.txt"));
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
}

/// Lines of `path`, none if it does not exist.
fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines().map(str::to_owned).collect()
}

#[test]
fn logrotate_under_load_loses_and_duplicates_no_line() {
    let Some(logrotate) = lint_tool("logrotate", "apt-get install logrotate") else {
        return;
    };
    let site = Site::new();
    let log = site.path("access.log");
    site.configure("a", &format!("access-log {}\n", log.display()));
    let (mut server, addr) = site.start();
    // The rules deploy/ ships, with this test's file and process, and
    // without notifempty: the writer flushes every 100 ms, so the file a
    // rotation just made may still be empty when the next one runs.
    let shipped = common::tools::read(&common::tools::repo("deploy/logrotate/staticd"));
    assert!(shipped.contains("    notifempty\n"));
    let shipped = shipped.replace("    notifempty\n", "");
    let kill = format!("kill -USR1 {}", server.child.id());
    let rules_text = shipped
        .replace("/var/log/staticd/access.log", log.to_str().unwrap())
        .replace(
            "systemctl kill -s USR1 --kill-whom=main staticd.service 2>/dev/null || true",
            &kill,
        );
    assert!(rules_text.contains(&kill), "the postrotate line changed");
    let rules = site.path("logrotate.conf");
    std::fs::write(&rules, rules_text).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut conn = common::connect(addr);
            let mut sent = 0;
            while !stop.load(Ordering::Relaxed) || sent < 200 {
                assert_eq!(
                    keep_alive_get(&mut conn, &format!("/x.txt?n={sent}")).status,
                    200
                );
                sent += 1;
            }
            sent
        })
    };
    for _ in 0..2 {
        let state = site.path("logrotate.state");
        let out = std::process::Command::new(&logrotate)
            .args(["--force", "--state"])
            .arg(&state)
            .arg(&rules)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::tools::text(&out));
        server.line_with("SIGUSR1: access log reopened");
    }
    stop.store(true, Ordering::Relaxed);
    let sent = load.join().unwrap();
    server.stop();
    // delaycompress: the older rotated file is gzipped, the newer is not.
    let gz = site.path("access.log.2.gz");
    let unzipped = std::process::Command::new("gzip")
        .arg("-d")
        .arg(&gz)
        .status()
        .unwrap();
    assert!(unzipped.success(), "{} is gzip", gz.display());
    let rotated = [site.path("access.log.2"), site.path("access.log.1"), log];
    let mut numbers: Vec<usize> = rotated
        .iter()
        .flat_map(|p| lines(p))
        .map(|line| {
            let n = line.split("?n=").nth(1).expect("a request line");
            n.split(' ').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(
        rotated.iter().all(|p| !lines(p).is_empty()),
        "every file holds lines"
    );
    numbers.sort_unstable();
    assert_eq!(numbers, (0..sent).collect::<Vec<_>>(), "each request once");
}
