//! `--probe PATH`: a health check for container runtimes that have no
//! shell or curl (a `HEALTHCHECK` in a scratch image). It asks the server
//! described by the same configuration for PATH and succeeds on any
//! status below 400.

use crate::ops::limits::PROBE_TIMEOUT;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};

/// Where to probe: the bound address, with unspecified addresses
/// (`0.0.0.0`, `::`) replaced by loopback.
pub fn target(bind: IpAddr, port: u16) -> SocketAddr {
    let ip = match bind {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        other => other,
    };
    SocketAddr::new(ip, port)
}

/// `--probe PATH` against the server bound to `bind` and `port`: `Ok` when
/// it answers below 400, else the line to show.
pub fn check(bind: IpAddr, port: u16, path: &str) -> Result<(), String> {
    let addr = target(bind, port);
    match probe(addr, path) {
        Ok(status) if status < 400 => Ok(()),
        Ok(status) => Err(format!("probe {addr}{path}: status {status}")),
        Err(err) => Err(format!("probe {addr}{path}: {err}")),
    }
}

/// Sends `HEAD path` and returns the status code.
pub fn probe(addr: SocketAddr, path: &str) -> io::Result<u16> {
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the probe path must start with / and hold no spaces",
        ));
    }
    let mut stream = TcpStream::connect_timeout(&addr, PROBE_TIMEOUT)?;
    stream.set_read_timeout(Some(PROBE_TIMEOUT))?;
    stream.set_write_timeout(Some(PROBE_TIMEOUT))?;
    let host = match addr {
        SocketAddr::V4(a) => a.to_string(),
        SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
    };
    write!(
        stream,
        "HEAD {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nUser-Agent: staticd-probe\r\n\r\n"
    )?;
    let mut head = [0u8; 64];
    let mut len = 0;
    while len < 12 {
        let n = stream.read(&mut head[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    status_of(&head[..len])
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP response"))
}

/// The status code of a response that starts `HTTP/1.x NNN`.
fn status_of(head: &[u8]) -> Option<u16> {
    let rest = head.strip_prefix(b"HTTP/1.")?;
    let code = rest.get(2..5)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line() {
        assert_eq!(status_of(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_of(b"HTTP/1.0 404 Not Found"), Some(404));
        assert_eq!(status_of(b"SSH-2.0-x"), None);
        assert_eq!(status_of(b"HTTP/1.1"), None);
    }

    #[test]
    fn unspecified_binds_are_probed_on_loopback() {
        assert_eq!(
            target("0.0.0.0".parse().unwrap(), 80),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            target("::".parse().unwrap(), 80),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            target("10.1.2.3".parse().unwrap(), 81),
            "10.1.2.3:81".parse().unwrap()
        );
    }

    #[test]
    fn refuses_odd_paths() {
        let addr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            probe(addr, "x").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            probe(addr, "/a b").unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }
}
