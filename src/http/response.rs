//! Responses and their encoding. [`Response::error`] is the one builder for
//! error pages; [`encode_head`] is the one encoder of status line and header
//! fields.

use std::fs::File;
use std::sync::Arc;

use crate::http::chunked::Stream;
use crate::http::status::Status;

/// The `Server` header value: product and version.
pub(crate) const SERVER: &str = concat!("staticd/", env!("CARGO_PKG_VERSION"));

/// What follows the head.
#[derive(Debug)]
pub enum Body {
    /// No body and no `Content-Length` either: a 304 must not announce a
    /// length other than the representation's (RFC 9110 §8.6).
    None,
    /// Bytes built in memory (error pages, listings, small files).
    Bytes(Vec<u8>),
    /// Bytes shared with the small-file cache.
    Shared(Arc<[u8]>),
    /// `len` bytes of an open regular file from `offset`, sent straight
    /// from the file when the response is written.
    File {
        file: Arc<File>,
        offset: u64,
        len: u64,
    },
    /// A `multipart/byteranges` body: part heads in memory, part data
    /// sent from the file as for [`Body::File`].
    Parts { file: File, pieces: Vec<Piece> },
    /// Bytes made while they are sent, of a length not known before:
    /// `Transfer-Encoding: chunked` (HTTP/1.1 only; the coding is in
    /// `http::chunked`).
    Stream(Stream),
}

/// One piece of a multipart body.
#[derive(Debug)]
pub enum Piece {
    Bytes(Vec<u8>),
    Range { offset: u64, len: u64 },
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(bytes) => bytes.len() as u64,
            Piece::Range { len, .. } => *len,
        }
    }
}

