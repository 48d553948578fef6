//! An HTTP/2 request head as the site takes it: the same [`Request`] an
//! HTTP/1.1 head becomes, its fields read by the same rules
//! (`Fields::read`), with `:authority` standing for `Host` (RFC 9113
//! §8.3.1). The `h2` crate has already refused what RFC 9113 §8.3 forbids
//! (pseudo-headers missing, repeated, after the fields or unknown;
//! uppercase names; connection-specific fields) with a stream error.

use crate::http::error::ParseError;
use crate::http::fields::Fields;
use crate::http::limits::{MAX_HEAD, MAX_HEADERS, MAX_REQUEST_LINE};
use crate::http::request::{Method, Request};
use crate::http::version::Version;

/// The request `parts` describe, or why it is refused (a status).
pub(crate) fn convert(parts: &http::request::Parts) -> Result<Request, ParseError> {
    within_limits(parts)?;
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

/// The HTTP/1.1 head limits, so a request is refused the same way over
/// either protocol: a path over [`MAX_REQUEST_LINE`] is a `414`; more
/// than [`MAX_HEADERS`] fields, or a header list (RFC 7541 §4.1 sizes)
/// over [`MAX_HEAD`], a `431`. The crate's own limit is set above these,
/// so it is these that answer with the site's error page.
fn within_limits(parts: &http::request::Parts) -> Result<(), ParseError> {
    let target = parts.uri.path_and_query().map_or(0, |p| p.as_str().len());
    if target + parts.method.as_str().len() > MAX_REQUEST_LINE {
        return Err(ParseError::LineTooLong);
    }
    if parts.headers.len() > MAX_HEADERS {
        return Err(ParseError::HeadTooLarge);
    }
    let size: usize = parts
        .headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 32)
        .sum();
    match size > MAX_HEAD {
        true => Err(ParseError::HeadTooLarge),
        false => Ok(()),
    }
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

    #[test]
    fn the_http1_head_limits_hold() {
        let long = format!("https://a/{}", "x".repeat(MAX_REQUEST_LINE));
        assert_eq!(
            convert(&parts(&long, &[])).unwrap_err(),
            ParseError::LineTooLong
        );
        let names: Vec<String> = (0..=MAX_HEADERS).map(|i| format!("x-{i}")).collect();
        let many: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
        assert_eq!(
            convert(&parts("https://a/", &many)).unwrap_err(),
            ParseError::HeadTooLarge
        );
        assert!(convert(&parts("https://a/", &many[..MAX_HEADERS])).is_ok());
        let big = "v".repeat(MAX_HEAD);
        let over = parts("https://a/", &[("x-big", big.as_str())]);
        assert_eq!(convert(&over).unwrap_err(), ParseError::HeadTooLarge);
    }
}
