//! A small-file cache: the bytes and validators of small files, so a hot
//! file is answered without opening, stat'ing or reading it.
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::limits::{FILE_CACHE_BYTES, FILE_CACHE_MAX_FILE};
use crate::validators::Validators;

/// How long a cached file is trusted before it is checked again.
pub const FILE_CACHE_VALID: Duration = Duration::from_secs(1);

/// A cached small file.
#[derive(Debug, Clone)]
pub struct Cached {
    pub bytes: Arc<[u8]>,
    pub validators: Validators,
    /// The header fields of a 200 for it, encoded once (they depend only
    /// on the file and the site's settings).
    pub fields: Arc<[u8]>,
    read_at: Instant,
}

/// The cache, shared by all workers; never locked across an await.
#[derive(Debug, Default)]
pub struct FileCache {
    entries: Mutex<HashMap<PathBuf, Arc<Cached>>>,
}

impl FileCache {
    /// The entry for `name` if it was read within [`FILE_CACHE_VALID`].
    pub fn get(&self, name: &Path) -> Option<Arc<Cached>> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(name)?;
        (entry.read_at.elapsed() < FILE_CACHE_VALID).then(|| Arc::clone(entry))
    }

    /// Reads a small file and caches it, returning the entry; `None` when
    /// the file is too large or changed while it was read.
    pub fn load(
        &self,
        name: &Path,
        file: &File,
        meta: &Metadata,
        validators: Validators,
        fields: impl FnOnce(&Validators) -> Vec<u8>,
    ) -> Option<Arc<Cached>> {
        let size = usize::try_from(meta.len())
            .ok()
            .filter(|&n| n <= FILE_CACHE_MAX_FILE)?;
        let bytes = crate::fs::read_exactly(file, 0, size as u64).ok()?;
        let after = file.metadata().ok()?;
        let same = |m: &Metadata| (m.ino(), m.size(), m.mtime(), m.mtime_nsec());
        if same(&after) != same(meta) {
            return None;
        }
        let entry = Arc::new(Cached {
            bytes: bytes.into(),
            fields: fields(&validators).into(),
            validators,
            read_at: Instant::now(),
        });
        if let Ok(mut entries) = self.entries.lock() {
            make_room(&mut entries, size);
            entries.insert(name.to_owned(), Arc::clone(&entry));
        }
        Some(entry)
    }
}

/// Drops expired entries, then arbitrary ones, until `incoming` more bytes fit.
fn make_room(entries: &mut HashMap<PathBuf, Arc<Cached>>, incoming: usize) {
    let total =
        |e: &HashMap<PathBuf, Arc<Cached>>| e.values().map(|c| c.bytes.len()).sum::<usize>();
    if total(entries) + incoming <= FILE_CACHE_BYTES {
        return;
    }
    entries.retain(|_, c| c.read_at.elapsed() < FILE_CACHE_VALID);
    let mut used = total(entries);
    let victims: Vec<PathBuf> = entries
        .iter()
        .take_while(|(_, c)| {
            let over = used + incoming > FILE_CACHE_BYTES;
            used = used.saturating_sub(c.bytes.len());
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

    fn load(cache: &FileCache, path: &Path, name: &str) -> Option<Arc<Cached>> {
        let file = File::open(path).unwrap();
        let meta = file.metadata().unwrap();
        let validators = Validators::of(&meta, None);
        cache.load(Path::new(name), &file, &meta, validators, |_| {
            b"Content-Type: text/plain\r\n".to_vec()
        })
    }

    #[test]
    fn caches_small_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small");
        let big = dir.path().join("big");
        std::fs::write(&small, "hello").unwrap();
        std::fs::write(&big, vec![0u8; FILE_CACHE_MAX_FILE + 1]).unwrap();
        let cache = FileCache::default();
        assert_eq!(&*load(&cache, &small, "small").unwrap().bytes, b"hello");
        assert_eq!(&*cache.get(Path::new("small")).unwrap().bytes, b"hello");
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
        let validators = Validators::of(&meta, None);
        assert!(
            cache
                .load(Path::new("f"), &file, &meta, validators, |_| {
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
        let total: usize = entries.values().map(|c| c.bytes.len()).sum();
        assert!(total <= FILE_CACHE_BYTES, "{total}");
        assert!(entries.len() >= FILE_CACHE_BYTES / FILE_CACHE_MAX_FILE - 1);
    }
}
