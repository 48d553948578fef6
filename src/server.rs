//! The listening socket, the accept loop, connection limits and graceful
//! shutdown.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Semaphore, watch};

use crate::access_log::AccessLog;
use crate::config::{Config, StartError, canonical_root};
use crate::connection::{self, Limits, Shared};
use crate::fs::Root;
use crate::handler::Site;

/// Pause after an accept error such as EMFILE, so a full descriptor table
/// does not turn the accept loop into a busy spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// At shutdown, how long to wait for the access log to be written out.
pub const ACCESS_LOG_FLUSH: Duration = Duration::from_secs(2);

/// While accepting keeps failing, one warning per this interval is enough.
pub const ACCEPT_WARN_EVERY: Duration = Duration::from_secs(1);

/// SIGTERM and SIGINT, caught. Without a handler SIGTERM would be ignored
/// when staticd runs as PID 1 in a container. Install it before announcing
/// the listening address, so a signal sent right after is never lost.
pub struct StopSignal {
    term: Signal,
    int: Signal,
}

impl StopSignal {
    /// Installs the handlers; must run inside the tokio runtime.
    pub fn install() -> io::Result<StopSignal> {
        Ok(StopSignal {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves when either signal arrives.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// How a shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished within the grace period.
    All,
    /// The grace period ran out with this many connections still open.
    TimedOut { open: usize },
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    max_connections: u32,
    grace_period: Duration,
}

impl Server {
    /// Checks the document root and binds the listening socket.
    pub async fn bind(config: &Config) -> Result<Server, StartError> {
        let canonical = canonical_root(&config.root)?;
        let root = Root::open(&canonical, config.symlinks)
            .map_err(|e| StartError::Root(config.root.clone(), e))?;
        let addr = config.addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| StartError::Bind(addr, e))?;
        let site = Site::new(root, config);
        let access_log =
            AccessLog::open(config.log_format, config.access_log.as_deref()).map_err(|e| {
                StartError::AccessLog(config.access_log.clone().unwrap_or_else(|| "-".into()), e)
            })?;
        Ok(Server {
            listener,
            shared: Arc::new(Shared {
                site,
                limits: Limits::from_config(config),
                extra_headers: config.headers.clone(),
                access_log,
            }),
            max_connections: config.max_connections,
            grace_period: config.grace_period,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` resolves, then shuts down gracefully: stops
    /// accepting, closes idle connections, lets requests in flight finish
    /// (their responses say `Connection: close`) for up to the grace period.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Drained {
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let slots = Arc::new(Semaphore::new(self.max_connections as usize));
        tokio::pin!(stop);
        let mut last_warning: Option<std::time::Instant> = None;
        loop {
            // Beyond --max-connections, connections wait in the backlog.
            let permit = tokio::select! {
                () = &mut stop => break,
                permit = Arc::clone(&slots).acquire_owned() => permit,
            };
            let Ok(permit) = permit else { break };
            let accepted = tokio::select! {
                () = &mut stop => break,
                accepted = self.listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    if let Err(err) = stream.set_nodelay(true) {
                        tracing::debug!(%peer, error = %err, "set_nodelay failed");
                    }
                    let shared = Arc::clone(&self.shared);
                    tokio::spawn(connection::serve(
                        stream,
                        peer,
                        shared,
                        shutdown_rx.clone(),
                        permit,
                    ));
                }
                Err(err) => {
                    // EMFILE and friends: wait for descriptors to free up.
                    // The permit goes back, so no slot is lost.
                    if last_warning.is_none_or(|t| t.elapsed() >= ACCEPT_WARN_EVERY) {
                        tracing::warn!(error = %err, "accept failed; backing off");
                        last_warning = Some(std::time::Instant::now());
                    }
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
        drop(self.listener);
        let _ = shutdown_tx.send(true);
        let all = slots.acquire_many(self.max_connections);
        let drained = match tokio::time::timeout(self.grace_period, all).await {
            Ok(_) => Drained::All,
            Err(_) => Drained::TimedOut {
                open: self.max_connections as usize - slots.available_permits(),
            },
        };
        self.shared.access_log.flush(ACCESS_LOG_FLUSH);
        drained
    }
}
