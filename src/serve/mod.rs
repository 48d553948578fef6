//! The serving layer: the listening socket, the workers and their accept
//! loops, the pool and its balancer, idle connections (parked or moving
//! between workers), each connection's requests and responses, connection
//! limits and graceful shutdown. It may import [`crate::site`] (which
//! answers each request), [`crate::http`], [`crate::ops`] and
//! [`crate::shutdown`]; nothing here names the configuration, which fills
//! in [`Options`].
//!
//! Each worker is a thread with its own single-threaded runtime and its own
//! accept loop on a shared listening socket: a connection is served by one
//! worker at a time, so serving it needs no cross-thread wakeups or locks.
//! The calling runtime is the first worker. Only the pool's active workers
//! accept (see [`pool`] and [`balance`]); an inactive one takes its
//! listener off its event loop, so it is not woken for nothing.
//!
//! Inside, imports go one way: this module wires `workers` and `accept`,
//! which start [`connection`]s; a connection uses [`parking`], [`idle`]
//! and [`pool`];
//! parking holds [`idle`] values; [`idle`] carries a [`pool`] ticket; the
//! pool names none of them. Credential checks and compressions run on
//! [`offload`]'s bounded pools (one each). Parking hands woken connections back through
//! a callback the worker gives it at start-up.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};

use crate::ops::access_log::AccessLog;
use crate::ops::diagnostics::LIFECYCLE;
use crate::serve::offload::Offload;
use crate::shutdown::{Control, Phase, Signals};
use crate::site::handler::Site;
use crate::site::root::Root;
use accept::{Context, accept_loop};
use balance::Balance;
use connection::{Role, Shared, Worker};
use idle::{Handoff, Inbox};
use limits::ACCESS_LOG_FLUSH;
use pool::Pool;
use tls::Acceptor;
use workers::{spawn_worker, start_worker};

mod accept;
pub(crate) mod balance;
mod check;
pub(crate) mod connection;
pub(crate) mod idle;
pub(crate) mod limits;
mod listener;
pub(crate) mod offload;
mod options;
pub(crate) mod parking;
pub(crate) mod pool;
mod reload;
pub(crate) mod tls;
mod workers;

pub use check::{Checked, check};
pub(crate) use options::Limits;
pub use options::{Hsts, Options, StartError, TlsOptions};

/// How a shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every connection finished within the grace period.
    All,
    /// The grace period ran out with this many connections still open.
    TimedOut { open: usize },
}

/// How a run stopped by signals ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// After the graceful shutdown (drained or out of time), or on its own.
    Graceful,
    /// A second signal cut the graceful shutdown short.
    Forced,
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    /// `--redirect-http`: the plain listener sending clients to HTTPS.
    redirect: Option<TcpListener>,
    context: Context,
    inbox: Inbox,
    balance: Balance,
    control: Control,
    max_connections: u32,
    grace_period: Duration,
}

