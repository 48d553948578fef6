//! Every family a scrape shows, named in this one place: the counters
//! summed over the workers' rows, and the gauges the server read for this
//! scrape. Names and labels follow the Prometheus conventions (a unit in
//! the name, `_total` on counters, labels from small fixed sets).

use super::counters::{BUCKETS_NANOS, Counter, METHODS, Metrics, STATUS_CLASSES};
use super::exposition::{Exposition, Kind};

/// What the server reads at each scrape, rather than counts.
#[derive(Debug, Default)]
pub(crate) struct Gauges {
    pub connections_open: u64,
    pub connections_max: u64,
    /// Per worker: connections held (serving or parked), and parked.
    pub workers: Vec<(u64, u64)>,
    pub workers_active: u64,
    /// 0 at start, one more per applied reload.
    pub generation: u64,
    pub ready: bool,
    pub file_cache_bytes: u64,
    pub file_cache_entries: u64,
    pub compression_cache_bytes: u64,
    /// Each certificate's file and when it expires, in Unix seconds.
    pub certificates: Vec<(String, u64)>,
    /// When ACME last issued a certificate, in Unix seconds, with
    /// `--acme-domain` once it has.
    pub acme_last_issued: Option<u64>,
    /// When the server started, in Unix seconds.
    pub start_time: f64,
    /// The process's resident memory and open descriptors, when known.
    pub resident_bytes: Option<u64>,
    pub open_fds: Option<u64>,
}

/// The version the build-info family carries.
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The whole scrape.
pub(crate) fn render(metrics: &Metrics, gauges: &Gauges) -> String {
    let mut text = Exposition::default();
    text.family(
        "staticd_build_info",
        Kind::Gauge,
        "The version running, as a label.",
    );
    text.sample("staticd_build_info", &[("version", VERSION)], 1);
    requests(&mut text, metrics);
    duration(&mut text, metrics);
    counters(&mut text, metrics);
    connections(&mut text, gauges);
    caches(&mut text, gauges);
    operations(&mut text, gauges);
    text.finish()
}

fn requests(text: &mut Exposition, metrics: &Metrics) {
    let name = "staticd_requests_total";
    text.family(
        name,
        Kind::Counter,
        "Requests answered, by method and status class.",
    );
    for (m, method) in METHODS.iter().enumerate() {
        for (c, class) in STATUS_CLASSES.iter().enumerate() {
            let labels = [("method", *method), ("code", *class)];
            text.sample(name, &labels, metrics.requests(m, c));
        }
    }
}

fn duration(text: &mut Exposition, metrics: &Metrics) {
    let name = "staticd_request_duration_seconds";
    text.family(
        name,
        Kind::Histogram,
        "From a request's head read to its response written.",
    );
    let buckets = metrics.buckets();
    let mut below = 0;
    for (bound, n) in BUCKETS_NANOS.iter().zip(buckets) {
        below += n;
        let le = (*bound as f64 / 1e9).to_string();
        text.sample(
            "staticd_request_duration_seconds_bucket",
            &[("le", &le)],
            below,
        );
    }
    let count = below + buckets[BUCKETS_NANOS.len()];
    text.sample(
        "staticd_request_duration_seconds_bucket",
        &[("le", "+Inf")],
        count,
    );
    let sum = metrics.total(Counter::DurationNanos) as f64 / 1e9;
    text.sample("staticd_request_duration_seconds_sum", &[], sum);
    text.sample("staticd_request_duration_seconds_count", &[], count);
}

/// The plain counters: name, help, and what they sum.
const COUNTERS: &[(&str, &str, Counter)] = &[
    (
        "staticd_response_body_bytes_total",
        "Body bytes sent.",
        Counter::ResponseBodyBytes,
    ),
    (
        "staticd_responses_incomplete_total",
        "Responses cut short before their last byte.",
        Counter::ResponsesIncomplete,
    ),
    (
        "staticd_connections_accepted_total",
        "Connections accepted on the site's listeners.",
        Counter::ConnectionsAccepted,
    ),
    (
        "staticd_accept_errors_total",
        "Accepts that failed (out of descriptors and the like).",
        Counter::AcceptErrors,
    ),
    (
        "staticd_tls_handshakes_total",
        "TLS handshakes completed.",
        Counter::TlsHandshakes,
    ),
    (
        "staticd_tls_handshake_failures_total",
        "TLS handshakes that failed.",
        Counter::TlsHandshakeFailures,
    ),
    (
        "staticd_auth_failures_total",
        "Requests refused with 401 for missing or wrong credentials.",
        Counter::AuthFailures,
    ),
    (
        "staticd_compressions_queued_total",
        "Compressions on the fly given to the compression pool.",
        Counter::CompressionsQueued,
    ),
    (
        "staticd_compressions_done_total",
        "Compressions on the fly the pool finished.",
        Counter::CompressionsDone,
    ),
    (
        "staticd_compressions_refused_total",
        "Compressions the full pool refused; the file went uncompressed.",
        Counter::CompressionsRefused,
    ),
    (
        "staticd_file_cache_hits_total",
        "Requests answered from the file cache.",
        Counter::FileCacheHits,
    ),
    (
        "staticd_file_cache_misses_total",
        "File cache lookups that found nothing fresh.",
        Counter::FileCacheMisses,
    ),
    (
        "staticd_file_cache_evictions_total",
        "Files dropped from the file cache to make room.",
        Counter::FileCacheEvictions,
    ),
    (
        "staticd_compression_cache_hits_total",
        "Compressed variants found made (or being made).",
        Counter::CompressionCacheHits,
    ),
    (
        "staticd_compression_cache_misses_total",
        "Compressed variants that had to be made.",
        Counter::CompressionCacheMisses,
    ),
    (
        "staticd_compression_cache_evictions_total",
        "Compressed variants dropped to make room.",
        Counter::CompressionCacheEvictions,
    ),
    (
        "staticd_access_log_lines_dropped_total",
        "Access log lines dropped because the log could not keep up.",
        Counter::AccessLogDropped,
    ),
];

