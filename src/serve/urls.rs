//! The addresses to open, announced at start-up: the bound address, or,
//! bound to every address (`0.0.0.0`, `::`), loopback and each address
//! of the machine's interfaces, as `getifaddrs(3)` lists them.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::ops::diagnostics::LIFECYCLE;
use crate::ops::qrcode;

/// Logs an `open URL (INTERFACE)` line per URL of a listener bound to
/// `addr`; with `--qrcode`, prints the first LAN URL as a QR code on
/// stderr (the loopback one, saying so, when there is no other).
pub(crate) fn announce(scheme: &str, addr: SocketAddr, with_qrcode: bool) {
    let all = urls(scheme, addr);
    for url in &all {
        match &url.interface {
            Some(name) => tracing::info!(target: LIFECYCLE, "open {} ({name})", url.url),
            None => tracing::info!(target: LIFECYCLE, "open {}", url.url),
        }
    }
    if !with_qrcode {
        return;
    }
    let Some(first) = all.iter().find(|u| !u.is_loopback()).or(all.first()) else {
        return;
    };
    let note = if first.is_loopback() {
        " (loopback only: no other address to reach this machine by)"
    } else {
        ""
    };
    eprintln!(
        "{}{}{note}\n{}",
        qrcode::HEADING,
        first.url,
        qrcode::render(&first.url)
    );
}

/// One address a person can open, and the interface it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub url: String,
    pub ip: IpAddr,
    /// The interface's name, when it is known.
    pub interface: Option<String>,
}

impl Url {
    /// Whether it reaches this machine only.
    pub(crate) fn is_loopback(&self) -> bool {
        self.ip.is_loopback()
    }
}

/// The URLs for a listener bound to `addr`: loopback first, then one per
/// interface address when bound to every address. `0.0.0.0` names the
/// IPv4 addresses; `::` (dual-stack, the Linux default) names both. IPv6
/// link-local addresses are left out: they only work with a zone, which
/// browsers do not accept in a URL.
pub(crate) fn urls(scheme: &str, addr: SocketAddr) -> Vec<Url> {
    let port = addr.port();
    let loopback = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => return vec![url(scheme, ip, port, None)],
    };
    let mut all = vec![url(scheme, loopback, port, None)];
    let wanted = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) => !v4.is_loopback(),
        IpAddr::V6(v6) => loopback.is_ipv6() && !v6.is_loopback() && !is_link_local(v6),
    };
    match interface_addresses() {
        Ok(found) => all.extend(
            found
                .into_iter()
                .filter(|(_, ip)| wanted(ip))
                .map(|(name, ip)| url(scheme, ip, port, Some(name))),
        ),
        Err(err) => tracing::debug!(error = %err, "cannot list interface addresses"),
    }
    all
}

fn url(scheme: &str, ip: IpAddr, port: u16, interface: Option<String>) -> Url {
    Url {
        url: format!("{scheme}://{}/", SocketAddr::new(ip, port)),
        ip,
        interface,
    }
}

/// fe80::/10.
fn is_link_local(ip: &Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

/// Every interface address: (interface name, address), in the order the
/// kernel lists them.
fn interface_addresses() -> io::Result<Vec<(String, IpAddr)>> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head into `list`, freed below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut found = Vec::new();
    let mut next = list;
    while !next.is_null() {
        // SAFETY: a node of the list getifaddrs returned, not yet freed.
        let entry = unsafe { &*next };
        // SAFETY: ifa_addr, when not null, points to a sockaddr of the
        // family it names, and ifa_name to a C string, for the list's life.
        if let Some(ip) = unsafe { ip_of(entry.ifa_addr) } {
            let name = unsafe { std::ffi::CStr::from_ptr(entry.ifa_name) };
            found.push((name.to_string_lossy().into_owned(), ip));
        }
        next = entry.ifa_next;
    }
    // SAFETY: the list getifaddrs returned, freed once.
    unsafe { libc::freeifaddrs(list) };
    Ok(found)
}

/// The IP address in `addr`, if it is an IPv4 or IPv6 one.
///
/// # Safety
/// `addr` is null or points to a sockaddr as large as its family says.
unsafe fn ip_of(addr: *const libc::sockaddr) -> Option<IpAddr> {
    if addr.is_null() {
        return None;
    }
    // SAFETY: the caller's promise, read as the family the header names.
    unsafe {
        match i32::from((*addr).sa_family) {
            libc::AF_INET => {
                let v4 = &*addr.cast::<libc::sockaddr_in>();
                Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))))
            }
            libc::AF_INET6 => {
                let v6 = &*addr.cast::<libc::sockaddr_in6>();
                Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_specific_address_is_the_only_url() {
        let only = urls("http", "127.0.0.1:8080".parse().unwrap());
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].url, "http://127.0.0.1:8080/");
        let v6 = urls("https", "[2001:db8::1]:443".parse().unwrap());
        assert_eq!(v6[0].url, "https://[2001:db8::1]:443/");
    }

    #[test]
    fn every_address_starts_with_loopback_and_lists_no_loopback_again() {
        let all = urls("http", "0.0.0.0:80".parse().unwrap());
        assert_eq!(all[0].url, "http://127.0.0.1:80/");
        assert!(all[1..].iter().all(|u| !u.url.contains("127.")));
        assert!(all[1..].iter().all(|u| !u.url.contains('[')), "v4 only");
        let v6 = urls("http", "[::]:80".parse().unwrap());
        assert_eq!(v6[0].url, "http://[::1]:80/");
        assert!(v6.iter().all(|u| !u.url.contains("[fe80")));
    }

    #[test]
    fn link_local_is_fe80_slash_10() {
        assert!(is_link_local(&"fe80::1".parse().unwrap()));
        assert!(is_link_local(&"febf::1".parse().unwrap()));
        assert!(!is_link_local(&"fec0::1".parse().unwrap()));
    }
}
