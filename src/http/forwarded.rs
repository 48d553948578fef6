//! The fields a proxy adds to say whom it forwards a request for:
//! `Forwarded` (RFC 7239, its `for=` parameters) and `X-Forwarded-For` (a
//! comma-separated list of addresses), each a chain, the client first and
//! each proxy appending the address it got the request from.
//!
//! Only the rightmost hops can be believed, and only as far as the proxies
//! that added them are trusted, so the chain is walked from the right
//! ([`client`]): past the trusted hops, to the first that is not; what is
//! not an address (`unknown`, an obfuscated `_name`, a syntax error) ends
//! the walk at the last good hop, so garbage is never believed. Which
//! addresses are trusted is the caller's to say.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use crate::http::limits::MAX_FORWARDED_HOPS;

/// `Forwarded` and `X-Forwarded-For` as sent, each one value however many
/// lines it came in (joined with `, `, as a list field may be; boxed and
/// kept only when sent, like the CORS fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwardingFields {
    pub forwarded: Option<String>,
    pub x_forwarded_for: Option<String>,
}

impl ForwardingFields {
    /// Whether the field `name` (lowercase) is one of these.
    pub fn keeps(name: &str) -> bool {
        matches!(name, "forwarded" | "x-forwarded-for")
    }

    /// Where one of these fields (lowercase `name`) is kept, if it is one.
    pub fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        match name {
            "forwarded" => Some(&mut self.forwarded),
            "x-forwarded-for" => Some(&mut self.x_forwarded_for),
            _ => None,
        }
    }

    /// The chain to believe: `Forwarded` when sent, else
    /// `X-Forwarded-For` (never a mix of the two).
    pub fn hops(&self) -> Option<Hops> {
        match (&self.forwarded, &self.x_forwarded_for) {
            (Some(forwarded), _) => Some(forwarded_hops(forwarded.as_bytes())),
            (None, Some(list)) => Some(x_forwarded_for_hops(list)),
            (None, None) => None,
        }
    }
}

/// One hop of a chain: an address (and its port; 0 when none was given),
/// or something that is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    Addr(IpAddr, u16),
    /// `unknown`, an obfuscated identifier, a missing `for=`, or a syntax
    /// error (which makes every hop after it one of these too).
    Opaque,
}

/// The last [`MAX_FORWARDED_HOPS`] hops of a chain, in order.
pub type Hops = VecDeque<Hop>;

/// Keeps the last [`MAX_FORWARDED_HOPS`] hops only: the walk from the
/// right never goes further.
fn push(hops: &mut Hops, hop: Hop) {
    if hops.len() == MAX_FORWARDED_HOPS {
        hops.pop_front();
    }
    hops.push_back(hop);
}

/// The client the chain `hops` speaks for, as a proxy whose own address
/// is trusted passed it on: walking from the right, each hop whose address
/// `trusted` accepts is skipped; the first that is not trusted is the
/// client; an opaque hop stops the walk at the hop after it (`None` when
/// that is the peer itself); if all are trusted, the leftmost examined.
pub fn client(hops: &Hops, trusted: impl Fn(IpAddr) -> bool) -> Option<(IpAddr, u16)> {
    let mut chosen = None;
    for hop in hops.iter().rev() {
        let Hop::Addr(ip, port) = *hop else {
            return chosen;
        };
        chosen = Some((ip, port));
        if !trusted(ip) {
            break;
        }
    }
    chosen
}

/// The hops of an `X-Forwarded-For` value: addresses, bare or with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`); empty elements are skipped.
pub fn x_forwarded_for_hops(value: &str) -> Hops {
    let mut hops = Hops::new();
    let elements = value.split(',').map(str::trim).filter(|e| !e.is_empty());
    for element in elements {
        push(&mut hops, node(element));
    }
    hops
}

/// A node as `X-Forwarded-For` or a `for=` value writes it: an IPv4
/// address, an IPv6 one (bracketed when a port follows, as `Forwarded`
/// always brackets it), optionally with a port.
fn node(text: &str) -> Hop {
    // An obfuscated port (RFC 7239 §6.3) hides the port, not the address.
    if let Some((host, port)) = text.rsplit_once(':') {
        if port.len() > 1 && port.starts_with('_') && port.bytes().all(is_obfuscated) {
            return match node(host) {
                Hop::Addr(ip, _) => Hop::Addr(ip, 0),
                Hop::Opaque => Hop::Opaque,
            };
        }
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Hop::Addr(ip, 0);
    }
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map_or(Hop::Opaque, |ip| Hop::Addr(ip.into(), 0));
    }
    match text.parse::<SocketAddr>() {
        Ok(addr) => Hop::Addr(addr.ip(), addr.port()),
        Err(_) => Hop::Opaque,
    }
}

