//! The PROXY protocol header a load balancer puts in front of a relayed
//! connection (HAProxy's specification, versions 1 and 2): bytes in, the
//! client it speaks for out. Streaming: a prefix of a valid header asks
//! for more bytes (`Ok(None)`), and what is wrong is refused as soon as
//! the bytes seen show it, without waiting for the rest.
//!
//! What is refused: a wrong signature, version or command, an address
//! family or transport the specification does not define, a declared
//! length beyond [`MAX_PROXY_V2_LENGTH`] or too short for its addresses,
//! TLVs whose lengths overrun the header, a v1 line longer than
//! [`MAX_PROXY_V1_LINE`] or not in its exact grammar. TLVs are skipped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::http::limits::{MAX_PROXY_V1_LINE, MAX_PROXY_V2_LENGTH};

/// The twelve bytes that open a version 2 header.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";

/// What opens a version 1 header.
const V1_PREFIX: &[u8] = b"PROXY ";

/// A version 2 header's fixed part: signature, version and command,
/// family and transport, length.
const V2_PREFIX: usize = 16;

/// Address bytes of each version 2 family: two addresses and two ports,
/// or two 108-byte Unix paths.
const INET_ADDRESSES: usize = 12;
const INET6_ADDRESSES: usize = 36;
const UNIX_ADDRESSES: usize = 216;

/// Whom a relayed connection is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyHeader {
    /// A client at this address and port (TCP over IPv4 or IPv6, or UDP).
    Client(SocketAddr),
    /// A client of a Unix socket on the proxy's side: no address to show.
    UnixClient,
    /// The proxy's own connection (v2 `LOCAL`, a health check), or one it
    /// cannot describe (v1 `UNKNOWN`, v2 `UNSPEC`): the connection's real
    /// peer stands.
    Local,
}

/// Why a header is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProxyError {
    #[error("no PROXY protocol signature")]
    Signature,
    #[error("PROXY protocol version other than 2 after the v2 signature")]
    Version,
    #[error("PROXY protocol v2 command neither LOCAL nor PROXY")]
    Command,
    #[error("PROXY protocol v2 address family or transport not defined")]
    Family,
    #[error("PROXY protocol v2 length beyond the limit")]
    TooLong,
    #[error("PROXY protocol v2 length too short for its addresses")]
    AddressLength,
    #[error("PROXY protocol v2 TLV overruns the header")]
    Tlv,
    #[error("PROXY protocol v1 line without CRLF within its limit")]
    LineTooLong,
    #[error("malformed PROXY protocol v1 line")]
    Malformed,
}

/// Parses the header at the start of `buf`: `Ok(None)` while `buf` is a
/// prefix of one, else the header and the bytes it used (what follows is
/// the relayed stream, untouched).
pub fn parse(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    match buf.first() {
        None => Ok(None),
        Some(b'P') => parse_v1(buf),
        Some(b'\r') => parse_v2(buf),
        Some(_) => Err(ProxyError::Signature),
    }
}

/// `PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n`, or `PROXY UNKNOWN` and
/// anything up to CRLF.
fn parse_v1(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let seen = buf.len().min(V1_PREFIX.len());
    if buf[..seen] != V1_PREFIX[..seen] {
        return Err(ProxyError::Signature);
    }
    let window = &buf[..buf.len().min(MAX_PROXY_V1_LINE)];
    let Some(lf) = window.iter().position(|&b| b == b'\n') else {
        return match buf.len() >= MAX_PROXY_V1_LINE {
            true => Err(ProxyError::LineTooLong),
            false => Ok(None),
        };
    };
    // The prefix matched and a line ends here: `PROXY ` then at least `\r`.
    let line = match buf[..lf].strip_suffix(b"\r") {
        Some(line) if line.len() >= V1_PREFIX.len() => &line[V1_PREFIX.len()..],
        _ => return Err(ProxyError::Malformed),
    };
    let header = v1_fields(line).ok_or(ProxyError::Malformed)?;
    Ok(Some((header, lf + 1)))
}

