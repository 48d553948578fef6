//! An HTTP/2 request head as the site takes it: the same [`Request`] an
//! HTTP/1.1 head becomes, its fields read by the same rules
//! (`Fields::read`), with `:authority` standing for `Host` (RFC 9113
//! §8.3.1). The `h2` crate has already refused what RFC 9113 §8.3 forbids
//! (pseudo-headers missing, repeated, after the fields or unknown;
//! uppercase names; connection-specific fields) with a stream error.

use crate::http::error::ParseError;
use crate::http::fields::Fields;
use crate::http::request::{Method, Request};
use crate::http::version::Version;

/// The request `parts` describe, or why it is refused (a status).
pub(crate) fn convert(parts: &http::request::Parts) -> Result<Request, ParseError> {
    let authority = parts.uri.authority().map(|a| a.as_str());
    let mut headers: Vec<httparse::Header<'_>> = parts
        .headers
        .iter()
        .map(|(name, value)| httparse::Header {
            name: name.as_str(),
            value: value.as_bytes(),
        })
        .collect();
    let host = parts.headers.get(http::header::HOST);
    match (authority, host) {
        // Both: they must name the same host (RFC 9113 §8.3.1).
        (Some(authority), Some(host)) if authority.as_bytes() != host.as_bytes() => {
            return Err(ParseError::Malformed);
        }
        (Some(authority), None) => headers.push(httparse::Header {
            name: "host",
            value: authority.as_bytes(),
        }),
        _ => {}
    }
    let fields = Fields::read(&headers, Version::Http2)?;
    let target = match parts.uri.path_and_query() {
        Some(path) => path.as_str().to_owned(),
        None => "*".to_owned(),
    };
    Ok(Request {
        method: Method::from_token(parts.method.as_str()),
        target,
        version: Version::Http2,
        keep_alive: true,
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &str)]) -> http::request::Parts {
        let mut builder = http::Request::builder().method("GET").uri(uri);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn the_authority_is_the_host_and_the_path_the_target() {
        let request = convert(&parts("https://example.com/a/b?q=1", &[])).unwrap();
        assert_eq!(request.target, "/a/b?q=1");
        assert_eq!(request.fields.host.as_deref(), Some("example.com"));
        assert_eq!(request.version, Version::Http2);
        assert_eq!(request.method, Method::Get);
    }

    #[test]
    fn a_host_that_disagrees_with_the_authority_is_refused() {
        let both = parts("https://example.com/", &[("host", "example.com")]);
        assert!(convert(&both).is_ok());
        let other = parts("https://example.com/", &[("host", "other.example")]);
        assert_eq!(convert(&other).unwrap_err(), ParseError::Malformed);
    }

    #[test]
    fn fields_are_read_as_over_http1() {
        let request = convert(&parts(
            "https://a/",
            &[("range", "bytes=0-1"), ("if-none-match", "\"x\"")],
        ))
        .unwrap();
        assert!(request.fields.negotiation.range.is_some());
        let chunked = parts("https://a/", &[("transfer-encoding", "chunked")]);
        assert!(convert(&chunked).is_err(), "no Transfer-Encoding in HTTP/2");
    }
}
