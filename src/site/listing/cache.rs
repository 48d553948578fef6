//! Rendered listings, kept so a directory listed again is answered from
//! memory: reading and sorting 3,000 entries takes milliseconds, sending
//! kept bytes microseconds. An entry is the directory's identity (device,
//! inode, modification time: adding, removing or renaming an entry changes
//! it) at one URL path, in one order and format, trusted for
//! [`FILE_CACHE_VALID`] like a cached file, since an entry's own size or
//! time changes without changing the directory's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::Sort;
use crate::site::file_cache::FileId;
use crate::site::limits::{FILE_CACHE_VALID, LISTING_CACHE_BYTES, LISTING_CACHE_ENTRIES};
use crate::site::representation::validators::Validators;

/// What a listing is cached under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ListingKey {
    pub dir: FileId,
    /// The breadcrumb and links depend on it.
    pub url_path: String,
    pub json: bool,
    pub sort: Sort,
}

/// A rendered listing and its validators.
#[derive(Debug)]
pub(crate) struct CachedListing {
    pub body: Arc<[u8]>,
    pub validators: Validators,
    made_at: Instant,
}

/// The cache, shared by all workers; never locked across an await.
#[derive(Debug, Default)]
pub(crate) struct ListingCache {
    entries: Mutex<HashMap<ListingKey, Arc<CachedListing>>>,
}

impl ListingCache {
    /// The listing for `key`, if one was made within the trust window.
    pub(crate) fn get(&self, key: &ListingKey) -> Option<Arc<CachedListing>> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(key)?;
        (entry.made_at.elapsed() < FILE_CACHE_VALID).then(|| Arc::clone(entry))
    }

    /// Keeps `body` for `key` and returns the entry; expired entries go
    /// first, then arbitrary ones, to stay within both bounds.
    pub(crate) fn insert(
        &self,
        key: ListingKey,
        body: Vec<u8>,
        validators: Validators,
    ) -> Arc<CachedListing> {
        let entry = Arc::new(CachedListing {
            body: body.into(),
            validators,
            made_at: Instant::now(),
        });
        if entry.body.len() > LISTING_CACHE_BYTES {
            return entry;
        }
        if let Ok(mut entries) = self.entries.lock() {
            let fits = |e: &HashMap<ListingKey, Arc<CachedListing>>| {
                let bytes: usize = e.values().map(|c| c.body.len()).sum();
                e.len() < LISTING_CACHE_ENTRIES && bytes + entry.body.len() <= LISTING_CACHE_BYTES
            };
            if !fits(&entries) {
                entries.retain(|_, c| c.made_at.elapsed() < FILE_CACHE_VALID);
            }
            while !fits(&entries) {
                let Some(victim) = entries.keys().next().cloned() else {
                    break;
                };
                entries.remove(&victim);
            }
            entries.insert(key, Arc::clone(&entry));
        }
        entry
    }

    /// Listings held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(dir: &std::path::Path, n: usize) -> ListingKey {
        ListingKey {
            dir: FileId::of(&std::fs::metadata(dir).unwrap()),
            url_path: format!("/d{n}/"),
            json: false,
            sort: Sort::default(),
        }
    }

    fn validators() -> Validators {
        Validators {
            etag: "\"l\"".to_owned(),
            modified: 0,
        }
    }

    #[test]
    fn kept_per_key_and_bounded_in_count() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ListingCache::default();
        for n in 0..LISTING_CACHE_ENTRIES + 10 {
            cache.insert(key(dir.path(), n), vec![b'x'; 10], validators());
        }
        assert_eq!(cache.len(), LISTING_CACHE_ENTRIES);
        let last = key(dir.path(), LISTING_CACHE_ENTRIES + 9);
        assert_eq!(&*cache.get(&last).unwrap().body, b"xxxxxxxxxx");
        let mut json = last.clone();
        json.json = true;
        assert!(
            cache.get(&json).is_none(),
            "another format is another entry"
        );
    }

    #[test]
    fn bounded_in_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ListingCache::default();
        let size = LISTING_CACHE_BYTES / 3;
        for n in 0..5 {
            cache.insert(key(dir.path(), n), vec![b'x'; size], validators());
        }
        assert!(cache.len() <= 3);
        let huge = key(dir.path(), 99);
        cache.insert(
            huge.clone(),
            vec![b'x'; LISTING_CACHE_BYTES + 1],
            validators(),
        );
        assert!(
            cache.get(&huge).is_none(),
            "a listing over the budget is not kept"
        );
    }
}