/// The v1 line after `PROXY `, without its CRLF. The destination is not
/// used, but a line with one not of its family is not believed for its
/// source either.
fn v1_fields(line: &[u8]) -> Option<ProxyHeader> {
    if line == b"UNKNOWN" || line.starts_with(b"UNKNOWN ") {
        return Some(ProxyHeader::Local);
    }
    let line = std::str::from_utf8(line).ok()?;
    let fields: Vec<&str> = line.split(' ').collect();
    let [family, source, destination, source_port, destination_port] = fields[..] else {
        return None;
    };
    let (source, _destination): (IpAddr, IpAddr) = match family {
        "TCP4" => (
            source.parse::<Ipv4Addr>().ok()?.into(),
            destination.parse::<Ipv4Addr>().ok()?.into(),
        ),
        "TCP6" => (
            source.parse::<Ipv6Addr>().ok()?.into(),
            destination.parse::<Ipv6Addr>().ok()?.into(),
        ),
        _ => return None,
    };
    port(destination_port)?;
    Some(ProxyHeader::Client(SocketAddr::new(
        source,
        port(source_port)?,
    )))
}

/// A v1 port: 1 to 5 digits, no sign, no leading zero, at most 65535.
fn port(text: &str) -> Option<u16> {
    let digits_only =
        !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit());
    if !digits_only || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

/// The binary header: the 16-byte prefix, checked as soon as it is here,
/// then its declared length of addresses and TLVs.
fn parse_v2(buf: &[u8]) -> Result<Option<(ProxyHeader, usize)>, ProxyError> {
    let seen = buf.len().min(V2_SIGNATURE.len());
    if buf[..seen] != V2_SIGNATURE[..seen] {
        return Err(ProxyError::Signature);
    }
    if let Some(&version) = buf.get(12) {
        if version >> 4 != 2 {
            return Err(ProxyError::Version);
        }
        if version & 0x0f > 1 {
            return Err(ProxyError::Command);
        }
    }
    if buf.len() < V2_PREFIX {
        return Ok(None);
    }
    let local = buf[12] & 0x0f == 0;
    let family = buf[13];
    let length = usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if length > MAX_PROXY_V2_LENGTH {
        return Err(ProxyError::TooLong);
    }
    // LOCAL ignores the family (the specification says so); PROXY needs
    // one it defines, with room for its addresses.
    let needed = if local { 0 } else { address_bytes(family)? };
    if length < needed {
        return Err(ProxyError::AddressLength);
    }
    let Some(payload) = buf.get(V2_PREFIX..V2_PREFIX + length) else {
        return Ok(None);
    };
    // LOCAL and UNSPEC: the block is discarded whole, whatever it holds.
    let header = match local || family == 0x00 {
        true => ProxyHeader::Local,
        false => {
            check_tlvs(&payload[needed..])?;
            v2_source(family, payload)
        }
    };
    Ok(Some((header, V2_PREFIX + length)))
}

/// The address bytes family-and-transport byte `family` declares.
fn address_bytes(family: u8) -> Result<usize, ProxyError> {
    match family {
        0x00 => Ok(0),
        0x11 | 0x12 => Ok(INET_ADDRESSES),
        0x21 | 0x22 => Ok(INET6_ADDRESSES),
        0x31 | 0x32 => Ok(UNIX_ADDRESSES),
        _ => Err(ProxyError::Family),
    }
}

