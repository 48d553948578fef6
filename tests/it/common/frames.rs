//! HTTP/2 frames written by hand (RFC 9113 §4, §6), for clients that
//! break the rules on purpose: what a well-behaved client library will
//! not send. Header blocks use HPACK's static table and literals only
//! (RFC 7541 §6.1, §6.2).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;

/// Error codes (RFC 9113 §7).
pub const CANCEL: u32 = 0x8;
pub const REFUSED_STREAM: u32 = 0x7;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

/// One frame: the 9-byte header and `payload`.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The client preface and an empty SETTINGS frame.
pub fn preface() -> Vec<u8> {
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out
}

/// An HPACK integer with an `prefix`-bit prefix, `first` holding the
/// pattern bits above it (RFC 7541 §5.1).
pub fn integer(first: u8, prefix: u32, mut value: usize) -> Vec<u8> {
    let max = (1usize << prefix) - 1;
    if value < max {
        return vec![first | value as u8];
    }
    let mut out = vec![first | max as u8];
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
    out
}

/// A literal field without indexing, its name from the static table's
/// `index` (RFC 7541 §6.2.2).
pub fn literal(index: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![index];
    out.extend(integer(0, 7, value.len()));
    out.extend_from_slice(value);
    out
}

/// The header block of `GET path` to localhost over `http`.
pub fn get_block(path: &str) -> Vec<u8> {
    let mut out = vec![0x82, 0x86]; // :method GET, :scheme http
    out.extend(literal(0x04, path.as_bytes())); // :path
    out.extend(literal(0x01, b"localhost")); // :authority
    out
}

/// A HEADERS frame asking for `path` on `stream`, the request complete.
pub fn get(stream: u32, path: &str) -> Vec<u8> {
    frame(HEADERS, END_HEADERS | END_STREAM, stream, &get_block(path))
}

/// A frame as read: its type, flags, stream and payload.
#[derive(Debug)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The error code of a GOAWAY or RST_STREAM.
    pub fn code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }
}

/// The next frame, or `None` once the connection is closed (or reset).
pub fn read_frame(stream: &mut impl Read) -> Option<Frame> {
    let mut head = [0u8; 9];
    stream.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
    let mut payload = vec![0u8; len];
    stream.read_exact(&mut payload).ok()?;
    let id = u32::from_be_bytes(head[5..9].try_into().unwrap()) & 0x7fff_ffff;
    Some(Frame {
        kind: head[3],
        flags: head[4],
        stream: id,
        payload,
    })
}

/// Reads frames until a GOAWAY and returns it; `None` if the connection
/// closed without one.
pub fn goaway(stream: &mut impl Read) -> Option<Frame> {
    std::iter::from_fn(|| read_frame(stream)).find(|f| f.kind == GOAWAY)
}

/// Reads until the server closes the connection: `Err` with what
/// happened instead if it did not close it within the read timeout.
pub fn closed_by_server(stream: &mut impl Read) -> std::io::Result<()> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(err) => return Err(err),
        }
    }
}

/// A plain TCP connection that has sent the preface, with timeouts so a
/// test that waits for the server cannot hang.
pub fn h2c(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp.set_read_timeout(Some(super::IO_TIMEOUT)).unwrap();
    tcp.set_write_timeout(Some(super::IO_TIMEOUT)).unwrap();
    tcp.write_all(&preface()).unwrap();
    tcp
}

/// A well-behaved exchange on a fresh connection: `GET path`, the frames
/// read until its stream ends; the body's bytes.
pub fn fetch(addr: SocketAddr, path: &str) -> Vec<u8> {
    let mut tcp = h2c(addr);
    tcp.write_all(&frame(SETTINGS, 0x1, 0, &[])).unwrap(); // ACK theirs
    tcp.write_all(&get(1, path)).unwrap();
    let mut body = Vec::new();
    loop {
        let f = read_frame(&mut tcp).expect("the stream's frames");
        if f.stream != 1 {
            continue;
        }
        if f.kind == DATA {
            body.extend_from_slice(&f.payload);
        }
        assert!(f.kind != RST_STREAM, "stream reset: {:#x}", f.code());
        if f.flags & END_STREAM != 0 {
            return body;
        }
    }
}