impl Server {
    /// Checks the document root, binds the listening socket and starts the
    /// other workers (they wait until [`Server::run`]).
    pub async fn bind(config: &Options) -> Result<Server, StartError> {
        let root = open_root(config)?;
        let addr = config.addr;
        let tls = match &config.tls {
            Some(tls) => Some(Arc::new(reload::load(&tls.certificates)?)),
            None => None,
        };
        let listener = listener::listen(addr).map_err(|e| StartError::Bind(addr, e))?;
        let redirect = match config.redirect_http {
            Some(port) => {
                let addr = SocketAddr::new(addr.ip(), port);
                Some(listener::listen(addr).map_err(|e| StartError::Bind(addr, e))?)
            }
            None => None,
        };
        let site = Site::new(root, &config.site).map_err(StartError::Auth)?;
        let access_log =
            AccessLog::open(config.log_format, config.access_log.as_deref()).map_err(|e| {
                StartError::AccessLog(config.access_log.clone().unwrap_or_else(|| "-".into()), e)
            })?;
        let control = Control::new();
        let (context, mut inboxes) = context(config, site, access_log, tls, &control);
        let listener = listener.into_std().map_err(StartError::Workers)?;
        for (index, inbox) in inboxes.drain(1..).enumerate() {
            let copy = listener.try_clone().map_err(StartError::Workers)?;
            spawn_worker(index + 1, copy, context.clone(), inbox).map_err(StartError::Workers)?;
        }
        Ok(Server {
            listener: TcpListener::from_std(listener).map_err(StartError::Workers)?,
            redirect,
            context,
            inbox: inboxes.pop().expect("worker 0's inbox"),
            balance: config.balance,
            control,
            max_connections: config.max_connections,
            grace_period: config.grace_period,
        })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The redirect listener's address, with `--redirect-http`.
    pub fn redirect_addr(&self) -> Option<io::Result<SocketAddr>> {
        self.redirect.as_ref().map(TcpListener::local_addr)
    }

    /// The HTTPS configuration, when the main listener speaks TLS: what
    /// SIGHUP reloads.
    pub fn tls(&self) -> Option<Arc<Acceptor>> {
        self.context.shared.tls.clone()
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
        self.control.enter(Phase::Running);
        if self.balance == Balance::Pack && pool.workers() > 1 {
            tokio::spawn(balance::run(
                Arc::clone(pool),
                self.context.shutdown.clone(),
            ));
        }
        let worker = start_worker(&self.context, self.inbox);
        if let Some(redirect) = self.redirect {
            let port = self.listener.local_addr().map_or(443, |a| a.port());
            tokio::spawn(redirect_loop(
                redirect,
                port,
                self.context.clone(),
                worker.clone(),
            ));
        }
        tokio::pin!(stop);
        accept_loop(&self.listener, 0, &self.context, &worker, &mut stop).await;
        drop(self.listener);
        self.control.enter(Phase::Stopping);
        let slots = &self.context.slots;
        let all = slots.acquire_many(self.max_connections);
        let drained = match tokio::time::timeout(self.grace_period, all).await {
            Ok(_) => Drained::All,
            Err(_) => Drained::TimedOut {
                open: self.max_connections as usize - slots.available_permits(),
            },
        };
        self.control.enter(Phase::Finished);
        self.context.shared.access_log.flush(ACCESS_LOG_FLUSH);
        drained
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully as
    /// [`Server::run`] does; a second signal gives up at once. Each step
    /// is logged on the `staticd::lifecycle` target.
    pub async fn run_until_signalled(self, mut signals: Signals) -> Exit {
        let grace_period = self.grace_period;
        let (begin, begun) = oneshot::channel::<()>();
        let run = self.run(async {
            let _ = begun.await;
        });
        tokio::pin!(run);
        tokio::select! {
            _ = &mut run => return Exit::Graceful,
            () = signals.recv() => {}
        }
        tracing::info!(
            target: LIFECYCLE,
            "stopping on signal: finishing requests in flight for up to {grace_period:?}"
        );
        let _ = begin.send(());
        tokio::select! {
            drained = &mut run => {
                match drained {
                    Drained::All => tracing::info!(target: LIFECYCLE, "stopped"),
                    Drained::TimedOut { open } => tracing::warn!(
                        target: LIFECYCLE,
                        "grace period over: stopped with {open} connections cut"
                    ),
                }
                Exit::Graceful
            }
            () = signals.recv() => {
                tracing::warn!(target: LIFECYCLE, "second signal: exiting at once");
                Exit::Forced
            }
        }
    }
}

/// The document root, or why it cannot be served.
fn open_root(config: &Options) -> Result<Root, StartError> {
    Root::open(&config.root, config.symlinks).map_err(|e| {
        if e.kind() == io::ErrorKind::NotADirectory {
            StartError::RootNotDirectory(config.root.clone())
        } else {
            StartError::Root(config.root.clone(), e)
        }
    })
}

/// The binary's whole run, on the calling thread, which becomes the first
/// worker (the server starts the others on threads of their own).
pub fn run_blocking(options: &Options) -> Result<Exit, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let ended = runtime.block_on(serve_until_signalled(options));
    // Do not wait for blocking file reads of connections cut short.
    runtime.shutdown_background();
    ended
}

/// The binary's run: installs the signal handlers (before the address is
/// announced, so a signal sent right after is not lost), binds, announces
/// the address and serves until signalled.
pub(crate) async fn serve_until_signalled(options: &Options) -> Result<Exit, StartError> {
    let signals = Signals::install().map_err(StartError::Signals)?;
    let hangups = reload::Hangups::install().map_err(StartError::Signals)?;
    let server = Server::bind(options).await?;
    let addr = server.local_addr().map_err(StartError::Address)?;
    let scheme = if server.tls().is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(target: LIFECYCLE, "listening on {scheme}://{addr}");
    if let Some(redirect) = server.redirect_addr() {
        let redirect = redirect.map_err(StartError::Address)?;
        tracing::info!(target: LIFECYCLE, "redirecting http://{redirect} to https");
    }
    tokio::spawn(hangups.reload_on_hangup(server.tls()));
    Ok(server.run_until_signalled(signals).await)
}

/// Accepts on the redirect listener until shutdown begins, on the first
/// worker. Its connections answer once and close, so they never park or
/// move, and they count against `--max-connections` like any other.
async fn redirect_loop(listener: TcpListener, https_port: u16, context: Context, worker: Worker) {
    let context = Context {
        role: Role::RedirectToHttps(https_port),
        ..context
    };
    let worker = Worker {
        parking: None,
        ..worker
    };
    let mut shutdown = context.shutdown.clone();
    let stop = shutdown.stopping();
    tokio::pin!(stop);
    accept_loop(&listener, 0, &context, &worker, &mut stop).await;
}

/// What the workers share, and each worker's inbox.
fn context(
    config: &Options,
    site: Site,
    access_log: AccessLog,
    tls: Option<Arc<Acceptor>>,
    control: &Control,
) -> (Context, Vec<Inbox>) {
    let active = match config.balance {
        Balance::Pack => 1,
        Balance::Spread => config.workers,
    };
    let pool = Pool::new(config.workers, active);
    let (handoff, inboxes) = Handoff::new(pool.workers());
    let mut https_headers = config.headers.clone();
    if let Some(hsts) = config.tls.as_ref().and_then(|tls| tls.hsts) {
        https_headers.push(hsts.field());
    }
    let shared = Shared {
        site,
        limits: config.limits,
        extra_headers: config.headers.clone(),
        https_headers,
        tls,
        access_log,
        handoff,
        verifier: Offload::for_workers(config.workers),
        compressor: Offload::for_workers(config.workers),
    };
    let context = Context {
        shared: Arc::new(shared),
        slots: Arc::new(Semaphore::new(config.max_connections as usize)),
        shutdown: control.subscribe(),
        pool,
        role: Role::Site,
    };
    (context, inboxes)
}
