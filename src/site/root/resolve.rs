//! Mapping a parsed [`Target`] to what it names in the document root:
//! a file, a directory's index, or a directory without one, each opened
//! through the root wall ([`Root::open_beneath`]); the one table from
//! filesystem errors to response status ([`status_for`]); and reading a
//! small body whole or not at all ([`read_exactly`]).

use std::fs::{File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::http::status::Status;
use crate::http::target::Target;
use crate::site::root::wall::Root;

/// The name served for a directory requested with a trailing slash when
/// no other list is given (the default of `--index`).
pub(crate) const INDEX_FILE: &str = "index.html";

/// What a target names inside the root.
#[derive(Debug)]
pub enum Resolved {
    /// An open regular file; `name` is the requested path (relative to the
    /// root), whose extension decides the content type.
    File {
        file: File,
        meta: Metadata,
        name: PathBuf,
    },
    /// A directory named without its trailing slash.
    DirectoryWithoutSlash,
    /// An open directory with no index file.
    DirectoryWithoutIndex { dir: File, meta: Metadata },
}

/// The one table from filesystem errors to response status.
pub(crate) fn status_for(err: &io::Error) -> Status {
    match err.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory => Status::NotFound,
        io::ErrorKind::PermissionDenied => Status::Forbidden,
        _ => match err.raw_os_error() {
            Some(libc::ENAMETOOLONG) => Status::NotFound,
            // A symlink refused by policy, a path escaping the root, a socket.
            Some(libc::ELOOP | libc::EXDEV | libc::ENXIO) => Status::Forbidden,
            _ => Status::InternalServerError,
        },
    }
}

/// Resolves `target` below `root` with the one index name `index.html`;
/// the site tries its `--index` names through `resolve_with`.
pub fn resolve(root: &Root, target: &Target) -> Result<Resolved, Status> {
    resolve_with(root, target, &[INDEX_FILE])
}

/// Resolves `target` below `root`; a directory named with its trailing
/// slash is answered by the first of `index` that exists in it. Only
/// regular files and directories are ever answered; anything else (FIFO,
/// socket, device) is 403 and was opened non-blocking, so it cannot stall
/// a worker.
pub(crate) fn resolve_with<S: AsRef<str>>(
    root: &Root,
    target: &Target,
    index: &[S],
) -> Result<Resolved, Status> {
    let rel: PathBuf = target
        .segments
        .iter()
        .map(|s| std::ffi::OsStr::from_bytes(s))
        .collect();
    let (file, meta) = open_with_meta(root, &rel)?;
    if meta.is_dir() {
        if !target.trailing_slash {
            return Ok(Resolved::DirectoryWithoutSlash);
        }
        return directory_index(root, &rel, index, file, meta);
    }
    if target.trailing_slash {
        // `/file.html/` names a directory that does not exist.
        return Err(Status::NotFound);
    }
    if !meta.is_file() {
        return Err(Status::Forbidden);
    }
    Ok(Resolved::File {
        file,
        meta,
        name: rel,
    })
}

/// The first of `index` that exists in the directory `rel` (open as
/// `dir`), under the same policy as a direct request for it: a name that
/// is refused (a symlink the policy forbids, a special file) is that
/// refusal, a name that is missing or a directory is passed over, and
/// with none found the directory is answered as having no index.
fn directory_index<S: AsRef<str>>(
    root: &Root,
    rel: &Path,
    index: &[S],
    dir: File,
    dir_meta: Metadata,
) -> Result<Resolved, Status> {
    for name in index {
        let path = rel.join(name.as_ref());
        match open_with_meta(root, &path) {
            Ok((file, meta)) if meta.is_file() => {
                return Ok(Resolved::File {
                    file,
                    meta,
                    name: path,
                });
            }
            Ok((_, meta)) if !meta.is_dir() => return Err(Status::Forbidden),
            Ok(_) | Err(Status::NotFound) => {}
            Err(status) => return Err(status),
        }
    }
    Ok(Resolved::DirectoryWithoutIndex {
        dir,
        meta: dir_meta,
    })
}

