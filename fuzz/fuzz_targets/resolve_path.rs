//! Fuzzes path resolution: a request target, parsed by
//! `staticd::wire::Target::parse`, resolved by `staticd::docroot::resolve`
//! against a hostile document root built once per process.
//!
//! The fixture (in a fresh temporary directory, removed when libFuzzer exits):
//!
//! ```text
//! secret.txt, secret-dir/{secret.txt,index.html}   outside the root, hold SECRET
//! root/
//!   index.html a.txt page.html "space in name.txt" café.txt
//!   dir/index.html dir/sub/file.txt dir/sub/deeper/
//!   noindex/b.txt                      a directory without index.html
//!   index-is-dir/index.html/           index.html is a directory
//!   index-is-fifo/index.html           index.html is a FIFO
//!   index-is-link-out/index.html -> ../../secret.txt
//!   fifo, sock                         a FIFO and a Unix socket
//!   link-fifo -> fifo
//!   link-out -> /abs/secret.txt        link-out-rel -> ../secret.txt
//!   link-outdir -> /abs/secret-dir     link-outdir-rel -> ../secret-dir
//!   dir/link-up -> ../../secret.txt    dir/link-up-in -> ../a.txt
//!   link-in -> a.txt                   link-in-abs -> /abs/root/a.txt
//!   link-chain -> link-in              link-dir-in -> dir
//!   link-root -> .                     link-root-abs -> /abs/root
//!   etc -> /etc                        proc-root -> /proc/self/root
//!   loop -> loop, loop-a <-> loop-b    dangling -> missing, dangling-out -> ../missing
//! ```
//!
//! Every input is resolved under `Symlinks::Inside` and `Symlinks::Never`,
//! each both with `openat2(2)` and with the fallback resolver. Asserted:
//! - nothing panics, and only regular files are served, only directories
//!   listed;
//! - a served file's real path (`/proc/self/fd/N`) lies inside the
//!   canonical root, and its bytes never contain the secret marker;
//! - a directory without index likewise lies inside the root;
//! - under `Never` no symlink was followed at all: the real path is exactly
//!   the root joined with the requested segments;
//! - `openat2` and the fallback agree on what is served (file, directory,
//!   redirect, or refused; the refusal's status may differ).

#![no_main]

use std::ffi::CString;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use staticd::Symlinks;
use staticd::docroot::{Resolved, Root, resolve};
use staticd::wire::{Status, Target};

/// In every file outside the root; never in a file served from it.
const SECRET: &[u8] = b"STATICD-FUZZ-SECRET";

/// How many bytes of a served file are checked for the marker (all fixture
/// files are far smaller).
const READ_LIMIT: u64 = 64 * 1024;

struct Fixture {
    /// The canonical root path.
    root: PathBuf,
    /// Every policy under test, each opened twice: `openat2` and fallback.
    roots: Vec<(Symlinks, Root, Root)>,
}

/// The fixture directory's name in the temporary directory, before the pid.
const FIXTURE_PREFIX: &str = "staticd-fuzz-resolve-";

/// The temporary directory holding the fixture, removed at exit.
static BASE: OnceLock<PathBuf> = OnceLock::new();
static FIXTURE: OnceLock<Fixture> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let fx = FIXTURE.get_or_init(build_fixture);
    let raw = String::from_utf8_lossy(data);
    let Ok(target) = Target::parse(&raw) else {
        return;
    };
    let rel: PathBuf = target
        .segments
        .iter()
        .map(|s| std::ffi::OsStr::from_bytes(s))
        .collect();
    for (policy, with_openat2, fallback) in &fx.roots {
        let a = check(fx, *policy, &rel, &raw, resolve(with_openat2, &target));
        let b = check(fx, *policy, &rel, &raw, resolve(fallback, &target));
        assert_eq!(
            a.kind, b.kind,
            "{policy:?}: openat2 and the fallback disagree on {raw:?}: {} vs {}",
            a.detail, b.detail
        );
    }
});

/// What a resolution served, for comparing the two resolvers.
struct Outcome {
    kind: Kind,
    detail: String,
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    File(PathBuf),
    DirectoryWithoutSlash,
    DirectoryWithoutIndex(PathBuf),
    Refused,
    Other,
}

