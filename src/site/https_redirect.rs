//! The answer of a plain-HTTP listener kept only to send clients to HTTPS:
//! every request is redirected to the same path and query on
//! `https://`, and nothing is read from the document root.
//!
//! The authority comes from the `Host` field, which [`crate::http::host`]
//! has checked, with its port replaced by the HTTPS one, even for an
//! absolute-form target, whose authority nothing else validates (a client
//! must send a matching `Host` with it, RFC 9112 §3.2.2). The path and
//! query go back exactly as sent, so nothing is decoded and re-encoded
//! differently, with one exception: leading slashes are collapsed to one,
//! so `//evil.example/x` stays a path on this host in every client.

use crate::http::host;
use crate::http::request::{Method, Request};
use crate::http::response::Response;
use crate::http::status::Status;
use crate::http::target;

/// Where the CA fetches an HTTP-01 answer (RFC 8555 §8.3).
const ACME_CHALLENGE: &str = "/.well-known/acme-challenge/";

/// The answer to the CA's HTTP-01 request for a token, when `request` is
/// one: the key authorization `lookup` gives for it (from memory, never
/// from the document root), or `404` for a token it does not know.
/// `None` for any other request (and other methods than GET and HEAD),
/// which is redirected as usual.
pub(crate) fn acme_challenge(
    request: &Request,
    lookup: impl FnOnce(&str) -> Option<String>,
) -> Option<Response> {
    let path = target::origin_form(&request.target).ok()?;
    let token = path.strip_prefix(ACME_CHALLENGE)?;
    if !matches!(request.method, Method::Get | Method::Head) {
        return None;
    }
    // Tokens are base64url (RFC 8555 §8.1): anything else is no token.
    let well_formed = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let answer = well_formed.then(|| lookup(token)).flatten();
    Some(match answer {
        Some(key_authorization) => Response::bytes(
            Status::Ok,
            "application/octet-stream",
            key_authorization.into_bytes(),
        ),
        None => Response::error(Status::NotFound),
    })
}

/// The HTTPS port that needs no `:PORT` in a URL.
const DEFAULT_HTTPS_PORT: u16 = 443;

/// Answers `request` with a permanent redirect to the same target on
/// `https://` at `https_port`: `301` for GET and HEAD, `308` for other
/// methods, so a POST is repeated as a POST rather than turned into a GET.
/// No `Host` (HTTP/1.0 allows it), an empty one, or a target that is not
/// origin- or absolute-form (`*`) is `400`: there is nothing to redirect
/// to.
pub(crate) fn respond(request: &Request, https_port: u16) -> Response {
    let Some(location) = location(request, https_port) else {
        return Response::error(Status::BadRequest);
    };
    let status = match request.method {
        Method::Get | Method::Head => Status::MovedPermanently,
        Method::Other(_) => Status::PermanentRedirect,
    };
    // The same small page as the slash redirect; HEAD drops it when written.
    let mut moved = Response::error(status);
    moved.headers.push(("Location", location));
    moved
}