impl Body {
    /// The number of body bytes announced in `Content-Length`.
    pub fn len(&self) -> u64 {
        match self {
            Body::None => 0,
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::Shared(bytes) => bytes.len() as u64,
            Body::File { len, .. } => *len,
            Body::Parts { pieces, .. } => pieces.iter().map(Piece::len).sum(),
            Body::Stream(_) => 0,
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A response before encoding. `Date`, `Server`, `Content-Length` and
/// `Connection` are added by [`encode_head`], so no response can lack them.
#[derive(Debug)]
pub struct Response {
    pub status: Status,
    /// Further header fields, in canonical case, in sending order.
    pub headers: Vec<(&'static str, String)>,
    /// Header fields encoded once and shared (a cached file's), sent
    /// after `headers`.
    pub encoded_fields: Option<Arc<[u8]>>,
    pub body: Body,
}

impl Response {
    /// A response with the given status, content type and in-memory body.
    pub fn bytes(status: Status, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            headers: vec![("Content-Type", content_type.to_owned())],
            encoded_fields: None,
            body: Body::Bytes(body),
        }
    }

    /// The error page for `status`: a short HTML body, plus `Allow` on 405
    /// (RFC 9110 §15.5.6 requires it).
    pub fn error(status: Status) -> Response {
        let title = format!("{} {}", status.code(), status.reason());
        let page = format!(
            "<!DOCTYPE html>\n<html><head><title>{title}</title></head>\
             <body><h1>{title}</h1></body></html>\n"
        );
        let mut response = Response::bytes(status, "text/html", page.into_bytes());
        if status == Status::MethodNotAllowed {
            response.headers.push(("Allow", "GET, HEAD".to_owned()));
        }
        response
    }

    /// Whether a field named `name` (any case) is among `headers` or the
    /// pre-encoded fields.
    pub fn has_field(&self, name: &str) -> bool {
        let name = name.as_bytes();
        let encoded = self.encoded_fields.as_deref().unwrap_or(&[]);
        self.headers
            .iter()
            .any(|(n, _)| n.as_bytes().eq_ignore_ascii_case(name))
            || encoded.split_inclusive(|&b| b == b'\n').any(|line| {
                line.len() > name.len()
                    && line[name.len()] == b':'
                    && line[..name.len()].eq_ignore_ascii_case(name)
            })
    }

    /// A permanent redirect to `location`, which must be a path beginning
    /// with a single `/`.
    pub fn redirect(location: String) -> Response {
        let mut response = Response::error(Status::MovedPermanently);
        response.headers.push(("Location", location));
        response
    }
}

/// Encodes the status line and header fields, ending with the blank line.
/// `keep_alive` is the connection's decision; the header always states it,
/// so HTTP/1.0 and HTTP/1.1 clients alike know what happens next.
pub fn encode_head(
    response: &Response,
    keep_alive: bool,
    date: &str,
    extra: &[(String, String)],
    out: &mut Vec<u8>,
) {
    let status = response.status;
    out.extend_from_slice(b"HTTP/1.1 ");
    push_decimal(out, u64::from(status.code()));
    out.push(b' ');
    out.extend_from_slice(status.reason().as_bytes());
    out.extend_from_slice(b"\r\n");
    push_field(out, "Server", SERVER);
    push_field(out, "Date", date);
    for (name, value) in &response.headers {
        push_field(out, name, value);
    }
    if let Some(fields) = &response.encoded_fields {
        out.extend_from_slice(fields);
    }
    // The connection's own fields (`--header`, HSTS) give way to a field
    // of the same name the site set for this response (a path rule's).
    for (name, value) in extra {
        if !response.has_field(name) {
            push_field(out, name, value);
        }
    }
    if let Body::Stream(_) = response.body {
        push_field(out, "Transfer-Encoding", "chunked");
    } else if !matches!(response.body, Body::None) {
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(out, response.body.len());
        out.extend_from_slice(b"\r\n");
    }
    push_field(
        out,
        "Connection",
        if keep_alive { "keep-alive" } else { "close" },
    );
    out.extend_from_slice(b"\r\n");
}

/// Appends `n` in decimal, without allocating.
pub(crate) fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends one header field line, `name: value` and CRLF; used by
/// [`encode_head`] and by whoever encodes fields ahead of time (a cached
/// file's).
pub(crate) fn push_field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(response: &Response, keep_alive: bool) -> String {
        let mut out = Vec::new();
        let extra = [("X-Extra".to_owned(), "1".to_owned())];
        let date = "Thu, 01 Jan 1970 00:00:00 GMT";
        encode_head(response, keep_alive, date, &extra, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn error_page_head_is_exact() {
        let response = Response::error(Status::NotFound);
        let len = response.body.len();
        assert_eq!(
            head(&response, true),
            format!(
                "HTTP/1.1 404 Not Found\r\nServer: {SERVER}\r\n\
                 Date: Thu, 01 Jan 1970 00:00:00 GMT\r\nContent-Type: text/html\r\n\
                 X-Extra: 1\r\nContent-Length: {len}\r\nConnection: keep-alive\r\n\r\n"
            )
        );
    }

    #[test]
    fn error_body_names_the_status() {
        let Body::Bytes(body) = Response::error(Status::Forbidden).body else {
            panic!("error pages are in memory");
        };
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("<title>403 Forbidden</title>"));
    }

    #[test]
    fn method_not_allowed_carries_allow() {
        let text = head(&Response::error(Status::MethodNotAllowed), false);
        assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(text.contains("\r\nAllow: GET, HEAD\r\n"));
        assert!(text.ends_with("\r\nConnection: close\r\n\r\n"));
    }

    #[test]
    fn not_modified_has_no_content_length() {
        let response = Response {
            status: Status::NotModified,
            headers: Vec::new(),
            encoded_fields: None,
            body: Body::None,
        };
        let text = head(&response, true);
        assert!(text.starts_with("HTTP/1.1 304 Not Modified\r\n"));
        assert!(!text.contains("Content-Length"));
    }

    #[test]
    fn redirect_carries_location() {
        let text = head(&Response::redirect("/dir/?x=1".into()), true);
        assert!(text.starts_with("HTTP/1.1 301 Moved Permanently\r\n"));
        assert!(text.contains("\r\nLocation: /dir/?x=1\r\n"));
    }

    #[test]
    fn a_pre_encoded_field_replaces_a_connection_field_of_the_same_name() {
        let mut response = Response::error(Status::NotFound);
        let mut encoded = Vec::new();
        push_field(&mut encoded, "X-Extra-Long", "3");
        response.encoded_fields = Some(encoded.clone().into());
        assert!(head(&response, true).contains("X-Extra: 1\r\n"));
        push_field(&mut encoded, "x-EXTRA", "2");
        response.encoded_fields = Some(encoded.into());
        let text = head(&response, true);
        assert!(text.contains("\r\nx-EXTRA: 2\r\n"), "{text}");
        assert!(!text.contains("X-Extra: 1"), "{text}");
    }

    #[test]
    fn a_site_field_replaces_a_connection_field_of_the_same_name() {
        let mut response = Response::error(Status::NotFound);
        response.headers.push(("x-extra", "2".to_owned()));
        let text = head(&response, true);
        assert!(text.contains("\r\nx-extra: 2\r\n"), "{text}");
        assert!(!text.contains("X-Extra: 1"), "{text}");
    }
}
