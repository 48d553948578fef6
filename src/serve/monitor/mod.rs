//! The monitoring listener (`--metrics-listen`): `GET /metrics` in the
//! Prometheus text format, `/healthz` (the process answers) and `/readyz`
//! (accepting, not shutting down). It is a listener of its own, never the
//! site's, so metrics are not published by accident; its connections are
//! not the site's either: they are not logged, not counted in the metrics,
//! not held against `--max-connections`, and it keeps answering while the
//! site drains at shutdown (`/readyz` then says 503), until the server is
//! finished.
//!
//! - `answer`: which response a request gets;
//! - `gauges`: what a scrape reads from the running server.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::timeout;

use crate::http::date;
use crate::http::request;
use crate::http::response::{Body, Response, encode_head};
use crate::serve::limits::{
    MONITOR_CONNECTIONS, MONITOR_HEADER_TIMEOUT, MONITOR_IDLE_TIMEOUT, READ_BUFFER,
};
use crate::shutdown::Phase;
use gauges::View;

mod answer;
pub(crate) mod gauges;

/// The bound monitoring socket, served once the server runs.
#[derive(Debug)]
pub(crate) struct Monitor {
    listener: std::net::TcpListener,
}

impl Monitor {
    /// Binds `addr` (at start-up, so a port in use stops the start).
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<Monitor> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        Ok(Monitor { listener })
    }

    /// The address bound (the real port when 0 was asked for).
    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Answers until the server is finished, at most
    /// [`MONITOR_CONNECTIONS`] connections at once (more wait in the
    /// backlog).
    pub(crate) async fn serve(self, view: View) {
        let Ok(listener) = TcpListener::from_std(self.listener) else {
            return tracing::error!("the metrics listener cannot be served");
        };
        let view = Arc::new(view);
        let slots = Arc::new(Semaphore::new(MONITOR_CONNECTIONS));
        let mut shutdown = view.shutdown.clone();
        let finished = shutdown.reached(Phase::Finished);
        tokio::pin!(finished);
        loop {
            let accepted = tokio::select! {
                _ = &mut finished => return,
                accepted = accept(&listener, &slots) => accepted,
            };
            if let Some((stream, permit)) = accepted {
                let view = Arc::clone(&view);
                tokio::spawn(async move {
                    let _permit = permit;
                    let _ = connection(stream, &view).await;
                });
            }
        }
    }
}

/// The next connection once a slot is free; `None` after a failed accept
/// (logged), so the loop carries on.
async fn accept(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> Option<(TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let permit = Arc::clone(slots).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => Some((stream, permit)),
        Err(err) => {
            tracing::debug!(error = %err, "metrics listener: accept failed");
            tokio::time::sleep(crate::serve::limits::ACCEPT_BACKOFF).await;
            None
        }
    }
}

/// One monitoring connection: requests answered in turn while the client
/// keeps it alive; a head must arrive whole within
/// [`MONITOR_HEADER_TIMEOUT`], the next start within
/// [`MONITOR_IDLE_TIMEOUT`].
async fn connection(mut stream: TcpStream, view: &View) -> io::Result<()> {
    let mut buf = BytesMut::with_capacity(READ_BUFFER);
    let mut out = Vec::new();
    loop {
        let parsed = match next_head(&mut stream, &mut buf).await? {
            Some(parsed) => parsed,
            None => return Ok(()),
        };
        let (response, head_only, keep_alive) = match parsed {
            Ok(request) => {
                let keep_alive = request.keep_alive && !view.shutdown.is_stopping();
                let head_only = request.method == request::Method::Head;
                (answer::respond(&request, view), head_only, keep_alive)
            }
            Err(err) => (Response::error(err.status()), false, false),
        };
        out.clear();
        date::with_now(|now| encode_head(&response, keep_alive, now, &[], &mut out));
        if let (Body::Bytes(body), false) = (&response.body, head_only) {
            out.extend_from_slice(body);
        }
        stream.write_all(&out).await?;
        if !keep_alive {
            return stream.shutdown().await;
        }
    }
}

