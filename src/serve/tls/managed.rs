//! The certificate ACME keeps (`--acme-domain`), as the TLS resolver and
//! the HTTP-01 responder see it: the names it is for, the certificate in
//! force (none until the first order is done), and the answers to the
//! challenges of an order in progress. The ACME task (`serve::acme`)
//! writes here; handshakes and the redirect listener only read.
//!
//! One value for the life of the server, shared by every configuration a
//! reload builds, so a certificate arriving during a reload is not lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use rustls::sign::CertifiedKey;
use tokio::sync::Notify;

/// TLS-ALPN-01's protocol name (RFC 8737 §6.2): the CA validating a
/// name, never a client; offered only with `--acme-domain`.
pub(crate) const ALPN_ACME: &[u8] = b"acme-tls/1";

/// The ACME certificate's slot and the challenges of the order in flight.
#[derive(Debug, Default)]
pub(crate) struct Managed {
    domains: RwLock<Vec<String>>,
    current: RwLock<Option<Arc<CertifiedKey>>>,
    /// The certificate's `notAfter` in Unix seconds, 0 before the first.
    not_after: AtomicI64,
    /// When the CA last issued one, in Unix seconds, 0 before.
    issued_at: AtomicI64,
    /// The file it was written to, naming it in the metrics.
    file: RwLock<String>,
    /// TLS-ALPN-01 certificates by name, while the CA validates them.
    challenges: Mutex<HashMap<String, Arc<CertifiedKey>>>,
    /// HTTP-01 key authorizations by token, while the CA validates them.
    tokens: Mutex<HashMap<String, String>>,
    /// Wakes the ACME task when a reload changes the names.
    changed: Notify,
}

/// Reads through a lock a panic poisoned: every write here replaces a
/// whole value, so what is inside is always whole.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Managed {
    pub(crate) fn new(domains: &[String]) -> Arc<Managed> {
        let managed = Managed::default();
        *managed.domains.write().unwrap_or_else(|e| e.into_inner()) = domains.to_vec();
        Arc::new(managed)
    }

    /// The names the certificate is to cover, the first naming its files.
    pub(crate) fn domains(&self) -> Vec<String> {
        read(&self.domains).clone()
    }

    /// Whether `name` (as a client sent it in SNI) is one of the names.
    pub(crate) fn covers(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.');
        read(&self.domains)
            .iter()
            .any(|d| d.eq_ignore_ascii_case(name))
    }

    /// Another list of names (a reload): the ACME task is woken to order
    /// a certificate for them; the one in force stays until it arrives.
    pub(crate) fn set_domains(&self, domains: &[String]) {
        let mut current = self.domains.write().unwrap_or_else(|e| e.into_inner());
        if *current != domains {
            *current = domains.to_vec();
            self.changed.notify_one();
        }
    }

    /// Resolves when the names have changed since the last call.
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }

    /// The certificate new handshakes get, once there is one.
    pub(crate) fn current(&self) -> Option<Arc<CertifiedKey>> {
        read(&self.current).clone()
    }

    /// Puts `key` in force for new handshakes; open connections keep
    /// the one they started with.
    pub(crate) fn install(&self, key: Arc<CertifiedKey>, not_after: i64, file: String) {
        *self.file.write().unwrap_or_else(|e| e.into_inner()) = file;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(key);
        self.not_after.store(not_after, Ordering::Relaxed);
    }

    /// The certificate's `notAfter`, `None` before there is one.
    pub(crate) fn not_after(&self) -> Option<i64> {
        Some(self.not_after.load(Ordering::Relaxed)).filter(|&t| t != 0)
    }

    /// Notes that the CA issued a certificate at `at` (Unix seconds).
    pub(crate) fn issued(&self, at: i64) {
        self.issued_at.store(at, Ordering::Relaxed);
    }

    /// When the CA last issued one, for the metrics.
    pub(crate) fn issued_at(&self) -> Option<u64> {
        u64::try_from(self.issued_at.load(Ordering::Relaxed))
            .ok()
            .filter(|&t| t != 0)
    }

    /// The certificate's file and `notAfter`, for the expiry gauge.
    pub(crate) fn expiry(&self) -> Option<(String, u64)> {
        let not_after = u64::try_from(self.not_after()?).ok()?;
        Some((read(&self.file).clone(), not_after))
    }

    /// The TLS-ALPN-01 certificate for `name`, while it is being validated.
    pub(crate) fn challenge(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        lock(&self.challenges)
            .get(&name.trim_end_matches('.').to_ascii_lowercase())
            .cloned()
    }

    pub(crate) fn set_challenge(&self, name: &str, key: Arc<CertifiedKey>) {
        lock(&self.challenges).insert(name.to_owned(), key);
    }

    /// The HTTP-01 answer for `token`, while it is being validated.
    pub(crate) fn token(&self, token: &str) -> Option<String> {
        lock(&self.tokens).get(token).cloned()
    }

    pub(crate) fn set_token(&self, token: &str, key_authorization: &str) {
        lock(&self.tokens).insert(token.to_owned(), key_authorization.to_owned());
    }

    /// Forgets every challenge answer (the order is over either way).
    pub(crate) fn clear_challenges(&self) {
        lock(&self.challenges).clear();
        lock(&self.tokens).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_without_case_or_a_final_dot_and_a_change_wakes_the_task() {
        let managed = Managed::new(&["site.test".to_owned(), "www.site.test".to_owned()]);
        assert!(managed.covers("SITE.test") && managed.covers("www.site.test."));
        assert!(!managed.covers("other.test") && !managed.covers("test"));
        managed.set_domains(&["other.test".to_owned()]);
        assert!(managed.covers("other.test") && !managed.covers("site.test"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // notify_one stores the wake-up for the task's next wait.
        runtime.block_on(managed.changed());
    }

    #[test]
    fn tokens_and_challenges_last_until_cleared() {
        let managed = Managed::new(&["site.test".to_owned()]);
        assert_eq!(managed.token("t"), None);
        managed.set_token("t", "t.thumb");
        assert_eq!(managed.token("t").as_deref(), Some("t.thumb"));
        managed.clear_challenges();
        assert_eq!(managed.token("t"), None);
        assert!(managed.current().is_none() && managed.not_after().is_none());
    }
}
