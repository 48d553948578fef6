//! systemd socket activation (`sd_listen_fds(3)`): listening sockets the
//! service manager opened and passed as descriptors 3, 4, ... with
//! `LISTEN_PID` (whom they are for), `LISTEN_FDS` (how many) and
//! `LISTEN_FDNAMES` (their `FileDescriptorName=`, colon-separated). Their
//! name gives each its role: `https` is served over TLS, `http` in plain
//! HTTP (the redirect listener, with `--redirect-http`), any other name
//! follows `--tls-cert` as the main listener does.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::Arc;

use crate::serve::listener::Listener;

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const FIRST_FD: RawFd = 3;

/// A listening socket passed by the service manager.
#[derive(Debug, Clone)]
pub struct Inherited {
    /// Shared so the options stay `Clone`; each server binds a duplicate.
    pub fd: Arc<OwnedFd>,
    /// Its `FileDescriptorName=`, when one was given.
    pub name: Option<String>,
}

/// Takes the sockets passed to this process, if `LISTEN_PID` names it,
/// and removes the three variables from the environment whoever they were
/// for, so no child inherits them. Each socket is made close-on-exec and
/// non-blocking. None when nothing was passed.
///
/// # Safety
/// Changes the environment: call it before any other thread runs (the
/// binary does, first thing in `main`).
pub(crate) unsafe fn take_from_env() -> io::Result<Vec<Inherited>> {
    let pid = std::env::var("LISTEN_PID").ok();
    let count = std::env::var("LISTEN_FDS").ok();
    let names = std::env::var("LISTEN_FDNAMES").ok();
    for var in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        // SAFETY: the caller runs this while the process has one thread.
        unsafe { std::env::remove_var(var) };
    }
    let ours = pid.and_then(|p| p.trim().parse::<u32>().ok()) == Some(std::process::id());
    let Some(count) = count.filter(|_| ours) else {
        return Ok(Vec::new());
    };
    let count: RawFd = count
        .trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("LISTEN_FDS={count}")))?;
    let mut names = names.iter().flat_map(|n| n.split(':'));
    let mut taken = Vec::new();
    for fd in FIRST_FD..FIRST_FD.saturating_add(count) {
        let name = names.next().filter(|n| !n.is_empty()).map(str::to_owned);
        ready(fd)?;
        // SAFETY: the service manager passed this descriptor to us alone,
        // and nothing else in the process has claimed it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        taken.push(Inherited {
            fd: Arc::new(fd),
            name,
        });
    }
    Ok(taken)
}

/// Sets FD_CLOEXEC and O_NONBLOCK on `fd`, and checks it is a listening
/// stream socket.
fn ready(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor number; an invalid one fails (EBADF).
    let flags = cvt(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) })?;
    let status = cvt(unsafe { libc::fcntl(fd, libc::F_GETFL) })?;
    cvt(unsafe { libc::fcntl(fd, libc::F_SETFL, status | libc::O_NONBLOCK) })?;
    if socket_option(fd, libc::SO_TYPE)? != libc::SOCK_STREAM
        || socket_option(fd, libc::SO_ACCEPTCONN)? == 0
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("descriptor {fd} is not a listening stream socket"),
        ));
    }
    Ok(())
}

/// An integer socket option of `fd`.
fn socket_option(fd: RawFd, option: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are valid for the sizes given.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&raw mut value).cast(),
            &mut len,
        )
    };
    cvt(rc).map(|_| value)
}

impl Inherited {
    /// A listener on a duplicate of the descriptor: TCP or Unix, as its
    /// address family says.
    pub(crate) fn listener(&self) -> io::Result<Listener> {
        let fd = self.fd.try_clone()?;
        // SAFETY: an all-zero sockaddr_storage is valid; getsockname fills
        // at most `len` bytes of it.
        let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        cvt(unsafe { libc::getsockname(fd.as_raw_fd(), (&raw mut addr).cast(), &mut len) })?;
        match i32::from(addr.ss_family) {
            libc::AF_UNIX => Ok(Listener::Unix(fd.into())),
            libc::AF_INET | libc::AF_INET6 => Ok(Listener::Tcp(fd.into())),
            family => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("a socket of address family {family}"),
            )),
        }
    }

    /// How the start-up lines name it.
    pub(crate) fn describe(&self) -> String {
        let name = self.name.as_deref().unwrap_or("(unnamed)");
        format!("fd {} {name}", self.fd.as_raw_fd())
    }
}

/// A libc return value as a result.
fn cvt(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}
