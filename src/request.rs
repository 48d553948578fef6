//! Request-head parsing: bytes in, a [`Request`] and the number of bytes it
//! used out. `httparse` tokenizes; the limits, persistence and body rules
//! around it are ours.

use crate::limits::{MAX_HEAD, MAX_HEADERS, MAX_REQUEST_LINE};
use crate::status::Status;

/// The request method, as far as a static server cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    /// Any other syntactically valid method token; answered with 405.
    Other(Box<str>),
}

impl Method {
    fn from_token(token: &str) -> Method {
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

/// The HTTP/1.x minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
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
    /// Whether the client announced a body. staticd never reads bodies, so
    /// such a connection is closed after the response rather than risk
    /// reading body bytes as the next request.
    pub has_body: bool,
}

/// Why a request head was refused; each maps to exactly one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not a valid HTTP/1.x request head.
    Malformed,
    /// The request line is longer than [`MAX_REQUEST_LINE`].
    LineTooLong,
    /// The head is longer than [`MAX_HEAD`] or has more than [`MAX_HEADERS`] fields.
    HeadTooLarge,
}

impl ParseError {
    /// The one table from parse failure to response status.
    pub fn status(self) -> Status {
        match self {
            ParseError::Malformed => Status::BadRequest,
            ParseError::LineTooLong => Status::UriTooLong,
            ParseError::HeadTooLarge => Status::HeaderFieldsTooLarge,
        }
    }
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
    let fields = Fields::read(req.headers)?;
    let keep_alive = match version {
        Version::Http11 => !fields.close,
        Version::Http10 => fields.keep_alive && !fields.close,
    };
    let request = Request {
        method: Method::from_token(method),
        target: target.to_owned(),
        version,
        keep_alive,
        has_body: fields.has_body,
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

/// The header fields that change how the server answers.
#[derive(Default)]
struct Fields {
    close: bool,
    keep_alive: bool,
    has_body: bool,
}

impl Fields {
    fn read(headers: &[httparse::Header<'_>]) -> Result<Fields, ParseError> {
        let mut fields = Fields::default();
        for header in headers {
            if header.name.eq_ignore_ascii_case("connection") {
                for option in header.value.split(|&b| b == b',') {
                    let option = option.trim_ascii();
                    fields.close |= option.eq_ignore_ascii_case(b"close");
                    fields.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if header.name.eq_ignore_ascii_case("content-length") {
                let value = header.value.trim_ascii();
                if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                    return Err(ParseError::Malformed);
                }
                fields.has_body |= value.iter().any(|&b| b != b'0');
            } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
                fields.has_body = true;
            }
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(!req.has_body);
    }

    #[test]
    fn partial_needs_more_bytes() {
        assert_eq!(parse(b""), Ok(None));
        assert_eq!(parse(b"\n"), Ok(None));
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost: h\r\n"), Ok(None));
    }

    #[test]
    fn consumes_exactly_one_of_pipelined_requests() {
        let first = b"GET /1 HTTP/1.1\r\n\r\n";
        let mut raw = first.to_vec();
        raw.extend_from_slice(b"HEAD /2 HTTP/1.1\r\n\r\n");
        let (req, used) = ok(&raw);
        assert_eq!((req.target.as_str(), used), ("/1", first.len()));
        let (req, _) = ok(&raw[used..]);
        assert_eq!((req.method, req.target.as_str()), (Method::Head, "/2"));
    }

    #[test]
    fn persistence_rules() {
        assert!(
            !ok(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
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
            !ok(b"GET / HTTP/1.1\r\nConnection: te, CLOSE\r\n\r\n")
                .0
                .keep_alive
        );
    }

    #[test]
    fn other_methods_are_kept_for_405() {
        let (req, _) = ok(b"BREW /pot HTTP/1.1\r\n\r\n");
        assert_eq!(req.method, Method::Other("BREW".into()));
        assert_eq!(req.method.as_str(), "BREW");
    }

    #[test]
    fn bodies_are_noticed() {
        assert!(
            ok(b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n")
                .0
                .has_body
        );
        assert!(
            ok(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
                .0
                .has_body
        );
        assert!(
            !ok(b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")
                .0
                .has_body
        );
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
            Err(ParseError::Malformed)
        );
    }

    #[test]
    fn malformed_heads_are_400() {
        for raw in [
            &b"garbage\r\n\r\n"[..],
            b"GET / HTTP/1.1 extra\r\n\r\n",
            b"GET / FTP/1.0\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"GET / HTTP/1.1\r\nName : x\r\n\r\n",
        ] {
            assert_eq!(parse(raw), Err(ParseError::Malformed), "{raw:?}");
        }
        assert_eq!(ParseError::Malformed.status(), Status::BadRequest);
    }

    #[test]
    fn request_line_limit_is_414() {
        let fits = format!(
            "GET /{} HTTP/1.1\r\n\r\n",
            "a".repeat(MAX_REQUEST_LINE - 16)
        );
        assert!(ok(fits.as_bytes()).1 > 0);
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(parse(long.as_bytes()), Err(ParseError::LineTooLong));
        // Refused even before the line ends.
        let unfinished = format!("GET /{}", "a".repeat(MAX_REQUEST_LINE));
        assert_eq!(parse(unfinished.as_bytes()), Err(ParseError::LineTooLong));
        assert_eq!(ParseError::LineTooLong.status(), Status::UriTooLong);
    }

    #[test]
    fn head_size_limit_is_431() {
        let field = format!("X-Pad: {}\r\n", "p".repeat(500));
        let head = format!("GET / HTTP/1.1\r\n{}\r\n", field.repeat(40));
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
        let at_limit = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(MAX_HEADERS));
        assert!(ok(at_limit.as_bytes()).1 > 0);
        let over = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "A: b\r\n".repeat(MAX_HEADERS + 1)
        );
        assert_eq!(parse(over.as_bytes()), Err(ParseError::HeadTooLarge));
    }
}
