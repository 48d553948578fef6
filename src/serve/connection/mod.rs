//! One client connection: bytes in, requests out, responses written, and
//! the keep-alive decision. Every wait here has a deadline: a head must
//! arrive within the header timeout, an idle connection is closed after the
//! keep-alive timeout, and a client that stops reading is dropped after the
//! send timeout.
//!
//! The connection asks the site for each response and writes only what it
//! is given: a head, bytes, or a range of an open file. Between requests
//! it may become an [`Idle`](crate::serve::idle::Idle): parked in its
//! worker's table or handed to another worker.
//!
//! - `worker`: what a connection gets from its worker;
//! - `exchange`: the request–response loop, and turning a connection into
//!   an idle one and back;
//! - `http2`: a connection that speaks HTTP/2 (by ALPN, or the preface
//!   on a plain port), handed over from `exchange` before its first request;
//! - `answer`: asking the site (or the HTTPS redirect), with credential
//!   checks and compressions on their pools;
//! - `write`, `drain`: writing responses, reading what will not be used;
//! - `stream`: writing a chunked body as its producer makes it
//!   (`produce`: the producer's thread and channel);
//! - `secure`, `tls_io`: the same over TLS, and moving records between
//!   rustls and the socket;
//! - `task`: where a connection's task starts and ends;
//! - `record`: a request's count in the metrics and its access-log line;
//! - `proxied`: the PROXY protocol header before anything else, and the
//!   client a request is from behind a trusted proxy.

mod answer;
mod drain;
mod exchange;
pub(crate) mod http2;
mod produce;
mod proxied;
mod record;
mod secure;
mod stream;
mod task;
mod tls_io;
mod worker;
mod write;

pub(crate) use task::{Role, arrive, serve, wake};
pub(crate) use worker::{Shared, Worker};

#[cfg(test)]
pub(crate) mod tests {
    //! Unit tests for the connection module, and what other modules'
    //! tests need to serve connections.

    use std::sync::Arc;

    use super::{Shared, Worker};
    use crate::serve::idle::Handoff;
    use crate::serve::live::Live;
    use crate::serve::options::Limits;
    use crate::serve::pool::Pool;

    /// What connections share, for a plain site serving `root`, with
    /// inboxes for `handoff`, as the configuration in force.
    pub(crate) fn live_with(root: &std::path::Path, handoff: Handoff) -> Arc<Live<Shared>> {
        let options = crate::site::Options::default();
        let root =
            crate::site::root::Root::open(root, crate::site::root::Symlinks::Inside).unwrap();
        Live::new(Shared {
            generation: 0,
            site: crate::site::Site::new(root, &options, Default::default()).unwrap(),
            limits: Limits::default(),
            grace_period: std::time::Duration::from_secs(1),
            extra_headers: Vec::new(),
            https_headers: Vec::new(),
            tls: None,
            access_log: Arc::new(
                crate::ops::access_log::AccessLog::open(
                    crate::ops::access_log::LogFormat::Off,
                    None,
                )
                .unwrap(),
            ),
            handoff: Arc::new(handoff),
            verifier: Arc::new(crate::serve::offload::Offload::new(1, 1)),
            compressor: Arc::new(crate::serve::offload::Offload::new(1, 1)),
            proxies: crate::serve::proxy::Proxies::default(),
            metrics: Arc::default(),
            http2: crate::serve::options::Http2Options::default(),
        })
    }

    /// Every connection's task is as large as its largest waiting state; an
    /// idle keep-alive connection must stay cheap (the writing states are
    /// boxed), so this guards against an await growing it again.
    #[tokio::test]
    async fn a_connection_task_stays_small() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let live = live_with(dir.path(), Handoff::new(1).0);
        let control = crate::shutdown::Control::new();
        let permit = Arc::new(tokio::sync::Semaphore::new(1))
            .acquire_owned()
            .await
            .unwrap();
        let ticket = Pool::new(1, 1).ticket(0, permit);
        let task = super::serve(
            crate::serve::stream::Stream::Tcp(stream),
            peer.into(),
            ticket,
            Worker {
                shared: live.current(),
                live,
                shutdown: control.subscribe(),
                parking: None,
            },
            super::Role::Site,
        );
        let size = std::mem::size_of_val(&task);
        assert!(size <= 2048, "a connection task takes {size} bytes");
    }
}