/// The source of a PROXY command's addresses (`payload` holds at least
/// what [`address_bytes`] asks for).
fn v2_source(family: u8, payload: &[u8]) -> ProxyHeader {
    match family >> 4 {
        1 => {
            let ip = Ipv4Addr::from(<[u8; 4]>::try_from(&payload[..4]).unwrap_or_default());
            let port = u16::from_be_bytes([payload[8], payload[9]]);
            ProxyHeader::Client(SocketAddr::new(IpAddr::V4(ip), port))
        }
        2 => {
            let ip = Ipv6Addr::from(<[u8; 16]>::try_from(&payload[..16]).unwrap_or_default());
            let port = u16::from_be_bytes([payload[32], payload[33]]);
            ProxyHeader::Client(SocketAddr::new(IpAddr::V6(ip), port))
        }
        3 => ProxyHeader::UnixClient,
        _ => ProxyHeader::Local,
    }
}

/// Walks the TLVs (type, 16-bit length, value) to the header's end,
/// refusing one whose length runs past it; their values are not used.
fn check_tlvs(mut rest: &[u8]) -> Result<(), ProxyError> {
    while !rest.is_empty() {
        let [_, high, low, ..] = *rest else {
            return Err(ProxyError::Tlv);
        };
        let end = 3 + usize::from(u16::from_be_bytes([high, low]));
        rest = rest.get(end..).ok_or(ProxyError::Tlv)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v2 header: version-and-command byte, family byte, payload.
    fn v2(command: u8, family: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = V2_SIGNATURE.to_vec();
        out.push(command);
        out.push(family);
        out.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// TCP over IPv4 from 192.0.2.1:4711 to 198.51.100.2:443.
    fn inet() -> Vec<u8> {
        let mut p = vec![192, 0, 2, 1, 198, 51, 100, 2];
        p.extend_from_slice(&4711u16.to_be_bytes());
        p.extend_from_slice(&443u16.to_be_bytes());
        p
    }

    fn inet6() -> Vec<u8> {
        let source: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let mut p = source.octets().to_vec();
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(&4711u16.to_be_bytes());
        p.extend_from_slice(&443u16.to_be_bytes());
        p
    }

    fn client(text: &str) -> ProxyHeader {
        ProxyHeader::Client(text.parse().unwrap())
    }

    /// `header` parses whole, using exactly its length, with bytes after
    /// it left alone; and every shorter prefix asks for more.
    fn whole(header: &[u8]) -> ProxyHeader {
        let mut with_rest = header.to_vec();
        with_rest.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let (parsed, used) = parse(&with_rest).unwrap().unwrap();
        assert_eq!(used, header.len());
        assert_eq!(parse(header).unwrap(), Some((parsed, used)));
        for cut in 0..header.len() {
            assert_eq!(parse(&header[..cut]), Ok(None), "prefix of {cut} bytes");
        }
        parsed
    }

    #[test]
    fn v1_tcp4_tcp6_and_unknown() {
        let tcp4 = b"PROXY TCP4 192.0.2.1 198.51.100.2 4711 443\r\n";
        assert_eq!(whole(tcp4), client("192.0.2.1:4711"));
        let tcp6 = b"PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
        assert_eq!(whole(tcp6), client("[2001:db8::1]:65535"));
        assert_eq!(whole(b"PROXY UNKNOWN\r\n"), ProxyHeader::Local);
        let unknown = b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
        assert_eq!(whole(unknown), ProxyHeader::Local);
    }

    #[test]
    fn v1_the_longest_line_is_accepted_and_one_byte_more_is_not() {
        let tcp6 = b"PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
                     ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert!(matches!(whole(tcp6), ProxyHeader::Client(_)));
        // The specification's worst case.
        let longest = b"PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff \
                        ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
        assert_eq!(longest.len(), MAX_PROXY_V1_LINE);
        assert_eq!(whole(longest), ProxyHeader::Local);
        let mut unknown = b"PROXY UNKNOWN ".to_vec();
        unknown.resize(MAX_PROXY_V1_LINE - 2, b'x');
        unknown.extend_from_slice(b"\r\n");
        assert_eq!(whole(&unknown), ProxyHeader::Local);
        // One more byte before CRLF: refused once the limit is reached,
        // without waiting for a CRLF that may never come.
        let mut over = b"PROXY UNKNOWN ".to_vec();
        over.resize(MAX_PROXY_V1_LINE, b'x');
        assert_eq!(parse(&over), Err(ProxyError::LineTooLong));
        assert_eq!(parse(&over[..MAX_PROXY_V1_LINE - 1]), Ok(None));
    }

    #[test]
    fn v1_outside_its_grammar_is_refused() {
        for bad in [
            &b"PROXY TCP4 192.0.2.1 198.51.100.2 4711 443\n"[..],
            b"PROXY TCP4 192.0.2.1 198.51.100.2 4711 443 \r\n",
            b"PROXY TCP4  192.0.2.1 198.51.100.2 4711 443\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 4711\r\n",
            b"PROXY TCP4 2001:db8::1 ::1 4711 443\r\n",
            b"PROXY TCP6 192.0.2.1 198.51.100.2 4711 443\r\n",
            b"PROXY TCP4 192.0.2.1 ::1 4711 443\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 65536 443\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 04711 443\r\n",
            b"PROXY TCP4 192.0.2.1 198.51.100.2 +4711 443\r\n",
            b"PROXY TCP4 192.0.2.01 198.51.100.2 4711 443\r\n",
            b"PROXY UDP4 192.0.2.1 198.51.100.2 4711 443\r\n",
            b"PROXY tcp4 192.0.2.1 198.51.100.2 4711 443\r\n",
            b"PROXY UNKNOWNX\r\n",
            b"PROXY \r\n",
            b"PROXY TCP4 \xff 198.51.100.2 4711 443\r\n",
        ] {
            let text = String::from_utf8_lossy(bad);
            assert_eq!(parse(bad), Err(ProxyError::Malformed), "{text:?}");
        }
    }

    #[test]
    fn not_a_header_is_refused_at_the_first_byte_that_shows_it() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(ProxyError::Signature));
        assert_eq!(parse(b"\x16\x03\x01"), Err(ProxyError::Signature));
        assert_eq!(parse(b"PROXX"), Err(ProxyError::Signature));
        assert_eq!(parse(b"PROXY\r\n"), Err(ProxyError::Signature));
        assert_eq!(parse(b"\r\n\r\nGET"), Err(ProxyError::Signature));
        assert_eq!(parse(b"\r\n\r\n\0"), Ok(None));
    }

    #[test]
    fn v2_proxy_over_ipv4_ipv6_and_unix() {
        assert_eq!(whole(&v2(0x21, 0x11, &inet())), client("192.0.2.1:4711"));
        assert_eq!(whole(&v2(0x21, 0x12, &inet())), client("192.0.2.1:4711"));
        let six = client("[2001:db8::1]:4711");
        assert_eq!(whole(&v2(0x21, 0x21, &inet6())), six);
        let unix = v2(0x21, 0x31, &[b'/'; UNIX_ADDRESSES]);
        assert_eq!(whole(&unix), ProxyHeader::UnixClient);
        // UNSPEC: the addresses, if any, are ignored.
        assert_eq!(whole(&v2(0x21, 0x00, &[])), ProxyHeader::Local);
        assert_eq!(whole(&v2(0x21, 0x00, &[1, 2, 3])), ProxyHeader::Local);
    }

    #[test]
    fn v2_local_keeps_the_peer_whatever_its_family_says() {
        assert_eq!(whole(&v2(0x20, 0x00, &[])), ProxyHeader::Local);
        assert_eq!(whole(&v2(0x20, 0x11, &inet())), ProxyHeader::Local);
        assert_eq!(whole(&v2(0x20, 0x11, &[])), ProxyHeader::Local);
        assert_eq!(whole(&v2(0x20, 0xff, &[])), ProxyHeader::Local);
    }

    #[test]
    fn v2_tlvs_are_skipped_and_must_fit() {
        let mut payload = inet();
        payload.extend_from_slice(&[0x04, 0, 0]); // NOOP, empty
        payload.extend_from_slice(&[0xea, 0, 4, b'v', b'p', b'c', b'e']); // AWS
        assert_eq!(whole(&v2(0x21, 0x11, &payload)), client("192.0.2.1:4711"));
        for lying in [&[0x04, 0, 5, 1, 2][..], &[0x04, 0], &[0x04]] {
            let mut payload = inet();
            payload.extend_from_slice(lying);
            assert_eq!(parse(&v2(0x21, 0x11, &payload)), Err(ProxyError::Tlv));
        }
    }

    #[test]
    fn v2_lengths_that_lie_are_refused_from_the_prefix() {
        // Shorter than the family's addresses: AF_INET with 11 bytes.
        let short = v2(0x21, 0x11, &inet()[..11]);
        assert_eq!(parse(&short[..16]), Err(ProxyError::AddressLength));
        assert_eq!(parse(&short), Err(ProxyError::AddressLength));
        let short6 = v2(0x21, 0x21, &inet());
        assert_eq!(parse(&short6), Err(ProxyError::AddressLength));
        let short_unix = v2(0x21, 0x31, &[0; UNIX_ADDRESSES - 1]);
        assert_eq!(parse(&short_unix), Err(ProxyError::AddressLength));
        // The longest accepted, and one byte over it, refused before any
        // of the payload is read.
        let mut payload = inet();
        payload.extend_from_slice(&[0x04, 0, 0]);
        let tlv = u16::try_from(MAX_PROXY_V2_LENGTH - payload.len() - 3).unwrap();
        payload.extend_from_slice(&[0x04]);
        payload.extend_from_slice(&tlv.to_be_bytes());
        payload.resize(MAX_PROXY_V2_LENGTH, 0);
        assert!(matches!(
            whole(&v2(0x21, 0x11, &payload)),
            ProxyHeader::Client(_)
        ));
        payload.push(0);
        let over = v2(0x21, 0x11, &payload);
        assert_eq!(parse(&over[..16]), Err(ProxyError::TooLong));
        let mut most = V2_SIGNATURE.to_vec();
        most.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert_eq!(parse(&most), Err(ProxyError::TooLong));
    }

    #[test]
    fn v2_wrong_version_command_or_family_is_refused() {
        assert_eq!(parse(&v2(0x11, 0x11, &inet())), Err(ProxyError::Version));
        assert_eq!(
            parse(&v2(0x31, 0x11, &inet())[..13]),
            Err(ProxyError::Version)
        );
        assert_eq!(
            parse(&v2(0x22, 0x11, &inet())[..13]),
            Err(ProxyError::Command)
        );
        assert_eq!(parse(&v2(0x2f, 0x11, &inet())), Err(ProxyError::Command));
        for family in [0x01, 0x10, 0x13, 0x20, 0x23, 0x30, 0x41, 0xff] {
            let header = v2(0x21, family, &inet6());
            assert_eq!(parse(&header[..16]), Err(ProxyError::Family), "{family:#x}");
        }
    }

    #[test]
    fn every_prefix_of_every_byte_string_is_answered_without_panicking() {
        let mut samples = vec![
            v2(0x21, 0x11, &inet()),
            v2(0x21, 0x21, &inet6()),
            b"PROXY TCP4 192.0.2.1 198.51.100.2 4711 443\r\n".to_vec(),
        ];
        // Each sample with each byte changed to each of a few values.
        for sample in samples.clone() {
            for at in 0..sample.len() {
                for value in [0, 1, 0x11, 0x20, 0x21, b'\r', b'\n', b' ', 0xff] {
                    let mut changed = sample.clone();
                    changed[at] = value;
                    samples.push(changed);
                }
            }
        }
        for sample in &samples {
            for cut in 0..=sample.len() {
                if let Ok(Some((_, used))) = parse(&sample[..cut]) {
                    assert!(used <= cut);
                }
            }
        }
    }
}