/// Reads until a whole head is in `buf` and takes it: `None` when the
/// client closed or stayed idle past the timeout.
async fn next_head(
    stream: &mut TcpStream,
    buf: &mut BytesMut,
) -> io::Result<Option<Result<request::Request, crate::http::error::ParseError>>> {
    let mut wait = MONITOR_IDLE_TIMEOUT;
    loop {
        match request::parse(buf) {
            Ok(Some((request, used))) => {
                buf.advance(used);
                return Ok(Some(Ok(request)));
            }
            Ok(None) => {}
            Err(err) => return Ok(Some(Err(err))),
        }
        let read = timeout(wait, stream.read_buf(buf)).await;
        match read {
            Err(_) if buf.is_empty() => return Ok(None),
            Err(_) => return Ok(Some(Err(crate::http::error::ParseError::TimedOut))),
            Ok(Ok(0)) => return Ok(None),
            Ok(Ok(_)) => wait = MONITOR_HEADER_TIMEOUT,
            Ok(Err(err)) => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    //! The listener's timeouts, on a driven clock: the runtime's paused
    //! time moves on whenever nothing else can happen.

    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio::time::Instant;

    use super::*;
    use crate::serve::connection::tests::live_with;
    use crate::serve::idle::Handoff;
    use crate::serve::pool::Pool;
    use crate::shutdown::Control;

    fn view(root: &std::path::Path, control: &Control) -> View {
        View {
            live: live_with(root, Handoff::new(1).0),
            max_connections: 1,
            pool: Pool::new(1, 1),
            parkings: Arc::from([]),
            shutdown: control.subscribe(),
            started: std::time::SystemTime::now(),
        }
    }

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        (client, listener.accept().await.unwrap().0)
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_is_closed_at_the_idle_timeout_not_before() {
        let (dir, control) = (tempfile::tempdir().unwrap(), Control::new());
        let view = view(dir.path(), &control);
        control.enter(Phase::Running);
        let (mut client, server) = pair().await;
        let started = Instant::now();
        connection(server, &view).await.unwrap();
        let waited = started.elapsed();
        assert!(waited >= MONITOR_IDLE_TIMEOUT, "closed after {waited:?}");
        assert!(waited < MONITOR_IDLE_TIMEOUT + MONITOR_HEADER_TIMEOUT);
        assert_eq!(client.read(&mut [0u8; 16]).await.unwrap(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_not_whole_within_the_header_timeout_gets_408() {
        let (dir, control) = (tempfile::tempdir().unwrap(), Control::new());
        let view = view(dir.path(), &control);
        control.enter(Phase::Running);
        let (mut client, server) = pair().await;
        client
            .write_all(b"GET /metrics HTTP/1.1\r\n")
            .await
            .unwrap();
        let started = Instant::now();
        connection(server, &view).await.unwrap();
        let waited = started.elapsed();
        assert!(
            waited >= MONITOR_HEADER_TIMEOUT && waited < MONITOR_IDLE_TIMEOUT,
            "{waited:?}"
        );
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        assert!(reply.starts_with(b"HTTP/1.1 408 "), "{reply:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn once_shutting_down_every_answer_closes_its_connection() {
        let (dir, control) = (tempfile::tempdir().unwrap(), Control::new());
        let view = view(dir.path(), &control);
        control.enter(Phase::Stopping);
        let (mut client, server) = pair().await;
        client
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        connection(server, &view).await.unwrap();
        let mut reply = Vec::new();
        client.read_to_end(&mut reply).await.unwrap();
        let reply = String::from_utf8(reply).unwrap();
        assert!(reply.starts_with("HTTP/1.1 503 "), "{reply}");
        assert!(reply.contains("Connection: close\r\n"), "{reply}");
        assert!(reply.ends_with("shutting down\n"), "{reply}");
    }
}
