//! Graceful shutdown: stop accepting, close idle connections, finish what
//! is in flight (marked `Connection: close`), and give up after the grace
//! period.

use crate::common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{connect, read_reply, serve};
use staticd::Config;
use staticd::Drained;

const BIG: u64 = 32 << 20;

fn running(grace: Duration) -> (tempfile::TempDir, common::Running) {
    let root = common::fixture();
    std::fs::File::create(root.path().join("big.bin"))
        .unwrap()
        .set_len(BIG)
        .unwrap();
    let mut config = Config::for_root(root.path());
    config.grace_period = grace;
    (root, serve(config))
}

#[test]
fn idle_connections_close_and_in_flight_ones_finish() {
    let (_root, server) = running(Duration::from_secs(10));
    let addr = server.addr;
    let mut idle = connect(addr);
    idle.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_reply(&mut idle, false).header("Connection"),
        Some("keep-alive")
    );

    // A download in flight, with a second request pipelined behind it.
    let mut busy = connect(addr);
    busy.write_all(
        b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\nGET /text..txt HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let head = read_reply(&mut busy, true);
    assert_eq!(head.header("Connection"), Some("keep-alive"));

    let outcome = std::thread::spawn(move || server.shutdown());
    // The idle connection is closed without a response.
    assert!(common::read_to_close(&mut idle).is_empty());

    let mut body = vec![0u8; BIG as usize];
    busy.read_exact(&mut body)
        .expect("the download in flight completes");
    let last = read_reply(&mut busy, false);
    assert_eq!(
        (last.body.as_slice(), last.header("Connection")),
        (&b"hello"[..], Some("close"))
    );
    assert!(common::read_to_close(&mut busy).is_empty());

    assert_eq!(outcome.join().unwrap(), Drained::All);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "still accepting after shutdown"
    );
}

#[test]
fn the_grace_period_bounds_the_wait() {
    let (_root, server) = running(Duration::from_millis(300));
    let mut stalled = connect(server.addr);
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let _ = read_reply(&mut stalled, true); // then never read the body
    assert_eq!(server.shutdown(), Drained::TimedOut { open: 1 });
}
