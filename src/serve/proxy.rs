//! Who the client is behind a proxy: `--trusted-proxy` (the networks, and
//! the Unix socket, whose `Forwarded` or `X-Forwarded-For` is believed)
//! and `--proxy-protocol` (every site connection starts with a PROXY
//! protocol header). The parsing is [`crate::http::forwarded`]'s and
//! [`crate::http::proxy_protocol`]'s; this decides whose word counts.
//!
//! The peer trust is judged on is the connection's: with the PROXY
//! protocol, the address its header gave. From a peer that is not
//! trusted, the forwarding fields are ignored entirely: anyone can send
//! them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::http::forwarded::{self, ForwardingFields};
use crate::ops::access_log::Peer;

/// One `--trusted-proxy` value: a network (`10.0.0.0/8`, `2001:db8::/32`,
/// a bare address for itself alone), or `unix` for whatever connects to
/// the Unix socket staticd listens on (a local reverse proxy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustedProxy {
    Network { base: IpAddr, prefix: u8 },
    Unix,
}

impl TrustedProxy {
    /// Whether `ip` is in this network. An IPv4 peer seen on an IPv6
    /// socket (`::ffff:10.0.0.1`) is matched as the IPv4 address it is.
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let TrustedProxy::Network { base, prefix } = *self else {
            return false;
        };
        match (base, ip.to_canonical()) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                masked(u128::from(base.to_bits()) << 96, prefix)
                    == masked(u128::from(ip.to_bits()) << 96, prefix)
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                masked(base.to_bits(), prefix) == masked(ip.to_bits(), prefix)
            }
            _ => false,
        }
    }
}

/// The top `prefix` bits of `bits`.
fn masked(bits: u128, prefix: u8) -> u128 {
    match prefix {
        0 => 0,
        p => bits & (u128::MAX << (128 - u32::from(p.min(128)))),
    }
}

/// `unix`, `ADDRESS` or `ADDRESS/PREFIX`, as `--trusted-proxy` takes it:
/// a network with bits set below its prefix is refused (it is more likely
/// a typo than meant), saying which network it would be.
impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<TrustedProxy, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("unix") {
            return Ok(TrustedProxy::Unix);
        }
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let base: IpAddr = address.parse().map_err(|_| {
            format!("'{text}' is not an IP address, a network ADDRESS/PREFIX, or unix")
        })?;
        let most = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => most,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|&p| p <= most)
                .ok_or_else(|| format!("'{text}': the prefix length is at most {most}"))?,
            Some(_) => return Err(format!("'{text}': the prefix length is a number")),
        };
        let network = TrustedProxy::Network { base, prefix };
        let bits = |ip: IpAddr| match ip {
            IpAddr::V4(v4) => u128::from(v4.to_bits()) << 96,
            IpAddr::V6(v6) => v6.to_bits(),
        };
        let kept = masked(bits(base), prefix);
        if kept != bits(base) {
            let base = match base {
                IpAddr::V4(_) => IpAddr::from(((kept >> 96) as u32).to_be_bytes()),
                IpAddr::V6(_) => IpAddr::from(kept.to_be_bytes()),
            };
            return Err(format!(
                "'{text}' has host bits set: the network is {base}/{prefix}"
            ));
        }
        Ok(network)
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustedProxy::Network { base, prefix } => write!(f, "{base}/{prefix}"),
            TrustedProxy::Unix => f.write_str("unix"),
        }
    }
}

/// What the connections need to know about proxies in front of them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Proxies {
    trusted: Box<[TrustedProxy]>,
    /// Whether site connections start with a PROXY protocol header.
    pub(crate) protocol: bool,
}

impl Proxies {
    pub(crate) fn new(trusted: &[TrustedProxy], protocol: bool) -> Proxies {
        Proxies {
            trusted: trusted.into(),
            protocol,
        }
    }

    /// Whether `peer` is a proxy whose forwarding fields are believed.
    pub(crate) fn trusts(&self, peer: Peer) -> bool {
        match peer {
            Peer::Ip(ip, _) => self.trusts_ip(ip),
            Peer::Unix => self.trusted.contains(&TrustedProxy::Unix),
        }
    }

