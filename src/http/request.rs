//! Request-head parsing: bytes in, a [`Request`] and the number of bytes it
//! used out. `httparse` tokenizes; the limits, persistence and body rules
//! around it are ours.
//!
//! [`Version`] and [`ParseError`] live in their own modules, since the
//! field rules need them too; they are re-exported here, where callers
//! meet them.

use crate::http::fields::Fields;
use crate::http::limits::{MAX_HEAD, MAX_HEADERS, MAX_REQUEST_LINE};

pub(crate) use crate::http::error::ParseError;
pub(crate) use crate::http::version::Version;

/// The request method, as far as a static server cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    /// Any other syntactically valid method token; answered with 405.
    Other(Box<str>),
}

impl Method {
    pub(crate) fn from_token(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            other => Method::Other(other.into()),
        }
    }

    /// The method as sent, for logs.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Other(token) => token,
        }
    }
}

/// A parsed request head, owning only what the server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The request target exactly as sent (still percent-encoded).
    pub target: String,
    pub version: Version,
    /// Whether the client wants the connection kept open afterwards
    /// (RFC 9112 §9.3: HTTP/1.1 unless `close`, HTTP/1.0 only with `keep-alive`).
    pub keep_alive: bool,
    /// What the header fields say: body framing, `Expect`, preconditions,
    /// negotiation, and what the access log keeps.
    pub fields: Fields,
}

/// Parses one request head from the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, or the request with the
/// exact number of bytes it occupied, so pipelined requests behind it are
/// left untouched in the buffer.
pub fn parse(buf: &[u8]) -> Result<Option<(Request, usize)>, ParseError> {
    check_request_line(buf)?;
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let used = match req.parse(buf) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Err(ParseError::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ParseError::HeadTooLarge),
        Err(httparse::Error::Version) if names_later_version(buf) => {
            return Err(ParseError::UnsupportedVersion);
        }
        Err(_) => return Err(ParseError::Malformed),
    };
    if used > MAX_HEAD {
        return Err(ParseError::HeadTooLarge);
    }
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(ParseError::Malformed);
    };
    let version = if minor == 0 {
        Version::Http10
    } else {
        Version::Http11
    };
    let fields = Fields::read(req.headers, version)?;
    let keep_alive = match version {
        Version::Http11 => !fields.close,
        Version::Http10 => fields.keep_alive && !fields.close,
        Version::Http2 => true,
    };
    let request = Request {
        method: Method::from_token(method),
        target: target.to_owned(),
        version,
        keep_alive,
        fields,
    };
    Ok(Some((request, used)))
}

/// Refuses an over-long request line before tokenizing, so it is answered
/// with 414 rather than buffered up to the head limit.
fn check_request_line(buf: &[u8]) -> Result<(), ParseError> {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    let line_len = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    if line_len > MAX_REQUEST_LINE {
        return Err(ParseError::LineTooLong);
    }
    Ok(())
}

