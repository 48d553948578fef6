//! What the answers for every representation share (files from disk or
//! from the cache, variants compressed on the fly, listings): the fields
//! a 200 and its 304 share (`caching_fields`: Last-Modified, ETag, Vary,
//! Cache-Control), the one evaluation of preconditions into a 304 or 412
//! (`preconditions`), which ranges apply (`ranges`), and the 416.

use crate::http::date;
use crate::http::range::{self, Ranges};
use crate::http::request::{Method, Request};
use crate::http::response::{Body, Response, push_field};
use crate::http::status::Status;
use crate::site::Site;
use crate::site::representation::negotiate::Coding;
use crate::site::representation::validators::{self, Precondition, Validators};

/// What a file's response varies on when a coded variant exists.
pub(crate) const VARY_CODING: &str = "Accept-Encoding";

/// The 416 for a file of `size` bytes, saying how long it is.
pub(crate) fn unsatisfiable(size: u64) -> Response {
    let mut refused = Response::error(Status::RangeNotSatisfiable);
    refused
        .headers
        .push(("Content-Range", format!("bytes */{size}")));
    refused.headers.push(("Accept-Ranges", "bytes".to_owned()));
    refused
}

/// The fields of a 200 from memory, encoded: a cached file's, or
/// (`coding` given) a variant compressed on the fly.
pub(crate) fn encoded_fields(
    cache_control: Option<&str>,
    content_type: &str,
    validators: &Validators,
    vary: Option<&'static str>,
    coding: Option<Coding>,
) -> Vec<u8> {
    let mut out = Vec::new();
    push_field(&mut out, "Content-Type", content_type);
    for (name, value) in caching_fields_for(cache_control, validators, vary) {
        push_field(&mut out, name, &value);
    }
    if let Some(coding) = coding {
        push_field(&mut out, "Content-Encoding", coding.token());
    }
    push_field(&mut out, "Accept-Ranges", "bytes");
    out
}

/// Last-Modified, ETag, `Vary` when the answer depends on the request
/// field `vary` names, and Cache-Control: the fields a 200 and its 304
/// share, for files and listings alike.
pub(crate) fn caching_fields(
    site: &Site,
    validators: &Validators,
    vary: Option<&'static str>,
) -> Vec<(&'static str, String)> {
    caching_fields_for(site.cache_control.as_deref(), validators, vary)
}

/// [`caching_fields`] with the site's `Cache-Control` given, for fields
/// encoded away from the site (on the compression pool).
pub(crate) fn caching_fields_for(
    cache_control: Option<&str>,
    validators: &Validators,
    vary: Option<&'static str>,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![
        ("Last-Modified", date::format(validators.modified)),
        ("ETag", validators.etag.clone()),
    ];
    if let Some(vary) = vary {
        headers.push(("Vary", vary.to_owned()));
    }
    push_cache_control(cache_control, &mut headers);
    headers
}

/// `Cache-Control` when the site sets one: the one place files, listings,
/// their 304s and redirects take it from.
pub(crate) fn push_cache_control(
    cache_control: Option<&str>,
    headers: &mut Vec<(&'static str, String)>,
) {
    if let Some(cache_control) = cache_control {
        headers.push(("Cache-Control", cache_control.to_owned()));
    }
}

/// A 412 or a 304 (with the fields `headers` makes), or `None` to go on.
pub(crate) fn preconditions(
    request: &Request,
    current: &Validators,
    headers: impl FnOnce() -> Vec<(&'static str, String)>,
) -> Option<Response> {
    match validators::evaluate(&request.fields.conditions, current) {
        Precondition::Failed => Some(Response::error(Status::PreconditionFailed)),
        Precondition::NotModified => Some(Response {
            status: Status::NotModified,
            headers: headers(),
            encoded_fields: None,
            body: Body::None,
        }),
        Precondition::Proceed => None,
    }
}

/// Ranges apply to GET only (RFC 9110 §14.2), and with `If-Range` only
/// while the representation is the one the client has.
pub(crate) fn ranges(request: &Request, current: &Validators, size: u64) -> Ranges {
    let negotiation = &request.fields.negotiation;
    match &negotiation.range {
        Some(value) if request.method == Method::Get => {
            let if_range_ok = negotiation
                .if_range
                .as_deref()
                .is_none_or(|v| validators::if_range_holds(v, current));
            if if_range_ok {
                range::evaluate(value, size)
            } else {
                Ranges::Whole
            }
        }
        _ => Ranges::Whole,
    }
}
