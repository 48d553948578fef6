//! The signals that change a running server: SIGHUP reloads the whole
//! configuration, SIGUSR1 reopens the access log file (after `logrotate`
//! moved it).
//!
//! A reload asks the configuration layer (through a [`Reloader`] it was
//! given, since this layer does not read configuration) for the options as
//! they are now, builds everything a start would from them (root, site,
//! caches, certificates, access log) and only then puts it in force with
//! [`Live::replace`]; anything that fails refuses the reload as a whole and
//! the configuration in force stays. Settings that need another listening
//! socket are left as they were and named. Each outcome is one log line.

use std::error::Error;
use std::io;
use std::sync::Arc;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::ops::access_log::AccessLog;
use crate::ops::diagnostics::{LIFECYCLE, report};
use crate::ops::metrics::Counter;
use crate::serve::check::open_root;
use crate::serve::connection::Shared;
use crate::serve::live::Live;
use crate::serve::options::{Options, StartError};
use crate::serve::proxy::Proxies;
use crate::serve::tls::{Acceptor, CertPair};
use crate::site::Site;

/// What a reload brings: the options as the configuration says now, each
/// setting as text (`key`, `value`), to say what changed, and the
/// settings that differ from those the server started with but need a
/// restart (another listening socket, or other worker threads).
#[derive(Debug)]
pub struct Reload {
    pub options: Options,
    pub settings: Vec<(String, String)>,
    pub needs_restart: Vec<String>,
}

/// How the configuration is read again, and the settings in force.
pub struct Reloader {
    /// As [`Reload::settings`], for the configuration in force.
    pub settings: Vec<(String, String)>,
    /// Reads the command line and environment the process started with
    /// and the config files as they are now.
    #[allow(clippy::type_complexity)]
    pub load: Box<dyn FnMut() -> Result<Reload, Box<dyn Error + Send + Sync>> + Send>,
}

/// Loads the certificates at start-up, warning about any not valid now;
/// `managed` is the ACME certificate's slot, with `--acme-domain`.
pub(super) fn load(
    pairs: &[CertPair],
    http2: crate::serve::options::Http2Options,
    managed: Option<Arc<crate::serve::tls::Managed>>,
) -> Result<Acceptor, StartError> {
    let http2 = crate::serve::tls::Http2(http2.enabled);
    let (acceptor, warnings) = Acceptor::load(pairs, http2, managed).map_err(StartError::Tls)?;
    warn(&warnings);
    Ok(acceptor)
}

fn warn(warnings: &[String]) {
    for warning in warnings {
        tracing::warn!(target: LIFECYCLE, "{warning}");
    }
}

/// The SIGHUP and SIGUSR1 handlers, installed before the server announces
/// itself so a signal sent right after is not lost.
pub(super) struct Hangups {
    hangup: Signal,
    reopen: Signal,
}

impl Hangups {
    pub(super) fn install() -> io::Result<Hangups> {
        Ok(Hangups {
            hangup: signal(SignalKind::hangup())?,
            reopen: signal(SignalKind::user_defined1())?,
        })
    }

    /// Reloads on every SIGHUP (with `reloader`; only the certificates
    /// without one) and reopens the log on every SIGUSR1, for as long as
    /// the runtime runs.
    pub(super) async fn serve(mut self, live: Arc<Live<Shared>>, mut reloader: Option<Reloader>) {
        loop {
            tokio::select! {
                Some(()) = self.hangup.recv() => match &mut reloader {
                    Some(reloader) => reload(&live, reloader),
                    None => reload_certificates(&live),
                },
                Some(()) = self.reopen.recv() => reopen(&live),
                else => return,
            }
        }
    }
}

/// SIGUSR1: the access log file opened again by its name.
fn reopen(live: &Live<Shared>) {
    match live.current().access_log.reopen() {
        Ok(()) => tracing::info!(target: LIFECYCLE, "SIGUSR1: access log reopened"),
        Err(err) => tracing::error!(
            target: LIFECYCLE,
            "SIGUSR1: cannot reopen the access log, still writing the old file: {err}"
        ),
    }
}

/// One whole reload, logged as one line.
pub(super) fn reload(live: &Live<Shared>, reloader: &mut Reloader) {
    let reloaded = match (reloader.load)() {
        Ok(reloaded) => reloaded,
        Err(err) => return refused(live, &*err),
    };
    match next(live, &reloaded.options) {
        Ok((shared, prepared, warnings)) => {
            if let (Some(acceptor), Some(prepared)) = (&shared.tls, prepared) {
                acceptor.install(prepared);
            }
            acme_names(&shared, &reloaded.options);
            live.replace(shared);
            live.current().metrics.count(Counter::ReloadsApplied);
            let mut changed = changed(&reloader.settings, &reloaded.settings);
            changed.retain(|key| !reloaded.needs_restart.contains(key));
            tracing::info!(target: LIFECYCLE, "SIGHUP: {}", applied(&changed, &reloaded));
            warn(&warnings);
            reloader.settings = reloaded.settings;
        }
        Err(err) => refused(live, &err),
    }
}

