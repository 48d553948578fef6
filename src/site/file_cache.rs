//! A file cache: the bytes of small files, and open descriptors of larger
//! ones, with their validators and encoded header fields, so a hot file is
//! answered without opening, stat'ing or reading it (larger ones are then
//! sent straight from the open descriptor with sendfile).
//!
//! An entry is trusted for [`FILE_CACHE_VALID`] after it was read; after
//! that the next request takes the full path (open beneath the root under
//! the symlink policy, fstat, read) and refreshes it, so an edit shows up
//! within that time and the root wall is re-checked as often. Bytes are
//! only cached when the file's inode, size and modification time are the
//! same after reading as before, so a file being rewritten is never cached
//! half old, half new. Only files with no precompressed variant are cached
//! (their answers do not depend on Accept-Encoding).

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use crate::ops::metrics::{Counter, Metrics};
use crate::site::limits::{
    FILE_CACHE_BYTES, FILE_CACHE_MAX_FILE, FILE_CACHE_OPEN, FILE_CACHE_VALID,
};
use crate::site::representation::validators::Validators;

/// What identifies a file's content: a different value is a different
/// file, or the same one changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl FileId {
    pub fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: meta.mtime(),
            mtime_nsec: meta.mtime_nsec(),
        }
    }
}

/// What the site says about a file it caches.
#[derive(Debug)]
pub(crate) struct About {
    pub validators: Validators,
    pub content_type: String,
    /// Whether it is compressed on the fly for clients that accept it.
    pub compressible: bool,
}

/// A cached file.
#[derive(Debug)]
pub struct Cached {
    pub body: CachedBody,
    pub id: FileId,
    pub validators: Validators,
    pub content_type: String,
    pub compressible: bool,
    /// The header fields of a 200 for it, encoded once (they depend only
    /// on the file and the site's settings).
    pub fields: Arc<[u8]>,
    /// `fields` with the site's header rules applied, made on the first
    /// request that needs them (see `rules::headers`): an entry lives for
    /// [`FILE_CACHE_VALID`], so a hot file pays for its rules about once a
    /// second instead of on every request.
    pub ruled: OnceLock<RuledFields>,
    read_at: Instant,
}

/// A cached file's 200 fields after the header rules, encoded: the same
/// for every request but for what CORS grants.
#[derive(Debug)]
pub struct RuledFields {
    /// For a request whose origin CORS does not allow (or without CORS).
    pub refused: Arc<[u8]>,
    /// For one it allows, with the fields a grant adds but the echoed
    /// `Access-Control-Allow-Origin` (sent on its own, as it differs).
    pub granted: Arc<[u8]>,
}

impl Cached {
    /// An entry for `body`, the file `meta` describes, read now.
    fn new(
        body: CachedBody,
        meta: &Metadata,
        about: About,
        fields: impl FnOnce(&Validators) -> Vec<u8>,
    ) -> Arc<Cached> {
        Arc::new(Cached {
            body,
            id: FileId::of(meta),
            fields: fields(&about.validators).into(),
            validators: about.validators,
            content_type: about.content_type,
            compressible: about.compressible,
            ruled: OnceLock::new(),
            read_at: Instant::now(),
        })
    }
}

/// What a cached file is answered with.
#[derive(Debug, Clone)]
pub enum CachedBody {
    /// A small file's bytes.
    Bytes(Arc<[u8]>),
    /// A larger file, open; sendfile takes explicit offsets, so any number
    /// of responses can share the descriptor.
    Open { file: Arc<File>, len: u64 },
}

impl CachedBody {
    /// Bytes held in memory.
    fn memory(&self) -> usize {
        match self {
            CachedBody::Bytes(bytes) => bytes.len(),
            CachedBody::Open { .. } => 0,
        }
    }

    /// Descriptors held open.
    fn open(&self) -> usize {
        usize::from(matches!(self, CachedBody::Open { .. }))
    }
}

/// The cache, shared by all workers; never locked across an await.
#[derive(Debug, Default)]
pub(crate) struct FileCache {
    entries: Mutex<HashMap<PathBuf, Arc<Cached>>>,
    /// Where its hits, misses and evictions are counted.
    metrics: Arc<Metrics>,
}

