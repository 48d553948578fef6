//! The compressed-bytes cache: bounded in bytes (`--compress-cache`), the
//! least recently used result evicted first, keyed by the file's identity
//! (device, inode, size, modification time) and the coding, so a changed
//! file has a new key and is never answered with the old file's bytes.
//! Also the single flight: while one request compresses a file, others
//! for the same file and coding wait for its result ([`Flight`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::ops::metrics::{Counter, Metrics};
use crate::site::file_cache::FileId;
use crate::site::representation::negotiate::Coding;
use crate::site::representation::validators::Validators;

/// What a file compresses to, once compressed.
#[derive(Debug)]
pub(crate) struct Compressed {
    pub bytes: Arc<[u8]>,
    /// The original's validators, the ETag suffixed by the coding.
    pub validators: Validators,
    /// The header fields of its 200, encoded once.
    pub fields: Arc<[u8]>,
}

/// How compressing a file turned out.
#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Compressed(Arc<Compressed>),
    /// It did not shrink enough to be worth sending (kept, so it is not
    /// tried again).
    NotSmaller,
    /// It was not done: the pool was full, the file changed while it was
    /// read, or reading failed. Not kept: the next request tries again.
    Skipped,
}

/// What the cache says about a file and coding.
pub(crate) enum Lookup {
    Hit(Outcome),
    /// Nobody is compressing it: the caller does, and must finish (or
    /// drop) the [`Lead`].
    Lead(Lead),
    /// Someone is: wait for their result.
    Follow(Arc<Flight>),
}

type Key = (FileId, Coding);

/// Room an entry takes beyond its bytes, so that many tiny results (and
/// `NotSmaller` marks) are bounded too.
const ENTRY_OVERHEAD: usize = 128;

#[derive(Debug)]
struct Entry {
    outcome: Outcome,
    size: usize,
    /// The store's use counter when last used: least recently used goes.
    used: AtomicU64,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    flights: HashMap<Key, Arc<Flight>>,
    bytes: usize,
}

/// The cache, shared by every worker.
#[derive(Debug)]
pub(crate) struct Store {
    budget: usize,
    inner: Mutex<Inner>,
    tick: AtomicU64,
    /// Where its hits, misses and evictions are counted.
    metrics: Arc<Metrics>,
}

impl Store {
    pub(crate) fn new(budget: usize, metrics: Arc<Metrics>) -> Store {
        Store {
            budget,
            inner: Mutex::default(),
            tick: AtomicU64::new(0),
            metrics,
        }
    }

    /// Bytes the stored results take.
    pub(crate) fn bytes(&self) -> u64 {
        self.inner.lock().map_or(0, |inner| inner.bytes as u64)
    }

    /// The result for `id` in `coding`, or who makes it.
    pub(crate) fn lookup(self: &Arc<Self>, id: FileId, coding: Coding) -> Lookup {
        let key = (id, coding);
        let Ok(mut inner) = self.inner.lock() else {
            return Lookup::Hit(Outcome::Skipped);
        };
        if let Some(entry) = inner.entries.get(&key) {
            let now = self.tick.fetch_add(1, Ordering::Relaxed);
            entry.used.store(now, Ordering::Relaxed);
            self.metrics.count(Counter::CompressionCacheHits);
            return Lookup::Hit(entry.outcome.clone());
        }
        if let Some(flight) = inner.flights.get(&key) {
            self.metrics.count(Counter::CompressionCacheHits);
            return Lookup::Follow(Arc::clone(flight));
        }
        self.metrics.count(Counter::CompressionCacheMisses);
        let flight = Arc::new(Flight::default());
        inner.flights.insert(key, Arc::clone(&flight));
        Lookup::Lead(Lead {
            store: Arc::clone(self),
            key,
            flight,
            finished: false,
        })
    }

    fn finish(&self, key: Key, outcome: &Outcome) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.flights.remove(&key);
        let size = ENTRY_OVERHEAD
            + match outcome {
                Outcome::Compressed(c) => c.bytes.len() + c.fields.len(),
                Outcome::NotSmaller => 0,
                Outcome::Skipped => return,
            };
        if size > self.budget {
            return;
        }
        while inner.bytes + size > self.budget {
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used.load(Ordering::Relaxed))
                .map(|(k, _)| *k);
            let Some(evicted) = oldest.and_then(|k| inner.entries.remove(&k)) else {
                break;
            };
            inner.bytes -= evicted.size;
            self.metrics.count(Counter::CompressionCacheEvictions);
        }
        let used = AtomicU64::new(self.tick.fetch_add(1, Ordering::Relaxed));
        let entry = Entry {
            outcome: outcome.clone(),
            size,
            used,
        };
        if let Some(old) = inner.entries.insert(key, entry) {
            inner.bytes -= old.size;
        }
        inner.bytes += size;
    }
}

