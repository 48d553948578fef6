//! SIGHUP: reloading what can change while the server runs. Today that is
//! the HTTPS certificates: new handshakes use the new ones, connections
//! already open carry on with theirs, and a reload that fails logs one
//! error and keeps the certificates in use. Without HTTPS, SIGHUP is
//! logged and ignored rather than ending the process (its default).

use std::io;
use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::ops::diagnostics::LIFECYCLE;
use crate::serve::options::StartError;
use crate::serve::tls::{Acceptor, CertPair};

/// Loads the certificates at start-up, warning about any not valid now.
pub(super) fn load(pairs: &[CertPair]) -> Result<Acceptor, StartError> {
    let (acceptor, warnings) = Acceptor::load(pairs).map_err(StartError::Tls)?;
    warn(&warnings);
    Ok(acceptor)
}

fn warn(warnings: &[String]) {
    for warning in warnings {
        tracing::warn!(target: LIFECYCLE, "{warning}");
    }
}

/// The SIGHUP handler, installed before the server announces itself so a
/// reload sent right after is not lost.
pub(super) struct Hangups {
    signal: Signal,
}

impl Hangups {
    pub(super) fn install() -> io::Result<Hangups> {
        Ok(Hangups {
            signal: signal(SignalKind::hangup())?,
        })
    }

    /// Reloads `tls` on every SIGHUP, for as long as the runtime runs.
    pub(super) async fn reload_on_hangup(mut self, tls: Option<Arc<Acceptor>>) {
        while self.signal.recv().await.is_some() {
            reload(tls.as_deref());
        }
    }
}

/// One reload, logged on the lifecycle target.
pub(super) fn reload(tls: Option<&Acceptor>) {
    let Some(tls) = tls else {
        return tracing::info!(target: LIFECYCLE, "SIGHUP: nothing to reload (no --tls-cert)");
    };
    match tls.reload() {
        Ok(warnings) => {
            tracing::info!(
                target: LIFECYCLE,
                "SIGHUP: certificates reloaded ({} pairs)",
                tls.pairs().len()
            );
            warn(&warnings);
        }
        Err(err) => tracing::error!(
            target: LIFECYCLE,
            "SIGHUP: reload failed, keeping the certificates in use: {err}"
        ),
    }
}