/// Whether the request line ends in `HTTP/x.y` with x of 2 or more (the
/// HTTP/2 preface `PRI * HTTP/2.0` included): 505 rather than 400.
fn names_later_version(buf: &[u8]) -> bool {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let rest = &buf[start..];
    let line = rest.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let Some(version) = line.rsplit(|&b| b == b' ').next() else {
        return false;
    };
    match version.strip_prefix(b"HTTP/") {
        Some([major, b'.', minor]) => {
            major.is_ascii_digit() && *major >= b'2' && minor.is_ascii_digit()
        }
        Some([major]) => major.is_ascii_digit() && *major >= b'2',
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::fields::Framing;
    use crate::http::status::Status;

    fn ok(raw: &[u8]) -> (Request, usize) {
        parse(raw).expect("parse error").expect("incomplete")
    }

    #[test]
    fn simple_get() {
        let raw = b"GET /a.html?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";
        let (req, used) = ok(raw);
        assert_eq!(used, raw.len());
        assert_eq!(req.method, Method::Get);
        assert_eq!(req.target, "/a.html?x=1");
        assert_eq!(req.version, Version::Http11);
        assert!(req.keep_alive);
        assert_eq!(req.fields.framing, Framing::None);
    }

    #[test]
    fn partial_needs_more_bytes() {
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"\n"), Ok(None));
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: h\r\n"), Ok(None));
    }

    #[test]
    fn consumes_exactly_one_of_pipelined_requests() {
        let first = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\n";
        let mut raw = first.to_vec();
        raw.extend_from_slice(b"HEAD /2 HTTP/1.1\r\nHost: h\r\n\r\n");
        let (req, used) = ok(&raw);
        assert_eq!((req.target.as_str(), used), ("/1", first.len()));
        let (req, _) = ok(&raw[used..]);
        assert_eq!((req.method, req.target.as_str()), (Method::Head, "/2"));
    }

    #[test]
    fn persistence_rules() {
        assert!(
            !ok(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(!ok(b"GET / HTTP/1.0\r\n\r\n").0.keep_alive);
        assert!(
            ok(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
                .0
                .keep_alive
        );
        assert!(
            !ok(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: te, CLOSE\r\n\r\n")
                .0
                .keep_alive
        );
    }

    #[test]
    fn other_methods_are_kept_for_405() {
        let (req, _) = ok(b"BREW /pot HTTP/1.1\r\nHost: h\r\n\r\n");
        assert_eq!(req.method, Method::Other("BREW".into()));
        assert_eq!(req.method.as_str(), "BREW");
    }

    #[test]
    fn bodies_are_framed() {
        let (req, _) = ok(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n");
        assert_eq!(req.fields.framing, Framing::Length(5));
        let (req, _) = ok(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert_eq!(req.fields.framing, Framing::Chunked);
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: zstd, chunked\r\n\r\n";
        assert_eq!(parse(raw), Err(ParseError::UnknownCoding));
        assert_eq!(ParseError::UnknownCoding.status(), Status::NotImplemented);
    }

    #[test]
    fn later_versions_are_505() {
        for raw in [
            &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / HTTP/3.0\r\nHost: h\r\n\r\n",
            b"GET / HTTP/2\r\n\r\n",
        ] {
            assert_eq!(parse(raw), Err(ParseError::UnsupportedVersion), "{raw:?}");
        }
        assert_eq!(
            ParseError::UnsupportedVersion.status(),
            Status::VersionNotSupported
        );
        for raw in [
            &b"GET /\r\n\r\n"[..],
            b"GET / HTTP/1.2\r\n\r\n",
            b"GET / HTTP/0.9\r\n\r\n",
        ] {
            assert_eq!(parse(raw), Err(ParseError::Malformed), "{raw:?}");
        }
    }

    #[test]
    fn malformed_heads_are_400() {
        for raw in [
            &b"garbage\r\n\r\n"[..],
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"GET / FTP/1.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: h\r\nName : x\r\n\r\n",
        ] {
            assert_eq!(parse(raw), Err(ParseError::Malformed), "{raw:?}");
        }
        assert_eq!(ParseError::Malformed.status(), Status::BadRequest);
    }

    #[test]
    fn request_line_limit_is_414() {
        let fits = format!(
            "GET /{} HTTP/1.1\r\nHost: h\r\n\r\n",
            "a".repeat(MAX_REQUEST_LINE - 16)
        );
        assert!(ok(fits.as_bytes()).1 > 0);
        let long = format!(
            "GET /{} HTTP/1.1\r\nHost: h\r\n\r\n",
            "a".repeat(MAX_REQUEST_LINE)
        );
        assert_eq!(parse(long.as_bytes()), Err(ParseError::LineTooLong));
        // Refused even before the line ends.
        let unfinished = format!("GET /{}", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(parse(unfinished.as_bytes()), Err(ParseError::LineTooLong));
        assert_eq!(ParseError::LineTooLong.status(), Status::UriTooLong);
    }

    #[test]
    fn head_size_limit_is_431() {
        let field = format!("X-Pad: {}\r\n", "p".repeat(500));
        let head = format!("GET / HTTP/1.1\r\nHost: h\r\n{}\r\n", field.repeat(40));
        assert!(head.len() > MAX_HEAD);
        assert_eq!(parse(head.as_bytes()), Err(ParseError::HeadTooLarge));
        let unfinished = &head.as_bytes()[..head.len() - 2];
        assert_eq!(parse(unfinished), Err(ParseError::HeadTooLarge));
        assert_eq!(
            ParseError::HeadTooLarge.status(),
            Status::HeaderFieldsTooLarge
        );
    }

    #[test]
    fn header_count_limit_is_431() {
        let at_limit = format!(
            "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS - 1)
        );
        assert!(ok(at_limit.as_bytes()).1 > 0);
        let over = format!(
            "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(parse(over.as_bytes()), Err(ParseError::HeadTooLarge));
    }
}
