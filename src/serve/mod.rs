//! The listening socket, the workers and their accept loops, connection
//! limits and graceful shutdown.
//!
//! Each worker is a thread with its own single-threaded runtime and its own
//! accept loop on a shared listening socket: a connection is served by one
//! worker at a time, so serving it needs no cross-thread wakeups or locks.
//! The calling runtime is the first worker. Only the pool's active workers
//! accept (see [`crate::serve::pool`] and [`crate::serve::balance`]); an inactive one
//! takes its listener off its event loop, so it is not woken for nothing.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{Semaphore, watch};

use crate::ops::access_log::AccessLog;
use crate::serve::connection::Shared;
use crate::serve::limits::ACCESS_LOG_FLUSH;
use crate::serve::pool::{Inbox, Pool};
use crate::site::handler::Site;
use crate::site::root::Root;
use balance::Balance;

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

/// Where the server is in its life; the other workers follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Bound,
    Running,
    /// Not accepting; connections are finishing.
    Stopping,
    /// Drained or out of time: workers drop what is left and exit.
    Finished,
}

/// What every worker's accept loop needs.
#[derive(Clone)]
struct Context {
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    /// Tells connections to finish: true once shutdown starts.
    shutdown: watch::Receiver<bool>,
    pool: Arc<Pool>,
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    context: Context,
    inbox: Inbox,
    balance: Balance,
    shutdown: watch::Sender<bool>,
    phase: watch::Sender<Phase>,
    max_connections: u32,
    grace_period: Duration,
}

impl Server {
    /// Checks the document root, binds the listening socket and starts the
    /// other workers (they wait until [`Server::run`]).
    pub async fn bind(config: &Options) -> Result<Server, StartError> {
        let root = Root::open(&config.root, config.symlinks).map_err(|e| {
            if e.kind() == io::ErrorKind::NotADirectory {
                StartError::RootNotDirectory(config.root.clone())
            } else {
                StartError::Root(config.root.clone(), e)
            }
        })?;
        let addr = config.addr;
        let listener = listener::listen(addr).map_err(|e| StartError::Bind(addr, e))?;
        let site = Site::new(root, &config.site);
        let access_log =
            AccessLog::open(config.log_format, config.access_log.as_deref()).map_err(|e| {
                StartError::AccessLog(config.access_log.clone().unwrap_or_else(|| "-".into()), e)
            })?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (phase, _) = watch::channel(Phase::Bound);
        let workers = config.workers;
        let active = match config.balance {
            Balance::Pack => 1,
            Balance::Spread => workers,
        };
        let (pool, mut inboxes) = Pool::new(workers, active);
        let context = Context {
            shared: Arc::new(Shared {
                site,
                limits: config.limits,
                extra_headers: config.headers.clone(),
                access_log,
            }),
            slots: Arc::new(Semaphore::new(config.max_connections as usize)),
            shutdown: shutdown_rx,
            pool,
        };
        let listener = listener.into_std().map_err(StartError::Workers)?;
        for (index, inbox) in inboxes.drain(1..).enumerate() {
            let copy = listener.try_clone().map_err(StartError::Workers)?;
            spawn_worker(index + 1, copy, context.clone(), phase.subscribe(), inbox)
                .map_err(StartError::Workers)?;
        }
        Ok(Server {
            listener: TcpListener::from_std(listener).map_err(StartError::Workers)?,
            context,
            inbox: inboxes.pop().expect("worker 0's inbox"),
            balance: config.balance,
            shutdown,
            phase,
            max_connections: config.max_connections,
            grace_period: config.grace_period,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The workers: which are active, what each holds. For tests and
    /// embedding; `--balance spread` leaves the active count to the caller.
    pub fn pool(&self) -> Arc<Pool> {
        Arc::clone(&self.context.pool)
    }

    /// Serves until `stop` resolves, then shuts down gracefully: stops
    /// accepting, closes idle connections, lets requests in flight finish
    /// (their responses say `Connection: close`) for up to the grace period.
    pub async fn run(self, stop: impl Future<Output = ()>) -> Drained {
        let pool = &self.context.pool;
        pool.register_thread(0);
        self.phase.send_replace(Phase::Running);
        if self.balance == Balance::Pack && pool.workers() > 1 {
            tokio::spawn(balance::run(
                Arc::clone(pool),
                self.context.shutdown.clone(),
            ));
        }
        let worker = start_worker(&self.context, self.inbox);
        tokio::pin!(stop);
        accept_loop(&self.listener, 0, &self.context, &worker, &mut stop).await;
        drop(self.listener);
        self.phase.send_replace(Phase::Stopping);
        self.shutdown.send_replace(true);
        let slots = &self.context.slots;
        let all = slots.acquire_many(self.max_connections);
        let drained = match tokio::time::timeout(self.grace_period, all).await {
            Ok(_) => Drained::All,
            Err(_) => Drained::TimedOut {
                open: self.max_connections as usize - slots.available_permits(),
            },
        };
        self.phase.send_replace(Phase::Finished);
        self.context.shared.access_log.flush(ACCESS_LOG_FLUSH);
        drained
    }
}

pub mod limits;
mod listener;
mod options;

pub use connection::Limits;
pub use options::{Options, StartError};
pub mod balance;
pub mod connection;
pub mod parking;
pub mod pool;
mod workers;

use workers::{accept_loop, spawn_worker, start_worker};