impl FileCache {
    /// An empty cache, counting into `metrics`.
    pub(crate) fn new(metrics: Arc<Metrics>) -> FileCache {
        FileCache {
            entries: Mutex::default(),
            metrics,
        }
    }

    /// The entry for `name` if it was read within [`FILE_CACHE_VALID`].
    pub(crate) fn get(&self, name: &Path) -> Option<Arc<Cached>> {
        let found = self.lookup(name);
        let counter = match found {
            Some(_) => Counter::FileCacheHits,
            None => Counter::FileCacheMisses,
        };
        self.metrics.count(counter);
        found
    }

    fn lookup(&self, name: &Path) -> Option<Arc<Cached>> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(name)?;
        (entry.read_at.elapsed() < FILE_CACHE_VALID).then(|| Arc::clone(entry))
    }

    /// Bytes held in memory, and entries.
    pub(crate) fn usage(&self) -> (u64, u64) {
        let Ok(entries) = self.entries.lock() else {
            return (0, 0);
        };
        let bytes = entries.values().map(|c| c.body.memory() as u64).sum();
        (bytes, entries.len() as u64)
    }

    /// Reads a small file and caches it, returning the entry; `None` when
    /// the file is too large or changed while it was read.
    pub(crate) fn load(
        &self,
        name: &Path,
        file: &File,
        meta: &Metadata,
        about: About,
        fields: impl FnOnce(&Validators) -> Vec<u8>,
    ) -> Option<Arc<Cached>> {
        let size = usize::try_from(meta.len())
            .ok()
            .filter(|&n| n <= FILE_CACHE_MAX_FILE)?;
        let bytes = crate::site::root::read_exactly(file, 0, size as u64).ok()?;
        let after = file.metadata().ok()?;
        if FileId::of(&after) != FileId::of(meta) {
            return None;
        }
        let entry = Cached::new(CachedBody::Bytes(bytes.into()), meta, about, fields);
        self.insert(name, &entry);
        Some(entry)
    }

    /// Keeps a larger file open in the cache, returning the entry.
    pub(crate) fn keep_open(
        &self,
        name: &Path,
        file: File,
        meta: &Metadata,
        about: About,
        fields: impl FnOnce(&Validators) -> Vec<u8>,
    ) -> Arc<Cached> {
        let body = CachedBody::Open {
            file: Arc::new(file),
            len: meta.len(),
        };
        let entry = Cached::new(body, meta, about, fields);
        self.insert(name, &entry);
        entry
    }

    fn insert(&self, name: &Path, entry: &Arc<Cached>) {
        if let Ok(mut entries) = self.entries.lock() {
            let before = entries.len();
            make_room(&mut entries, &entry.body);
            let evicted = before - entries.len();
            self.metrics
                .add(Counter::FileCacheEvictions, evicted as u64);
            entries.insert(name.to_owned(), Arc::clone(entry));
        }
    }
}

type Entries = HashMap<PathBuf, Arc<Cached>>;

