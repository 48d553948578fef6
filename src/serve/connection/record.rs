//! What every answered request leaves behind, over either protocol: its
//! count in the metrics and its one access-log line.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::worker::Shared;
use crate::http::request::{Method, Request};
use crate::http::status::Status;
use crate::ops::access_log::{Entry, Peer, RequestLine};
use crate::ops::metrics::{Counter, Served};

/// How a response went.
pub(crate) struct Done {
    pub status: Status,
    /// Body bytes sent; `None` when the response was cut short.
    pub body_bytes: Option<u64>,
    /// When the request was read, if anyone times it.
    pub started: Option<Instant>,
}

/// When a request started, if the access log or the metrics want to know.
pub(crate) fn clock(shared: &Shared) -> Option<Instant> {
    (shared.access_log.enabled() || shared.metrics.scraped()).then(Instant::now)
}

/// Counts the request from `client` and writes its access-log line.
pub(crate) fn record(shared: &Shared, client: Peer, request: Option<&Request>, done: &Done) {
    let duration = done.started.map_or(Duration::ZERO, |t| t.elapsed());
    let body_bytes = done.body_bytes.unwrap_or(0);
    shared.metrics.served(&Served {
        method: request.map_or(METHOD_OTHER, |r| method_class(&r.method)),
        status: done.status.code(),
        body_bytes,
        duration,
        complete: done.body_bytes.is_some(),
    });
    if !shared.access_log.enabled() {
        return;
    }
    let recorded = shared.access_log.record(&Entry {
        peer: client,
        time: SystemTime::now(),
        request_line: request.map(|r| RequestLine {
            method: r.method.as_str(),
            target: &r.target,
            version: r.version.as_str(),
        }),
        status: done.status.code(),
        body_bytes,
        referer: request.and_then(|r| r.fields.referer.as_deref()),
        user_agent: request.and_then(|r| r.fields.user_agent.as_deref()),
        duration,
        completed: done.body_bytes.is_some(),
    });
    if !recorded {
        shared.metrics.count(Counter::AccessLogDropped);
    }
}

/// The index of `ops::metrics::counters::METHODS` a request counts under
/// (the last, "other", takes every method but three, and heads that did
/// not parse).
const METHOD_OTHER: usize = 3;

fn method_class(method: &Method) -> usize {
    match method {
        Method::Get => 0,
        Method::Head => 1,
        Method::Other(name) if &**name == "OPTIONS" => 2,
        Method::Other(_) => METHOD_OTHER,
    }
}
