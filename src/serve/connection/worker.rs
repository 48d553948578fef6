//! What a connection gets from the worker serving it, and what all
//! connections share.

use std::sync::Arc;

use crate::ops::access_log::AccessLog;
use crate::ops::metrics::Metrics;
use crate::serve::idle::Handoff;
use crate::serve::live::{Generation, Live};
use crate::serve::offload::Offload;
use crate::serve::options::{Http2Options, Limits};
use crate::serve::parking::Parking;
use crate::serve::proxy::Proxies;
use crate::serve::tls::Acceptor;
use crate::shutdown::Shutdown;
use crate::site::handler::Site;

/// What all connections share, on every worker: one configuration,
/// replaced whole by a reload (see [`crate::serve::live`]); the pools and
/// inboxes in it are the server's own and carried over.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Which configuration this is: 0 at start, one more per reload.
    pub generation: u64,
    pub site: Site,
    pub limits: Limits,
    /// At shutdown, how long requests in flight may take to finish.
    pub grace_period: std::time::Duration,
    /// `--header` fields, added to every response.
    pub extra_headers: Vec<(String, String)>,
    /// What responses over HTTPS add: the `--header` fields and, under
    /// `--hsts`, `Strict-Transport-Security`, which a plain-HTTP response
    /// must never carry (RFC 6797 §7.2).
    pub https_headers: Vec<(String, String)>,
    /// The main listener's TLS configuration, when it speaks HTTPS.
    pub tls: Option<Arc<Acceptor>>,
    /// Kept across a reload that names the same file and format.
    pub access_log: Arc<AccessLog>,
    /// The workers' inboxes, for a connection moving to another worker.
    pub handoff: Arc<Handoff>,
    /// Where credential checks run.
    pub verifier: Arc<Offload>,
    /// Where compressions run (see `crate::site::compress`).
    pub compressor: Arc<Offload>,
    /// Who the client is behind a proxy (see `crate::serve::proxy`).
    pub proxies: Proxies,
    /// The server's counters (the site's too), carried over.
    pub metrics: Arc<Metrics>,
    /// For connections that start from now on.
    pub http2: Http2Options,
}

impl Generation for Shared {
    fn generation(&self) -> u64 {
        self.generation
    }
}

/// What a connection gets from the worker that serves it.
#[derive(Clone)]
pub(crate) struct Worker {
    /// The configuration as the worker last saw it; a connection looks
    /// at `live` again before each request.
    pub shared: Arc<Shared>,
    pub live: Arc<Live<Shared>>,
    pub shutdown: Shutdown,
    /// Where it goes when idle (none if the worker could not make one).
    pub parking: Option<Arc<Parking>>,
}