/// `https://HOST[:PORT]/path?query` for `request`, if it names a host and
/// a path.
fn location(request: &Request, https_port: u16) -> Option<String> {
    let host = host::name(request.fields.host.as_deref()?);
    if host.is_empty() || request.target.contains('#') {
        return None;
    }
    let path_and_query = target::origin_form(&request.target).ok()?;
    // One slash, whether the target had none (`http://a?q`) or several.
    let rest = path_and_query.trim_start_matches(['/', '\\']);
    let port = match https_port {
        DEFAULT_HTTPS_PORT => String::new(),
        other => format!(":{other}"),
    };
    Some(format!("https://{host}{port}/{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acme_tokens_are_answered_from_the_lookup_and_nothing_else() {
        let request = |raw: &str| parse(raw.as_bytes()).unwrap().unwrap().0;
        let lookup = |token: &str| (token == "tok-1_A").then(|| "tok-1_A.thumb".to_owned());
        let known = request("GET /.well-known/acme-challenge/tok-1_A HTTP/1.1\r\nHost: a\r\n\r\n");
        let answer = acme_challenge(&known, lookup).unwrap();
        assert_eq!(answer.status.code(), 200);
        assert!(matches!(&answer.body, Body::Bytes(b) if b == b"tok-1_A.thumb"));
        for target in [
            "/.well-known/acme-challenge/other",
            "/.well-known/acme-challenge/",
            "/.well-known/acme-challenge/../x",
            "/.well-known/acme-challenge/a.b",
        ] {
            let unknown = request(&format!("GET {target} HTTP/1.1\r\nHost: a\r\n\r\n"));
            let answer = acme_challenge(&unknown, lookup).unwrap();
            assert_eq!(answer.status.code(), 404, "{target}");
        }
        let post = request(
            "POST /.well-known/acme-challenge/tok-1_A HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(acme_challenge(&post, lookup).is_none(), "redirected");
        let other = request("GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n");
        assert!(acme_challenge(&other, lookup).is_none());
    }
    use crate::http::request::parse;
    use crate::http::response::Body;

    /// The response to `raw` with the HTTPS port `port`: its status code
    /// and `Location`, if any.
    fn answer(raw: &str, port: u16) -> (u16, Option<String>) {
        let (request, _) = parse(raw.as_bytes()).unwrap().unwrap();
        let response = respond(&request, port);
        let location = response
            .headers
            .iter()
            .find(|(name, _)| *name == "Location")
            .map(|(_, value)| value.clone());
        (response.status.code(), location)
    }

    fn get(target: &str, host: &str, port: u16) -> (u16, Option<String>) {
        answer(
            &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n"),
            port,
        )
    }

    fn moved(location: &str) -> (u16, Option<String>) {
        (301, Some(location.to_owned()))
    }

    #[test]
    fn the_path_and_query_are_kept_exactly() {
        assert_eq!(
            get("/a/b%20c/?x=1&y=%2F", "example.com", 443),
            moved("https://example.com/a/b%20c/?x=1&y=%2F")
        );
        assert_eq!(get("/", "example.com", 443), moved("https://example.com/"));
        assert_eq!(
            get("/a/../b/./c", "example.com", 443),
            moved("https://example.com/a/../b/./c")
        );
    }

    #[test]
    fn the_port_is_the_https_one_and_443_is_left_out() {
        assert_eq!(
            get("/x", "example.com:80", 443),
            moved("https://example.com/x")
        );
        assert_eq!(
            get("/x", "example.com:8080", 8443),
            moved("https://example.com:8443/x")
        );
        assert_eq!(
            get("/x", "example.com", 8443),
            moved("https://example.com:8443/x")
        );
        assert_eq!(get("/x", "127.0.0.1:80", 443), moved("https://127.0.0.1/x"));
    }

    #[test]
    fn ipv6_literals_keep_their_brackets() {
        assert_eq!(get("/x", "[::1]:8080", 443), moved("https://[::1]/x"));
        assert_eq!(get("/x", "[::1]", 8443), moved("https://[::1]:8443/x"));
    }

    #[test]
    fn leading_slashes_never_make_another_host() {
        for target in ["//evil.example/x", "///evil.example/x", "/\\evil.example/x"] {
            assert_eq!(
                get(target, "example.com", 443),
                moved("https://example.com/evil.example/x"),
                "{target}"
            );
        }
        assert_eq!(get("//", "example.com", 443), moved("https://example.com/"));
    }

    #[test]
    fn absolute_form_takes_the_path_and_the_host_field() {
        assert_eq!(
            get("http://other.example:81/b?q", "example.com", 443),
            moved("https://example.com/b?q")
        );
        assert_eq!(
            get("http://example.com", "example.com", 443),
            moved("https://example.com/")
        );
        assert_eq!(
            get("http://example.com?q", "example.com", 443),
            moved("https://example.com/?q")
        );
        assert_eq!(
            get("http://example.com//evil.example/", "example.com", 443),
            moved("https://example.com/evil.example/")
        );
    }

    #[test]
    fn other_methods_get_308_and_head_gets_301() {
        let post = "POST /form HTTP/1.1\r\nHost: example.com\r\nContent-Length: 2\r\n\r\n";
        assert_eq!(
            answer(post, 443),
            (308, Some("https://example.com/form".to_owned()))
        );
        let head = "HEAD /x?y HTTP/1.1\r\nHost: example.com\r\n\r\n";
        assert_eq!(answer(head, 443), moved("https://example.com/x?y"));
        let (request, _) = parse(post.as_bytes()).unwrap().unwrap();
        assert_eq!(respond(&request, 443).status.reason(), "Permanent Redirect");
    }

    #[test]
    fn nothing_to_redirect_to_is_400() {
        assert_eq!(answer("GET /x HTTP/1.0\r\n\r\n", 443), (400, None));
        assert_eq!(get("/x", "", 443), (400, None));
        assert_eq!(
            answer("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", 443),
            (400, None)
        );
        assert_eq!(get("/x#frag", "example.com", 443), (400, None));
        let http10 = "GET /x HTTP/1.0\r\nHost: example.com\r\n\r\n";
        assert_eq!(answer(http10, 443), moved("https://example.com/x"));
    }

    #[test]
    fn the_body_is_a_small_page_naming_the_status() {
        let (request, _) = parse(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            .unwrap()
            .unwrap();
        let Body::Bytes(body) = respond(&request, 443).body else {
            panic!("the page is in memory");
        };
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("301 Moved Permanently"), "{body}");
        assert!(body.len() < 200);
    }
}
