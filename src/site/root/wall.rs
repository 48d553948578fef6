//! The root wall: every open below the document root goes through
//! [`Root::open_beneath`], relative to a directory descriptor held on the
//! root and, on Linux 5.6+, done with `openat2(2)` so the kernel itself
//! refuses to resolve outside it (`RESOLVE_BENEATH`) or through any symlink
//! (`RESOLVE_NO_SYMLINKS`), with no window between check and open. Where
//! `openat2` is unavailable (old kernels, seccomp filters) a fallback
//! resolves the real path first and opens it with `O_NOFOLLOW`.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Which symlinks below the root may be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Symlinks {
    /// Only those whose target resolves inside the root.
    #[default]
    Inside,
    /// None: any symlink on the path answers 403.
    Never,
    /// All, wherever they point (the root is then no wall for symlinks).
    Any,
}

/// Flags for every open: never block on a FIFO, never become a
/// controlling terminal, never leak into child processes.
const OPEN_FLAGS: libc::c_int =
    libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;

/// symlink policy every open below it obeys.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
    path: PathBuf,
    symlinks: Symlinks,
    /// Cleared the first time the kernel refuses `openat2` itself.
    openat2: AtomicBool,
}

impl Root {
    /// Opens the root directory, which must exist.
    pub fn open(path: &Path, symlinks: Symlinks) -> io::Result<Root> {
        let path = std::fs::canonicalize(path)?;
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(&path)?;
        Ok(Root {
            dir: dir.into(),
            path,
            symlinks,
            openat2: AtomicBool::new(true),
        })
    }

    /// The canonical path of the root.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Uses the fallback resolver from now on, as if `openat2` were missing.
    #[doc(hidden)]
    pub fn disable_openat2(&self) {
        self.openat2.store(false, Ordering::Relaxed);
    }

    /// Opens `rel` (no `.`/`..` components, as
    /// [`Target`](crate::http::target::Target) guarantees) below
    /// the root under the symlink policy.
    pub fn open_beneath(&self, rel: &Path) -> io::Result<File> {
        if self.openat2.load(Ordering::Relaxed) {
            match self.openat2(rel, self.resolve_flags()) {
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EPERM)) => {
                    self.openat2.store(false, Ordering::Relaxed);
                }
                // The kernel refuses absolute symlinks and `..` in links
                // under RESOLVE_BENEATH, even when they land inside the root.
                // Resolve the real path; if it is inside, open that exact
                // symlink-free path, still beneath the root, so a swap in
                // between can only fail the open, never escape.
                Err(e)
                    if e.raw_os_error() == Some(libc::EXDEV)
                        && self.symlinks == Symlinks::Inside =>
                {
                    let real = std::fs::canonicalize(self.path.join(rel))?;
                    let inside = real.strip_prefix(&self.path).map_err(|_| e)?;
                    let strict = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
                    return self.openat2(inside, strict);
                }
                result => return result,
            }
        }
        self.open_resolved(rel)
    }

    fn resolve_flags(&self) -> u64 {
        libc::RESOLVE_NO_MAGICLINKS
            | match self.symlinks {
                Symlinks::Inside => libc::RESOLVE_BENEATH,
                Symlinks::Never => libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS,
                Symlinks::Any => 0,
            }
    }

    fn openat2(&self, rel: &Path, resolve: u64) -> io::Result<File> {
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let c_path = CString::new(rel.as_os_str().as_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: open_how is plain data; all-zero is its documented default.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = OPEN_FLAGS as u64;
        how.resolve = resolve;
        // SAFETY: valid descriptor, NUL-terminated path, and a pointer to an
        // open_how of the size we pass.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                self.dir.as_raw_fd(),
                c_path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the kernel just returned this descriptor to us alone.
        Ok(unsafe { File::from_raw_fd(fd as libc::c_int) })
    }

    /// The fallback: resolve the real path, check it against the policy,
    /// then open it refusing a symlink swapped in at the last component.
    fn open_resolved(&self, rel: &Path) -> io::Result<File> {
        let joined = self.path.join(rel);
        let real = match self.symlinks {
            Symlinks::Any => joined,
            Symlinks::Inside => {
                let real = std::fs::canonicalize(&joined)?;
                if !real.starts_with(&self.path) {
                    return Err(io::Error::from_raw_os_error(libc::EXDEV));
                }
                real
            }
            Symlinks::Never => {
                let real = std::fs::canonicalize(&joined)?;
                if real != joined {
                    return Err(io::Error::from_raw_os_error(libc::ELOOP));
                }
                real
            }
        };
        let nofollow = if self.symlinks == Symlinks::Any {
            0
        } else {
            libc::O_NOFOLLOW
        };
        OpenOptions::new()
            .read(true)
            .custom_flags(OPEN_FLAGS | nofollow)
            .open(real)
    }
}

#[cfg(test)]
mod tests {
    //! The wall itself, through both resolvers (openat2 and the fallback);
    //! how targets map onto it is tested in `resolve`.

    use super::*;
    use std::io::Read;
    use std::os::unix::fs::symlink;

    /// A root with one file, links to it (absolute and relative) and a
    /// link out of it, beside a secret; returns the temporary directory
    /// holding both and the root's path.
    fn fixture() -> (tempfile::TempDir, PathBuf) {
        let outside = tempfile::tempdir().unwrap();
        let root = outside.path().join("root");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        symlink(root.join("a.txt"), root.join("abs.txt")).unwrap();
        symlink("a.txt", root.join("rel.txt")).unwrap();
        symlink("../secret.txt", root.join("out.txt")).unwrap();
        (outside, root)
    }

    fn both(root: &Path, policy: Symlinks) -> [Root; 2] {
        let fallback = Root::open(root, policy).unwrap();
        fallback.disable_openat2();
        [Root::open(root, policy).unwrap(), fallback]
    }

    fn read(root: &Root, rel: &str) -> io::Result<String> {
        let mut text = String::new();
        root.open_beneath(Path::new(rel))?
            .read_to_string(&mut text)?;
        Ok(text)
    }

    fn errno(result: io::Result<String>) -> Option<i32> {
        result.err().and_then(|e| e.raw_os_error())
    }

    #[test]
    fn the_root_itself_and_its_canonical_path() {
        let (_outside, path) = fixture();
        for root in both(&path, Symlinks::Inside) {
            assert_eq!(root.path(), std::fs::canonicalize(&path).unwrap());
            let dir = root.open_beneath(Path::new("")).unwrap();
            assert!(dir.metadata().unwrap().is_dir());
        }
    }

    #[test]
    fn inside_follows_links_that_stay_inside_only() {
        let (_outside, path) = fixture();
        for root in both(&path, Symlinks::Inside) {
            assert_eq!(read(&root, "abs.txt").unwrap(), "a");
            assert_eq!(read(&root, "rel.txt").unwrap(), "a");
            assert_eq!(errno(read(&root, "out.txt")), Some(libc::EXDEV));
        }
    }

    #[test]
    fn never_follows_no_link() {
        let (_outside, path) = fixture();
        for root in both(&path, Symlinks::Never) {
            assert_eq!(read(&root, "a.txt").unwrap(), "a");
            for link in ["abs.txt", "rel.txt", "out.txt"] {
                assert_eq!(errno(read(&root, link)), Some(libc::ELOOP), "{link}");
            }
        }
    }

    #[test]
    fn any_follows_every_link() {
        let (_outside, path) = fixture();
        for root in both(&path, Symlinks::Any) {
            assert_eq!(read(&root, "rel.txt").unwrap(), "a");
            assert_eq!(read(&root, "out.txt").unwrap(), "secret");
        }
    }
}