fn counters(text: &mut Exposition, metrics: &Metrics) {
    for (name, help, counter) in COUNTERS {
        text.single(name, Kind::Counter, help, metrics.total(*counter));
    }
    let name = "staticd_timeouts_total";
    text.family(
        name,
        Kind::Counter,
        "Connections ended by a timeout, by kind.",
    );
    for (kind, counter) in [
        ("header", Counter::HeaderTimeouts),
        ("keepalive", Counter::KeepAliveTimeouts),
        ("send", Counter::SendTimeouts),
    ] {
        text.sample(name, &[("kind", kind)], metrics.total(counter));
    }
    text.single(
        "staticd_http2_connections_total",
        Kind::Counter,
        "HTTP/2 connections (h2 over TLS and h2c) past their preface.",
        metrics.total(Counter::Http2Connections),
    );
    text.single(
        "staticd_http2_streams_total",
        Kind::Counter,
        "HTTP/2 streams (requests) taken.",
        metrics.total(Counter::Http2Streams),
    );
    let name = "staticd_http2_goaways_total";
    text.family(
        name,
        Kind::Counter,
        "HTTP/2 connections ended for the client's conduct, by kind.",
    );
    for (kind, counter) in [
        ("rapid_reset", Counter::Http2AbuseRapidReset),
        ("continuation", Counter::Http2AbuseContinuation),
        ("header_list", Counter::Http2AbuseHeaderList),
        ("flood", Counter::Http2AbuseFlood),
        ("refused_streams", Counter::Http2AbuseRefused),
        ("enhance_your_calm", Counter::Http2AbuseCalm),
        ("compression_error", Counter::Http2AbuseCompression),
        ("frame_size_error", Counter::Http2AbuseFrameSize),
        ("flow_control_error", Counter::Http2AbuseFlowControl),
        ("protocol_error", Counter::Http2AbuseProtocol),
    ] {
        text.sample(name, &[("kind", kind)], metrics.total(counter));
    }
    let name = "staticd_reloads_total";
    text.family(name, Kind::Counter, "Reloads (SIGHUP), by outcome.");
    for (outcome, counter) in [
        ("applied", Counter::ReloadsApplied),
        ("refused", Counter::ReloadsRefused),
    ] {
        text.sample(name, &[("outcome", outcome)], metrics.total(counter));
    }
    acme(text, metrics);
}

fn acme(text: &mut Exposition, metrics: &Metrics) {
    let name = "staticd_acme_orders_total";
    let help = "ACME orders (--acme-domain), by kind (first certificate or renewal) and outcome.";
    text.family(name, Kind::Counter, help);
    for (kind, outcome, counter) in [
        ("first", "issued", Counter::AcmeFirstIssued),
        ("first", "failed", Counter::AcmeFirstFailed),
        ("renewal", "issued", Counter::AcmeRenewalIssued),
        ("renewal", "failed", Counter::AcmeRenewalFailed),
    ] {
        let labels = [("kind", kind), ("outcome", outcome)];
        text.sample(name, &labels, metrics.total(counter));
    }
}

fn connections(text: &mut Exposition, gauges: &Gauges) {
    let open = "Connections open, serving or idle.";
    text.single(
        "staticd_connections_open",
        Kind::Gauge,
        open,
        gauges.connections_open,
    );
    let max = "The --max-connections limit.";
    text.single(
        "staticd_connections_max",
        Kind::Gauge,
        max,
        gauges.connections_max,
    );
    let name = "staticd_worker_connections";
    text.family(
        name,
        Kind::Gauge,
        "Connections each worker holds, serving or parked.",
    );
    for (i, (held, _)) in gauges.workers.iter().enumerate() {
        text.sample(name, &[("worker", &i.to_string())], held);
    }
    let name = "staticd_connections_parked";
    text.family(name, Kind::Gauge, "Idle connections parked, by worker.");
    for (i, (_, parked)) in gauges.workers.iter().enumerate() {
        text.sample(name, &[("worker", &i.to_string())], parked);
    }
    let workers = gauges.workers.len();
    text.single("staticd_workers", Kind::Gauge, "Worker threads.", workers);
    let active = "Workers accepting connections now.";
    text.single(
        "staticd_workers_active",
        Kind::Gauge,
        active,
        gauges.workers_active,
    );
}

