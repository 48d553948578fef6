//! The `Host` field's value (RFC 9110 §7.2), apart from the other fields
//! because it is read twice: checked strictly when the head is parsed
//! ([`valid`], so nothing later meets a host that could smuggle a path or
//! a second authority), and split when a response has to name the host
//! again ([`name`], for the redirect to HTTPS).

/// Whether `value` is `uri-host [ ":" port ]`: registered-name characters
/// or an IP literal in brackets, then an optional all-digit port. Empty is
/// allowed (RFC 9112 §3.2).
pub(crate) fn valid(value: &[u8]) -> bool {
    let value = value.trim_ascii();
    let (host, port) = if value.first() == Some(&b'[') {
        let Some(end) = value.iter().position(|&b| b == b']') else {
            return false;
        };
        let literal = &value[1..end];
        let literal_ok = !literal.is_empty()
            && literal
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b":.%-_~".contains(&b));
        if !literal_ok {
            return false;
        }
        (&value[..0], &value[end + 1..])
    } else {
        match value.iter().position(|&b| b == b':') {
            Some(colon) => (&value[..colon], &value[colon..]),
            None => (value, &value[value.len()..]),
        }
    };
    let reg_name_ok = host
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=%".contains(&b));
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    reg_name_ok && port_ok
}

/// The host of a value [`valid`] accepted, without its port: an IP literal
/// keeps its brackets (`[::1]:8080` is `[::1]`), so it can be put straight
/// into a URL with another port.
pub(crate) fn name(value: &str) -> &str {
    let end = if value.starts_with('[') {
        value.find(']').map_or(value.len(), |at| at + 1)
    } else {
        value.find(':').unwrap_or(value.len())
    };
    &value[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_literals_and_ports_are_checked() {
        for good in [
            "example.com",
            "example.com:8080",
            "example.com:",
            "127.0.0.1:80",
            "[::1]:8080",
            "[fe80::1%25eth0]",
            " spaced ",
            "",
        ] {
            assert!(valid(good.as_bytes()), "{good}");
        }
        for bad in [
            "a b", "a/b", "a:b", "[::1", "[]", "a@b", "[::1]x", "h:80:80", "a\\b", "a?b", "a#b",
        ] {
            assert!(!valid(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn the_name_drops_the_port_and_keeps_brackets() {
        assert_eq!(name("example.com"), "example.com");
        assert_eq!(name("example.com:8080"), "example.com");
        assert_eq!(name("example.com:"), "example.com");
        assert_eq!(name("127.0.0.1:80"), "127.0.0.1");
        assert_eq!(name("[::1]:8080"), "[::1]");
        assert_eq!(name("[fe80::1%25eth0]"), "[fe80::1%25eth0]");
        assert_eq!(name(""), "");
    }
}
