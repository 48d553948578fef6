//! What a scrape reads from the running server: the counters in force,
//! and the gauges (connections, workers, parking, caches, certificates,
//! the process) read now rather than counted.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::ops::metrics::render::Gauges;
use crate::ops::metrics::{Metrics, process};
use crate::serve::connection::Shared;
use crate::serve::live::Live;
use crate::serve::parking::Parking;
use crate::serve::pool::Pool;
use crate::shutdown::{Phase, Shutdown};

/// The parts of the server a scrape looks at.
pub(crate) struct View {
    pub live: Arc<Live<Shared>>,
    pub max_connections: u32,
    pub pool: Arc<Pool>,
    pub parkings: Arc<[OnceLock<Arc<Parking>>]>,
    pub shutdown: Shutdown,
    pub started: SystemTime,
}

impl View {
    /// The server's counters (the same across reloads).
    pub(crate) fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.live.current().metrics)
    }

    /// Accepting connections, and not shutting down.
    pub(crate) fn ready(&self) -> bool {
        self.shutdown.phase() == Phase::Running
    }

    /// The gauges, read now.
    pub(crate) fn gauges(&self) -> Gauges {
        let shared = self.live.current();
        let (file_cache_bytes, file_cache_entries) = shared.site.cache.usage();
        let parked = self
            .parkings
            .iter()
            .map(|p| p.get().map_or(0, |p| p.parked() as u64));
        // Every connection holds a ticket on its worker (the free permits
        // cannot say: a draining server takes them all).
        let held: Vec<u64> = self.pool.held().into_iter().map(|n| n as u64).collect();
        Gauges {
            connections_open: held.iter().sum(),
            connections_max: u64::from(self.max_connections),
            workers: held.into_iter().zip(parked).collect(),
            workers_active: self.pool.active() as u64,
            generation: shared.generation,
            ready: self.ready(),
            file_cache_bytes,
            file_cache_entries,
            compression_cache_bytes: shared.site.compress.cache_bytes(),
            certificates: shared
                .tls
                .as_ref()
                .map_or_else(Vec::new, |tls| tls.expiries()),
            acme_last_issued: shared
                .tls
                .as_ref()
                .and_then(|tls| tls.managed())
                .and_then(|managed| managed.issued_at()),
            start_time: unix_seconds(self.started),
            resident_bytes: process::resident_bytes(),
            open_fds: process::open_fds(),
        }
    }
}

fn unix_seconds(at: SystemTime) -> f64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}
