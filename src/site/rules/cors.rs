//! CORS for the origins `--cors-origin` names: the fields a cross-origin
//! GET or HEAD needs, and the answer to a preflight for them. Only the
//! requests staticd serves are allowed (GET, HEAD, the request fields it
//! honours); anything else is answered as without CORS, so a browser
//! refuses it.

use crate::http::request::{Method, Request};
use crate::http::response::{Body, Response, push_field};
use crate::http::status::Status;
use crate::site::rules::edit;

/// The response fields a script may read beyond the CORS-safelisted ones:
/// those it needs for ranges and revalidation.
const EXPOSE: &str = "Content-Range, Content-Length, ETag, Last-Modified, Accept-Ranges";
/// The request fields staticd honours, the only ones a preflight allows.
const HONOURED: &[&str] = &[
    "Range",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
    "If-Range",
    "Accept-Encoding",
    "Accept",
];
/// How long a browser may keep a preflight's answer: a day, what most
/// browsers cap it at anyway (Chromium at two hours).
const MAX_AGE: &str = "86400";

/// `--cors-origin`: the origins allowed, `*` for any.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// Each `scheme://host[:port]` as configured, or `*`.
    pub origins: Vec<String>,
}

/// What a request's origin is allowed.
pub enum Allowed<'a> {
    /// `*` is configured: `Access-Control-Allow-Origin: *`, no `Vary`.
    Any,
    /// A configured origin matched this one, as the request sent it.
    Origin(&'a str),
    /// No origin matched (or none was sent).
    No,
}

impl Cors {
    /// What `request`'s origin is allowed (`No` without `--cors-origin`).
    pub fn allowed<'a>(&self, request: &'a Request) -> Allowed<'a> {
        if self.any_origin() {
            return Allowed::Any;
        }
        let Some(origin) = request
            .fields
            .cors
            .as_ref()
            .and_then(|c| c.origin.as_deref())
        else {
            return Allowed::No;
        };
        if self.origins.iter().any(|o| o.eq_ignore_ascii_case(origin)) {
            Allowed::Origin(origin)
        } else {
            Allowed::No
        }
    }

    /// The 204 for a preflight from an allowed origin for GET or HEAD;
    /// `None` for everything else, which goes on as without CORS (an
    /// OPTIONS request is then 405 with `Allow`).
    pub fn preflight(&self, request: &Request) -> Option<Response> {
        let cors = request.fields.cors.as_deref()?;
        let is_options = matches!(&request.method, Method::Other(m) if &**m == "OPTIONS");
        let method_ok = matches!(cors.request_method.as_deref(), Some("GET" | "HEAD"));
        if self.origins.is_empty() || !is_options || cors.origin.is_none() || !method_ok {
            return None;
        }
        if let Allowed::No = self.allowed(request) {
            return None;
        }
        let mut headers = vec![("Access-Control-Allow-Methods", "GET, HEAD".to_owned())];
        let requested = cors.request_headers.as_deref().unwrap_or("");
        let allowed: Vec<&str> = HONOURED
            .iter()
            .copied()
            .filter(|h| {
                requested
                    .split(',')
                    .any(|r| r.trim().eq_ignore_ascii_case(h))
            })
            .collect();
        if !allowed.is_empty() {
            headers.push(("Access-Control-Allow-Headers", allowed.join(", ")));
        }
        headers.push(("Access-Control-Max-Age", MAX_AGE.to_owned()));
        Some(Response {
            status: Status::NoContent,
            headers,
            encoded_fields: None,
            body: Body::None,
        })
    }

    /// Adds the CORS fields to the answer to a GET or HEAD, or to a
    /// preflight's 204: `Access-Control-Allow-Origin` for an allowed
    /// origin, and `Vary: Origin` whenever the answer depends on it (a
    /// list of origins, not `*`), so a shared cache keeps them apart.
    pub fn apply(&self, request: &Request, response: &mut Response) {
        if self.origins.is_empty() {
            return;
        }
        let simple = matches!(request.method, Method::Get | Method::Head);
        if !simple && response.status != Status::NoContent {
            return;
        }
        // One pass over the response's fields for all of CORS's.
        let mut fields = Vec::with_capacity(3);
        if self.varies() {
            fields.push(("Vary", vary_with_origin(response)));
        }
        let origin = match self.allowed(request) {
            Allowed::Any => Some("*"),
            Allowed::Origin(origin) => Some(origin),
            Allowed::No => None,
        };
        if let Some(origin) = origin {
            fields.push(("Access-Control-Allow-Origin", origin.to_owned()));
            if simple {
                fields.push(("Access-Control-Expose-Headers", EXPOSE.to_owned()));
            }
        }
        edit::set_all(response, fields);
    }

    /// The part of [`Cors::apply`] that is the same for every GET and
    /// HEAD of a response: `Vary: Origin` where answers depend on it.
    pub fn apply_shared(&self, response: &mut Response) {
        if !self.origins.is_empty() && self.varies() {
            let vary = vary_with_origin(response);
            edit::set_all(response, vec![("Vary", vary)]);
        }
    }

    /// The fields an allowed GET or HEAD gets beyond
    /// [`Cors::apply_shared`]'s that are the same for every such request
    /// (all of them when any origin is allowed; all but the echoed
    /// origin otherwise), encoded.
    pub fn encode_shared_grant(&self, out: &mut Vec<u8>) {
        if self.any_origin() {
            push_field(out, "Access-Control-Allow-Origin", "*");
        }
        push_field(out, "Access-Control-Expose-Headers", EXPOSE);
    }

    /// Whether `*` is configured.
    fn any_origin(&self) -> bool {
        self.origins.iter().any(|o| o == "*")
    }

    /// Whether answers depend on the request's `Origin`: a list of
    /// origins, not `*`.
    fn varies(&self) -> bool {
        !self.any_origin()
    }
}

/// The response's `Vary` with `Origin` added (one field, `Accept-Encoding,
/// Origin` when it varied already).
fn vary_with_origin(response: &Response) -> String {
    match edit::get(response, "Vary") {
        Some(vary)
            if vary
                .split(',')
                .any(|v| v.trim().eq_ignore_ascii_case("origin")) =>
        {
            vary
        }
        Some(vary) => format!("{vary}, Origin"),
        None => "Origin".to_owned(),
    }
}
