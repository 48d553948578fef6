//! Unit tests for path resolution, run against both resolvers.

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
