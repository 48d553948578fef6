//! The HTTP/2 attacks servers keep shipping holes for, sent with frames
//! written by hand against the built binary: rapid reset, CONTINUATION
//! floods, an HPACK bomb, PING, SETTINGS and WINDOW_UPDATE floods from a
//! client that never reads, empty DATA and HEADERS spam, streams past the
//! limit, and a client that never reads its GOAWAY. Each ends only the
//! offending connection: a well-behaved client is served throughout, the
//! server's peak memory stays within a bound, and the metrics count the
//! connection ended by kind.

use crate::common;

use std::io::{ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use common::frames::{self, Frame, frame};
use common::monitored::{Monitored, sample, scrape, start};

/// How much the server's peak resident memory may grow under an attack.
const MEMORY_BOUND_KIB: u64 = 32 * 1024;

/// A server under attack, the memory it had before, and a well-behaved
/// client fetching from it on fresh connections meanwhile.
struct Target {
    m: Monitored,
    _root: tempfile::TempDir,
    rss_before: u64,
    stop: Arc<AtomicBool>,
    good: Option<JoinHandle<usize>>,
}

fn target(args: &[&str]) -> Target {
    let root = common::fixture();
    std::fs::write(root.path().join("ten.txt"), b"0123456789").unwrap();
    std::fs::write(root.path().join("big.bin"), vec![b'x'; 1 << 20]).unwrap();
    let m = start(root.path(), args);
    assert_eq!(frames::fetch(m.site, "/ten.txt"), b"0123456789");
    let rss_before = m.server.proc_status("VmRSS:");
    let stop = Arc::new(AtomicBool::new(false));
    let good = Some(good_client(m.site, Arc::clone(&stop)));
    Target {
        m,
        _root: root,
        rss_before,
        stop,
        good,
    }
}

/// Fetches a small file over and over until told to stop; how many times.
fn good_client(addr: SocketAddr, stop: Arc<AtomicBool>) -> JoinHandle<usize> {
    std::thread::spawn(move || {
        let mut served = 0;
        while !stop.load(Ordering::Relaxed) || served == 0 {
            assert_eq!(frames::fetch(addr, "/ten.txt"), b"0123456789");
            served += 1;
        }
        served
    })
}

impl Target {
    /// Stops the good client (it must have been served) and checks the
    /// memory bound and that the metrics counted one of `kinds`.
    fn survived(&mut self, kinds: &[&str]) {
        self.stop.store(true, Ordering::Relaxed);
        let served = self.good.take().unwrap().join().expect("the good client");
        assert!(served > 0);
        let peak = self.m.server.proc_status("VmHWM:");
        assert!(
            peak < self.rss_before + MEMORY_BOUND_KIB,
            "peak RSS {peak} KiB vs {} KiB before",
            self.rss_before
        );
        if kinds.is_empty() {
            return;
        }
        let text = scrape(self.m.metrics);
        let counted: f64 = kinds
            .iter()
            .map(|kind| {
                sample(
                    &text,
                    &format!("staticd_http2_goaways_total{{kind=\"{kind}\"}}"),
                )
            })
            .sum();
        assert!(counted >= 1.0, "none of {kinds:?} counted:\n{text}");
    }
}

/// A connection past its preface whose frames a thread reads until the
/// server's GOAWAY, so the attack's writes never wait on our reading.
fn attacker(addr: SocketAddr) -> (TcpStream, JoinHandle<Option<Frame>>) {
    let tcp = frames::h2c(addr);
    let mut reader = tcp.try_clone().unwrap();
    (tcp, std::thread::spawn(move || frames::goaway(&mut reader)))
}

/// Writes `frames` until the server stops taking them.
fn flood(tcp: &mut TcpStream, frames: impl Iterator<Item = Vec<u8>>) {
    for bytes in frames {
        if tcp.write_all(&bytes).is_err() {
            return;
        }
    }
}

fn goaway_code(reader: JoinHandle<Option<Frame>>) -> u32 {
    reader.join().unwrap().expect("a GOAWAY").code()
}

#[test]
fn rapid_reset_gets_enhance_your_calm() {
    let mut t = target(&[]);
    let (mut tcp, reader) = attacker(t.m.site);
    flood(
        &mut tcp,
        (0..20_000u32).map(|i| {
            let id = 2 * i + 1;
            let mut bytes = frames::get(id, "/big.bin");
            bytes.extend(frame(
                frames::RST_STREAM,
                0,
                id,
                &frames::CANCEL.to_be_bytes(),
            ));
            bytes
        }),
    );
    assert_eq!(goaway_code(reader), frames::ENHANCE_YOUR_CALM);
    t.survived(&["rapid_reset"]);
}

/// Resets that come once the server has taken each stream and begun to
/// answer it (after its HEADERS), which the crate's own pending-accept
/// limit does not see: our reset surplus ends the connection.
#[test]
fn resets_after_the_answer_began_get_enhance_your_calm() {
    let mut t = target(&[]);
    let mut tcp = frames::h2c(t.m.site);
    let mut code = None;
    for i in 0..2_000u32 {
        let id = 2 * i + 1;
        if tcp.write_all(&frames::get(id, "/big.bin")).is_err() {
            break;
        }
        let f = std::iter::from_fn(|| frames::read_frame(&mut tcp))
            .find(|f| f.kind == frames::GOAWAY || f.kind == frames::HEADERS && f.stream == id);
        match f {
            Some(f) if f.kind == frames::GOAWAY => {
                code = Some(f.code());
                break;
            }
            Some(_) => {}
            None => break,
        }
        let rst = frame(frames::RST_STREAM, 0, id, &frames::CANCEL.to_be_bytes());
        if tcp.write_all(&rst).is_err() {
            break;
        }
    }
    assert_eq!(code, Some(frames::ENHANCE_YOUR_CALM));
    t.survived(&["rapid_reset"]);
}

#[test]
fn a_continuation_flood_gets_goaway_without_buffering_it() {
    let mut t = target(&[]);
    let (mut tcp, reader) = attacker(t.m.site);
    let first = frame(
        frames::HEADERS,
        frames::END_STREAM,
        1,
        &frames::get_block("/"),
    );
    let empty = (0..100_000).map(|_| frame(frames::CONTINUATION, 0, 1, &[]));
    flood(&mut tcp, std::iter::once(first).chain(empty));
    assert_eq!(goaway_code(reader), frames::ENHANCE_YOUR_CALM);
    t.survived(&["continuation"]);
}

/// One header value of 64 MiB sent in CONTINUATION frames: the block is
/// refused at the header list limit, not gathered.
#[test]
fn a_header_block_past_the_limit_is_refused_as_it_arrives() {
    let mut t = target(&[]);
    let (mut tcp, reader) = attacker(t.m.site);
    let mut block = frames::get_block("/");
    block.push(0x00);
    block.extend(frames::integer(0, 7, 6));
    block.extend(b"x-huge");
    block.extend(frames::integer(0, 7, 64 << 20));
    let first = frame(frames::HEADERS, frames::END_STREAM, 1, &block);
    let filler = (0..4096).map(|_| frame(frames::CONTINUATION, 0, 1, &[b'a'; 16 * 1024]));
    flood(&mut tcp, std::iter::once(first).chain(filler));
    let code = goaway_code(reader);
    assert!(
        code == frames::ENHANCE_YOUR_CALM || code == 0x9,
        "{code:#x}"
    );
    t.survived(&["continuation", "header_list", "compression_error"]);
}

/// A few bytes of HPACK that decode to 16 MB of fields: one 4000-byte
/// field put in the dynamic table, then named 4000 times.
#[test]
fn an_hpack_bomb_is_refused_with_memory_flat() {
    let mut t = target(&[]);
    let mut tcp = frames::h2c(t.m.site);
    let mut block = frames::get_block("/ten.txt");
    block.push(0x40);
    block.extend(frames::integer(0, 7, 6));
    block.extend(b"x-bomb");
    block.extend(frames::integer(0, 7, 4000));
    block.extend([b'b'; 4000]);
    block.extend([0xbe; 4000]); // the dynamic table's newest entry
    tcp.write_all(&frame(
        frames::HEADERS,
        frames::END_HEADERS | frames::END_STREAM,
        1,
        &block,
    ))
    .unwrap();
    let answer = std::iter::from_fn(|| frames::read_frame(&mut tcp))
        .find(|f| f.stream == 1 || f.kind == frames::GOAWAY)
        .expect("an answer to the bomb");
    let refused = match answer.kind {
        frames::HEADERS => common::find(&answer.payload, b"431").is_some(),
        frames::RST_STREAM | frames::GOAWAY => answer.code() != 0,
        _ => false,
    };
    assert!(refused, "{answer:?}");
    t.survived(&[]);
}

/// A client that sends frames the server must answer (PING, SETTINGS) or
/// only take in (WINDOW_UPDATE), and never reads: the server stops reading
/// once its answers cannot go out, holds no queue of them, and closes the
/// connection at the idle and send timeouts.
fn flood_from_a_non_reader(one: Vec<u8>) {
    const MOST: usize = 64 << 20;
    let mut t = target(&["--keepalive-timeout", "1", "--send-timeout", "1"]);
    let mut tcp = frames::h2c(t.m.site);
    let burst: Vec<u8> = (0..1024).flat_map(|_| one.iter().copied()).collect();
    let mut written = 0;
    let ended = loop {
        if written >= MOST {
            // Taken in to the end: the server must close it by itself.
            break frames::closed_by_server(&mut tcp);
        }
        if let Err(err) = tcp.write_all(&burst) {
            break Err(err);
        }
        written += burst.len();
    };
    if let Err(err) = ended {
        assert!(
            !matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
            "the server never closed the connection: {err}"
        );
    }
    t.survived(&[]);
}

#[test]
fn a_ping_flood_from_a_client_that_never_reads_is_cut() {
    flood_from_a_non_reader(frame(frames::PING, 0, 0, &[7; 8]));
}

#[test]
fn a_settings_flood_from_a_client_that_never_reads_is_cut() {
    flood_from_a_non_reader(frame(frames::SETTINGS, 0, 0, &[]));
}

#[test]
fn a_window_update_flood_from_a_client_that_never_reads_is_cut() {
    flood_from_a_non_reader(frame(frames::WINDOW_UPDATE, 0, 0, &1u32.to_be_bytes()));
}

#[test]
fn empty_data_frames_get_enhance_your_calm() {
    let mut t = target(&[]);
    let (mut tcp, reader) = attacker(t.m.site);
    let open = frame(
        frames::HEADERS,
        frames::END_HEADERS,
        1,
        &frames::get_block("/ten.txt"),
    );
    let empty = (0..200_000).map(|_| frame(frames::DATA, 0, 1, &[]));
    flood(&mut tcp, std::iter::once(open).chain(empty));
    assert_eq!(goaway_code(reader), frames::ENHANCE_YOUR_CALM);
    t.survived(&["flood"]);
}

/// HEADERS frames that carry no request (an empty block) on stream after
/// stream: each is a stream error, and past the crate's limit of them the
/// connection ends.
#[test]
fn empty_headers_spam_gets_enhance_your_calm() {
    let mut t = target(&[]);
    let (mut tcp, reader) = attacker(t.m.site);
    let spam = (0..20_000u32).map(|i| {
        frame(
            frames::HEADERS,
            frames::END_HEADERS | frames::END_STREAM,
            2 * i + 1,
            &[],
        )
    });
    flood(&mut tcp, spam);
    assert_eq!(goaway_code(reader), frames::ENHANCE_YOUR_CALM);
    t.survived(&["refused_streams", "enhance_your_calm"]);
}

/// Streams past `--http2-max-streams` while the first ones are still open
/// (a 1 MiB answer waits on a window the client never opens) are refused
/// with `REFUSED_STREAM`, and the connection goes on.
#[test]
fn streams_past_the_limit_are_refused() {
    let mut t = target(&["--http2-max-streams", "4"]);
    let mut tcp = frames::h2c(t.m.site);
    for i in 0..10u32 {
        tcp.write_all(&frames::get(2 * i + 1, "/big.bin")).unwrap();
    }
    let refused: Vec<u32> = std::iter::from_fn(|| frames::read_frame(&mut tcp))
        .filter(|f| f.kind == frames::RST_STREAM)
        .inspect(|f| assert_eq!(f.code(), frames::REFUSED_STREAM, "{f:?}"))
        .map(|f| f.stream)
        .take(6)
        .collect();
    assert_eq!(refused, [9, 11, 13, 15, 17, 19]);
    t.survived(&[]);
}

/// A client that never reads its GOAWAY nor answers the PING sent with it
/// is cut at the send timeout after the keep-alive timeout.
#[test]
fn a_connection_whose_goaway_is_never_answered_is_cut() {
    let mut t = target(&["--keepalive-timeout", "1", "--send-timeout", "1"]);
    let mut tcp = frames::h2c(t.m.site);
    tcp.write_all(&frame(frames::SETTINGS, 0x1, 0, &[]))
        .unwrap();
    let goaway = frames::goaway(&mut tcp).expect("the idle GOAWAY");
    assert_eq!(goaway.code(), 0, "NO_ERROR");
    frames::closed_by_server(&mut tcp).expect("the connection cut");
    t.survived(&[]);
    let text = scrape(t.m.metrics);
    assert!(
        sample(&text, "staticd_timeouts_total{kind=\"send\"}") >= 1.0,
        "{text}"
    );
}
