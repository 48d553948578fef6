//! Time and resource limits, each configured short and gone over.

use crate::common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{connect, parse_all, read_reply, read_to_close, server};

/// Whether the server closes `stream` (EOF or reset) before IO_TIMEOUT.
fn closed_by_server(stream: &mut std::net::TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

#[test]
fn a_dripping_head_is_cut_off_at_the_header_deadline() {
    let srv = server(|c| c.header_timeout = Duration::from_millis(300));
    let mut stream = connect(srv.addr);
    let mut writer = stream.try_clone().unwrap();
    let started = Instant::now();
    // One byte every 20 ms: never idle long, but the head never ends.
    std::thread::spawn(move || {
        let head = b"GET /a.txt HTTP/1.1\r\nHost: t\r\nX-Slow: ";
        for &byte in head.iter().chain(std::iter::repeat_n(&b'a', 250)) {
            if writer.write_all(&[byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20)); // the attack's pace, not synchronisation
        }
    });
    let reply = read_reply(&mut stream, false);
    assert_eq!(
        (reply.status, reply.header("Connection")),
        (408, Some("close"))
    );
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300),
        "cut before the deadline: {waited:?}"
    );
    assert!(
        waited < Duration::from_secs(4),
        "not cut at the deadline: {waited:?}"
    );
}

#[test]
fn a_silent_connection_is_closed() {
    let srv = server(|c| c.header_timeout = Duration::from_millis(200));
    let mut stream = connect(srv.addr);
    assert!(closed_by_server(&mut stream));
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let srv = server(|c| c.keepalive_timeout = Duration::from_millis(200));
    let mut stream = connect(srv.addr);
    stream
        .write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(
        read_reply(&mut stream, false).header("Connection"),
        Some("keep-alive")
    );
    assert!(closed_by_server(&mut stream));
}

#[test]
fn a_client_that_stops_reading_is_dropped() {
    const SIZE: u64 = 64 << 20;
    let srv = server(|c| c.send_timeout = Duration::from_millis(300));
    std::fs::File::create(srv.root.path().join("big.bin"))
        .unwrap()
        .set_len(SIZE)
        .unwrap();
    let mut stream = connect(srv.addr);
    stream
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    // Stop reading for well past the send timeout: this is the behaviour
    // under test, not a synchronisation.
    std::thread::sleep(Duration::from_millis(1500));
    let got = read_to_close(&mut stream);
    assert!(
        (got.len() as u64) < SIZE,
        "the whole file arrived; the stalled send was not cut"
    );
}

#[test]
fn connections_beyond_the_limit_wait_their_turn() {
    let srv = server(|c| c.max_connections = 2);
    let mut held: Vec<_> = (0..2)
        .map(|_| {
            let mut s = connect(srv.addr);
            s.write_all(b"GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n")
                .unwrap();
            assert_eq!(read_reply(&mut s, false).status, 200);
            s
        })
        .collect();
    let mut waiting = connect(srv.addr);
    waiting
        .write_all(b"GET /text..txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    waiting
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = waiting.read(&mut byte);
    assert!(
        early.is_err(),
        "answered while two connections were held: {early:?}"
    );
    held.pop(); // frees a slot
    waiting.set_read_timeout(Some(common::IO_TIMEOUT)).unwrap();
    assert_eq!(read_reply(&mut waiting, false).body, b"hello");
}

#[test]
fn a_connection_serves_at_most_max_requests() {
    let srv = server(|c| c.max_requests = 3);
    let raw = "GET /a.txt HTTP/1.1\r\nHost: t\r\n\r\n".repeat(5);
    let replies = parse_all(&common::exchange(srv.addr, raw.as_bytes()), false);
    let connection: Vec<_> = replies
        .iter()
        .map(|r| r.header("Connection").unwrap())
        .collect();
    assert_eq!(connection, ["keep-alive", "keep-alive", "close"]);
}

#[test]
fn a_pipelining_flood_is_served_in_order() {
    const COUNT: usize = 5_000;
    let srv = server(|_| {});
    let mut stream = connect(srv.addr);
    let mut writer = stream.try_clone().unwrap();
    let flood: String = (0..COUNT)
        .map(|i| {
            let target = if i % 2 == 0 { "/a.txt" } else { "/text..txt" };
            let close = if i == COUNT - 1 {
                "Connection: close\r\n"
            } else {
                ""
            };
            format!("GET {target} HTTP/1.1\r\nHost: t\r\n{close}\r\n")
        })
        .collect();
    let sender = std::thread::spawn(move || writer.write_all(flood.as_bytes()));
    let replies = parse_all(&read_to_close(&mut stream), false);
    sender.join().unwrap().unwrap();
    assert_eq!(replies.len(), COUNT);
    for (i, reply) in replies.iter().enumerate() {
        let expected: &[u8] = if i % 2 == 0 { b"txt" } else { b"hello" };
        assert_eq!(reply.body, expected, "reply {i}");
    }
}