/// Drops expired entries, then arbitrary ones, until `incoming` fits in
/// both budgets: bytes in memory and descriptors held open.
fn make_room(entries: &mut Entries, incoming: &CachedBody) {
    let usage = |e: &Entries| {
        e.values()
            .fold((0, 0), |(m, o), c| (m + c.body.memory(), o + c.body.open()))
    };
    let fits = |(memory, open): (usize, usize)| {
        memory + incoming.memory() <= FILE_CACHE_BYTES && open + incoming.open() <= FILE_CACHE_OPEN
    };
    if fits(usage(entries)) {
        return;
    }
    entries.retain(|_, c| c.read_at.elapsed() < FILE_CACHE_VALID);
    let mut used = usage(entries);
    let victims: Vec<PathBuf> = entries
        .iter()
        .take_while(|(_, c)| {
            let over = !fits(used);
            used = (used.0 - c.body.memory(), used.1 - c.body.open());
            over
        })
        .map(|(k, _)| k.clone())
        .collect();
    for key in victims {
        entries.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn about(meta: &Metadata) -> About {
        About {
            validators: Validators::of(meta, None),
            content_type: "text/plain".to_owned(),
            compressible: false,
        }
    }

    fn load(cache: &FileCache, path: &Path, name: &str) -> Option<Arc<Cached>> {
        let file = File::open(path).unwrap();
        let meta = file.metadata().unwrap();
        cache.load(Path::new(name), &file, &meta, about(&meta), |_| {
            b"Content-Type: text/plain\r\n".to_vec()
        })
    }

    fn bytes(cached: &Cached) -> &[u8] {
        match &cached.body {
            CachedBody::Bytes(bytes) => bytes,
            CachedBody::Open { .. } => panic!("expected bytes"),
        }
    }

    #[test]
    fn caches_small_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        let big = dir.path().join("big");
        std::fs::write(&small, "hello").unwrap();
        std::fs::write(&big, vec![0u8; FILE_CACHE_MAX_FILE + 1]).unwrap();
        let cache = FileCache::default();
        assert_eq!(bytes(&load(&cache, &small, "small").unwrap()), b"hello");
        assert_eq!(bytes(&cache.get(Path::new("small")).unwrap()), b"hello");
        assert!(load(&cache, &big, "big").is_none());
        assert!(cache.get(Path::new("big")).is_none());
    }

    #[test]
    fn a_file_changed_while_read_is_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "old").unwrap();
        let file = File::open(&path).unwrap();
        let meta = file.metadata().unwrap();
        std::fs::write(&path, "newer").unwrap();
        let cache = FileCache::default();
        assert!(
            cache
                .load(Path::new("f"), &file, &meta, about(&meta), |_| {
                    b"Content-Type: text/plain\r\n".to_vec()
                })
                .is_none()
        );
    }

    #[test]
    fn the_total_size_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FileCache::default();
        let count = FILE_CACHE_BYTES / FILE_CACHE_MAX_FILE + 3;
        for i in 0..count {
            let path = dir.path().join(i.to_string());
            std::fs::write(&path, vec![b'x'; FILE_CACHE_MAX_FILE]).unwrap();
            load(&cache, &path, &i.to_string()).unwrap();
        }
        let entries = cache.entries.lock().unwrap();
        let total: usize = entries.values().map(|c| c.body.memory()).sum();
        assert!(total <= FILE_CACHE_BYTES, "{total}");
        assert!(entries.len() >= FILE_CACHE_BYTES / FILE_CACHE_MAX_FILE - 1);
    }

    fn keep_open(cache: &FileCache, path: &Path, name: &str) -> Arc<Cached> {
        let file = File::open(path).unwrap();
        let meta = file.metadata().unwrap();
        cache.keep_open(Path::new(name), file, &meta, about(&meta), |_| Vec::new())
    }

    /// A file just too large for its bytes to be cached.
    fn big_file(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("big");
        std::fs::write(&path, vec![b'x'; FILE_CACHE_MAX_FILE + 1]).unwrap();
        path
    }

    #[test]
    fn larger_files_are_kept_open_with_their_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = big_file(&dir);
        let cache = FileCache::default();
        keep_open(&cache, &path, "big");
        let Some(cached) = cache.get(Path::new("big")) else {
            panic!("not cached");
        };
        let CachedBody::Open { file, len } = &cached.body else {
            panic!("expected an open file");
        };
        assert_eq!(*len, FILE_CACHE_MAX_FILE as u64 + 1);
        assert_eq!(file.metadata().unwrap().len(), *len);
    }

    #[test]
    fn the_open_files_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = big_file(&dir);
        let cache = FileCache::default();
        for i in 0..FILE_CACHE_OPEN + 10 {
            keep_open(&cache, &path, &i.to_string());
        }
        let entries = cache.entries.lock().unwrap();
        let open: usize = entries.values().map(|c| c.body.open()).sum();
        assert!(open <= FILE_CACHE_OPEN, "{open}");
        assert!(open >= FILE_CACHE_OPEN - 1, "{open}");
    }
}