fn open_with_meta(root: &Root, rel: &Path) -> Result<(File, Metadata), Status> {
    let file = root.open_beneath(rel).map_err(|e| status_for(&e))?;
    let meta = file.metadata().map_err(|e| status_for(&e))?;
    Ok((file, meta))
}

/// Reads exactly `len` bytes of a small file from `offset`. A file that shrank since it
/// was stat'ed is an error, so a short body is never sent as complete; one
/// that grew is cut at the size announced.
pub(crate) fn read_exactly(file: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut bytes = vec![0u8; len];
    file.read_exact_at(&mut bytes, offset)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    //! Unit tests for path resolution, run against both resolvers.

    use super::*;
    use crate::site::root::wall::Symlinks;
    use std::ffi::CString;
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
        symlink("../secret.txt", root.join("rel-out.txt")).unwrap();
        symlink(outside.path(), root.join("outdir")).unwrap();
        symlink(root.join("a.txt"), root.join("in.txt")).unwrap();
        symlink("dir", root.join("dir-alias")).unwrap();
        symlink("../out.txt", root.join("dir/chain.txt")).unwrap();
        let root = std::fs::canonicalize(root).unwrap();
        Fixture {
            _outside: outside,
            root,
        }
    }

    /// Both resolvers (openat2 and the fallback) for a policy.
    fn roots(fx: &Fixture, policy: Symlinks) -> [Root; 2] {
        let fallback = Root::open(&fx.root, policy).unwrap();
        fallback.disable_openat2();
        [Root::open(&fx.root, policy).unwrap(), fallback]
    }

    fn resolve_raw(root: &Root, raw: &str) -> Result<Resolved, Status> {
        resolve(root, &Target::parse(raw).unwrap())
    }

    fn status(root: &Root, raw: &str) -> u16 {
        match resolve_raw(root, raw) {
            Ok(Resolved::File { .. }) => 200,
            Ok(Resolved::DirectoryWithoutSlash) => 301,
            Ok(Resolved::DirectoryWithoutIndex { .. }) => 299,
            Err(status) => status.code(),
        }
    }

    #[test]
    fn files_resolve_with_requested_name() {
        let fx = fixture();
        for root in roots(&fx, Symlinks::Inside) {
            match resolve_raw(&root, "/in.txt") {
                Ok(Resolved::File { meta, name, .. }) => {
                    assert_eq!(meta.len(), 1);
                    assert_eq!(name, Path::new("in.txt"));
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn directories() {
        let fx = fixture();
        for root in roots(&fx, Symlinks::Inside) {
            assert_eq!(status(&root, "/dir"), 301);
            assert_eq!(status(&root, "/dir/"), 200);
            assert_eq!(status(&root, "/"), 299);
            assert_eq!(status(&root, "/dir/sub/"), 299);
            assert_eq!(status(&root, "/a.txt/"), 404);
            assert_eq!(status(&root, "/missing"), 404);
            assert_eq!(status(&root, "/a.txt/x"), 404);
        }
    }

    #[test]
    fn the_first_index_name_that_exists_wins() {
        let fx = fixture();
        std::fs::write(fx.root.join("dir/index.htm"), "htm").unwrap();
        std::fs::create_dir(fx.root.join("dir/sub/index.htm")).unwrap();
        symlink(
            fx.root.join("../secret.txt"),
            fx.root.join("dir/sub/out.html"),
        )
        .unwrap();
        for root in roots(&fx, Symlinks::Inside) {
            let named = |raw: &str, index: &[&str]| match resolve_with(
                &root,
                &Target::parse(raw).unwrap(),
                index,
            ) {
                Ok(Resolved::File { name, .. }) => Ok(name),
                Ok(Resolved::DirectoryWithoutIndex { .. }) => Err(299),
                Ok(Resolved::DirectoryWithoutSlash) => Err(301),
                Err(status) => Err(status.code()),
            };
            let htm = Ok(PathBuf::from("dir/index.htm"));
            assert_eq!(named("/dir/", &["index.htm", "index.html"]), htm);
            assert_eq!(named("/dir/", &["missing", "index.htm"]), htm);
            assert_eq!(
                named("/dir/", &["index.html", "index.htm"]),
                Ok(PathBuf::from("dir/index.html"))
            );
            assert_eq!(named("/dir/", &["none.html"]), Err(299));
            // A directory of the name is passed over; a forbidden link is 403.
            assert_eq!(named("/dir/sub/", &["index.htm"]), Err(299));
            assert_eq!(named("/dir/sub/", &["out.html", "index.htm"]), Err(403));
            assert_eq!(named("/dir", &["index.htm"]), Err(301));
        }
    }

    #[test]
    fn policy_inside_follows_only_links_that_stay_inside() {
        let fx = fixture();
        for root in roots(&fx, Symlinks::Inside) {
            for raw in [
                "/out.txt",
                "/rel-out.txt",
                "/outdir/secret.txt",
                "/outdir/",
                "/dir/chain.txt",
            ] {
                assert_eq!(status(&root, raw), 403, "{raw}");
            }
            assert_eq!(status(&root, "/in.txt"), 200);
            assert_eq!(status(&root, "/dir-alias/"), 200);
        }
    }

    #[test]
    fn policy_never_refuses_every_link() {
        let fx = fixture();
        for root in roots(&fx, Symlinks::Never) {
            for raw in [
                "/out.txt",
                "/in.txt",
                "/dir-alias/",
                "/dir-alias/index.html",
            ] {
                assert_eq!(status(&root, raw), 403, "{raw}");
            }
            assert_eq!(status(&root, "/a.txt"), 200);
            assert_eq!(status(&root, "/dir/"), 200);
        }
    }

    #[test]
    fn policy_any_follows_everything() {
        let fx = fixture();
        for root in roots(&fx, Symlinks::Any) {
            assert_eq!(status(&root, "/out.txt"), 200);
            assert_eq!(status(&root, "/outdir/secret.txt"), 200);
        }
    }

    #[test]
    fn special_files_are_forbidden_without_blocking() {
        let fx = fixture();
        let fifo = fx.root.join("fifo");
        let c_path = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: c_path is a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
        let listener = std::os::unix::net::UnixListener::bind(fx.root.join("sock")).unwrap();
        for root in roots(&fx, Symlinks::Inside) {
            assert_eq!(status(&root, "/fifo"), 403);
            assert_eq!(status(&root, "/sock"), 403);
        }
        drop(listener);
        let root = Root::open(Path::new("/dev"), Symlinks::Inside).unwrap();
        assert_eq!(status(&root, "/null"), 403);
    }

    #[test]
    fn io_error_table() {
        let e = |kind| io::Error::from(kind);
        let os = io::Error::from_raw_os_error;
        assert_eq!(status_for(&e(io::ErrorKind::NotFound)), Status::NotFound);
        assert_eq!(
            status_for(&e(io::ErrorKind::PermissionDenied)),
            Status::Forbidden
        );
        assert_eq!(status_for(&os(libc::ELOOP)), Status::Forbidden);
        assert_eq!(status_for(&os(libc::EXDEV)), Status::Forbidden);
        assert_eq!(status_for(&os(libc::ENOTDIR)), Status::NotFound);
        assert_eq!(status_for(&os(libc::EIO)), Status::InternalServerError);
    }

    #[test]
    fn read_exactly_refuses_a_file_that_shrank() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "0123456789").unwrap();
        let file = File::open(&path).unwrap();
        let len = file.metadata().unwrap().len();
        assert_eq!(read_exactly(&file, 0, len).unwrap(), b"0123456789");
        assert_eq!(read_exactly(&file, 2, 3).unwrap(), b"234");
        std::fs::write(&path, "0123").unwrap();
        let err = read_exactly(&file, 0, len).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        std::fs::write(&path, "0123456789abcdef").unwrap();
        assert_eq!(read_exactly(&file, 0, len).unwrap(), b"0123456789");
    }
}
