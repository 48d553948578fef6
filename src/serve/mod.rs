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

use tokio::sync::oneshot;

use crate::ops::access_log::AccessLog;
use crate::ops::diagnostics::LIFECYCLE;
use crate::ops::metrics::Metrics;
use crate::shutdown::{Control, Phase, Signals};
use crate::site::handler::Site;
use accept::{Context, Follow, accept_loop, context};
use balance::Balance;
use connection::{Role, Worker};
use idle::Inbox;
use limits::ACCESS_LOG_FLUSH;
use listener::{Accepting, Local};
use monitor::Monitor;
use monitor::gauges::View;
use pool::Pool;
use sockets::SocketFile;
use tls::Acceptor;
use workers::{spawn_worker, start_worker};

mod accept;
pub(crate) mod acme;
pub(crate) mod activation;
pub(crate) mod balance;
mod check;
pub(crate) mod connection;
pub(crate) mod idle;
pub(crate) mod limits;
pub(crate) mod listener;
pub(crate) mod live;
mod monitor;
pub(crate) mod offload;
mod options;
pub(crate) mod parking;
pub(crate) mod pool;
pub(crate) mod proxy;
mod reload;
mod replay;
mod sockets;
mod steering;
pub(crate) mod stream;
pub(crate) mod tls;
mod urls;
mod workers;

pub use check::{Checked, check};
pub(crate) use options::Limits;
pub use options::{AcmeOptions, Challenge, Hsts, Http2Options, Options, StartError, TlsOptions};
pub use reload::{Reload, Reloader};
pub use replay::Http2Replay;

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
    listener: Accepting,
    /// Listeners the first worker alone accepts on, each for its role: the
    /// redirect to HTTPS (`--redirect-http`), further inherited sockets.
    others: Vec<(Accepting, Role)>,
    /// The Unix socket's file, removed when the server stops.
    socket_file: Option<SocketFile>,
    context: Context,
    inbox: Inbox,
    balance: Balance,
    control: Control,
    max_connections: u32,
    /// The metrics listener, with `--metrics-listen`.
    monitor: Option<Monitor>,
    /// The ACME task, with `--acme-domain`.
    acme: Option<acme::Acme>,
    /// Which worker's socket gets each new connection, when each has one.
    steering: Option<steering::Steering>,
}

/// Starts workers 1 and up, one per inbox: each on its own socket of the
/// main listener's group when there is one, else on a copy of `listener`.
fn spawn_workers(
    listener: &listener::Listener,
    own: Vec<listener::Listener>,
    context: &Context,
    inboxes: impl Iterator<Item = idle::Inbox>,
) -> Result<(), StartError> {
    let mut own = own.into_iter();
    for (index, inbox) in inboxes.enumerate() {
        let (socket, steered) = match own.next() {
            Some(socket) => (socket, true),
            None => (listener.try_clone().map_err(StartError::Workers)?, false),
        };
        spawn_worker(index + 1, socket, context.clone(), inbox, steered)
            .map_err(StartError::Workers)?;
    }
    Ok(())
}

impl Server {
    /// Checks the document root, binds the listening socket and starts the
    /// other workers (they wait until [`Server::run`]).
    pub async fn bind(config: &Options) -> Result<Server, StartError> {
        let root = check::open_root(config)?;
        let acme = config.tls.as_ref().and_then(|tls| tls.acme.as_ref());
        let managed = acme.map(|acme| tls::Managed::new(&acme.domains));
        let tls = match &config.tls {
            Some(tls) => Some(Arc::new(reload::load(
                &tls.certificates,
                config.http2,
                managed.clone(),
            )?)),
            None => None,
        };
        let sockets = sockets::open(config, tls.is_some())?;
        let listener = sockets.main;
        let others = sockets
            .others
            .into_iter()
            .map(|(listener, role)| Ok((Accepting::from_std(listener)?, role)))
            .collect::<io::Result<_>>()
            .map_err(StartError::Workers)?;
        let monitor = match config.metrics_listen {
            Some(addr) => Some(Monitor::bind(addr).map_err(|e| StartError::Metrics(addr, e))?),
            None => None,
        };
        let metrics = Arc::new(Metrics::new(config.workers, monitor.is_some()));
        let acme = match (acme, managed) {
            (Some(acme), Some(managed)) => {
                Some(acme::prepare(acme, managed, Arc::clone(&metrics))?)
            }
            _ => None,
        };
        let site = Site::new(root, &config.site, metrics).map_err(StartError::Auth)?;
        let access_log =
            AccessLog::open(config.log_format, config.access_log.as_deref()).map_err(|e| {
                StartError::AccessLog(config.access_log.clone().unwrap_or_else(|| "-".into()), e)
            })?;
        let control = Control::new();
        let (mut context, mut inboxes) = context(config, site, access_log, tls, &control);
        context.role = sockets.main_role;
        let (own, steering) = match sockets.group {
            Some((own, steering)) => (own, Some(steering)),
            None => (Vec::new(), None),
        };
        spawn_workers(&listener, own, &context, inboxes.drain(1..))?;
        Ok(Server {
            listener: Accepting::from_std(listener).map_err(StartError::Workers)?,
            others,
            socket_file: sockets.socket_file,
            context,
            inbox: inboxes.pop().expect("worker 0's inbox"),
            balance: config.balance,
            control,
            max_connections: config.max_connections,
            monitor,
            acme,
            steering,
        })
    }

