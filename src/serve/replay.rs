//! One HTTP/2 connection served from bytes in memory, with no socket:
//! the client's bytes go in, the server's come out. The fuzz target
//! `http2_connection` feeds it arbitrary bytes, so what the server wraps
//! around the `h2` crate (the handshake deadline, the stream tasks, the
//! abuse accounting and the GOAWAY read back, the request conversion and
//! its limits, the responses as HEADERS and DATA) meets every input a
//! client could send.
//!
//! It is the same `serve` the listeners hand HTTP/2 connections to, on a
//! configuration built as [`Server::bind`](crate::serve::Server::bind)
//! builds one, on a runtime of its own.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

use super::accept::{Context, context};
use super::connection::http2::io::Prefixed;
use super::connection::http2::{Setup, serve};
use super::options::{Options, StartError};
use crate::ops::access_log::AccessLog;
use crate::ops::metrics::Metrics;
use crate::shutdown::Control;
use crate::site::handler::Site;

/// How much of the client's bytes, and of the server's, the in-memory
/// pipe holds before a writer waits for its reader.
const PIPE: usize = 64 * 1024;

/// A site to serve HTTP/2 connections from memory with.
pub struct Http2Replay {
    runtime: tokio::runtime::Runtime,
    context: Context,
    /// Keeps the shutdown signal the connections watch from firing.
    _control: Control,
}

impl Http2Replay {
    /// The site `options` describe, ready to serve (its root opened, its
    /// pages and auth file read), plain HTTP.
    pub fn new(options: &Options) -> Result<Http2Replay, StartError> {
        let root = super::check::open_root(options)?;
        let metrics = Arc::new(Metrics::new(1, false));
        let site = Site::new(root, &options.site, metrics).map_err(StartError::Auth)?;
        let access_log = AccessLog::open(options.log_format, options.access_log.as_deref())
            .map_err(|e| {
                StartError::AccessLog(options.access_log.clone().unwrap_or_else(|| "-".into()), e)
            })?;
        let control = Control::new();
        let (context, _inboxes) = context(options, site, access_log, None, &control);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartError::Workers)?;
        Ok(Http2Replay {
            runtime,
            context,
            _control: control,
        })
    }

    /// Serves one connection whose client sends `input`, then closes its
    /// side if `then_close`, else waits; returns every byte the server
    /// wrote, in order, once the server has closed the connection. A
    /// waiting client is answered and then let go by the server's own
    /// timeouts (idle, send), so short ones keep each call short.
    pub fn serve(&self, input: &[u8], then_close: bool) -> io::Result<Vec<u8>> {
        self.runtime.block_on(self.exchange(input, then_close))
    }

    async fn exchange(&self, input: &[u8], then_close: bool) -> io::Result<Vec<u8>> {
        let (mut client, server) = tokio::io::duplex(PIPE);
        let permit = Arc::clone(&self.context.slots)
            .acquire_owned()
            .await
            .map_err(io::Error::other)?;
        let shared = self.context.live.current();
        let setup = Setup {
            deadline: Instant::now() + shared.limits.header_timeout,
            shared,
            live: Arc::clone(&self.context.live),
            shutdown: self.context.shutdown.clone(),
            peer: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)).into(),
            https: false,
            ticket: self.context.pool.ticket(0, permit),
        };
        let head = BytesMut::new();
        let server = tokio::spawn(serve(Prefixed { head, io: server }, setup));
        let (mut reader, mut writer) = tokio::io::split(&mut client);
        let send = async {
            // The server may stop reading (it has gone away): what it
            // did not take is not the client's error.
            let _ = writer.write_all(input).await;
            if then_close {
                let _ = writer.shutdown().await;
            }
        };
        let mut output = Vec::new();
        let (read, ()) = tokio::join!(reader.read_to_end(&mut output), send);
        read?;
        server.await.map_err(io::Error::other)?;
        Ok(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GET for `/` (HPACK: `:method GET`, `:scheme http`, `:path /`
    /// from the static table, `:authority a` literal) on stream 1.
    fn get_root() -> Vec<u8> {
        let block = [0x82, 0x86, 0x84, 0x41, 0x01, b'a'];
        let mut bytes = super::super::connection::http2::PREFACE.to_vec();
        bytes.extend_from_slice(&[0, 0, 0, 0x04, 0, 0, 0, 0, 0]); // SETTINGS
        bytes.extend_from_slice(&[0, 0, block.len() as u8, 0x01, 0x05, 0, 0, 0, 1]);
        bytes.extend_from_slice(&block);
        bytes
    }

    /// The frames in `bytes`: (type, flags, stream).
    fn frames(mut bytes: &[u8]) -> Vec<(u8, u8, u32)> {
        let mut frames = Vec::new();
        while bytes.len() >= 9 {
            let len = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
            let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
            frames.push((bytes[3], bytes[4], stream & 0x7fff_ffff));
            bytes = &bytes[9 + len..];
        }
        assert!(bytes.is_empty(), "a frame cut short");
        frames
    }

    #[test]
    fn a_request_in_memory_is_answered_in_frames() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.html"), "hello").unwrap();
        let mut options = Options {
            root: dir.path().to_owned(),
            ..Options::default()
        };
        options.limits.keepalive_timeout = std::time::Duration::from_millis(5);
        options.limits.send_timeout = std::time::Duration::from_millis(5);
        let replay = Http2Replay::new(&options).unwrap();
        let frames = frames(&replay.serve(&get_root(), false).unwrap());
        assert_eq!(frames[0], (0x04, 0, 0), "the server's SETTINGS first");
        assert!(
            frames.contains(&(0x01, 0x04, 1)),
            "HEADERS on stream 1: {frames:?}"
        );
        assert!(
            frames.contains(&(0x00, 0x01, 1)),
            "DATA ending stream 1: {frames:?}"
        );
        assert!(
            frames.contains(&(0x07, 0, 0)),
            "a GOAWAY when idle: {frames:?}"
        );
        let garbage = replay.serve(b"not a preface", true).unwrap();
        assert!(frames_or_nothing(&garbage), "{garbage:?}");
    }

    /// Bytes that are whole frames, or none at all.
    fn frames_or_nothing(bytes: &[u8]) -> bool {
        bytes.is_empty() || !frames(bytes).is_empty()
    }
}
