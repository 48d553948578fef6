//! The header fields that change how a request is framed or answered
//! (RFC 9112 §6 and §9, RFC 9110 §7.2), checked strictly: where two readings
//! of a message are possible, it is refused, since a proxy in front of us
//! might pick the other one (request smuggling).
//!
//! The fields that only matter later are kept as sent: the preconditions
//! ([`Conditions`]), which the site evaluates against its validators, the
//! negotiation fields ([`Negotiation`]), the `Host` value (checked by
//! [`host`]), and what the access log keeps.

use crate::http::auth::Secret;
use crate::http::cors::CorsFields;
use crate::http::error::ParseError;
use crate::http::forwarded::ForwardingFields;
use crate::http::host;
use crate::http::version::Version;

/// How the request's body, if any, is delimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Framing {
    /// No body.
    #[default]
    None,
    /// Exactly this many body bytes follow the head.
    Length(u64),
    /// A chunked body follows; staticd never decodes it and closes after
    /// answering.
    Chunked,
}

/// What the header fields say, once validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub close: bool,
    pub keep_alive: bool,
    pub framing: Framing,
    pub expect_continue: bool,
    pub conditions: Conditions,
    pub negotiation: Negotiation,
    /// `Origin` and the preflight fields, for CORS; boxed, and only when
    /// sent, since every connection task holds a request.
    pub cors: Option<Box<CorsFields>>,
    /// `Forwarded` and `X-Forwarded-For`, boxed and only when sent as
    /// `cors` is; believed only from a trusted proxy (the serving layer
    /// decides).
    pub forwarding: Option<Box<ForwardingFields>>,
    /// The `Host` value as sent (trimmed), already checked by
    /// [`host::valid`]: the authority a redirect to HTTPS names, and what
    /// site rules will match on. `None` when absent (HTTP/1.0 allows it).
    pub host: Option<String>,
    /// `Authorization`, for the site's `--auth-file`; never logged (see
    /// [`Secret`]). Sent twice, it is kept empty, which no check accepts.
    pub authorization: Option<Secret>,
    /// Kept for the access log only.
    pub referer: Option<String>,
    pub user_agent: Option<String>,
}

/// The precondition fields (RFC 9110 §13.1), as sent and joined like
/// [`Negotiation`]'s; the site evaluates them against its validators.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    pub if_match: Option<String>,
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<String>,
    pub if_unmodified_since: Option<String>,
}

/// The fields that pick a representation or a part of it, as sent
/// (repeated fields joined with `, `, so a repeated single-valued field
/// no longer parses and is ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Negotiation {
    pub range: Option<String>,
    pub if_range: Option<String>,
    pub accept_encoding: Option<String>,
    pub accept: Option<String>,
}

impl Fields {
    /// Where a field that is only kept for later goes, if it is one.
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        let name = name.to_ascii_lowercase();
        let c = &mut self.conditions;
        let n = &mut self.negotiation;
        let slot = match name.as_str() {
            "if-match" => &mut c.if_match,
            "if-none-match" => &mut c.if_none_match,
            "if-modified-since" => &mut c.if_modified_since,
            "if-unmodified-since" => &mut c.if_unmodified_since,
            "range" => &mut n.range,
            "if-range" => &mut n.if_range,
            "accept-encoding" => &mut n.accept_encoding,
            "accept" => &mut n.accept,
            "referer" => &mut self.referer,
            "user-agent" => &mut self.user_agent,
            other if CorsFields::keeps(other) => {
                return self.cors.get_or_insert_with(Box::default).slot(other);
            }
            other if ForwardingFields::keeps(other) => {
                return self.forwarding.get_or_insert_with(Box::default).slot(other);
            }
            _ => return None,
        };
        Some(slot)
    }
}

fn append(slot: &mut Option<String>, value: &[u8]) {
    let value = String::from_utf8_lossy(value);
    match slot {
        Some(seen) => {
            seen.push_str(", ");
            seen.push_str(value.trim());
        }
        None => *slot = Some(value.trim().to_owned()),
    }
}

/// Codings we know by name. Anything else in Transfer-Encoding is 501.
const KNOWN_CODINGS: &[&[u8]] = &[
    b"chunked",
    b"gzip",
    b"x-gzip",
    b"deflate",
    b"compress",
    b"x-compress",
];

/// Longest Content-Length we parse; more digits cannot fit a u64 anyway.
const MAX_LENGTH_DIGITS: usize = 20;