    /// The TCP address actually bound (the real port when 0 was asked
    /// for); an error on a Unix socket.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.listener.local()? {
            Local::Tcp(addr) => Ok(addr),
            Local::Unix(_) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "listening on a Unix socket",
            )),
        }
    }

    /// The redirect listener's address, with `--redirect-http`.
    pub fn redirect_addr(&self) -> Option<io::Result<SocketAddr>> {
        let redirect = self.others.iter().find_map(|(listener, role)| {
            matches!(role, Role::RedirectToHttps(_)).then_some(listener)
        });
        redirect.map(|l| match l.local()? {
            Local::Tcp(addr) => Ok(addr),
            Local::Unix(_) => Err(io::ErrorKind::Unsupported.into()),
        })
    }

    /// The metrics listener's address, with `--metrics-listen`.
    pub fn metrics_addr(&self) -> Option<io::Result<SocketAddr>> {
        self.monitor.as_ref().map(Monitor::local_addr)
    }

    /// The HTTPS configuration, when the main listener speaks TLS: what
    /// SIGHUP reloads.
    pub fn tls(&self) -> Option<Arc<Acceptor>> {
        self.context.live.current().tls.clone()
    }

    /// The workers: which are active, what each holds. For tests and
    /// embedding; `--balance spread` leaves the active count to the caller.
    pub fn pool(&self) -> Arc<Pool> {
        Arc::clone(&self.context.pool)
    }

    /// Serves until `stop` resolves, then shuts down gracefully: stops
    /// accepting, closes idle connections, lets requests in flight finish
    /// (their responses say `Connection: close`) for up to the grace period.
    pub async fn run(mut self, stop: impl Future<Output = ()>) -> Drained {
        let pool = &self.context.pool;
        pool.register_thread(0);
        self.control.enter(Phase::Running);
        if let Some(monitor) = self.monitor.take() {
            tokio::spawn(monitor.serve(self.view()));
        }
        if let Some(steering) = self.steering.take() {
            tokio::spawn(steering::follow(steering, pool.watch_active()));
        }
        if let Some(acme) = self.acme.take() {
            tokio::spawn(acme.run(self.context.shutdown.clone()));
        }
        if self.balance == Balance::Pack && pool.workers() > 1 {
            tokio::spawn(balance::run(
                Arc::clone(pool),
                self.context.shutdown.clone(),
            ));
        }
        let worker = start_worker(&self.context, 0, self.inbox);
        for (listener, role) in self.others {
            tokio::spawn(side_loop(
                listener,
                role,
                self.context.clone(),
                worker.clone(),
            ));
        }
        tokio::pin!(stop);
        accept_loop(
            &self.listener,
            0,
            &self.context,
            &worker,
            &mut stop,
            Follow::Yes,
        )
        .await;
        drop(self.listener);
        // New clients are refused from here on, rather than queued.
        drop(self.socket_file);
        self.control.enter(Phase::Stopping);
        let slots = &self.context.slots;
        let all = slots.acquire_many(self.max_connections);
        let grace_period = self.context.live.current().grace_period;
        let drained = match tokio::time::timeout(grace_period, all).await {
            Ok(_) => Drained::All,
            Err(_) => Drained::TimedOut {
                open: self.max_connections as usize - slots.available_permits(),
            },
        };
        self.control.enter(Phase::Finished);
        self.context
            .live
            .current()
            .access_log
            .flush(ACCESS_LOG_FLUSH);
        drained
    }

    /// Serves until SIGTERM or SIGINT, then shuts down gracefully as
    /// [`Server::run`] does; a second signal gives up at once. Each step
    /// is logged on the `staticd::lifecycle` target.
    pub async fn run_until_signalled(self, mut signals: Signals) -> Exit {
        let live = Arc::clone(&self.context.live);
        let (begin, begun) = oneshot::channel::<()>();
        let run = self.run(async {
            let _ = begun.await;
        });
        tokio::pin!(run);
        tokio::select! {
            _ = &mut run => return Exit::Graceful,
            () = signals.recv() => {}
        }
        let grace_period = live.current().grace_period;
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

/// The sockets a service manager passed (systemd socket activation), for
/// [`Options::inherited`]; none unless `LISTEN_PID` is this process. The `LISTEN_*` variables are removed either way.
///
/// # Safety
/// Changes the environment: call it while the process has one thread.
pub unsafe fn inherited_sockets() -> Result<Vec<activation::Inherited>, StartError> {
    // SAFETY: the caller's promise, passed on.
    unsafe { activation::take_from_env() }.map_err(StartError::Activation)
}

/// The binary's whole run, on the calling thread, which becomes the first
/// worker (the server starts the others on threads of their own). SIGHUP
/// reloads with `reloader` (only the certificates without one).
pub fn run_blocking(options: &Options, reloader: Option<Reloader>) -> Result<Exit, StartError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)?;
    let ended = runtime.block_on(serve_until_signalled(options, reloader));
    // Do not wait for blocking file reads of connections cut short.
    runtime.shutdown_background();
    ended
}