    fn trusts_ip(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(ip))
    }

    /// The client of a request from `peer` with `fields`: the one the
    /// fields name if `peer` is trusted (see [`forwarded::client`]), else
    /// `peer`.
    pub(crate) fn client(&self, peer: Peer, fields: Option<&ForwardingFields>) -> Peer {
        if self.trusted.is_empty() || !self.trusts(peer) {
            return peer;
        }
        let Some(hops) = fields.and_then(ForwardingFields::hops) else {
            return peer;
        };
        match forwarded::client(&hops, |ip| self.trusts_ip(ip)) {
            Some((ip, port)) => Peer::Ip(ip, port),
            None => peer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> TrustedProxy {
        text.parse().unwrap()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn values_as_the_option_takes_them() {
        assert_eq!(net("unix"), TrustedProxy::Unix);
        assert_eq!(net("10.0.0.0/8").to_string(), "10.0.0.0/8");
        assert_eq!(net("127.0.0.1").to_string(), "127.0.0.1/32");
        assert_eq!(net("::1").to_string(), "::1/128");
        assert_eq!(net("2001:db8::/32").to_string(), "2001:db8::/32");
        assert_eq!(net("0.0.0.0/0").to_string(), "0.0.0.0/0");
        for (bad, says) in [
            ("10.0.0.1/8", "the network is 10.0.0.0/8"),
            ("2001:db8::1/32", "the network is 2001:db8::/32"),
            ("10.0.0.0/33", "at most 32"),
            ("::/129", "at most 128"),
            ("10.0.0.0/", "a number"),
            ("10.0.0.0/+8", "a number"),
            ("10.0.0.0/0008", "a number"),
            ("[::1]", "not an IP address"),
            ("10.0.0", "not an IP address"),
            ("localhost", "not an IP address"),
        ] {
            let err = bad.parse::<TrustedProxy>().unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn networks_contain_their_addresses_only() {
        let ten = net("10.0.0.0/8");
        assert!(ten.contains(ip("10.255.0.1")));
        assert!(ten.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(!ten.contains(ip("11.0.0.0")));
        assert!(!ten.contains(ip("::a00:1")), "IPv4-compatible is not IPv4");
        assert!(net("0.0.0.0/0").contains(ip("192.0.2.1")));
        assert!(!net("0.0.0.0/0").contains(ip("2001:db8::1")));
        let doc = net("2001:db8::/32");
        assert!(doc.contains(ip("2001:db8:ffff::1")));
        assert!(!doc.contains(ip("2001:db9::")));
        assert!(net("::1").contains(ip("::1")));
        assert!(!net("::1").contains(ip("::2")));
        assert!(!TrustedProxy::Unix.contains(ip("127.0.0.1")));
    }

    fn forwarding(forwarded: Option<&str>, xff: Option<&str>) -> ForwardingFields {
        ForwardingFields {
            forwarded: forwarded.map(str::to_owned),
            x_forwarded_for: xff.map(str::to_owned),
        }
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let proxies = Proxies::new(&[net("10.0.0.0/8"), net("unix")], false);
        let fields = forwarding(None, Some("192.0.2.1, 10.0.0.7"));
        let from = |peer: Peer| proxies.client(peer, Some(&fields));
        let proxy = Peer::Ip(ip("10.0.0.1"), 5555);
        assert_eq!(from(proxy), Peer::Ip(ip("192.0.2.1"), 0));
        assert_eq!(from(Peer::Unix), Peer::Ip(ip("192.0.2.1"), 0));
        let stranger = Peer::Ip(ip("198.51.100.1"), 5555);
        assert_eq!(from(stranger), stranger);
        assert_eq!(proxies.client(proxy, None), proxy);
        let nothing = Proxies::default();
        assert_eq!(nothing.client(proxy, Some(&fields)), proxy);
        assert_eq!(nothing.client(Peer::Unix, Some(&fields)), Peer::Unix);
        let tcp_only = Proxies::new(&[net("10.0.0.0/8")], false);
        assert_eq!(tcp_only.client(Peer::Unix, Some(&fields)), Peer::Unix);
    }

    #[test]
    fn forwarded_wins_and_garbage_leaves_the_peer() {
        let proxies = Proxies::new(&[net("127.0.0.1")], false);
        let peer = Peer::Ip(ip("127.0.0.1"), 4000);
        let both = forwarding(Some("for=\"[2001:db8::1]:4711\""), Some("192.0.2.1"));
        assert_eq!(
            proxies.client(peer, Some(&both)),
            Peer::Ip(ip("2001:db8::1"), 4711)
        );
        let hidden = forwarding(Some("for=_hidden"), Some("192.0.2.1"));
        assert_eq!(proxies.client(peer, Some(&hidden)), peer);
        let garbage = forwarding(None, Some("192.0.2.1, not-an-address"));
        assert_eq!(proxies.client(peer, Some(&garbage)), peer);
    }
}
