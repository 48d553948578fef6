//! The one response path for what the site serves. Every 200, 206, 304,
//! 412 and 416 for a file (read from disk or answered from the cache) or a
//! directory listing is built here, and so is the redirect that adds a
//! directory's slash. One function decides the fields a response and its
//! 304 share (`caching_fields`: Last-Modified, ETag, Vary, Cache-Control),
//! and one evaluates the preconditions and builds the 304 or 412
//! (`preconditions`).

use std::fs::{File, Metadata};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::http::date;
use crate::http::range::{self, Ranges};
use crate::http::request::{Method, Request};
use crate::http::response::{Body, Piece, Response, push_field};
use crate::http::status::Status;
use crate::http::target::Target;
use crate::site::Site;
use crate::site::cache::{Cached, CachedBody};
use crate::site::limits::{FILE_CACHE_MAX_FILE, INLINE_BODY};
use crate::site::listing;
use crate::site::mime;
use crate::site::negotiate::{self, Coding};
use crate::site::root;
use crate::site::validators::{self, Precondition, Validators};
use crate::site::variants::{self, Selected};

/// What a file's response varies on when a precompressed variant exists.
const VARY_CODING: &str = "Accept-Encoding";
/// What every listing varies on (HTML or JSON).
const VARY_LISTING: &str = "Accept";

/// Answers a request for the regular file `file`, requested as `name`.
pub fn respond(
    site: &Site,
    request: &Request,
    file: File,
    meta: Metadata,
    name: &Path,
) -> Response {
    let (chosen, validators) = choose(site, request, file, meta, name);
    let plain = chosen.coding.is_none()
        && !chosen.has_variants
        && request.fields.negotiation.range.is_none();
    if plain {
        let content_type = content_type(site, name);
        let fields = |validators: &Validators| cached_fields(site, &content_type, validators);
        if chosen.meta.len() > FILE_CACHE_MAX_FILE as u64 {
            let cache = &site.cache;
            let kept = cache.keep_open(name, chosen.file, &chosen.meta, validators, fields);
            return respond_cached(site, request, &kept);
        }
        let loaded = site
            .cache
            .load(name, &chosen.file, &chosen.meta, validators.clone(), fields);
        if let Some(cached) = loaded {
            return respond_cached(site, request, &cached);
        }
    }
    from_disk(site, request, chosen, &validators, name)
}

/// Answers with `file` as it is on disk, never through the file cache,
/// whose encoded fields would carry the site's own `Cache-Control`: for
/// the app fallback ([`crate::site::rules::pages`]), which sets its own.
pub fn respond_uncached(
    site: &Site,
    request: &Request,
    file: File,
    meta: Metadata,
    name: &Path,
) -> Response {
    let (chosen, validators) = choose(site, request, file, meta, name);
    from_disk(site, request, chosen, &validators, name)
}

