//! Mapping a parsed [`Target`] to something in the document root.
//!
//! The root is a wall: every candidate path is resolved to its real path
//! (following symlinks) and must still lie inside the canonical root; the
//! final open refuses a symlink swapped in after that check (`O_NOFOLLOW`),
//! and only regular files are ever opened for reading.

use std::ffi::OsStr;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::status::Status;
use crate::target::Target;

/// The name served for a directory requested with a trailing slash.
pub const INDEX_FILE: &str = "index.html";

/// What a target names inside the root.
#[derive(Debug)]
pub enum Resolved {
    /// An open regular file; `name` is the requested path, whose extension
    /// decides the content type.
    File {
        file: File,
        meta: Metadata,
        name: PathBuf,
    },
    /// A directory named without its trailing slash.
    DirectoryWithoutSlash,
    /// A directory (real path) with no index file.
    DirectoryWithoutIndex { dir: PathBuf, meta: Metadata },
}

/// The one table from filesystem errors to response status.
pub fn status_for(err: &io::Error) -> Status {
    match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Status::NotFound,
        io::ErrorKind::PermissionDenied => Status::Forbidden,
        _ => match err.raw_os_error() {
            Some(libc::ENAMETOOLONG) => Status::NotFound,
            Some(libc::ELOOP) => Status::Forbidden,
            _ => Status::InternalServerError,
        },
    }
}

/// Resolves `target` below `root`, which must already be canonical.
pub fn resolve(root: &Path, target: &Target) -> Result<Resolved, Status> {
    let mut path = root.to_path_buf();
    for segment in &target.segments {
        path.push(OsStr::from_bytes(segment));
    }
    let (real, meta) = real_inside(root, &path)?;
    if meta.is_dir() {
        if !target.trailing_slash {
            return Ok(Resolved::DirectoryWithoutSlash);
        }
        let index = real.join(INDEX_FILE);
        return match open_regular(root, &index) {
            Ok((file, meta)) => Ok(Resolved::File {
                file,
                meta,
                name: index,
            }),
            Err(Status::NotFound) => Ok(Resolved::DirectoryWithoutIndex { dir: real, meta }),
            Err(status) => Err(status),
        };
    }
    if target.trailing_slash {
        // `/file.html/` names a directory that does not exist.
        return Err(Status::NotFound);
    }
    let (file, meta) = open_regular(root, &real)?;
    Ok(Resolved::File {
        file,
        meta,
        name: path,
    })
}

/// The real path of `path` and its metadata, refusing anything that
/// resolves outside `root` (a symlink pointing out of it).
fn real_inside(root: &Path, path: &Path) -> Result<(PathBuf, Metadata), Status> {
    let real = std::fs::canonicalize(path).map_err(|e| status_for(&e))?;
    if !real.starts_with(root) {
        return Err(Status::Forbidden);
    }
    let meta = std::fs::metadata(&real).map_err(|e| status_for(&e))?;
    Ok((real, meta))
}

/// Opens a regular file inside `root`. Anything else (FIFO, socket, device)
/// is refused before it is opened, so opening can never block or trigger a
/// device's side effects; the opened file is checked again with `fstat`.
fn open_regular(root: &Path, path: &Path) -> Result<(File, Metadata), Status> {
    let (real, meta) = real_inside(root, path)?;
    if !meta.is_file() {
        return Err(if meta.is_dir() {
            Status::NotFound
        } else {
            Status::Forbidden
        });
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(&real)
        .map_err(|e| status_for(&e))?;
    let meta = file.metadata().map_err(|e| status_for(&e))?;
    if !meta.is_file() {
        return Err(Status::Forbidden);
    }
    Ok((file, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Fixture {
        _outside: tempfile::TempDir,
        root: PathBuf,
    }

    fn fixture() -> Fixture {
        let outside = tempfile::tempdir().unwrap();
        let root = outside.path().join("root");
        std::fs::create_dir_all(root.join("dir/sub")).unwrap();
        std::fs::write(root.join("a.txt"), "a").unwrap();
        std::fs::write(root.join("dir/index.html"), "index").unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        symlink(outside.path().join("secret.txt"), root.join("out.txt")).unwrap();
        symlink(outside.path(), root.join("outdir")).unwrap();
        symlink(root.join("a.txt"), root.join("in.txt")).unwrap();
        let root = std::fs::canonicalize(root).unwrap();
        Fixture {
            _outside: outside,
            root,
        }
    }

    fn resolve_raw(fx: &Fixture, raw: &str) -> Result<Resolved, Status> {
        resolve(&fx.root, &Target::parse(raw).unwrap())
    }

    #[test]
    fn files_resolve_with_requested_name() {
        let fx = fixture();
        match resolve_raw(&fx, "/in.txt") {
            Ok(Resolved::File { meta, name, .. }) => {
                assert_eq!(meta.len(), 1);
                assert!(name.ends_with("in.txt"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn directories() {
        let fx = fixture();
        assert!(matches!(
            resolve_raw(&fx, "/dir"),
            Ok(Resolved::DirectoryWithoutSlash)
        ));
        assert!(matches!(
            resolve_raw(&fx, "/dir/"),
            Ok(Resolved::File { .. })
        ));
        assert!(matches!(
            resolve_raw(&fx, "/dir/sub/"),
            Ok(Resolved::DirectoryWithoutIndex { .. })
        ));
        assert!(matches!(resolve_raw(&fx, "/a.txt/"), Err(Status::NotFound)));
        assert!(matches!(
            resolve_raw(&fx, "/missing"),
            Err(Status::NotFound)
        ));
        assert!(matches!(
            resolve_raw(&fx, "/a.txt/x"),
            Err(Status::NotFound)
        ));
    }

    #[test]
    fn symlinks_out_of_the_root_are_refused() {
        let fx = fixture();
        assert!(matches!(
            resolve_raw(&fx, "/out.txt"),
            Err(Status::Forbidden)
        ));
        assert!(matches!(
            resolve_raw(&fx, "/outdir/secret.txt"),
            Err(Status::Forbidden)
        ));
        assert!(matches!(
            resolve_raw(&fx, "/outdir/"),
            Err(Status::Forbidden)
        ));
    }

    #[test]
    fn special_files_are_forbidden() {
        let fx = fixture();
        let fifo = fx.root.join("fifo");
        let c_path = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: c_path is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
        assert!(matches!(resolve_raw(&fx, "/fifo"), Err(Status::Forbidden)));
    }

    #[test]
    fn io_error_table() {
        let e = |kind| io::Error::from(kind);
        assert_eq!(status_for(&e(io::ErrorKind::NotFound)), Status::NotFound);
        assert_eq!(
            status_for(&e(io::ErrorKind::PermissionDenied)),
            Status::Forbidden
        );
        assert_eq!(
            status_for(&io::Error::from_raw_os_error(libc::ELOOP)),
            Status::Forbidden
        );
        assert_eq!(
            status_for(&io::Error::from_raw_os_error(libc::ENOTDIR)),
            Status::NotFound
        );
        assert_eq!(
            status_for(&io::Error::from_raw_os_error(libc::EIO)),
            Status::InternalServerError
        );
    }
}