/// A reload with other `--acme-domain` names: the ACME task orders a
/// certificate for them, and the one in force serves until it comes.
fn acme_names(shared: &Shared, options: &Options) {
    let managed = shared.tls.as_ref().and_then(|tls| tls.managed());
    let acme = options.tls.as_ref().and_then(|tls| tls.acme.as_ref());
    if let (Some(managed), Some(acme)) = (managed, acme) {
        managed.set_domains(&acme.domains);
    }
}

fn refused(live: &Live<Shared>, err: &(dyn Error + 'static)) {
    live.current().metrics.count(Counter::ReloadsRefused);
    tracing::error!(
        target: LIFECYCLE,
        "SIGHUP: reload refused, the configuration in force stays: {}",
        report(err)
    );
}

/// The keys whose values differ between `before` and `after`, in the
/// order of `after` (a setting that is in one only counts too).
fn changed(before: &[(String, String)], after: &[(String, String)]) -> Vec<String> {
    let value = |list: &[(String, String)], key: &str| {
        list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    };
    let keys = after.iter().chain(before).map(|(k, _)| k);
    let mut out: Vec<String> = Vec::new();
    for key in keys {
        if value(before, key) != value(after, key) && !out.contains(key) {
            out.push(key.clone());
        }
    }
    out
}

/// The line for a reload put in force.
fn applied(changed: &[String], reloaded: &Reload) -> String {
    let mut line = match changed {
        [] => "reloaded, no setting changed (certificates read again, log reopened)".to_owned(),
        changed => format!("reloaded, changed: {}", changed.join(", ")),
    };
    if !reloaded.needs_restart.is_empty() {
        line.push_str(&format!(
            "; needs a restart, left as it was: {}",
            reloaded.needs_restart.join(", ")
        ));
    }
    line
}

/// Everything the next configuration needs, built from `options` beside
/// the one in force (whose pools, inboxes and listeners it keeps), and
/// the certificates to install with it; nothing is changed yet.
fn next(
    live: &Live<Shared>,
    options: &Options,
) -> Result<(Shared, Option<crate::serve::tls::Prepared>, Vec<String>), StartError> {
    let current = live.current();
    let metrics = Arc::clone(&current.metrics);
    let site = Site::new(open_root(options)?, &options.site, metrics).map_err(StartError::Auth)?;
    let (prepared, warnings) = match (&current.tls, &options.tls) {
        (Some(acceptor), Some(tls)) => {
            let (prepared, warnings) = acceptor
                .prepare(
                    &tls.certificates,
                    crate::serve::tls::Http2(options.http2.enabled),
                )
                .map_err(StartError::Tls)?;
            (Some(prepared), warnings)
        }
        _ => (None, Vec::new()),
    };
    let access_log = next_log(&current, options)?;
    let (extra_headers, https_headers) = options.response_headers();
    let shared = Shared {
        generation: live.next_generation(),
        site,
        limits: options.limits,
        grace_period: options.grace_period,
        extra_headers,
        https_headers,
        tls: current.tls.clone(),
        access_log,
        handoff: Arc::clone(&current.handoff),
        verifier: Arc::clone(&current.verifier),
        compressor: Arc::clone(&current.compressor),
        proxies: Proxies::new(&options.trusted_proxies, options.proxy_protocol),
        metrics: Arc::clone(&current.metrics),
        http2: options.http2,
    };
    Ok((shared, prepared, warnings))
}

/// The access log the next configuration writes: the one in force,
/// reopened, when it names the same file and format; else a new one.
fn next_log(current: &Shared, options: &Options) -> Result<Arc<AccessLog>, StartError> {
    let path = options
        .access_log
        .as_deref()
        .filter(|p| *p != std::path::Path::new("-"));
    let failed = |err| StartError::AccessLog(path.unwrap_or("-".as_ref()).to_owned(), err);
    if current.access_log.opened_as() == (options.log_format, path) {
        current.access_log.reopen().map_err(failed)?;
        return Ok(Arc::clone(&current.access_log));
    }
    Ok(Arc::new(
        AccessLog::open(options.log_format, path).map_err(failed)?,
    ))
}

/// SIGHUP without a [`Reloader`] (a server embedded without one): the
/// certificates read again.
pub(super) fn reload_certificates(live: &Live<Shared>) {
    let Some(tls) = live.current().tls.clone() else {
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

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn changed_names_each_key_that_differs_once() {
        let before = pairs(&[("root", "/a"), ("port", "80"), ("header", "X: 1")]);
        let after = pairs(&[("root", "/b"), ("port", "80"), ("index", "i.html")]);
        assert_eq!(changed(&before, &after), ["root", "index", "header"]);
        assert!(changed(&before, &before).is_empty());
    }
}
