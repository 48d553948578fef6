//! Fuzzes a whole HTTP/2 connection (`staticd::Http2Replay`): arbitrary
//! client bytes against the server's code around the `h2` crate (the
//! handshake deadline, stream tasks, the abuse accounting and the GOAWAY
//! it reads back, request conversion and its limits, responses as HEADERS
//! and DATA), on a small document root with a file larger than a window.
//!
//! The first input byte is flags: bit 0, the client closes its side once
//! its bytes are sent (else it waits for the server to let it go); bit 1,
//! the connection preface and an empty SETTINGS frame go first, so the
//! fuzzer starts past the handshake.
//!
//! Asserted for any input:
//! - nothing panics, and the server closes the connection by itself;
//! - what the server wrote is whole frames, the first its SETTINGS;
//! - HEADERS and DATA go only on streams the client opened (odd, with a
//!   HEADERS frame of its own);
//! - no DATA frame is longer than 16,384 bytes unless the client raised
//!   `SETTINGS_MAX_FRAME_SIZE`, and with no WINDOW_UPDATE and no
//!   `SETTINGS_INITIAL_WINDOW_SIZE` from the client, the DATA sent in all
//!   stays within the connection's first window (65,535 bytes).

#![no_main]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use staticd::{Config, Http2Replay};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FIXTURE_PREFIX: &str = "staticd-fuzz-http2-";
/// RFC 9113 §6.5.2: the initial maximum frame size and window.
const DEFAULT_MAX_FRAME: usize = 16_384;
const DEFAULT_WINDOW: usize = 65_535;
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const WINDOW_UPDATE: u8 = 0x8;

static BASE: OnceLock<PathBuf> = OnceLock::new();
static REPLAY: OnceLock<Http2Replay> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut input = Vec::new();
    if flags & 2 != 0 {
        input.extend_from_slice(PREFACE);
        input.extend_from_slice(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]);
    }
    input.extend_from_slice(rest);
    let replay = REPLAY.get_or_init(build);
    let output = replay
        .serve(&input, flags & 1 != 0)
        .expect("the in-memory connection failed");
    check(&input, &output);
});

/// The server's bytes held against what the client sent.
fn check(input: &[u8], output: &[u8]) {
    let sent = frames(output).unwrap_or_else(|| panic!("a frame cut short: {output:?}"));
    if let Some(first) = sent.first() {
        assert_eq!((first.kind, first.flags, first.stream), (SETTINGS, 0, 0));
    }
    let client = Client::read(input);
    let mut data_sent = 0;
    for frame in &sent {
        if frame.kind != DATA && frame.kind != HEADERS {
            continue;
        }
        assert!(
            client.opened.contains(&frame.stream),
            "{frame:?} on a stream the client did not open ({:?})",
            client.opened
        );
        if frame.kind == DATA {
            data_sent += frame.len;
            if !client.raised_frame_size {
                assert!(frame.len <= DEFAULT_MAX_FRAME, "{frame:?} too long");
            }
        }
    }
    if !client.opened_window {
        assert!(
            data_sent <= DEFAULT_WINDOW,
            "{data_sent} bytes of DATA past the window"
        );
    }
}

#[derive(Debug)]
struct Frame {
    kind: u8,
    flags: u8,
    stream: u32,
    len: usize,
}

/// The frames `bytes` is made of, `None` if the last one is cut short.
fn frames(mut bytes: &[u8]) -> Option<Vec<Frame>> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let (frame, _, rest) = split_frame(bytes)?;
        frames.push(frame);
        bytes = rest;
    }
    Some(frames)
}

fn split_frame(bytes: &[u8]) -> Option<(Frame, &[u8], &[u8])> {
    let head = bytes.get(..9)?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let payload = bytes.get(9..9 + len)?;
    let frame = Frame {
        kind: head[3],
        flags: head[4],
        stream,
        len,
    };
    Some((frame, payload, &bytes[9 + len..]))
}

/// What the client's frames allow the server, as far as they read as
/// frames (a server that gives up at a bad frame reads no further either,
/// so frames read past it only loosen the checks).
#[derive(Default)]
struct Client {
    opened: HashSet<u32>,
    raised_frame_size: bool,
    opened_window: bool,
}

impl Client {
    fn read(input: &[u8]) -> Client {
        let mut client = Client::default();
        let Some(mut bytes) = input.strip_prefix(PREFACE) else {
            return client;
        };
        while let Some((frame, payload, rest)) = split_frame(bytes) {
            match frame.kind {
                HEADERS if frame.stream % 2 == 1 => drop(client.opened.insert(frame.stream)),
                WINDOW_UPDATE => client.opened_window = true,
                SETTINGS => client.settings(payload),
                _ => {}
            }
            bytes = rest;
        }
        client
    }

    fn settings(&mut self, payload: &[u8]) {
        for entry in payload.chunks_exact(6) {
            match u16::from_be_bytes([entry[0], entry[1]]) {
                0x4 => self.opened_window = true,
                0x5 => self.raised_frame_size = true,
                _ => {}
            }
        }
    }
}

/// The server, on a root with a page, a listing and a file larger than
/// the first window; its timeouts short, so a client that waits is let go
/// within milliseconds.
fn build() -> Http2Replay {
    let base = std::env::temp_dir().join(format!("{FIXTURE_PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    write(&base.join("index.html"), b"<p>index</p>\n");
    write(&base.join("dir/a.txt"), b"a\n");
    write(&base.join("big.bin"), &vec![b'x'; 200 * 1024]);
    BASE.set(base.clone()).expect("fixture built twice");
    // SAFETY: registering a plain extern "C" function with no arguments.
    unsafe { libc::atexit(remove_fixture) };
    let mut config = Config::for_root(&base);
    config.header_timeout = Duration::from_millis(5);
    config.keepalive_timeout = Duration::from_millis(2);
    config.send_timeout = Duration::from_millis(2);
    config.autoindex = staticd::Autoindex::On;
    // Nothing to read in a line per stream, and it would halve the rate.
    config.log_format = staticd::LogFormat::Off;
    Http2Replay::new(&config.options()).expect("the fixture serves")
}

extern "C" fn remove_fixture() {
    if let Some(base) = BASE.get() {
        let _ = std::fs::remove_dir_all(base);
    }
}

fn write(path: &Path, bytes: &[u8]) {
    let parent = path.parent().expect("fixture paths have parents");
    std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("mkdir {parent:?}: {e}"));
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
}
