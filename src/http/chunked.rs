//! The chunked transfer coding (RFC 9112 §7.1), for bodies whose length is
//! not known when the head is sent (directory archives): the framing of
//! each chunk, the last chunk, and the [`Stream`] body a producer fills.
//! A stream that fails is never given its last chunk, so the client sees
//! an incomplete message, not a complete one that is wrong.

use std::io;

/// The last chunk and the empty trailer section.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Appends one chunk: its size in hex, CRLF, the data, CRLF. An empty
/// `data` appends nothing (an empty chunk would be the last one).
pub(crate) fn push_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Where a producer puts the body's bytes, a piece at a time; an error
/// means the body is no longer wanted (the client went away) and the
/// producer should stop.
pub trait ChunkSink {
    fn send(&mut self, data: Vec<u8>) -> io::Result<()>;
}

/// The work that makes a streamed body, run away from the event loop
/// (it reads files): it returns an error when the body cannot be
/// completed as it should be.
pub(crate) type Produce = Box<dyn FnOnce(&mut dyn ChunkSink) -> io::Result<()> + Send>;

/// A body sent with `Transfer-Encoding: chunked`.
pub struct Stream {
    pub produce: Produce,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stream")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_framed_in_hex_and_empty_ones_left_out() {
        let mut out = Vec::new();
        push_chunk(&mut out, &[b'a'; 26]);
        push_chunk(&mut out, b"");
        push_chunk(&mut out, b"xyz");
        out.extend_from_slice(LAST_CHUNK);
        let mut expected = b"1a\r\n".to_vec();
        expected.extend_from_slice(&[b'a'; 26]);
        expected.extend_from_slice(b"\r\n3\r\nxyz\r\n0\r\n\r\n");
        assert_eq!(out, expected);
    }
}
