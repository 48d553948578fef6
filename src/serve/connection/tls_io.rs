//! Moving TLS records between rustls and a non-blocking socket. rustls does
//! the protocol in memory; these functions feed it what the socket has,
//! take out the plaintext, and write out the records it queued, waiting for
//! the socket only when the kernel says it would block. Callers bound every
//! wait with the connection's deadlines, as for plain HTTP.

use std::io::{self, IoSlice, Read, Write};

use bytes::BytesMut;
use rustls::ServerConnection;

use crate::serve::limits::READ_BUFFER;
use crate::serve::stream::Stream;

/// The socket as `Read`/`Write` for rustls, never blocking: `WouldBlock`
/// when the kernel has nothing to read or no room, which also clears the
/// runtime's readiness so the next wait is a real one.
struct Socket<'a>(&'a Stream);

impl Read for Socket<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Processes the records rustls has buffered. On a protocol error, the
/// alert rustls queued for it is written to `out` once, without waiting.
fn process(out: &mut impl Write, tls: &mut ServerConnection) -> io::Result<()> {
    match tls.process_new_packets() {
        Ok(_) => Ok(()),
        Err(err) => {
            let _ = tls.write_tls(out);
            Err(io::Error::new(io::ErrorKind::InvalidData, err))
        }
    }
}

/// Feeds `raw` (bytes read from the socket earlier) to rustls and
/// processes them; `out` is the socket, for an alert.
pub(super) fn absorb(
    out: &mut impl Write,
    tls: &mut ServerConnection,
    mut raw: &[u8],
) -> io::Result<()> {
    while !raw.is_empty() {
        if tls.read_tls(&mut raw)? == 0 {
            break;
        }
        process(out, tls)?;
    }
    Ok(())
}

/// [`absorb`] on the runtime's socket.
pub(super) fn absorb_from(
    stream: &Stream,
    tls: &mut ServerConnection,
    raw: &[u8],
) -> io::Result<()> {
    absorb(&mut Socket(stream), tls, raw)
}

/// Moves the plaintext rustls holds into `buf`: how much, or `None` once
/// the client has closed the TLS session (close_notify).
pub(super) fn take_plaintext(
    tls: &mut ServerConnection,
    buf: &mut BytesMut,
) -> io::Result<Option<usize>> {
    let mut taken = 0;
    loop {
        if buf.capacity() - buf.len() < READ_BUFFER / 4 {
            buf.reserve(buf.capacity().max(READ_BUFFER));
        }
        let start = buf.len();
        buf.resize(buf.capacity(), 0);
        let read = tls.reader().read(&mut buf[start..]);
        match read {
            Ok(0) => {
                buf.truncate(start);
                return Ok((taken > 0).then_some(taken));
            }
            Ok(n) => {
                buf.truncate(start + n);
                taken += n;
            }
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {
                buf.truncate(start);
                return Ok(Some(taken));
            }
            Err(err) => {
                buf.truncate(start);
                return Err(err);
            }
        }
    }
}

/// Waits until the client's records yield plaintext, and appends it to
/// `buf`: how much, 0 at the end of the stream or of the TLS session.
pub(super) async fn read_plaintext(
    stream: &Stream,
    tls: &mut ServerConnection,
    buf: &mut BytesMut,
) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        match tls.read_tls(&mut Socket(stream)) {
            Ok(0) => return Ok(0),
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            Err(err) => return Err(err),
        }
        process(&mut Socket(stream), tls)?;
        // A record may ask for an answer (a key update).
        flush(stream, tls).await?;
        match take_plaintext(tls, buf)? {
            None => return Ok(0),
            Some(0) => {}
            Some(n) => return Ok(n),
        }
    }
}

/// Reads raw bytes, for the handshake, once the socket is readable.
pub(super) async fn read_raw(stream: &Stream, buf: &mut BytesMut) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        if buf.capacity() - buf.len() < READ_BUFFER / 4 {
            buf.reserve(buf.capacity().max(READ_BUFFER));
        }
        match stream.try_read_buf(buf) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
            read => return read,
        }
    }
}

/// Writes every record rustls has queued.
pub(super) async fn flush(stream: &Stream, tls: &mut ServerConnection) -> io::Result<()> {
    while tls.wants_write() {
        match tls.write_tls(&mut Socket(stream)) {
            Ok(_) => {}
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => stream.writable().await?,
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Encrypts `parts` (in as few records as they fit) and writes them out.
/// rustls takes plaintext until its outgoing buffer is full; then what it
/// holds is written before it takes more, so memory stays bounded by that
/// buffer whatever the length.
pub(super) async fn send(
    stream: &Stream,
    tls: &mut ServerConnection,
    parts: &[&[u8]],
) -> io::Result<()> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut sent = 0;
    while sent < total {
        let slices = remaining(parts, sent);
        let n = tls.writer().write_vectored(&slices)?;
        sent += n;
        if n == 0 || sent < total {
            flush(stream, tls).await?;
        }
    }
    flush(stream, tls).await
}

/// `parts` after the first `skip` bytes, as slices.
fn remaining<'a>(parts: &[&'a [u8]], mut skip: usize) -> Vec<IoSlice<'a>> {
    let mut out = Vec::with_capacity(parts.len());
    for part in parts {
        if skip >= part.len() {
            skip -= part.len();
            continue;
        }
        out.push(IoSlice::new(&part[skip..]));
        skip = 0;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_skips_whole_and_partial_parts() {
        let parts: [&[u8]; 3] = [b"ab", b"cde", b"f"];
        let left = |skip| -> Vec<u8> {
            remaining(&parts, skip)
                .iter()
                .flat_map(|s| s.to_vec())
                .collect()
        };
        assert_eq!(left(0), b"abcdef");
        assert_eq!(left(2), b"cdef");
        assert_eq!(left(3), b"def");
        assert_eq!(left(6), b"");
    }
}