fn check(
    fx: &Fixture,
    policy: Symlinks,
    rel: &Path,
    raw: &str,
    result: Result<Resolved, Status>,
) -> Outcome {
    let detail = format!("{result:?}");
    let kind = match result {
        Ok(Resolved::File {
            file, meta, name, ..
        }) => {
            let real = file.real_path();
            assert_inside(fx, policy, raw, &real);
            assert!(
                meta.is_file(),
                "{policy:?}: {raw:?} served a non-file {real:?}"
            );
            assert_regular(&file, raw, &real);
            if policy == Symlinks::Never {
                // `name` is the requested path relative to the root (plus
                // index.html for a directory): no symlink may have moved it.
                assert_eq!(
                    real,
                    fx.root.join(&name),
                    "Never: {raw:?} followed a symlink"
                );
            }
            assert_no_secret(&file, raw, &real);
            Kind::File(real)
        }
        Ok(Resolved::DirectoryWithoutIndex { dir, meta, .. }) => {
            let real = dir.real_path();
            assert_inside(fx, policy, raw, &real);
            assert_dir(&meta, raw, &real);
            if policy == Symlinks::Never {
                assert_eq!(real, fx.root.join(rel), "Never: {raw:?} followed a symlink");
            }
            Kind::DirectoryWithoutIndex(real)
        }
        Ok(Resolved::DirectoryWithoutSlash) => Kind::DirectoryWithoutSlash,
        #[allow(unreachable_patterns)] // Resolved may grow variants.
        Ok(_) => Kind::Other,
        Err(_) => Kind::Refused,
    };
    Outcome { kind, detail }
}

fn assert_inside(fx: &Fixture, policy: Symlinks, raw: &str, real: &Path) {
    assert!(
        real.starts_with(&fx.root),
        "{policy:?}: {raw:?} resolved to {real:?}, outside the root {:?}",
        fx.root
    );
}

fn assert_regular(file: &File, raw: &str, real: &Path) {
    let meta = file.metadata().expect("fstat of a served file");
    assert!(
        meta.is_file(),
        "{raw:?} served {real:?}, not a regular file"
    );
}

fn assert_dir(meta: &Metadata, raw: &str, real: &Path) {
    assert!(meta.is_dir(), "{raw:?} listed {real:?}, not a directory");
}

fn assert_no_secret(file: &File, raw: &str, real: &Path) {
    let mut bytes = Vec::new();
    // A fresh read through the same open file description; fixture files are
    // tiny and nothing else reads this descriptor.
    let _ = file.take(READ_LIMIT).read_to_end(&mut bytes);
    assert!(
        !bytes.windows(SECRET.len()).any(|w| w == SECRET),
        "{raw:?} served {real:?}, which holds the secret from outside the root"
    );
}

/// The real path of whatever `Resolved` hands back for a directory or file:
/// an open descriptor (read from `/proc/self/fd`) or a path (canonicalized).
trait RealPath {
    fn real_path(&self) -> PathBuf;
}

impl RealPath for File {
    fn real_path(&self) -> PathBuf {
        let link = format!("/proc/self/fd/{}", self.as_raw_fd());
        std::fs::read_link(&link).unwrap_or_else(|e| panic!("readlink {link}: {e}"))
    }
}

impl RealPath for PathBuf {
    fn real_path(&self) -> PathBuf {
        std::fs::canonicalize(self).unwrap_or_else(|e| panic!("canonicalize {self:?}: {e}"))
    }
}

