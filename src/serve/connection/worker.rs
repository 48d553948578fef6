//! What a connection gets from the worker serving it, and what all
//! connections share.

use std::sync::Arc;

use crate::ops::access_log::AccessLog;
use crate::serve::idle::Handoff;
use crate::serve::offload::Offload;
use crate::serve::options::Limits;
use crate::serve::parking::Parking;
use crate::serve::proxy::Proxies;
use crate::serve::tls::Acceptor;
use crate::shutdown::Shutdown;
use crate::site::handler::Site;

/// What all connections share, on every worker.
#[derive(Debug)]
pub(crate) struct Shared {
    pub site: Site,
    pub limits: Limits,
    /// `--header` fields, added to every response.
    pub extra_headers: Vec<(String, String)>,
    /// What responses over HTTPS add: the `--header` fields and, under
    /// `--hsts`, `Strict-Transport-Security`, which a plain-HTTP response
    /// must never carry (RFC 6797 §7.2).
    pub https_headers: Vec<(String, String)>,
    /// The main listener's TLS configuration, when it speaks HTTPS.
    pub tls: Option<Arc<Acceptor>>,
    pub access_log: AccessLog,
    /// The workers' inboxes, for a connection moving to another worker.
    pub handoff: Handoff,
    /// Where credential checks run.
    pub verifier: Offload,
    /// Where compressions run (see `crate::site::compress`).
    pub compressor: Offload,
    /// Who the client is behind a proxy (see `crate::serve::proxy`).
    pub proxies: Proxies,
}

/// What a connection gets from the worker that serves it.
#[derive(Clone)]
pub(crate) struct Worker {
    pub shared: Arc<Shared>,
    pub shutdown: Shutdown,
    /// Where it goes when idle (none if the worker could not make one).
    pub parking: Option<Arc<Parking>>,
}