/// The binary's run: installs the signal handlers (before the address is
/// announced, so a signal sent right after is not lost), binds, announces
/// the address and serves until signalled.
pub(crate) async fn serve_until_signalled(
    options: &Options,
    reloader: Option<Reloader>,
) -> Result<Exit, StartError> {
    let signals = Signals::install().map_err(StartError::Signals)?;
    let hangups = reload::Hangups::install().map_err(StartError::Signals)?;
    let server = Server::bind(options).await?;
    let scheme = if server.tls().is_some() {
        "https"
    } else {
        "http"
    };
    match server.listener.local().map_err(StartError::Address)? {
        Local::Tcp(addr) => {
            tracing::info!(target: LIFECYCLE, "listening on {scheme}://{addr}");
            urls::announce(scheme, addr, options.qrcode);
        }
        Local::Unix(path) => {
            let path = path.display();
            tracing::info!(target: LIFECYCLE, "listening on unix:{path} ({scheme})");
        }
    }
    if let Some(redirect) = server.redirect_addr() {
        let redirect = redirect.map_err(StartError::Address)?;
        tracing::info!(target: LIFECYCLE, "redirecting http://{redirect} to https");
    }
    if let Some(metrics) = server.metrics_addr() {
        let metrics = metrics.map_err(StartError::Address)?;
        tracing::info!(target: LIFECYCLE, "metrics on http://{metrics}/metrics");
    }
    tokio::spawn(hangups.serve(Arc::clone(&server.context.live), reloader));
    Ok(server.run_until_signalled(signals).await)
}

impl Server {
    /// What the metrics listener reads.
    fn view(&self) -> View {
        View {
            live: Arc::clone(&self.context.live),
            max_connections: self.max_connections,
            pool: Arc::clone(&self.context.pool),
            parkings: Arc::clone(&self.context.parkings),
            shutdown: self.context.shutdown.clone(),
            started: std::time::SystemTime::now(),
        }
    }
}

/// Accepts on a listener other than the main one until shutdown begins,
/// on the first worker; its connections count against
/// `--max-connections` like any other. The redirect's answer once and
/// close, so they never park or move.
async fn side_loop(listener: Accepting, role: Role, context: Context, worker: Worker) {
    let context = Context { role, ..context };
    let parking = match role {
        Role::RedirectToHttps(_) => None,
        Role::Site | Role::Plain => worker.parking,
    };
    let worker = Worker { parking, ..worker };
    let mut shutdown = context.shutdown.clone();
    let stop = shutdown.stopping();
    tokio::pin!(stop);
    accept_loop(&listener, 0, &context, &worker, &mut stop, Follow::Yes).await;
}
