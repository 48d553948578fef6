//! The credentials recently verified, so a logged-in browser (which sends
//! them with every request) pays bcrypt once, not per request. Keyed by
//! a 128-bit keyed hash of user and password, never the password itself:
//! the keys are random per process, so a key seen in memory says nothing
//! offline, and a collision needs 2^64 guesses that each cost a bcrypt.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};

/// How many verified credentials are kept; the least recently used goes
/// first. Each entry is 32 bytes, so the cache stays under 64 KiB.
pub(crate) const VERIFIED_ENTRIES: usize = 1024;

/// A verified credential's key: see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key(u128);

#[derive(Debug)]
pub(crate) struct Verified {
    /// Two independent SipHash keys, for 128 bits.
    hashers: (RandomState, RandomState),
    uses: Mutex<Uses>,
    capacity: usize,
}

/// When each key was last used, on a counter rather than a clock, so two
/// uses are never at the same time.
#[derive(Debug, Default)]
struct Uses {
    last: HashMap<Key, u64>,
    tick: u64,
}

impl Uses {
    fn touch(&mut self, key: Key) {
        self.tick += 1;
        self.last.insert(key, self.tick);
    }
}

impl Default for Verified {
    fn default() -> Verified {
        Verified::with_capacity(VERIFIED_ENTRIES)
    }
}

impl Verified {
    pub(crate) fn with_capacity(capacity: usize) -> Verified {
        Verified {
            hashers: (RandomState::new(), RandomState::new()),
            uses: Mutex::default(),
            capacity,
        }
    }

    /// The key of `user` with `password`; the user's length goes first,
    /// so no other split of the same bytes has the same key.
    pub(crate) fn key(&self, user: &str, password: &[u8]) -> Key {
        let item = (user.len(), user, password);
        let high = self.hashers.0.hash_one(item);
        let low = self.hashers.1.hash_one(item);
        Key(u128::from(high) << 64 | u128::from(low))
    }

    fn uses(&self) -> MutexGuard<'_, Uses> {
        self.uses.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `key` was verified, noting the use.
    pub(crate) fn contains(&self, key: Key) -> bool {
        let mut uses = self.uses();
        let known = uses.last.contains_key(&key);
        if known {
            uses.touch(key);
        }
        known
    }

    /// Keeps `key` as verified, evicting the least recently used when
    /// full. The scan is linear, but runs only after a bcrypt, which
    /// costs a thousand times more.
    pub(crate) fn insert(&self, key: Key) {
        let mut uses = self.uses();
        if uses.last.len() >= self.capacity && !uses.last.contains_key(&key) {
            let oldest = uses
                .last
                .iter()
                .min_by_key(|(_, used)| **used)
                .map(|(k, _)| *k);
            if let Some(oldest) = oldest {
                uses.last.remove(&oldest);
            }
        }
        uses.touch(key);
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.uses().last.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_separate_users_and_passwords() {
        let v = Verified::default();
        assert_eq!(v.key("ab", b"c"), v.key("ab", b"c"));
        assert_ne!(v.key("ab", b"c"), v.key("a", b"bc"));
        assert_ne!(v.key("ab", b"c"), v.key("ab", b"d"));
        // Another process (another cache) keys differently.
        assert_ne!(v.key("ab", b"c"), Verified::default().key("ab", b"c"));
    }

    #[test]
    fn evicts_the_least_recently_used_past_capacity() {
        let v = Verified::with_capacity(3);
        let keys: Vec<Key> = (0..4).map(|i| v.key("u", &[i])).collect();
        for &k in &keys[..3] {
            v.insert(k);
        }
        assert!(v.contains(keys[0])); // now the most recent
        v.insert(keys[3]);
        assert_eq!(v.len(), 3);
        assert!(!v.contains(keys[1]), "the least recently used went");
        assert!(v.contains(keys[0]) && v.contains(keys[2]) && v.contains(keys[3]));
        v.insert(keys[3]);
        assert_eq!(v.len(), 3, "inserting a kept key evicts nothing");
    }
}
