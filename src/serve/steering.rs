//! The main TCP listener as a group of sockets, one per worker, bound
//! with `SO_REUSEPORT`, and the classic BPF program that tells the kernel
//! which of them gets each new connection: one of the first `active` at
//! random. Each worker then waits on a socket of its own, so a new
//! connection wakes one worker rather than every worker accepting on a
//! shared socket (the thundering herd); an inactive worker's socket gets
//! nothing new and still serves what was queued on it.
//!
//! `SO_REUSEPORT` lets another process of the same user join the group.
//! Two things keep that harmless: before the group is bound, a probe
//! socket without `SO_REUSEPORT` binds the port, so a port another
//! process listens on (with the option or without) fails the start as it
//! always did; and the program only ever names the first `active`
//! sockets, which are ours, so a socket that joins later gets no
//! connection.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};

use tokio::net::TcpSocket;

use crate::serve::listener::{Listener, listen_with};

/// `SO_ATTACH_REUSEPORT_CBPF` (asm-generic `socket.h`).
const SO_ATTACH_REUSEPORT_CBPF: libc::c_int = 51;

/// What changes the program: a descriptor of the group's first socket.
#[derive(Debug)]
pub(crate) struct Steering {
    socket: OwnedFd,
}

/// Binds `workers` sockets on `addr` in one `SO_REUSEPORT` group (the
/// port of the first when `addr` asks for port 0), after checking that no
/// other process listens on the port, and steers every connection to the
/// first until [`Steering::steer`] says otherwise.
pub(crate) fn listen_group(
    addr: SocketAddr,
    workers: usize,
) -> io::Result<(Vec<Listener>, Steering)> {
    if addr.port() != 0 {
        probe(addr)?;
    }
    let first = listen_with(addr, true)?;
    let Listener::Tcp(tcp) = &first else {
        unreachable!("listen_with makes TCP listeners");
    };
    let bound = tcp.local_addr()?;
    let steering = Steering {
        socket: OwnedFd::from(tcp.try_clone()?),
    };
    let mut group = vec![first];
    for _ in 1..workers {
        group.push(listen_with(bound, true)?);
    }
    steering.steer(1)?;
    Ok((group, steering))
}

/// Fails when a socket without `SO_REUSEPORT` cannot bind `addr`: some
/// other socket (another process's, reusing the port or not) has it.
fn probe(addr: SocketAddr) -> io::Result<()> {
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4()?,
        SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)
}

impl Steering {
    /// Sends each new connection to one of the first `active` sockets of
    /// the group, at random (the kernel's `prandom`).
    pub(crate) fn steer(&self, active: usize) -> io::Result<()> {
        let n = u32::try_from(active.max(1)).unwrap_or(u32::MAX);
        let random = (libc::SKF_AD_OFF + libc::SKF_AD_RANDOM) as u32;
        let instruction = |code: u32, k: u32| libc::sock_filter {
            code: code as u16,
            jt: 0,
            jf: 0,
            k,
        };
        let mut program = [
            instruction(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, random),
            instruction(libc::BPF_ALU | libc::BPF_MOD | libc::BPF_K, n),
            instruction(libc::BPF_RET | libc::BPF_A, 0),
        ];
        let fprog = libc::sock_fprog {
            len: program.len() as u16,
            filter: program.as_mut_ptr(),
        };
        // SAFETY: an open socket, and a program valid for the call.
        let rc = unsafe {
            libc::setsockopt(
                self.socket.as_raw_fd(),
                libc::SOL_SOCKET,
                SO_ATTACH_REUSEPORT_CBPF,
                (&raw const fprog).cast(),
                std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// Steers to the active workers whenever their number changes, for the
/// life of the pool.
pub(crate) async fn follow(steering: Steering, mut active: tokio::sync::watch::Receiver<usize>) {
    loop {
        let n = *active.borrow_and_update();
        if let Err(err) = steering.steer(n) {
            // The connections keep going to the sockets steered to before.
            tracing::warn!(error = %err, active = n, "cannot steer new connections to the active workers");
        }
        if active.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_port_someone_else_listens_on_is_refused_and_the_group_shares_one_port() {
        let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = other.local_addr().unwrap();
        assert!(listen_group(taken, 2).is_err(), "the probe sees it");
        let (group, steering) = listen_group("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        let ports: Vec<u16> = group
            .iter()
            .map(|l| match l {
                Listener::Tcp(l) => l.local_addr().unwrap().port(),
                Listener::Unix(_) => 0,
            })
            .collect();
        assert!(ports.iter().all(|&p| p == ports[0] && p != 0), "{ports:?}");
        for active in [1, 2, 3, 64] {
            steering.steer(active).unwrap();
        }
    }
}
