//! The configuration in force: one value (the connections' `Shared`),
//! replaced whole by a
//! reload. Whoever serves holds an `Arc` of the one it started with, so
//! a request in flight finishes under it, and looks again only between
//! requests; the look is one atomic load of a number that changes once
//! per reload, so the hot path takes no lock and shares no written cache
//! line. An old configuration is freed when its last holder lets go.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// A value that knows which configuration it is.
pub(crate) trait Generation {
    /// 0 at start, one more per reload.
    fn generation(&self) -> u64;
}

/// The current value and its generation number.
#[derive(Debug)]
pub(crate) struct Live<T> {
    generation: AtomicU64,
    current: RwLock<Arc<T>>,
}

impl<T: Generation> Live<T> {
    /// `shared` in force, as its generation.
    pub(crate) fn new(shared: T) -> Arc<Live<T>> {
        Arc::new(Live {
            generation: AtomicU64::new(shared.generation()),
            current: RwLock::new(Arc::new(shared)),
        })
    }

    /// The configuration for something starting now.
    pub(crate) fn current(&self) -> Arc<T> {
        // A poisoned lock still holds a whole value: a swap of an Arc is
        // never left half done.
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// `held` made current if a reload replaced it since.
    pub(crate) fn refresh(&self, held: &mut Arc<T>) {
        if held.generation() != self.generation.load(Ordering::Acquire) {
            *held = self.current();
        }
    }

    /// The generation the next configuration gets.
    pub(crate) fn next_generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire) + 1
    }

    /// Puts `shared` in force (its generation from [`Live::next_generation`]).
    pub(crate) fn replace(&self, shared: T) {
        let generation = shared.generation();
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(shared);
        self.generation.store(generation, Ordering::Release);
    }
}
