//! The byte streams the `h2` crate reads and writes: the socket with the
//! bytes already read in front ([`Prefixed`]: the preface read while
//! deciding the protocol, or plaintext decrypted with the handshake), and
//! over TLS the rustls session on the socket ([`TlsIo`]), driven from
//! `poll_*` as the crate wants.

use std::io::{self, IoSlice, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use rustls::ServerConnection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::serve::stream::Stream;

/// `io` with `head` read first.
pub(crate) struct Prefixed<T> {
    pub head: BytesMut,
    pub io: T,
}

impl<T: AsyncRead + Unpin> AsyncRead for Prefixed<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.head.is_empty() {
            let n = self.head.len().min(buf.remaining());
            buf.put_slice(&self.head[..n]);
            self.head.advance(n);
            if self.head.is_empty() {
                // The read buffer's memory goes back now, not with the
                // connection: an idle connection holds only what the
                // crate keeps.
                self.head = BytesMut::new();
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Prefixed<T> {
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// A TLS session after its handshake, on its socket.
pub(crate) struct TlsIo {
    pub stream: Stream,
    pub tls: Box<ServerConnection>,
    /// `close_notify` queued (on shutdown).
    closing: bool,
}

impl TlsIo {
    pub(crate) fn new(stream: Stream, tls: Box<ServerConnection>) -> TlsIo {
        TlsIo {
            stream,
            tls,
            closing: false,
        }
    }

    /// Writes out the records rustls holds; `Pending` until all are out.
    fn poll_records(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            let mut out = Polled {
                stream: &mut self.stream,
                cx,
            };
            match self.tls.write_tls(&mut out) {
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(err) => return Poll::Ready(Err(err)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// The socket as `Read` and `Write` inside a poll: not ready is
/// `WouldBlock`, with the waker registered.
struct Polled<'a, 'b> {
    stream: &'a mut Stream,
    cx: &'a mut Context<'b>,
}

impl Read for Polled<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut buf = ReadBuf::new(buf);
        match Pin::new(&mut *self.stream).poll_read(self.cx, &mut buf) {
            Poll::Ready(Ok(())) => Ok(buf.filled().len()),
            Poll::Ready(Err(err)) => Err(err),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for Polled<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match Pin::new(&mut *self.stream).poll_write(self.cx, buf) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match Pin::new(&mut *self.stream).poll_write_vectored(self.cx, bufs) {
            Poll::Ready(result) => result,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsyncRead for TlsIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match this.tls.reader().read(buf.initialize_unfilled()) {
                Ok(n) => {
                    // 0: the client's close_notify, the end of the stream.
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => {}
                Err(err) => return Poll::Ready(Err(err)),
            }
            // Records rustls wants to send (alerts, key updates) go first;
            // if they cannot go yet, reading still may.
            if let Poll::Ready(Err(err)) = this.poll_records(cx) {
                return Poll::Ready(Err(err));
            }
            let mut from = Polled {
                stream: &mut this.stream,
                cx,
            };
            match this.tls.read_tls(&mut from) {
                Ok(0) => return Poll::Ready(Ok(())),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(err) => return Poll::Ready(Err(err)),
            }
            if let Err(err) = this.tls.process_new_packets() {
                let _ = this.poll_records(cx);
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, err)));
            }
        }
    }
}

/// Plaintext goes into rustls, which makes full records of it and holds
/// them up to its buffer limit (64 KiB by default); they go to the socket,
/// in one vectored write where they can, when that limit is reached or
/// at the flush the crate does after each batch of frames. A 16 KiB DATA
/// frame is then one record, and a batch of frames one system call. A
/// client that does not read makes the writer wait at the limit, not the
/// buffer grow.
impl AsyncWrite for TlsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let wanted: usize = bufs.iter().map(|b| b.len()).sum();
        loop {
            let n = this.tls.writer().write_vectored(bufs)?;
            if n > 0 || wanted == 0 {
                return Poll::Ready(Ok(n));
            }
            // rustls's buffer is full: out with it before taking more.
            ready!(this.poll_records(cx))?;
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        ready!(this.poll_records(cx))?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if !this.closing {
            this.tls.send_close_notify();
            this.closing = true;
        }
        ready!(this.poll_records(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}