/// The representation of `file` to send (a precompressed variant the
/// client accepts, or the file itself) and its validators.
fn choose(
    site: &Site,
    request: &Request,
    file: File,
    meta: Metadata,
    name: &Path,
) -> (Selected, Validators) {
    let mut chosen = Selected::original(file, meta);
    if site.precompressed {
        let accept_encoding = request.fields.negotiation.accept_encoding.as_deref();
        chosen = variants::select(&site.root, name, accept_encoding, chosen);
    }
    let validators = Validators::of(&chosen.meta, chosen.coding.map(Coding::token));
    (chosen, validators)
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
    let vary = chosen.has_variants.then_some(VARY_CODING);
    let fields = || caching_fields(site, validators, vary);
    if let Some(refused) = preconditions(request, validators, fields) {
        return refused;
    }
    let mut headers = fields();
    let content_type = content_type(site, name);
    headers.insert(0, ("Content-Type", content_type.clone()));
    headers.push(("Accept-Ranges", "bytes".to_owned()));
    if let Some(coding) = chosen.coding {
        headers.push(("Content-Encoding", coding.token().to_owned()));
    }
    let size = chosen.meta.len();
    let (status, body) = match ranges(request, validators, size) {
        Ranges::Whole => (Status::Ok, file_part(chosen.file, 0, size)),
        Ranges::Unsatisfiable => return unsatisfiable(size),
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

fn file_part(file: File, offset: u64, len: u64) -> Body {
    Body::File {
        file: Arc::new(file),
        offset,
        len,
    }
}

/// The 416 for a file of `size` bytes, saying how long it is.
fn unsatisfiable(size: u64) -> Response {
    let mut refused = Response::error(Status::RangeNotSatisfiable);
    refused
        .headers
        .push(("Content-Range", format!("bytes */{size}")));
    refused.headers.push(("Accept-Ranges", "bytes".to_owned()));
    refused
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
pub fn respond_cached(site: &Site, request: &Request, cached: &Cached) -> Response {
    let fields = || caching_fields(site, &cached.validators, None);
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

/// The fields of a 200 for a cached file, in the order [`from_disk`] sends
/// them: encoded once, when the file is cached.
fn cached_fields(site: &Site, content_type: &str, validators: &Validators) -> Vec<u8> {
    let mut out = Vec::new();
    push_field(&mut out, "Content-Type", content_type);
    for (name, value) in caching_fields(site, validators, None) {
        push_field(&mut out, name, &value);
    }
    push_field(&mut out, "Accept-Ranges", "bytes");
    out
}

/// The listing of a directory without an index, as HTML or as JSON when
/// the client prefers it; its validators (see [`Validators::of_listing`])
/// make conditional requests work as for files.
pub fn listing(
    site: &Site,
    request: &Request,
    dir: &File,
    meta: &Metadata,
    target: &Target,
) -> Response {
    let json = negotiate::wants_json(request.fields.negotiation.accept.as_deref());
    let sort = listing::Sort::from_query(&target.query);
    let rendered = if json {
        listing::render_json(dir, site.show_hidden, sort)
    } else {
        listing::render_html(dir, &target.encoded_path(), site.show_hidden, sort)
    };
    let listing = match rendered {
        Ok(listing) => listing,
        Err(err) => return Response::error(root::status_for(&err)),
    };
    let validators = Validators::of_listing(&listing.body, listing.newest, meta);
    let fields = || caching_fields(site, &validators, Some(VARY_LISTING));
    if let Some(refused) = preconditions(request, &validators, fields) {
        return refused;
    }
    let mut headers = fields();
    let content_type = if json {
        "application/json"
    } else {
        "text/html"
    };
    headers.insert(0, ("Content-Type", content_type.to_owned()));
    Response {
        status: Status::Ok,
        headers,
        encoded_fields: None,
        body: Body::Bytes(listing.body),
    }
}

/// The permanent redirect to `location`, a directory's name with its
/// slash; as cacheable as what it points to.
pub fn redirect(site: &Site, location: String) -> Response {
    let mut moved = Response::redirect(location);
    push_cache_control(site, &mut moved.headers);
    moved
}

/// Last-Modified, ETag, `Vary` when the answer depends on the request
/// field `vary` names, and Cache-Control: the fields a 200 and its 304
/// share, for files and listings alike.
fn caching_fields(
    site: &Site,
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
    push_cache_control(site, &mut headers);
    headers
}

/// `Cache-Control` when the site sets one: the one place files, listings,
/// their 304s and redirects take it from.
fn push_cache_control(site: &Site, headers: &mut Vec<(&'static str, String)>) {
    if let Some(cache_control) = &site.cache_control {
        headers.push(("Cache-Control", cache_control.clone()));
    }
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

/// The Content-Type for a file, with `--charset` on text types.
pub fn content_type(site: &Site, name: &Path) -> String {
    let ty = mime::content_type(name);
    match &site.charset {
        Some(charset) if ty.starts_with("text/") => format!("{ty}; charset={charset}"),
        _ => ty.to_owned(),
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
