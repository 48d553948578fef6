//! The workers' side of the server: their threads, what each gives its
//! connections, and their accept loops.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::TcpListener;

use super::Context;
use crate::serve::connection;
use crate::serve::limits::{ACCEPT_BACKOFF, ACCEPT_WARN_EVERY};
use crate::serve::parking::Parking;
use crate::serve::pool::Inbox;
use crate::shutdown::Phase;

/// A worker thread with its own runtime: it waits for the server to run,
/// accepts while active until shutdown, and keeps its connections going
/// until the server is finished (or gone).
pub(super) fn spawn_worker(
    index: usize,
    listener: std::net::TcpListener,
    context: Context,
    inbox: Inbox,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(format!("staticd-w{index}"))
        .spawn(move || {
            runtime.block_on(async move {
                let mut shutdown = context.shutdown.clone();
                if shutdown.reached(Phase::Running).await == Phase::Finished {
                    return;
                }
                context.pool.register_thread(index);
                let worker = start_worker(&context, inbox);
                let mut stopping = shutdown.clone();
                let stop = async move { stopping.stopping().await };
                accept_while_active(listener, index, &context, &worker, stop).await;
                shutdown.reached(Phase::Finished).await;
            });
            // Dropping the runtime cuts connections still open past the
            // grace period.
            runtime.shutdown_background();
        })?;
    Ok(())
}

/// What a worker's connections get from it; starts its parking table and
/// the task taking in connections moved to it.
pub(super) fn start_worker(context: &Context, mut inbox: Inbox) -> connection::Worker {
    let parking = Parking::start(Arc::clone(&context.shared), context.shutdown.clone())
        .inspect_err(|err| tracing::warn!(error = %err, "idle connections will not be parked"))
        .ok();
    let worker = connection::Worker {
        shared: Arc::clone(&context.shared),
        shutdown: context.shutdown.clone(),
        parking,
    };
    let arrivals = worker.clone();
    // Ends when the pool, and with it every sender, is gone.
    tokio::spawn(async move {
        while let Some(moved) = inbox.recv().await {
            tokio::spawn(connection::arrive(moved, arrivals.clone()));
        }
    });
    worker
}

/// Accepts whenever worker `index` is active, until `stop`. While it is
/// not, its listener is off its event loop: the kernel wakes every epoll
/// instance watching a listening socket for each new connection.
async fn accept_while_active(
    listener: std::net::TcpListener,
    index: usize,
    context: &Context,
    worker: &connection::Worker,
    stop: impl Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut active = context.pool.watch_active();
    let mut listener = Some(listener);
    while let Some(idle) = listener.take() {
        tokio::select! {
            () = &mut stop => return,
            woken = active.wait_for(|&n| n > index) => if woken.is_err() { return },
        }
        let accepting = match TcpListener::from_std(idle) {
            Ok(listener) => listener,
            Err(err) => {
                return tracing::error!(worker = index, error = %err, "worker cannot accept");
            }
        };
        if accept_loop(&accepting, index, context, worker, &mut stop).await == Until::Stopped {
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

/// Accepts connections and starts each on worker `index` until `stop`,
/// or until the worker stops being active.
pub(super) async fn accept_loop<F: Future<Output = ()>>(
    listener: &TcpListener,
    index: usize,
    context: &Context,
    worker: &connection::Worker,
    stop: &mut Pin<&mut F>,
) -> Until {
    let mut last_warning: Option<std::time::Instant> = None;
    let mut active = context.pool.watch_active();
    let mut inactive = std::pin::pin!(active.wait_for(|&n| n <= index));
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
                let ticket = context.pool.ticket(index, permit);
                tokio::spawn(connection::serve(stream, peer, ticket, worker.clone()));
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
}
