//! Connections moving between workers: only active workers accept, and a
//! connection on a worker that stops being active (or that is asked to
//! shed) carries on from another worker between two requests, with any
//! pipelined bytes it had already sent.

use crate::common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;

use common::{connect, fixture, read_reply};
use staticd::Balance;
use staticd::Config;
use staticd::Pool;

/// A server with two workers whose active count only the test changes.
fn start_two_workers(root: &std::path::Path) -> (SocketAddr, Arc<Pool>) {
    let mut config = Config::for_root(root);
    config.workers = Some(2);
    config.balance = Balance::Spread;
    let running = common::serve(config);
    let pool = Arc::clone(&running.pool);
    (running.detach(), pool)
}

const OK_HEAD: &str = "HTTP/1.1 200 OK";

/// One request on each connection, each answered in full.
fn round(conns: &mut [TcpStream]) {
    for conn in conns.iter_mut() {
        conn.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let reply = read_reply(conn, false);
        assert!(reply.head.starts_with(OK_HEAD), "{}", reply.head);
        assert_eq!(reply.body, b"hello\n");
    }
}

#[test]
fn connections_follow_the_active_workers() {
    let root = fixture();
    std::fs::write(root.path().join("hello.txt"), "hello\n").unwrap();
    let (addr, pool) = start_two_workers(root.path());
    assert_eq!(pool.active(), 2);

    // Only worker 0 accepts.
    pool.set_active(1);
    let mut conns: Vec<TcpStream> = (0..6).map(|_| connect(addr)).collect();
    round(&mut conns);
    assert_eq!(pool.held(), [6, 0]);

    // Worker 1 joins: worker 0 hands over its excess, at each connection's
    // next request boundary. A second round makes sure every move landed.
    pool.set_active(2);
    round(&mut conns);
    round(&mut conns);
    assert_eq!(pool.held(), [3, 3]);

    // Worker 1 leaves, while every connection has a second request
    // already sent: those moving carry it along.
    pool.set_active(1);
    for conn in conns.iter_mut() {
        let two =
            "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
        conn.write_all(two.as_bytes()).unwrap();
        let get = read_reply(conn, false);
        assert_eq!(get.body, b"hello\n");
        let head = read_reply(conn, true);
        assert!(head.head.starts_with(OK_HEAD), "{}", head.head);
        assert_eq!(head.header("content-length"), Some("6"));
    }
    round(&mut conns);
    assert_eq!(pool.held(), [6, 0]);
}

#[test]
fn requests_survive_the_active_count_changing_under_them() {
    let root = fixture();
    std::fs::write(root.path().join("hello.txt"), "hello\n").unwrap();
    let (addr, pool) = start_two_workers(root.path());
    let mut conns: Vec<TcpStream> = (0..12).map(|_| connect(addr)).collect();
    // Three requests per write, so moves happen with requests buffered;
    // the active count flips between writes and reads.
    let three = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n".repeat(3);
    for i in 0..60 {
        for conn in conns.iter_mut() {
            conn.write_all(three.as_bytes()).unwrap();
        }
        pool.set_active(1 + i % 2);
        for conn in conns.iter_mut() {
            for _ in 0..3 {
                let reply = read_reply(conn, false);
                assert!(reply.head.starts_with(OK_HEAD), "{}", reply.head);
                assert_eq!(reply.body, b"hello\n");
            }
        }
    }
    // Once a round has been answered, every move before it has landed.
    round(&mut conns);
    assert_eq!(pool.held().iter().sum::<usize>(), 12);
}

/// The voluntary context switches of every thread of process `pid`.
fn voluntary_switches(pid: u32) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .map(|task| {
            let status = std::fs::read_to_string(task.unwrap().path().join("status"));
            let status = status.unwrap_or_default();
            let line = status
                .lines()
                .find(|l| l.starts_with("voluntary_ctxt_switches:"));
            line.and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0)
        })
        .sum()
}

/// A new connection wakes one of eight workers, not all of them: the
/// process's voluntary context switches per connection, one connection
/// at a time (each a request and its answer, then closed).
#[test]
fn a_new_connection_wakes_one_worker_of_eight() {
    let root = fixture();
    let args = [
        "--root",
        root.path().to_str().unwrap(),
        "--workers",
        "8",
        "--balance",
        "spread",
        "--log-format",
        "off",
    ];
    let server = common::process::Process::start(&args, &[]);
    let get = b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let once = || {
        let mut conn = connect(server.addr);
        conn.write_all(get).unwrap();
        let reply = common::read_to_close(&mut conn);
        assert!(
            reply.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
    };
    for _ in 0..50 {
        once();
    }
    const N: u64 = 1000;
    let before = voluntary_switches(server.child.id());
    for _ in 0..N {
        once();
    }
    let per = (voluntary_switches(server.child.id()) - before) as f64 / N as f64;
    println!("{per:.2} voluntary context switches per connection, 8 workers");
    assert!(per <= 1.5, "{per:.2} per connection");
}
