//! The ACME task: keeps a certificate for the names in force, from start
//! to shutdown. At start a stored certificate for the same names is put in
//! force before the first handshake ([`prepare`]); the task orders one
//! when there is none or it is due, then sleeps until the renewal moment
//! ([`schedule::renew_at`]) or until a reload changes the names. A failed
//! attempt is one log line and a wait ([`Backoff`]); the certificate in
//! force stays until another replaces it.

use std::sync::Arc;
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;

use super::client::Client;
use super::order::{OrderError, Orderer};
use super::schedule::{self, Backoff, unix_now};
use super::state::{State, Stored};
use crate::ops::diagnostics::{LIFECYCLE, report};
use crate::ops::metrics::{Counter, Metrics};
use crate::serve::limits::ACME_URGENT;
use crate::serve::options::{AcmeOptions, StartError};
use crate::serve::tls::x509::{self, Validity};
use crate::serve::tls::{Managed, config::provider};
use crate::shutdown::Shutdown;

/// Everything the task needs, made at start.
pub(crate) struct Acme {
    options: AcmeOptions,
    managed: Arc<Managed>,
    state: State,
    client: Client,
    provider: Arc<CryptoProvider>,
    metrics: Arc<Metrics>,
}

/// Opens the state directory and the CA's roots, and puts a stored
/// certificate for the names in force (even one due for renewal: it
/// serves until the new one comes). Failing here fails the start.
pub(crate) fn prepare(
    options: &AcmeOptions,
    managed: Arc<Managed>,
    metrics: Arc<Metrics>,
) -> Result<Acme, StartError> {
    let state =
        State::open(&options.state).map_err(|e| StartError::AcmeState(options.state.clone(), e))?;
    let client = Client::new(options.ca_file.as_deref()).map_err(|e| {
        let file = options.ca_file.clone().unwrap_or_default();
        StartError::AcmeCaFile(file, e)
    })?;
    let acme = Acme {
        options: options.clone(),
        managed,
        state,
        client,
        provider: provider(),
        metrics,
    };
    if let Some((key, validity)) = acme.stored(&options.domains) {
        acme.put_in_force(key, validity, &options.domains);
    }
    tracing::info!(
        target: LIFECYCLE,
        "automatic HTTPS for {} from {} (using it accepts the CA's terms of service)",
        options.domains.join(", "),
        options.directory
    );
    Ok(acme)
}

/// `--check`'s line for the ACME certificate: its names, and the stored
/// certificate's expiry and next renewal, or that one will be ordered at
/// start; an error when the state directory or the CA file would stop a
/// start.
pub(crate) fn describe(options: &AcmeOptions) -> Result<String, StartError> {
    let state =
        State::peek(&options.state).map_err(|e| StartError::AcmeState(options.state.clone(), e))?;
    Client::new(options.ca_file.as_deref())
        .map_err(|e| StartError::AcmeCaFile(options.ca_file.clone().unwrap_or_default(), e))?;
    let names = options.domains.join(", ");
    let stored = state.load(&options.domains[0]).ok().flatten();
    let loaded = stored.and_then(|s| load(&s, &options.domains, &provider()));
    let (cert_file, _) = state.cert_files(&options.domains[0]);
    let now = unix_now();
    Ok(match loaded {
        Some((_, v)) if v.not_after <= now => {
            format!(
                "acme: {names}: the stored certificate expired on {}; ordered at start",
                x509::utc(v.not_after)
            )
        }
        Some((_, v)) if schedule::due(v, options.renew_before, now) => format!(
            "acme: {names}: {} expires {}, due for renewal: renewed at start",
            cert_file.display(),
            x509::utc(v.not_after)
        ),
        Some((_, v)) => format!(
            "acme: {names}: {} expires {}, renewed from {} (within a tenth of the window after)",
            cert_file.display(),
            x509::utc(v.not_after),
            x509::utc(schedule::renew_at(v, options.renew_before, 0.0))
        ),
        None => format!(
            "acme: {names}: no certificate stored for these names; ordered from {} at start",
            options.directory
        ),
    })
}

impl Acme {
    /// Keeps the certificate current until the server stops.
    pub(crate) async fn run(self, mut shutdown: Shutdown) {
        let mut backoff = Backoff::default();
        loop {
            let wait = match self.attempt().await {
                Ok(validity) => {
                    backoff.reset();
                    let at =
                        schedule::renew_at(validity, self.options.renew_before, schedule::jitter());
                    Duration::from_secs((at - unix_now()).max(0) as u64)
                }
                Err(err) => {
                    let holding = self.managed.current().is_some();
                    let wait = backoff.failed(holding, self.client.take_retry_after());
                    self.failed(&err, wait);
                    wait
                }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = self.managed.changed() => backoff.reset(),
                () = shutdown.stopping() => return,
            }
        }
    }

