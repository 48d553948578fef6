//! A connection behind a proxy: the PROXY protocol header read before
//! anything else (`--proxy-protocol`), and the client each request is from
//! (`--trusted-proxy`, see [`crate::serve::proxy`]).
//!
//! The header is read into the connection's read buffer, as the request
//! would have been; what follows it stays there, untouched, and is where
//! the HTTP parser or the TLS handshake starts (the handshake takes its
//! first records from that buffer). A connection without a valid header
//! is closed without a word, as the specification asks: whatever sent it
//! is not the proxy, and an answer would be in a protocol it may not
//! speak. The header must be whole within the header timeout from the
//! accept, however slowly it trickles in.

use std::io;

use bytes::{Buf, BytesMut};
use tokio::time::{Instant, timeout_at};

use super::exchange::Connection;
use crate::http::proxy_protocol::{self, ProxyHeader};
use crate::http::request::Request;
use crate::ops::access_log::Peer;
use crate::ops::metrics::{Counter, Metrics};
use crate::serve::limits::READ_BUFFER;
use crate::serve::stream::Stream;

impl Connection {
    /// Who `request` (none for a refused head) is from: the client a
    /// trusted proxy's fields name, else the peer.
    pub(super) fn client(&self, request: Option<&Request>) -> Peer {
        let fields = request.and_then(|r| r.fields.forwarding.as_deref());
        self.shared.proxies.client(self.peer, fields)
    }
}

/// Reads the PROXY protocol header at the start of the connection, with
/// `buf` holding what was read so far, until `deadline`: what follows the
/// header and the peer it names, or `None` when the connection is to be
/// closed (logged here).
pub(super) async fn receive(
    stream: &Stream,
    mut buf: BytesMut,
    peer: Peer,
    deadline: Instant,
    metrics: &Metrics,
) -> Option<(BytesMut, Peer)> {
    loop {
        match proxy_protocol::parse(&buf) {
            Ok(Some((header, used))) => {
                buf.advance(used);
                return Some((buf, relayed(header, peer)));
            }
            Ok(None) => {}
            Err(err) => {
                tracing::debug!(%peer, error = %err, "connection closed: PROXY protocol");
                return None;
            }
        }
        let ended = match timeout_at(deadline, read_more(stream, &mut buf)).await {
            Ok(Ok(0)) => "closed before its PROXY protocol header".to_owned(),
            Ok(Ok(_)) => continue,
            Ok(Err(err)) => err.to_string(),
            Err(_) => {
                metrics.count(Counter::HeaderTimeouts);
                "no whole PROXY protocol header within the header timeout".to_owned()
            }
        };
        tracing::debug!(%peer, error = %ended, "connection closed: PROXY protocol");
        return None;
    }
}

/// The peer a header names: its client, or the real peer for the proxy's
/// own connections.
fn relayed(header: ProxyHeader, peer: Peer) -> Peer {
    match header {
        ProxyHeader::Client(addr) => addr.into(),
        ProxyHeader::UnixClient => Peer::Unix,
        ProxyHeader::Local => peer,
    }
}

/// Waits for and reads what the client sends next into `buf`: how much,
/// 0 at the end of the stream.
async fn read_more(stream: &Stream, buf: &mut BytesMut) -> io::Result<usize> {
    loop {
        stream.readable().await?;
        buf.reserve(READ_BUFFER);
        match stream.try_read_buf(buf) {
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => continue,
            read => return read,
        }
    }
}