impl Fields {
    /// Validates the fields of a request of `version`.
    pub fn read(headers: &[httparse::Header<'_>], version: Version) -> Result<Fields, ParseError> {
        let mut fields = Fields::default();
        let mut length: Option<u64> = None;
        let mut codings: Vec<&[u8]> = Vec::new();
        let mut hosts = 0;
        for header in headers {
            let name = header.name;
            let value = header.value;
            if name.eq_ignore_ascii_case("connection") {
                for option in list(value) {
                    fields.close |= option.eq_ignore_ascii_case(b"close");
                    fields.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case("content-length") {
                let n = parse_length(value)?;
                if length.is_some_and(|seen| seen != n) {
                    return Err(ParseError::Malformed);
                }
                length = Some(n);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                codings.extend(list(value));
            } else if name.eq_ignore_ascii_case("host") {
                hosts += 1;
                if !host::valid(value) {
                    return Err(ParseError::Malformed);
                }
                fields.host = Some(String::from_utf8_lossy(value.trim_ascii()).into_owned());
            } else if name.eq_ignore_ascii_case("authorization") {
                let value = match fields.authorization {
                    None => String::from_utf8_lossy(value),
                    Some(_) => "".into(),
                };
                fields.authorization = Some(Secret::new(&value));
            } else if name.eq_ignore_ascii_case("expect") {
                fields.expect_continue |= value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
            } else if let Some(slot) = fields.slot(name) {
                append(slot, value);
            }
        }
        let host_ok = match version {
            Version::Http11 => hosts == 1,
            // HTTP/2 puts the host in `:authority`, which the connection
            // turns into one `Host` when the request has none.
            Version::Http10 | Version::Http2 => hosts <= 1,
        };
        if !host_ok {
            return Err(ParseError::Malformed);
        }
        fields.framing = framing(length, &codings, version)?;
        Ok(fields)
    }
}

/// Decides the body framing from Content-Length and Transfer-Encoding.
fn framing(
    length: Option<u64>,
    codings: &[&[u8]],
    version: Version,
) -> Result<Framing, ParseError> {
    if codings.is_empty() {
        return Ok(match length {
            None | Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
        });
    }
    // Both headers, or Transfer-Encoding in HTTP/1.0: the length is in doubt.
    // In HTTP/2, Transfer-Encoding is connection-specific (RFC 9113 §8.2.2).
    if length.is_some() || version != Version::Http11 {
        return Err(ParseError::Malformed);
    }
    let known = |c: &&[u8]| KNOWN_CODINGS.iter().any(|k| c.eq_ignore_ascii_case(k));
    if !codings.iter().all(known) {
        return Err(ParseError::UnknownCoding);
    }
    let chunked = |c: &&[u8]| c.eq_ignore_ascii_case(b"chunked");
    // Chunked must be applied exactly once, and last.
    if codings.iter().filter(|c| chunked(c)).count() != 1 || !codings.last().is_some_and(chunked) {
        return Err(ParseError::Malformed);
    }
    Ok(Framing::Chunked)
}

/// The non-empty elements of a comma-separated field value, trimmed.
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty())
}

/// A Content-Length value: 1*DIGIT and nothing else (no sign, no list).
fn parse_length(value: &[u8]) -> Result<u64, ParseError> {
    let digits = value.trim_ascii();
    if digits.is_empty()
        || digits.len() > MAX_LENGTH_DIGITS
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return Err(ParseError::Malformed);
    }
    digits.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d - b'0')))
            .ok_or(ParseError::Malformed)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(raw: &[(&str, &str)], version: Version) -> Result<Fields, ParseError> {
        let headers: Vec<httparse::Header<'_>> = raw
            .iter()
            .map(|(n, v)| httparse::Header {
                name: n,
                value: v.as_bytes(),
            })
            .collect();
        Fields::read(&headers, version)
    }

    fn framing_of(raw: &[(&str, &str)]) -> Result<Framing, ParseError> {
        let mut all = vec![("Host", "h")];
        all.extend_from_slice(raw);
        read(&all, Version::Http11).map(|f| f.framing)
    }

    #[test]
    fn content_length() {
        assert_eq!(framing_of(&[]), Ok(Framing::None));
        assert_eq!(framing_of(&[("Content-Length", "0")]), Ok(Framing::None));
        assert_eq!(
            framing_of(&[("Content-Length", " 42 ")]),
            Ok(Framing::Length(42))
        );
        assert_eq!(
            framing_of(&[("Content-Length", "5"), ("content-length", "5")]),
            Ok(Framing::Length(5))
        );
        assert_eq!(
            framing_of(&[("Content-Length", "18446744073709551615")]),
            Ok(Framing::Length(u64::MAX))
        );
        for bad in [
            "+2",
            "-1",
            "1, 2",
            "1,1",
            "0x10",
            "",
            "1 2",
            "18446744073709551616",
            &"9".repeat(25),
        ] {
            assert_eq!(
                framing_of(&[("Content-Length", bad)]),
                Err(ParseError::Malformed),
                "{bad}"
            );
        }
        assert_eq!(
            framing_of(&[("Content-Length", "5"), ("Content-Length", "6")]),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn transfer_encoding() {
        assert_eq!(
            framing_of(&[("Transfer-Encoding", "chunked")]),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing_of(&[("Transfer-Encoding", "gzip, Chunked")]),
            Ok(Framing::Chunked)
        );
        assert_eq!(
            framing_of(&[
                ("Transfer-Encoding", "gzip"),
                ("Transfer-Encoding", "chunked")
            ]),
            Ok(Framing::Chunked)
        );
        for bad in ["gzip", "chunked, gzip", "chunked, chunked", ""] {
            let got = framing_of(&[("Transfer-Encoding", bad)]);
            let expect = if bad.is_empty() {
                Ok(Framing::None)
            } else {
                Err(ParseError::Malformed)
            };
            assert_eq!(got, expect, "{bad}");
        }
        assert_eq!(
            framing_of(&[("Transfer-Encoding", "br, chunked")]),
            Err(ParseError::UnknownCoding)
        );
        assert_eq!(
            framing_of(&[("Transfer-Encoding", "chunked"), ("Content-Length", "3")]),
            Err(ParseError::Malformed)
        );
        let http10 = read(&[("Transfer-Encoding", "chunked")], Version::Http10);
        assert_eq!(http10, Err(ParseError::Malformed));
    }

    #[test]
    fn host_rules() {
        assert!(read(&[], Version::Http11).is_err());
        assert!(read(&[("Host", "a"), ("Host", "a")], Version::Http11).is_err());
        assert!(read(&[], Version::Http10).is_ok());
        for good in [
            "example.com",
            "example.com:8080",
            "127.0.0.1:80",
            "[::1]:8080",
            "[fe80::1%25eth0]",
            "",
        ] {
            assert!(read(&[("Host", good)], Version::Http11).is_ok(), "{good}");
        }
        for bad in [
            "a b", "a/b", "a:b", "[::1", "[]", "a@b", "[::1]x", "h:80:80",
        ] {
            assert!(read(&[("Host", bad)], Version::Http11).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_host_is_kept_as_sent() {
        let host = |raw: &[(&str, &str)], version| read(raw, version).unwrap().host;
        assert_eq!(
            host(&[("Host", " [::1]:8443 ")], Version::Http11).as_deref(),
            Some("[::1]:8443")
        );
        assert_eq!(
            host(&[("host", "Example.COM")], Version::Http10).as_deref(),
            Some("Example.COM")
        );
        assert_eq!(host(&[("Host", "")], Version::Http11).as_deref(), Some(""));
        assert_eq!(host(&[], Version::Http10), None);
    }

    #[test]
    fn kept_fields_are_joined() {
        let f = read(
            &[
                ("Host", "h"),
                ("If-None-Match", "\"a\""),
                ("if-none-match", " \"b\" "),
                ("Range", "bytes=0-1"),
                ("Accept-Encoding", "br"),
            ],
            Version::Http11,
        )
        .unwrap();
        assert_eq!(f.conditions.if_none_match.as_deref(), Some("\"a\", \"b\""));
        assert_eq!(f.negotiation.range.as_deref(), Some("bytes=0-1"));
        assert_eq!(f.negotiation.accept_encoding.as_deref(), Some("br"));
        assert_eq!(f.conditions.if_match, None);
    }

    #[test]
    fn connection_and_expect() {
        let f = read(
            &[
                ("Host", "h"),
                ("Connection", "Upgrade, close"),
                ("Expect", "100-Continue"),
            ],
            Version::Http11,
        )
        .unwrap();
        assert!(f.close && !f.keep_alive && f.expect_continue);
        let f = read(&[("Connection", "keep-alive")], Version::Http10).unwrap();
        assert!(f.keep_alive && !f.close);
    }
}
