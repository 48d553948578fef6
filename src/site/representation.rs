//! The response for a regular file: validators, preconditions (304/412)
//! and byte ranges (206/416), for the file or the precompressed variant
//! [`variants`] chose.

use std::fs::{File, Metadata};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::http::range::{self, Ranges};
use crate::http::request::{Method, Request};
use crate::http::response::{Body, Piece, Response, push_field};
use crate::http::status::Status;
use crate::site::Site;
use crate::site::cache::{Cached, CachedBody};
use crate::site::limits::{FILE_CACHE_MAX_FILE, INLINE_BODY};
use crate::site::negotiate::Coding;
use crate::site::root;
use crate::site::validators::{self, Precondition, Validators};
use crate::site::variants::{self, Selected};

/// Answers a request for the regular file `file`, requested as `name`.
pub fn respond(
    site: &Site,
    request: &Request,
    file: File,
    meta: Metadata,
    name: &Path,
) -> Response {
    let mut chosen = Selected::original(file, meta);
    if site.precompressed {
        let accept_encoding = request.fields.negotiation.accept_encoding.as_deref();
        chosen = variants::select(&site.root, name, accept_encoding, chosen);
    }
    let validators = Validators::of(&chosen.meta, chosen.coding.map(Coding::token));
    let plain = chosen.coding.is_none()
        && !chosen.has_variants
        && request.fields.negotiation.range.is_none();
    if plain {
        let content_type = site.content_type(name);
        let fields = |validators: &Validators| cached_fields(site, &content_type, validators);
        if chosen.meta.len() > FILE_CACHE_MAX_FILE as u64 {
            let cache = &site.cache;
            let kept = cache.keep_open(name, chosen.file, &chosen.meta, validators, fields);
            return respond_cached(site, request, kept);
        }
        let loaded = site
            .cache
            .load(name, &chosen.file, &chosen.meta, validators.clone(), fields);
        if let Some(cached) = loaded {
            return respond_cached(site, request, cached);
        }
    }
    from_disk(site, request, chosen, &validators, name)
}

/// Answers with the chosen file as it is on disk: a coded variant, a range,
/// or a file the cache did not take.
fn from_disk(
    site: &Site,
    request: &Request,
    chosen: Selected,
    validators: &Validators,
    name: &Path,
) -> Response {
    let fields = || validator_fields(site, validators, chosen.has_variants);
    if let Some(refused) = preconditions(request, validators, fields) {
        return refused;
    }
    let mut headers = fields();
    let content_type = site.content_type(name);
    headers.insert(0, ("Content-Type", content_type.clone()));
    headers.push(("Accept-Ranges", "bytes".to_owned()));
    if let Some(coding) = chosen.coding {
        headers.push(("Content-Encoding", coding.token().to_owned()));
    }
    let size = chosen.meta.len();
    let file_part = |file, offset, len| Body::File {
        file: Arc::new(file),
        offset,
        len,
    };
    let (status, body) = match ranges(request, validators, size) {
        Ranges::Whole => (Status::Ok, file_part(chosen.file, 0, size)),
        Ranges::Unsatisfiable => {
            let mut refused = Response::error(Status::RangeNotSatisfiable);
            refused
                .headers
                .push(("Content-Range", format!("bytes */{size}")));
            refused.headers.push(("Accept-Ranges", "bytes".to_owned()));
            return refused;
        }
        Ranges::Parts(parts) if parts.len() == 1 => {
            let (first, last) = parts[0];
            headers.push(("Content-Range", format!("bytes {first}-{last}/{size}")));
            let part = file_part(chosen.file, first, last - first + 1);
            (Status::PartialContent, part)
        }
        Ranges::Parts(parts) => {
            let boundary = boundary();
            headers[0].1 = format!("multipart/byteranges; boundary={boundary}");
            let parts = multipart(chosen.file, &parts, size, &content_type, &boundary);
            (Status::PartialContent, parts)
        }
    };
    match read_small(body, request.method == Method::Head) {
        Ok(body) => Response {
            status,
            headers,
            encoded_fields: None,
            body,
        },
        Err(refused) => refused,
    }
}

