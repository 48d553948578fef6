//! Accepting: what every worker's accept loop needs, and the loops that
//! take new connections while a worker is active.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;

use crate::ops::access_log::AccessLog;
use crate::ops::metrics::Counter;
use crate::serve::balance::Balance;
use crate::serve::connection::{self, Role, Shared, Worker};
use crate::serve::idle::{Handoff, Inbox};
use crate::serve::limits::{ACCEPT_BACKOFF, ACCEPT_WARN_EVERY};
use crate::serve::listener::{Accepting, Listener};
use crate::serve::live::Live;
use crate::serve::offload::Offload;
use crate::serve::options::Options;
use crate::serve::parking::Parking;
use crate::serve::pool::Pool;
use crate::serve::proxy::Proxies;
use crate::serve::tls::Acceptor;
use crate::shutdown::Control;
use crate::shutdown::Shutdown;
use crate::site::handler::Site;

/// What every worker's accept loop needs.
#[derive(Clone)]
pub(super) struct Context {
    /// The configuration in force, replaced by reloads.
    pub(super) live: Arc<Live<Shared>>,
    /// `--max-connections` permits, one per connection held.
    pub(super) slots: Arc<Semaphore>,
    pub(super) shutdown: Shutdown,
    pub(super) pool: Arc<Pool>,
    /// What the connections accepted are for.
    pub(super) role: Role,
    /// Each worker's parking table, once it has one (for the metrics).
    pub(super) parkings: Arc<[OnceLock<Arc<Parking>>]>,
}

/// What the workers share, and each worker's inbox.
pub(super) fn context(
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
    let (extra_headers, https_headers) = config.response_headers();
    let site_metrics = Arc::clone(&site.metrics);
    let shared = Shared {
        generation: 0,
        site,
        limits: config.limits,
        grace_period: config.grace_period,
        extra_headers,
        https_headers,
        tls,
        access_log: Arc::new(access_log),
        handoff: Arc::new(handoff),
        verifier: Arc::new(Offload::for_workers(config.workers)),
        compressor: Arc::new(Offload::for_workers(config.workers)),
        proxies: Proxies::new(&config.trusted_proxies, config.proxy_protocol),
        metrics: Arc::clone(&site_metrics),
        http2: config.http2,
    };
    let context = Context {
        live: Live::new(shared),
        slots: Arc::new(Semaphore::new(config.max_connections as usize)),
        shutdown: control.subscribe(),
        parkings: (0..config.workers).map(|_| OnceLock::new()).collect(),
        pool,
        role: Role::Site,
    };
    (context, inboxes)
}

/// Accepts whenever worker `index` is active, until `stop`. While it is
/// not, its listener is off its event loop: the kernel wakes every epoll
/// instance watching a listening socket for each new connection. A
/// `steered` listener (the worker's own) is accepted on all the time: the
/// kernel sends it new connections only while the worker is active.
pub(super) async fn accept_while_active(
    listener: Listener,
    index: usize,
    context: &Context,
    worker: &Worker,
    stop: impl Future<Output = ()>,
    steered: bool,
) {
    tokio::pin!(stop);
    if steered {
        match Accepting::from_std(listener) {
            Ok(accepting) => {
                accept_loop(&accepting, index, context, worker, &mut stop, Follow::No).await;
            }
            Err(err) => tracing::error!(worker = index, error = %err, "worker cannot accept"),
        }
        return;
    }
    let mut active = context.pool.watch_active();
    let mut listener = Some(listener);
    while let Some(idle) = listener.take() {
        tokio::select! {
            () = &mut stop => return,
            woken = active.wait_for(|&n| n > index) => if woken.is_err() { return },
        }
        let accepting = match Accepting::from_std(idle) {
            Ok(listener) => listener,
            Err(err) => {
                return tracing::error!(worker = index, error = %err, "worker cannot accept");
            }
        };
        if accept_loop(&accepting, index, context, worker, &mut stop, Follow::Yes).await
            == Until::Stopped
        {
            return;
        }
        listener = accepting
            .into_std()
            .inspect_err(|err| tracing::error!(worker = index, error = %err, "worker cannot pause"))
            .ok();
    }
}

/// Why an accept loop returned.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Until {
    Stopped,
    /// The worker is no longer active.
    Inactive,
}

/// Whether an accept loop ends when its worker stops being active.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Follow {
    Yes,
    No,
}

/// Accepts connections and starts each on worker `index` until `stop`,
/// or (with [`Follow::Yes`]) until the worker stops being active.
pub(super) async fn accept_loop<F: Future<Output = ()>>(
    listener: &Accepting,
    index: usize,
    context: &Context,
    worker: &Worker,
    stop: &mut Pin<&mut F>,
    follow: Follow,
) -> Until {
    let mut last_warning: Option<std::time::Instant> = None;
    let mut active = context.pool.watch_active();
    let mut inactive = std::pin::pin!(async {
        match follow {
            Follow::Yes => drop(active.wait_for(|&n| n <= index).await),
            Follow::No => std::future::pending().await,
        }
    });
    loop {
        // Beyond --max-connections, connections wait in the backlog.
        // Biased: once the worker is inactive it must not take one more.
        let permit = tokio::select! {
            biased;
            () = &mut *stop => return Until::Stopped,
            _ = &mut inactive => return Until::Inactive,
            permit = Arc::clone(&context.slots).acquire_owned() => permit,
        };
        let Ok(permit) = permit else {
            return Until::Stopped;
        };
        let accepted = tokio::select! {
            biased;
            () = &mut *stop => return Until::Stopped,
            _ = &mut inactive => return Until::Inactive,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                worker.shared.metrics.count(Counter::ConnectionsAccepted);
                let ticket = context.pool.ticket(index, permit);
                tokio::spawn(connection::serve(
                    stream,
                    peer,
                    ticket,
                    worker.clone(),
                    context.role,
                ));
            }
            Err(err) => {
                worker.shared.metrics.count(Counter::AcceptErrors);
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
}