/// One compression in progress, which others wait for.
#[derive(Debug, Default)]
pub(crate) struct Flight {
    done: Mutex<Option<Outcome>>,
    notify: tokio::sync::Notify,
}

impl Flight {
    /// The leader's outcome, once it has one.
    pub(crate) async fn wait(&self) -> Outcome {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(outcome) = self.done.lock().ok().and_then(|d| d.clone()) {
                return outcome;
            }
            notified.await;
        }
    }

    fn complete(&self, outcome: Outcome) {
        if let Ok(mut done) = self.done.lock() {
            *done = Some(outcome);
        }
        self.notify.notify_waiters();
    }
}

/// The right (and duty) to compress one file in one coding: finished with
/// the outcome, or, when dropped unfinished (the work was refused or its
/// request went away), finished as [`Outcome::Skipped`], so no follower
/// waits forever.
#[derive(Debug)]
pub(crate) struct Lead {
    store: Arc<Store>,
    key: Key,
    flight: Arc<Flight>,
    finished: bool,
}

impl Lead {
    /// Keeps `outcome` (unless it is `Skipped`) and wakes the followers.
    pub(crate) fn finish(mut self, outcome: Outcome) {
        self.finished = true;
        self.store.finish(self.key, &outcome);
        self.flight.complete(outcome);
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        if !self.finished {
            self.store.finish(self.key, &Outcome::Skipped);
            self.flight.complete(Outcome::Skipped);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> FileId {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![0u8; n as usize]).unwrap();
        FileId::of(&std::fs::metadata(&path).unwrap())
    }

    fn compressed(size: usize) -> Outcome {
        Outcome::Compressed(Arc::new(Compressed {
            bytes: vec![1u8; size].into(),
            validators: Validators {
                etag: "\"x\"".to_owned(),
                modified: 0,
            },
            fields: Vec::new().into(),
        }))
    }

    fn lead(store: &Arc<Store>, id: FileId) -> Lead {
        match store.lookup(id, Coding::Gzip) {
            Lookup::Lead(lead) => lead,
            _ => panic!("expected to lead"),
        }
    }

    fn is_hit(store: &Arc<Store>, id: FileId) -> bool {
        match store.lookup(id, Coding::Gzip) {
            Lookup::Hit(_) => true,
            Lookup::Lead(_) | Lookup::Follow(_) => false,
        }
    }

    #[test]
    fn the_least_recently_used_goes_first_and_the_budget_holds() {
        let budget = 3 * (1000 + ENTRY_OVERHEAD);
        let store = Arc::new(Store::new(budget, Arc::default()));
        let ids: Vec<FileId> = (1..=4).map(id).collect();
        for &id in &ids[..3] {
            lead(&store, id).finish(compressed(1000));
        }
        assert!(is_hit(&store, ids[0]), "used again: now the most recent");
        lead(&store, ids[3]).finish(compressed(1000));
        assert!(store.inner.lock().unwrap().bytes <= budget);
        assert!(is_hit(&store, ids[0]) && is_hit(&store, ids[2]) && is_hit(&store, ids[3]));
        assert!(
            !is_hit(&store, ids[1]),
            "the least recently used was dropped"
        );
        // A result larger than the whole budget is not kept at all.
        let big = id(5);
        lead(&store, big).finish(compressed(budget));
        assert!(!is_hit(&store, big));
    }

    #[test]
    fn not_smaller_is_kept_and_skipped_is_not() {
        let store = Arc::new(Store::new(1 << 20, Arc::default()));
        let (a, b) = (id(1), id(2));
        lead(&store, a).finish(Outcome::NotSmaller);
        assert!(matches!(
            store.lookup(a, Coding::Gzip),
            Lookup::Hit(Outcome::NotSmaller)
        ));
        lead(&store, b).finish(Outcome::Skipped);
        assert!(matches!(store.lookup(b, Coding::Gzip), Lookup::Lead(_)));
        assert!(
            matches!(store.lookup(a, Coding::Brotli), Lookup::Lead(_)),
            "per coding"
        );
    }

    #[tokio::test]
    async fn a_dropped_lead_releases_its_followers() {
        let store = Arc::new(Store::new(1 << 20, Arc::default()));
        let a = id(1);
        let first = lead(&store, a);
        let Lookup::Follow(flight) = store.lookup(a, Coding::Gzip) else {
            panic!("expected to follow");
        };
        let waiting = tokio::spawn(async move { flight.wait().await });
        drop(first);
        assert!(matches!(waiting.await.unwrap(), Outcome::Skipped));
        assert!(
            matches!(store.lookup(a, Coding::Gzip), Lookup::Lead(_)),
            "tried again"
        );
    }
}