/// Reads a small file body into memory before its head is sent, so a
/// failing read (or a file that shrank since it was stat'ed) can still be
/// answered with 500 instead of a response cut short. A HEAD sends no
/// body, so nothing is read for it.
fn read_small(body: Body, head: bool) -> Result<Body, Response> {
    match body {
        Body::File { file, offset, len } if len <= INLINE_BODY && !head => {
            match root::read_exactly(&file, offset, len) {
                Ok(bytes) => Ok(Body::Bytes(bytes)),
                Err(err) => {
                    tracing::warn!(error = %err, "reading a file failed before its head was sent");
                    Err(Response::error(Status::InternalServerError))
                }
            }
        }
        body => Ok(body),
    }
}

/// Answers from the small-file cache: the same fields and preconditions as
/// a file read from disk (only ranges go the long way, see `Site::handle`).
pub fn respond_cached(site: &Site, request: &Request, cached: Arc<Cached>) -> Response {
    let fields = || validator_fields(site, &cached.validators, false);
    if let Some(refused) = preconditions(request, &cached.validators, fields) {
        return refused;
    }
    Response {
        status: Status::Ok,
        headers: Vec::new(),
        encoded_fields: Some(Arc::clone(&cached.fields)),
        body: match &cached.body {
            CachedBody::Bytes(bytes) => Body::Shared(Arc::clone(bytes)),
            CachedBody::Open { file, len } => Body::File {
                file: Arc::clone(file),
                offset: 0,
                len: *len,
            },
        },
    }
}

/// The fields of a 200 for a cached file, in the order [`respond`] sends
/// them: encoded once, when the file is cached.
fn cached_fields(site: &Site, content_type: &str, validators: &Validators) -> Vec<u8> {
    let mut out = Vec::new();
    push_field(&mut out, "Content-Type", content_type);
    for (name, value) in validator_fields(site, validators, false) {
        push_field(&mut out, name, &value);
    }
    push_field(&mut out, "Accept-Ranges", "bytes");
    out
}

/// Last-Modified, ETag, and Vary and Cache-Control when they apply: the
/// fields a 200 and a 304 share.
fn validator_fields(
    site: &Site,
    validators: &Validators,
    vary: bool,
) -> Vec<(&'static str, String)> {
    let mut headers = vec![(
        "Last-Modified",
        crate::http::date::format(validators.modified),
    )];
    headers.push(("ETag", validators.etag.clone()));
    if vary {
        headers.push(("Vary", "Accept-Encoding".to_owned()));
    }
    if let Some(cache_control) = &site.cache_control {
        headers.push(("Cache-Control", cache_control.clone()));
    }
    headers
}

/// A 412 or a 304 (with the fields `headers` makes), or `None` to go on.
fn preconditions(
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
fn ranges(request: &Request, current: &Validators, size: u64) -> Ranges {
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

/// A `multipart/byteranges` body (RFC 9110 §14.6) for sorted, merged parts.
fn multipart(
    file: File,
    parts: &[(u64, u64)],
    size: u64,
    content_type: &str,
    boundary: &str,
) -> Body {
    let mut pieces = Vec::with_capacity(parts.len() * 2 + 1);
    for &(first, last) in parts {
        let head = format!(
            "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {first}-{last}/{size}\r\n\r\n"
        );
        pieces.push(Piece::Bytes(head.into_bytes()));
        pieces.push(Piece::Range {
            offset: first,
            len: last - first + 1,
        });
    }
    pieces.push(Piece::Bytes(format!("\r\n--{boundary}--\r\n").into_bytes()));
    Body::Parts { file, pieces }
}

/// A boundary unique within this process and unlikely in any file.
fn boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("staticd-{:016x}{:08x}", seed, n)
}