/// The `for=` hops of a `Forwarded` value, one per element. An element
/// without `for=`, or with two, is opaque; at a syntax error the rest of
/// the value cannot be split reliably, so it is one opaque hop.
pub fn forwarded_hops(value: &[u8]) -> Hops {
    let mut hops = Hops::new();
    let mut parser = Parser { rest: value };
    loop {
        parser.skip_ows();
        if parser.rest.is_empty() {
            return hops;
        }
        if parser.eat(b',') {
            continue; // an empty list element
        }
        match parser.element() {
            Some(hop) => push(&mut hops, hop),
            None => {
                push(&mut hops, Hop::Opaque);
                return hops;
            }
        }
    }
}

/// A cursor over a `Forwarded` value.
struct Parser<'a> {
    rest: &'a [u8],
}

impl<'a> Parser<'a> {
    fn skip_ows(&mut self) {
        let n = self.rest.iter().take_while(|&&b| b == b' ' || b == b'\t');
        self.rest = &self.rest[n.count()..];
    }

    fn eat(&mut self, byte: u8) -> bool {
        let ate = self.rest.first() == Some(&byte);
        if ate {
            self.rest = &self.rest[1..];
        }
        ate
    }

    /// `pair *( OWS ";" OWS pair )`, up to and including its `,` (or the
    /// end): its hop, or `None` on a syntax error.
    fn element(&mut self) -> Option<Hop> {
        let mut found: Option<Hop> = None;
        let mut fors = 0;
        loop {
            let name = self.token()?;
            if !self.eat(b'=') {
                return None;
            }
            let value = match self.rest.first() {
                Some(b'"') => self.quoted()?,
                _ => String::from_utf8(self.token()?.to_vec()).ok()?,
            };
            if name.eq_ignore_ascii_case(b"for") {
                fors += 1;
                found = Some(node(&value));
            }
            self.skip_ows();
            if self.eat(b';') {
                self.skip_ows();
                continue;
            }
            if self.rest.is_empty() || self.eat(b',') {
                return Some(if fors == 1 { found? } else { Hop::Opaque });
            }
            return None;
        }
    }

    /// A token (RFC 9110 §5.6.2), at least one character.
    fn token(&mut self) -> Option<&'a [u8]> {
        let rest: &'a [u8] = self.rest;
        let n = rest.iter().take_while(|&&b| is_tchar(b)).count();
        let (token, after) = rest.split_at(n);
        self.rest = after;
        (n > 0).then_some(token)
    }

    /// A quoted string (RFC 9110 §5.6.4), its quoted pairs undone.
    fn quoted(&mut self) -> Option<String> {
        let mut out = Vec::new();
        let mut bytes = self.rest.iter().enumerate().skip(1);
        while let Some((at, &byte)) = bytes.next() {
            match byte {
                b'"' => {
                    self.rest = &self.rest[at + 1..];
                    return String::from_utf8(out).ok();
                }
                b'\\' => out.push(*bytes.next()?.1),
                b'\t' | b' '..=b'~' | 0x80.. => out.push(byte),
                _ => return None,
            }
        }
        None
    }
}