fn build_fixture() -> Fixture {
    remove_stale_fixtures();
    let base = std::env::temp_dir().join(format!("{FIXTURE_PREFIX}{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir(&base).expect("create the fixture directory");
    let base = std::fs::canonicalize(base).expect("canonicalize the fixture directory");
    BASE.set(base.clone()).expect("fixture built twice");
    // SAFETY: registering a plain extern "C" function with no arguments.
    unsafe { libc::atexit(remove_fixture) };

    let root = base.join("root");
    let secret = |name: &str| [SECRET, b" ", name.as_bytes(), b"\n"].concat();
    write(&base.join("secret.txt"), &secret("secret.txt"));
    write(
        &base.join("secret-dir/secret.txt"),
        &secret("secret-dir/secret.txt"),
    );
    write(
        &base.join("secret-dir/index.html"),
        &secret("secret-dir/index.html"),
    );

    write(&root.join("index.html"), b"<p>root index</p>\n");
    write(&root.join("a.txt"), b"a\n");
    write(&root.join("page.html"), b"<p>page</p>\n");
    write(&root.join("space in name.txt"), b"space\n");
    write(&root.join("caf\u{e9}.txt"), b"cafe\n");
    write(&root.join("dir/index.html"), b"<p>dir index</p>\n");
    write(&root.join("dir/sub/file.txt"), b"file\n");
    mkdir(&root.join("dir/sub/deeper"));
    write(&root.join("noindex/b.txt"), b"b\n");
    mkdir(&root.join("index-is-dir/index.html"));
    mkdir(&root.join("index-is-fifo"));
    mkfifo(&root.join("index-is-fifo/index.html"));
    mkdir(&root.join("index-is-link-out"));
    mkfifo(&root.join("fifo"));
    // The socket file stays after the listener is dropped.
    drop(std::os::unix::net::UnixListener::bind(root.join("sock")).expect("bind a Unix socket"));

    let links: &[(&str, PathBuf)] = &[
        ("index-is-link-out/index.html", "../../secret.txt".into()),
        ("link-fifo", "fifo".into()),
        ("link-out", base.join("secret.txt")),
        ("link-out-rel", "../secret.txt".into()),
        ("link-outdir", base.join("secret-dir")),
        ("link-outdir-rel", "../secret-dir".into()),
        ("dir/link-up", "../../secret.txt".into()),
        ("dir/link-up-in", "../a.txt".into()),
        ("link-in", "a.txt".into()),
        ("link-in-abs", root.join("a.txt")),
        ("link-chain", "link-in".into()),
        ("link-dir-in", "dir".into()),
        ("link-root", ".".into()),
        ("link-root-abs", root.clone()),
        ("etc", "/etc".into()),
        ("proc-root", "/proc/self/root".into()),
        ("loop", "loop".into()),
        ("loop-a", "loop-b".into()),
        ("loop-b", "loop-a".into()),
        ("dangling", "missing".into()),
        ("dangling-out", "../missing".into()),
    ];
    for (name, to) in links {
        symlink(to, root.join(name)).unwrap_or_else(|e| panic!("symlink {name}: {e}"));
    }

    let mut roots = Vec::new();
    for policy in [Symlinks::Inside, Symlinks::Never] {
        let open = || Root::open(&root, policy).expect("open the fixture root");
        let with_openat2 = open();
        let fallback = open();
        fallback.disable_openat2();
        roots.push((policy, with_openat2, fallback));
    }
    let fx = Fixture {
        root: roots[0].1.path().to_path_buf(),
        roots,
    };
    self_test(&fx);
    fx
}

/// A fixture that does not behave as intended would make every run pass
/// vacuously; check a few known answers once.
fn self_test(fx: &Fixture) {
    let served = |root: &Root, raw: &str| {
        matches!(
            resolve(root, &Target::parse(raw).unwrap()),
            Ok(Resolved::File { .. })
        )
    };
    for (policy, a, b) in &fx.roots {
        for root in [a, b] {
            assert!(served(root, "/a.txt"), "{policy:?}: /a.txt not served");
            assert!(served(root, "/dir/"), "{policy:?}: /dir/ not served");
            for raw in [
                "/link-out",
                "/link-out-rel",
                "/dir/link-up",
                "/etc/passwd",
                "/fifo",
            ] {
                assert!(!served(root, raw), "{policy:?}: {raw} served");
            }
            assert_eq!(
                served(root, "/link-in"),
                *policy == Symlinks::Inside,
                "{policy:?}: /link-in"
            );
        }
    }
}

/// A run that found a crash aborts without `atexit`, leaving its fixture;
/// remove those whose process is gone.
fn remove_stale_fixtures() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix(FIXTURE_PREFIX)) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

extern "C" fn remove_fixture() {
    if let Some(base) = BASE.get() {
        let _ = std::fs::remove_dir_all(base);
    }
}

fn mkdir(path: &Path) {
    std::fs::create_dir_all(path).unwrap_or_else(|e| panic!("mkdir {path:?}: {e}"));
}

fn write(path: &Path, bytes: &[u8]) {
    mkdir(path.parent().expect("fixture paths have parents"));
    std::fs::write(path, bytes).unwrap_or_else(|e| panic!("write {path:?}: {e}"));
}

fn mkfifo(path: &Path) {
    let c_path = CString::new(path.as_os_str().as_bytes()).expect("no NUL in fixture paths");
    // SAFETY: c_path is a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) };
    assert_eq!(
        rc,
        0,
        "mkfifo {path:?}: {}",
        std::io::Error::last_os_error()
    );
}
