//! Basic authentication: `--auth-file`, `--auth-path`,
//! `--auth-realm` over raw TCP. The challenge and its exact fields, the
//! same refusal for a wrong user and a wrong password (bytes and time),
//! the credential cache (seen in the time a request takes), checks off the
//! event loop, protected patterns that dot segments and encodings cannot
//! dodge, credentials kept out of the access log, and the binary's
//! refusals of bad auth files and options.

use crate::common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use common::process::{Process, Stdout, run};
use common::{Reply, Running, basic, connect, fixture, get, htpasswd, read_reply, serve};
use staticd::Config;

/// A running server over the fixture, with an auth file of `users` at
/// `cost` and the other options `args`; the fixture and the file's
/// directory live as long as it.
struct Guarded {
    running: Running,
    _root: tempfile::TempDir,
    _users: tempfile::TempDir,
}

const USERS: &[(&str, &str)] = &[("alice", "wonderland"), ("bob", "builder")];

fn guarded(args: &[&str], cost: u32) -> Guarded {
    let users = tempfile::tempdir().unwrap();
    let file = htpasswd(users.path(), USERS, cost);
    let mut all = vec!["staticd", "--auth-file", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let parsed = Config::try_parse_from(&all).expect("valid test arguments");
    let root = fixture();
    let mut config = Config::for_root(root.path());
    config.auth = parsed.auth;
    config.pages = parsed.pages;
    config.workers = parsed.workers;
    Guarded {
        running: serve(config),
        _root: root,
        _users: users,
    }
}

/// `method target` with `fields` (each ending in CRLF), on a fresh
/// connection.
fn ask(g: &Guarded, method: &str, target: &str, fields: &str) -> Reply {
    let raw = format!("{method} {target} HTTP/1.1\r\nHost: t\r\n{fields}Connection: close\r\n\r\n");
    get(g.running.addr, &raw)
}

fn as_user(user: &str, password: &str) -> String {
    format!("Authorization: {}\r\n", basic(user, password))
}

const CHALLENGE: &str = "Basic realm=\"staticd\", charset=\"UTF-8\"";

#[test]
fn no_credentials_get_the_challenge_and_the_right_ones_the_file() {
    let g = guarded(&[], 4);
    let refused = ask(&g, "GET", "/dir2/page.html", "");
    assert_eq!(
        refused.head_without_date(),
        "HTTP/1.1 401 Unauthorized\r\nServer: staticd/0.1.0\r\nDate: <date>\r\n\
         Content-Type: text/html\r\nWWW-Authenticate: Basic realm=\"staticd\", charset=\"UTF-8\"\r\n\
         Content-Length: 112\r\nConnection: close",
        "exact head"
    );
    assert!(String::from_utf8_lossy(&refused.body).contains("401 Unauthorized"));
    let head = ask(&g, "HEAD", "/dir2/page.html", "");
    assert_eq!(head.head_without_date(), refused.head_without_date());
    assert!(head.body.is_empty());
    for (user, password) in USERS {
        let ok = ask(&g, "GET", "/dir2/page.html", &as_user(user, password));
        assert_eq!(ok.status, 200, "{user}");
        assert_eq!(ok.body, b"<html><body>Page Sample</body></html>\n");
        assert_eq!(ok.header("WWW-Authenticate"), None);
    }
    // Another scheme, or garbage, is no credential at all.
    for fields in [
        "Authorization: Bearer abc\r\n",
        "Authorization: Basic !!!\r\n",
    ] {
        let reply = ask(&g, "GET", "/", fields);
        assert_eq!(reply.status, 401, "{fields}");
        assert_eq!(reply.header("WWW-Authenticate"), Some(CHALLENGE));
    }
}

#[test]
fn a_wrong_user_and_a_wrong_password_get_the_same_bytes() {
    let g = guarded(&["--auth-realm", "Team docs"], 4);
    let wrong_password = ask(&g, "GET", "/index.html", &as_user("alice", "builder"));
    let wrong_user = ask(&g, "GET", "/index.html", &as_user("carol", "wonderland"));
    let missing = ask(&g, "GET", "/no/such/file", &as_user("carol", "x"));
    assert_eq!(wrong_password.status, 401);
    assert_eq!(
        wrong_password.header("WWW-Authenticate"),
        Some("Basic realm=\"Team docs\", charset=\"UTF-8\"")
    );
    for other in [&wrong_user, &missing] {
        assert_eq!(
            other.head_without_date(),
            wrong_password.head_without_date()
        );
        assert_eq!(other.body, wrong_password.body);
    }
}

/// `ask`, and how long it took.
fn ask_timed(g: &Guarded, target: &str, fields: &str) -> (u16, Duration) {
    let started = Instant::now();
    let status = ask(g, "GET", target, fields).status;
    (status, started.elapsed())
}

#[test]
fn a_verified_credential_costs_one_check() {
    // Cost 10: tens of milliseconds a check, against a fraction of one for
    // a request that runs none. (That the cache skips bcrypt, counted, is
    // the auth module's unit test; here it is seen from outside.)
    let g = guarded(&[], 10);
    let alice = as_user("alice", "wonderland");
    let (status, checked) = ask_timed(&g, "/", &alice);
    assert_eq!(status, 200);
    // Later requests, on new connections and on one kept alive, hit the
    // cache.
    for _ in 0..3 {
        let (status, took) = ask_timed(&g, "/a.txt", &alice);
        assert_eq!(status, 200);
        assert!(took < checked / 4, "{took:?}, the check took {checked:?}");
    }
    let mut stream = connect(g.running.addr);
    for _ in 0..5 {
        let raw = format!("GET /a.css HTTP/1.1\r\nHost: t\r\n{alice}\r\n");
        let started = Instant::now();
        stream.write_all(raw.as_bytes()).unwrap();
        assert_eq!(read_reply(&mut stream, false).status, 200);
        let took = started.elapsed();
        assert!(took < checked / 4, "{took:?}, the check took {checked:?}");
    }
    // Refusals are never cached: each wrong guess pays again.
    for _ in 0..3 {
        let (status, took) = ask_timed(&g, "/", &as_user("alice", "guess"));
        assert_eq!(status, 401);
        assert!(took > checked / 4, "{took:?}, the check took {checked:?}");
    }
    assert_eq!(ask(&g, "GET", "/a.txt", &alice).status, 200);
}

#[test]
fn only_auth_paths_are_protected_and_tricks_do_not_dodge_them() {
    let g = guarded(&["--auth-path", "/dir1/**", "--auth-path", "*.txt"], 4);
    for open in [
        "/",
        "/index.html",
        "/dir2/page.html",
        "/a.css",
        "/missing.css",
    ] {
        let reply = ask(&g, "GET", open, "");
        assert_ne!(reply.status, 401, "{open}");
    }
    for closed in [
        "/dir1/dir12/dir123/deep.txt",
        "/dir2/../dir1/dir12/dir123/deep.txt",
        "/dir2/%2e%2e/dir1/dir12/dir123/deep.txt",
        "/%64ir1/dir12/dir123/deep.txt",
        "//dir1//dir12/dir123/deep.txt",
        "/dir1/dir12/./dir123/deep.txt",
        "/dir1",
        "/dir1/",
        "/dir1/missing",
        "/a.txt",
        "/dir2/../a.txt",
        "/space%20in%20name.txt",
        "/dir1/dir12/dir123/deep.txt?x=1",
    ] {
        let reply = ask(&g, "GET", closed, "");
        assert_eq!(reply.status, 401, "{closed}");
    }
    let alice = as_user("alice", "wonderland");
    let deep = ask(&g, "GET", "/dir2/%2e%2e/dir1/dir12/dir123/deep.txt", &alice);
    assert_eq!(
        (deep.status, &deep.body[..]),
        (200, &b"bingo, you found it\n"[..])
    );
    assert_eq!(ask(&g, "GET", "/dir1", &alice).status, 301);
    assert_eq!(ask(&g, "GET", "/dir1/missing", &alice).status, 404);
}

#[test]
fn an_error_page_can_be_the_body_of_the_challenge() {
    let g = guarded(&["--error-page", "401=/dir2/page.html"], 4);
    let reply = ask(&g, "GET", "/index.html", "");
    assert_eq!(reply.status, 401);
    assert_eq!(reply.body, b"<html><body>Page Sample</body></html>\n");
    assert_eq!(reply.header("WWW-Authenticate"), Some(CHALLENGE));
    assert_eq!(reply.header("ETag"), None);
}

/// Milliseconds a request with `fields` takes, on a connection opened
/// beforehand (so the connect is not timed).
fn timed(g: &Guarded, fields: &str) -> f64 {
    let mut stream = connect(g.running.addr);
    let raw = format!("GET /index.html HTTP/1.1\r\nHost: t\r\n{fields}\r\n");
    let started = Instant::now();
    stream.write_all(raw.as_bytes()).unwrap();
    assert_eq!(read_reply(&mut stream, false).status, 401);
    started.elapsed().as_secs_f64() * 1000.0
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

#[test]
fn a_wrong_user_takes_as_long_as_a_wrong_password() {
    // Cost 8: ~15 ms a check, far above the noise of a loopback request.
    let g = guarded(&[], 8);
    let rounds = 15;
    let (mut wrong_user, mut wrong_password, mut anonymous) = (vec![], vec![], vec![]);
    for round in 0..rounds {
        // Alternating, so drift in the machine's speed hits both alike.
        wrong_password.push(timed(&g, &as_user("alice", &format!("guess{round}"))));
        wrong_user.push(timed(&g, &as_user(&format!("nobody{round}"), "guess")));
        anonymous.push(timed(&g, ""));
    }
    let (user, password, none) = (
        median(wrong_user),
        median(wrong_password),
        median(anonymous),
    );
    let ratio = user / password;
    eprintln!("median ms: wrong user {user:.2}, wrong password {password:.2}, none {none:.2}");
    assert!(
        (0.6..1.6).contains(&ratio),
        "a wrong user took {ratio:.2} times as long as a wrong password"
    );
    // The check is what the time is made of: without credentials (no
    // bcrypt) it is much faster, so the comparison above can fail.
    assert!(password > 3.0 * none, "{password:.2} ms vs {none:.2} ms");
}

#[test]
fn a_check_does_not_hold_up_other_requests() {
    // One worker: if bcrypt ran on its event loop, a request arriving
    // meanwhile would wait for the rest of the check. Cost 13 takes about
    // half a second; an open page is asked for again and again until the
    // guess is answered, so some of those requests arrive during the
    // check, and each must be answered at once.
    let g = guarded(&["--auth-path", "/dir1/**", "--workers", "1"], 13);
    let addr = g.running.addr;
    let done = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&done);
    let started = Instant::now();
    let guess = std::thread::spawn(move || {
        let raw = format!(
            "GET /dir1/ HTTP/1.1\r\nHost: t\r\n{}Connection: close\r\n\r\n",
            as_user("alice", "guess")
        );
        let reply = get(addr, &raw);
        flag.store(true, Ordering::SeqCst);
        reply.status
    });
    let mut slowest = Duration::ZERO;
    let mut answered = 0;
    while !done.load(Ordering::SeqCst) {
        let (status, took) = ask_timed(&g, "/index.html", "");
        assert_eq!(status, 200);
        slowest = slowest.max(took);
        answered += 1;
        // A pause between requests, only to keep the access log short.
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    assert_eq!(guess.join().unwrap(), 401);
    eprintln!("{answered} open requests, the slowest {slowest:?}, the check {took:?}");
    assert!(answered >= 2, "only {answered} open requests in {took:?}");
    assert!(
        slowest < took / 4,
        "an open page took {slowest:?} while the check took {took:?}"
    );
}

#[test]
fn credentials_never_reach_the_access_log() {
    let root = fixture();
    let users = tempfile::tempdir().unwrap();
    let file = htpasswd(users.path(), USERS, 4);
    let server = Process::start_with(
        std::process::Command::new(env!("CARGO_BIN_EXE_staticd")),
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--auth-file",
            file.to_str().unwrap(),
            "--log-level",
            "trace",
        ],
        &[],
        Stdout::Lines,
    );
    for (user, password) in [("alice", "wonderland"), ("alice", "s3cr3t-guess")] {
        let field = basic(user, password);
        let raw = format!(
            "GET /a.txt HTTP/1.1\r\nHost: t\r\nAuthorization: {field}\r\nConnection: close\r\n\r\n"
        );
        let reply = get(server.addr, &raw);
        let line = server.access_line();
        assert!(
            line.contains(&format!("\"GET /a.txt HTTP/1.1\" {} ", reply.status)),
            "{line}"
        );
        assert!(line.contains(" - - ["), "no user in the log: {line}");
        for secret in [&field[6..], password, user] {
            assert!(!line.contains(secret), "{secret} in {line}");
        }
    }
}

#[test]
fn bad_auth_files_and_options_stop_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let root = fixture();
    let root = root.path().to_str().unwrap();
    let file = dir.path().join("users");
    let hash = bcrypt::hash("pw", 4).unwrap();
    let refused = |text: Option<&str>, want: &str| {
        match text {
            Some(text) => std::fs::write(&file, text).unwrap(),
            None => {
                let _ = std::fs::remove_file(&file);
            }
        }
        let args = [
            "--root",
            root,
            "--port",
            "0",
            "--auth-file",
            file.to_str().unwrap(),
        ];
        let (code, _, stderr) = run(&args, &[]);
        assert_eq!(code, 1, "{want}: {stderr}");
        let at = format!("auth file {}{want}", file.display());
        assert!(stderr.contains(&at), "{at:?} not in {stderr}");
    };
    refused(Some(&format!("alice:{hash}\nbob\n")), ":2: not 'user:hash'");
    refused(Some("alice:$apr1$x$y\n"), ":1: only bcrypt entries");
    refused(
        Some(&format!("alice:{hash}\nalice:{hash}\n")),
        ":2: user 'alice' is already on line 1",
    );
    refused(Some("# empty\n"), ": has no users");
    refused(None, ": No such file or directory");
    // Options that need a file name the option, and the config file line.
    let (code, _, stderr) = run(&["--root", root, "--auth-path", "/p/**"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--auth-path needs --auth-file"), "{stderr}");
    let conf = dir.path().join("site.conf");
    std::fs::write(&conf, "security-headers on\nauth-realm Staff\n").unwrap();
    let (code, _, stderr) = run(&["--root", root, "--config", conf.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    let at = format!("{}:2: --auth-realm needs --auth-file", conf.display());
    assert!(stderr.contains(&at), "{stderr}");
    let (code, _, stderr) = run(&["--root", root, "--auth-realm", "a\"b"], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--auth-realm"), "{stderr}");
}

#[test]
fn a_file_made_by_apache_htpasswd_is_read() {
    let Some(tool) = common::tools::lint_tool("htpasswd", "apt-get install apache2-utils") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("users");
    // -c creates, -B bcrypt, -C the cost, -b the password on the line.
    for (i, (user, password)) in USERS.iter().enumerate() {
        let create = if i == 0 { "-cbB" } else { "-bB" };
        let out = std::process::Command::new(&tool)
            .args([create, "-C", "5", file.to_str().unwrap(), user, password])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::tools::text(&out));
    }
    assert!(std::fs::read_to_string(&file).unwrap().contains(":$2y$05$"));
    let root = fixture();
    let mut config = Config::for_root(root.path());
    config.auth.auth_file = Some(file);
    let running = serve(config);
    let ask = |fields: &str| {
        let raw = format!("GET /a.txt HTTP/1.1\r\nHost: t\r\n{fields}Connection: close\r\n\r\n");
        get(running.addr, &raw).status
    };
    assert_eq!(ask(&as_user("alice", "wonderland")), 200);
    assert_eq!(ask(&as_user("bob", "builder")), 200);
    assert_eq!(ask(&as_user("bob", "wonderland")), 401);
}