/// What an obfuscated identifier is made of, after its `_`.
fn is_obfuscated(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._-".contains(&b)
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// An IPv4 address as a hop with no port.
    fn v4(text: &str) -> Hop {
        Hop::Addr(IpAddr::V4(text.parse::<Ipv4Addr>().unwrap()), 0)
    }

    fn addr(text: &str, port: u16) -> Hop {
        Hop::Addr(text.parse().unwrap(), port)
    }

    fn hops(list: &[Hop]) -> Hops {
        list.iter().copied().collect()
    }

    /// Trusts 10.0.0.0/8.
    fn private(ip: IpAddr) -> bool {
        matches!(ip, IpAddr::V4(v4) if v4.octets()[0] == 10)
    }

    #[test]
    fn x_forwarded_for_lists_addresses_with_or_without_ports() {
        let list = " 192.0.2.1, 2001:db8::1,[2001:db8::2]:4711 ,,198.51.100.7:80";
        assert_eq!(
            x_forwarded_for_hops(list),
            hops(&[
                v4("192.0.2.1"),
                addr("2001:db8::1", 0),
                addr("2001:db8::2", 4711),
                addr("198.51.100.7", 80),
            ])
        );
        let odd = "unknown, _hidden, 192.0.2.1:99999, 192.0.2.256, [192.0.2.1], x";
        assert!(x_forwarded_for_hops(odd).iter().all(|h| *h == Hop::Opaque));
    }

    #[test]
    fn forwarded_for_parameters_quoted_or_not() {
        let value = br#"for=192.0.2.60;proto=http;by=203.0.113.43, For="[2001:db8:cafe::17]:4711", for="192.0.2.1:80""#;
        assert_eq!(
            forwarded_hops(value),
            hops(&[
                v4("192.0.2.60"),
                addr("2001:db8:cafe::17", 4711),
                addr("192.0.2.1", 80),
            ])
        );
        let odd = br#"for=unknown, for="_gazonk", for="[2001:db8::1]:_port", proto=https, for=1.2.3.4;for=5.6.7.8"#;
        let parsed = forwarded_hops(odd);
        assert_eq!(parsed.len(), 5);
        assert_eq!(parsed[2], addr("2001:db8::1", 0), "an obfuscated port");
        assert!(
            [0, 1, 3, 4].iter().all(|&i| parsed[i] == Hop::Opaque),
            "{parsed:?}"
        );
    }

    #[test]
    fn forwarded_quoting_escapes_and_empty_elements() {
        assert_eq!(
            forwarded_hops(br#", for="192.0.2.\1" ,, by="a,b;c", for = x"#),
            hops(&[addr("192.0.2.1", 0), Hop::Opaque, Hop::Opaque])
        );
    }

    #[test]
    fn a_syntax_error_makes_the_rest_one_opaque_hop() {
        for bad in [
            &br#"for=192.0.2.1, for="192.0.2.2"#[..],
            br#"for=192.0.2.1, for=[2001:db8::1]"#,
            br#"for=192.0.2.1, for=192.0.2.2 junk"#,
            br#"for=192.0.2.1, =192.0.2.2"#,
            br#"for=192.0.2.1, for"#,
            b"for=192.0.2.1, for=\"192.0.2.2\x01\"",
        ] {
            let text = String::from_utf8_lossy(bad);
            assert_eq!(
                forwarded_hops(bad),
                hops(&[v4("192.0.2.1"), Hop::Opaque]),
                "{text}"
            );
        }
    }

    #[test]
    fn the_walk_skips_trusted_hops_from_the_right() {
        let chain = hops(&[
            v4("192.0.2.1"),
            v4("198.51.100.1"),
            v4("10.0.0.2"),
            v4("10.0.0.1"),
        ]);
        assert_eq!(
            client(&chain, private),
            Some(("198.51.100.1".parse().unwrap(), 0))
        );
        let trusted = hops(&[v4("10.0.0.3"), v4("10.0.0.2")]);
        assert_eq!(
            client(&trusted, private),
            Some(("10.0.0.3".parse().unwrap(), 0))
        );
        assert_eq!(client(&Hops::new(), private), None);
    }

    #[test]
    fn the_walk_stops_at_what_is_not_an_address() {
        let chain = hops(&[v4("192.0.2.1"), Hop::Opaque, v4("10.0.0.2"), v4("10.0.0.1")]);
        assert_eq!(
            client(&chain, private),
            Some(("10.0.0.2".parse().unwrap(), 0))
        );
        let last = hops(&[v4("192.0.2.1"), Hop::Opaque]);
        assert_eq!(client(&last, private), None, "the peer itself");
        // A forged part left of an untrusted hop is never reached.
        let forged = hops(&[Hop::Opaque, v4("192.0.2.9"), v4("10.0.0.1")]);
        assert_eq!(
            client(&forged, private),
            Some(("192.0.2.9".parse().unwrap(), 0))
        );
    }

    #[test]
    fn only_the_last_hops_up_to_the_limit_are_examined() {
        let mut list = vec!["192.0.2.1".to_owned()];
        list.extend((0..MAX_FORWARDED_HOPS).map(|i| format!("10.0.0.{i}")));
        let chain = x_forwarded_for_hops(&list.join(","));
        assert_eq!(chain.len(), MAX_FORWARDED_HOPS);
        // All those examined are trusted: the leftmost of them, not the
        // untrusted address beyond the limit.
        assert_eq!(
            client(&chain, private),
            Some(("10.0.0.0".parse().unwrap(), 0))
        );
        list.remove(1);
        let within = x_forwarded_for_hops(&list.join(","));
        assert_eq!(
            client(&within, private),
            Some(("192.0.2.1".parse().unwrap(), 0))
        );
        let mut value = vec![b"for=10.0.0.1, ".as_slice(); MAX_FORWARDED_HOPS + 5].concat();
        value.extend_from_slice(b"for=10.0.0.2");
        assert_eq!(forwarded_hops(&value).len(), MAX_FORWARDED_HOPS);
    }

    #[test]
    fn forwarded_is_preferred_to_x_forwarded_for() {
        let mut fields = ForwardingFields::default();
        assert_eq!(fields.hops(), None);
        fields.x_forwarded_for = Some("192.0.2.1".into());
        assert_eq!(fields.hops(), Some(hops(&[v4("192.0.2.1")])));
        fields.forwarded = Some("for=192.0.2.2".into());
        assert_eq!(fields.hops(), Some(hops(&[v4("192.0.2.2")])));
    }

    #[test]
    fn never_panics_on_any_prefix() {
        let value = br#"for=192.0.2.60;proto=http, for="[2001:db8:cafe::17]:4711\"", for=x"#;
        for cut in 0..=value.len() {
            let _ = forwarded_hops(&value[..cut]);
            let _ = x_forwarded_for_hops(&String::from_utf8_lossy(&value[..cut]));
        }
    }
}
