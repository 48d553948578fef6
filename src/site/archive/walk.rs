//! Walking a directory for its archive, beneath the descriptors the root
//! wall opened: each entry opened by name under its parent's descriptor,
//! never following a symlink (see [`super`]).

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use super::tar::TarWriter;

/// How deep an archive goes: deeper directories are left out, so a
/// pathological tree cannot hold a thread and descriptors without bound.
pub(super) const MAX_DEPTH: usize = 32;

/// Writes the archive of `dir` (as the top directory `top`) to `out`
/// and returns `out`.
pub(super) fn archive<W: Write>(
    out: W,
    dir: &File,
    top: &[u8],
    show_hidden: bool,
) -> io::Result<W> {
    let mut tar = TarWriter::new(out);
    tar.dir(top, dir.metadata()?.mtime())?;
    walk(&mut tar, dir, top, show_hidden, 1)?;
    tar.finish()
}

fn walk<W: Write>(
    tar: &mut TarWriter<W>,
    dir: &File,
    path: &[u8],
    show_hidden: bool,
    depth: usize,
) -> io::Result<()> {
    for name in names(dir, show_hidden)? {
        let Some(mut entry) = open_entry(dir, &name) else {
            continue;
        };
        let meta = entry.metadata()?;
        let mut member = path.to_vec();
        member.push(b'/');
        member.extend_from_slice(&name);
        if meta.is_dir() && depth < MAX_DEPTH {
            tar.dir(&member, meta.mtime())?;
            walk(tar, &entry, &member, show_hidden, depth + 1)?;
        } else if meta.is_file() {
            tar.file(&member, &mut entry, meta.size(), meta.mtime())?;
        }
    }
    Ok(())
}

/// The entries of `dir` in byte order, read through its descriptor, so
/// it is the directory that was opened, whatever its path names by now.
fn names(dir: &File, show_hidden: bool) -> io::Result<Vec<Vec<u8>>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))? {
        let name = entry?.file_name().as_bytes().to_vec();
        if show_hidden || !name.starts_with(b".") {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// `name` opened beneath `dir` without following a symlink and without
/// blocking on a FIFO; `None` for what cannot be opened so (a symlink, an
/// entry gone or unreadable), which the archive leaves out.
fn open_entry(dir: &File, name: &[u8]) -> Option<File> {
    let name = CString::new(name).ok()?;
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC;
    // SAFETY: `dir` is an open descriptor and `name` a NUL-terminated
    // string, both valid for the call.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags) };
    // SAFETY: a non-negative result is a descriptor we now own.
    (fd >= 0).then(|| unsafe { File::from_raw_fd(fd) })
}