fn caches(text: &mut Exposition, gauges: &Gauges) {
    let bytes = "Bytes of small files held in memory by the file cache.";
    text.single(
        "staticd_file_cache_bytes",
        Kind::Gauge,
        bytes,
        gauges.file_cache_bytes,
    );
    let entries = "Files in the file cache.";
    text.single(
        "staticd_file_cache_entries",
        Kind::Gauge,
        entries,
        gauges.file_cache_entries,
    );
    let name = "staticd_compression_cache_bytes";
    let help = "Bytes the compressed variants take.";
    text.single(name, Kind::Gauge, help, gauges.compression_cache_bytes);
}

fn operations(text: &mut Exposition, gauges: &Gauges) {
    let name = "staticd_config_generation";
    let help = "Which configuration is in force: 0 at start, one more per applied reload.";
    text.single(name, Kind::Gauge, help, gauges.generation);
    let help = "1 while accepting connections, 0 once shutting down.";
    text.single("staticd_ready", Kind::Gauge, help, u8::from(gauges.ready));
    let name = "staticd_certificate_expiry_timestamp_seconds";
    text.family(
        name,
        Kind::Gauge,
        "When each certificate expires (notAfter), in Unix time.",
    );
    for (file, expiry) in &gauges.certificates {
        text.sample(name, &[("certificate", file)], expiry);
    }
    if let Some(at) = gauges.acme_last_issued {
        let name = "staticd_acme_last_issued_timestamp_seconds";
        let help = "When ACME last issued a certificate (first or renewal), in Unix time.";
        text.single(name, Kind::Gauge, help, at);
    }
    let help = "When the process started, in Unix time.";
    text.single(
        "process_start_time_seconds",
        Kind::Gauge,
        help,
        gauges.start_time,
    );
    if let Some(bytes) = gauges.resident_bytes {
        let help = "Resident memory size in bytes.";
        text.single("process_resident_memory_bytes", Kind::Gauge, help, bytes);
    }
    if let Some(fds) = gauges.open_fds {
        let help = "Open file descriptors.";
        text.single("process_open_fds", Kind::Gauge, help, fds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::metrics::counters::Served;

    #[test]
    fn the_histogram_is_cumulative_and_its_count_is_every_request() {
        let metrics = Metrics::new(0, true);
        for micros in [5, 30, 30, 20_000_000] {
            metrics.served(&Served {
                method: 0,
                status: 200,
                body_bytes: 1,
                duration: std::time::Duration::from_micros(micros),
                complete: true,
            });
        }
        let text = render(&metrics, &Gauges::default());
        let line = |prefix: &str| {
            text.lines()
                .find(|l| l.starts_with(prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
                .to_owned()
        };
        assert_eq!(
            line("staticd_request_duration_seconds_bucket{le=\"0.00001\"}"),
            "staticd_request_duration_seconds_bucket{le=\"0.00001\"} 1"
        );
        assert!(line("staticd_request_duration_seconds_bucket{le=\"0.00005\"}").ends_with(" 3"));
        assert!(line("staticd_request_duration_seconds_bucket{le=\"10\"}").ends_with(" 3"));
        assert!(line("staticd_request_duration_seconds_bucket{le=\"+Inf\"}").ends_with(" 4"));
        assert!(line("staticd_request_duration_seconds_count").ends_with(" 4"));
        assert!(line("staticd_requests_total{method=\"GET\",code=\"2xx\"}").ends_with(" 4"));
        assert!(line("staticd_build_info{version=").ends_with(" 1"));
    }

    #[test]
    fn every_family_has_one_help_and_one_type() {
        let gauges = Gauges {
            workers: vec![(1, 0), (2, 1)],
            certificates: vec![("a.pem".into(), 1), ("b.pem".into(), 2)],
            resident_bytes: Some(1),
            open_fds: Some(1),
            acme_last_issued: Some(7),
            ..Gauges::default()
        };
        let metrics = Metrics::new(2, true);
        metrics.count(Counter::AcmeRenewalFailed);
        let text = render(&metrics, &gauges);
        let acme = "staticd_acme_orders_total{kind=\"renewal\",outcome=\"failed\"} 1\n";
        assert!(text.contains(acme), "{text}");
        assert!(text.contains("staticd_acme_last_issued_timestamp_seconds 7\n"));
        let mut names = std::collections::HashSet::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = line.split(' ').nth(2).unwrap();
            assert!(names.insert(name.to_owned()), "{name} twice");
        }
        let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
        assert_eq!(helps, names.len());
        assert!(text.contains("staticd_connections_parked{worker=\"1\"} 1\n"));
    }
}