    /// Makes sure a certificate for the names in force is held and not
    /// due: the one in force, one another process stored meanwhile, or a
    /// new order. Returns its validity.
    async fn attempt(&self) -> Result<Validity, OrderError> {
        let domains = self.managed.domains();
        let state = self.state.clone();
        let lock = tokio::task::spawn_blocking(move || state.lock())
            .await
            .map_err(|e| OrderError::State(std::io::Error::other(e)))?
            .map_err(OrderError::State)?;
        if let Some((key, validity)) = self.stored(&domains) {
            if !schedule::due(validity, self.options.renew_before, unix_now()) {
                if self.managed.not_after() != Some(validity.not_after) {
                    // Stored by another process sharing the directory
                    // while this one waited for the lock.
                    tracing::info!(
                        target: LIFECYCLE,
                        "ACME: certificate for {} found in the state directory, valid until {}",
                        domains.join(", "),
                        x509::utc(validity.not_after)
                    );
                }
                self.put_in_force(key, validity, &domains);
                return Ok(validity);
            }
        }
        let renewal = self.managed.current().is_some();
        let ordered = self.order(&domains).await;
        drop(lock);
        let counter = match (renewal, ordered.is_ok()) {
            (false, true) => Counter::AcmeFirstIssued,
            (false, false) => Counter::AcmeFirstFailed,
            (true, true) => Counter::AcmeRenewalIssued,
            (true, false) => Counter::AcmeRenewalFailed,
        };
        self.metrics.count(counter);
        let (key, validity) = ordered?;
        self.managed.issued(unix_now());
        self.put_in_force(key, validity, &domains);
        tracing::info!(
            target: LIFECYCLE,
            "ACME: certificate for {} issued, valid until {}",
            domains.join(", "),
            x509::utc(validity.not_after)
        );
        Ok(validity)
    }

    /// Orders a certificate and stores it.
    async fn order(&self, domains: &[String]) -> Result<(CertifiedKey, Validity), OrderError> {
        let orderer = Orderer {
            options: &self.options,
            client: &self.client,
            state: &self.state,
            managed: &self.managed,
            provider: &self.provider,
        };
        let stored = orderer.order(domains).await?;
        let loaded = load(&stored, domains, &self.provider)
            .ok_or_else(|| OrderError::Refused("the certificate issued does not load".into()))?;
        self.state
            .save(&domains[0], &stored)
            .map_err(OrderError::State)?;
        Ok(loaded)
    }

    /// The stored certificate for exactly `domains`, if it loads and has
    /// not expired.
    fn stored(&self, domains: &[String]) -> Option<(CertifiedKey, Validity)> {
        let stored = self.state.load(domains.first()?).ok()??;
        let (key, validity) = load(&stored, domains, &self.provider)?;
        (validity.not_after > unix_now()).then_some((key, validity))
    }

    fn put_in_force(&self, key: CertifiedKey, validity: Validity, domains: &[String]) {
        let (cert_file, _) = self.state.cert_files(&domains[0]);
        let file = cert_file.display().to_string();
        self.managed
            .install(Arc::new(key), validity.not_after, file);
    }

    /// One line per failure: a `WARN` naming the directory and the cause,
    /// an `ERROR` while the certificate in force ends within
    /// [`ACME_URGENT`].
    fn failed(&self, err: &OrderError, wait: Duration) {
        let directory = &self.options.directory;
        let left = self.managed.not_after().map(|end| end - unix_now());
        let urgent = urgent(left);
        let cause = report(err);
        let retry = wait.as_secs();
        if urgent {
            let days = left.unwrap_or(0).max(0) / 86_400;
            tracing::error!(
                target: LIFECYCLE,
                "ACME: renewal from {directory} failed with {days} days left on the certificate, retrying in {retry} s: {cause}"
            );
        } else {
            tracing::warn!(
                target: LIFECYCLE,
                "ACME: order from {directory} failed, retrying in {retry} s: {cause}"
            );
        }
    }
}

/// Whether a failure is an `ERROR`: the certificate in force (with
/// `left` seconds to go) ends within [`ACME_URGENT`]. Without one, the
/// site is already down over HTTPS, and each failure is a `WARN` as the
/// first was.
fn urgent(left: Option<i64>) -> bool {
    left.is_some_and(|left| left < ACME_URGENT.as_secs() as i64)
}

/// A stored pair as a TLS key and its validity, when the key matches the
/// certificate and the certificate names exactly `domains`.
fn load(
    stored: &Stored,
    domains: &[String],
    provider: &CryptoProvider,
) -> Option<(CertifiedKey, Validity)> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(stored.cert.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let key = PrivateKeyDer::from_pem_slice(stored.key.as_bytes()).ok()?;
    let end = chain.first()?;
    let validity = x509::validity(end)?;
    let mut names = x509::dns_names(end)?;
    let mut wanted = domains.to_vec();
    names.sort();
    wanted.sort();
    if names != wanted {
        return None;
    }
    let key = CertifiedKey::from_der(chain, key, provider).ok()?;
    Some((key, validity))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored_for(names: &[&str]) -> Stored {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let made = rcgen::generate_simple_self_signed(names).unwrap();
        Stored {
            cert: made.cert.pem(),
            key: made.signing_key.serialize_pem(),
        }
    }

    #[test]
    fn failures_are_errors_within_a_week_of_the_end() {
        let day = 86_400;
        assert!(!urgent(None));
        assert!(!urgent(Some(8 * day)));
        assert!(!urgent(Some(7 * day)));
        assert!(urgent(Some(7 * day - 1)));
        assert!(urgent(Some(-day)), "expired");
    }

    #[test]
    fn a_stored_pair_loads_only_for_the_same_names_and_its_own_key() {
        let provider = provider();
        let names = ["a.test".to_owned(), "b.test".to_owned()];
        let stored = stored_for(&["b.test", "a.test"]);
        assert!(load(&stored, &names, &provider).is_some(), "any order");
        assert!(
            load(&stored, &names[..1], &provider).is_none(),
            "fewer names"
        );
        let other = stored_for(&["a.test", "b.test"]);
        let mixed = Stored {
            cert: stored.cert.clone(),
            key: other.key,
        };
        assert!(
            load(&mixed, &names, &provider).is_none(),
            "another order's key"
        );
        let garbage = Stored {
            cert: "x".into(),
            key: "y".into(),
        };
        assert!(load(&garbage, &names, &provider).is_none());
    }
}
