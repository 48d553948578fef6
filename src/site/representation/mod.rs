//! The one response path for what the site serves. Every 200, 206, 304,
//! 412 and 416 for a file (read from disk or answered from the cache) or a
//! directory listing is built here, and so is the redirect that adds a
//! directory's slash; a variant compressed on the fly is answered by
//! [`crate::site::compress::on_the_fly`] with the same pieces. Those
//! pieces are here: the fields, preconditions and ranges every
//! representation shares ([`conditional`]), validators ([`validators`]),
//! content negotiation ([`negotiate`]), content types ([`mime`]) and
//! `multipart/byteranges` bodies ([`multipart`]).

pub(crate) mod conditional;
pub(crate) mod mime;
pub(crate) mod multipart;
pub(crate) mod negotiate;
pub(crate) mod validators;

use std::fs::{File, Metadata};
use std::path::Path;
use std::sync::Arc;

use crate::http::range::Ranges;
use crate::http::request::{Method, Request};
use crate::http::response::{Body, Response};
use crate::http::status::Status;
use crate::http::target::Target;
use crate::site::archive::Format;
use crate::site::compress::on_the_fly;
use crate::site::compress::sidecar::{self, Selected};
use crate::site::file_cache::{About, Cached, CachedBody, FileId};
use crate::site::limits::{FILE_CACHE_MAX_FILE, INLINE_BODY};
use crate::site::listing;
use crate::site::listing::cache::ListingKey;
use crate::site::representation::conditional::{
    VARY_CODING, caching_fields, encoded_fields, preconditions, push_cache_control, ranges,
    unsatisfiable,
};
use crate::site::representation::negotiate::Coding;
use crate::site::representation::validators::Validators;
use crate::site::root;
use crate::site::{Answer, Prior, Site};

/// What every listing varies on (HTML or JSON).
const VARY_LISTING: &str = "Accept";

/// Answers a request for the regular file `file`, requested as `name`:
/// through the file cache when it has no precompressed variant (and asks
/// for no range, unless it is compressed on the fly, whose ranges apply
/// to the compressed bytes), from disk otherwise.
pub(crate) fn respond(
    site: &Site,
    request: &Request,
    file: File,
    meta: Metadata,
    name: &Path,
    prior: &Prior,
) -> Answer {
    let (chosen, validators) = choose(site, request, file, meta, name);
    let content_type = content_type(site, name);
    let original = chosen.coding.is_none() && !chosen.has_variants;
    let compressible = original && site.compress.takes(&content_type, chosen.meta.len());
    let encoded = compressible && on_the_fly::wanted(request);
    if original && (request.fields.negotiation.range.is_none() || encoded) {
        let fields = |v: &Validators| cached_fields(site, &content_type, v, compressible);
        let about = About {
            validators: validators.clone(),
            content_type: content_type.clone(),
            compressible,
        };
        let cached = if chosen.meta.len() > FILE_CACHE_MAX_FILE as u64 {
            site.cache
                .keep_open(name, chosen.file, &chosen.meta, about, fields)
        } else if let Some(cached) =
            site.cache
                .load(name, &chosen.file, &chosen.meta, about, fields)
        {
            cached
        } else {
            let varies = chosen.has_variants || compressible;
            return Answer::Ready(from_disk(
                site,
                request,
                chosen,
                &validators,
                content_type,
                varies,
            ));
        };
        return on_the_fly::answer(site, request, &cached, prior)
            .unwrap_or_else(|| Answer::Ready(respond_cached(site, request, &cached)));
    }
    let varies = chosen.has_variants || compressible;
    Answer::Ready(from_disk(
        site,
        request,
        chosen,
        &validators,
        content_type,
        varies,
    ))
}

/// Answers with `file` as it is on disk, never through the file cache,
/// whose encoded fields would carry the site's own `Cache-Control`: for
/// the app fallback ([`crate::site::rules::pages`]), which sets its own.
pub(crate) fn respond_uncached(
    site: &Site,
    request: &Request,
    file: File,
    meta: Metadata,
    name: &Path,
) -> Response {
    let (chosen, validators) = choose(site, request, file, meta, name);
    let content_type = content_type(site, name);
    let varies = chosen.has_variants || site.compress.takes(&content_type, chosen.meta.len());
    from_disk(site, request, chosen, &validators, content_type, varies)
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
        chosen = sidecar::select(&site.root, name, accept_encoding, chosen);
    }
    let validators = Validators::of(&chosen.meta, chosen.coding.map(Coding::token));
    (chosen, validators)
}

/// Answers with the chosen file as it is on disk: a coded variant, a range,
/// or a file the cache did not take. `varies` says whether its answers
/// depend on Accept-Encoding: it has sidecars, or is compressed on the
/// fly.
fn from_disk(
    site: &Site,
    request: &Request,
    chosen: Selected,
    validators: &Validators,
    content_type: String,
    varies: bool,
) -> Response {
    let size = chosen.meta.len();
    let vary = varies.then_some(VARY_CODING);
    let fields = || caching_fields(site, validators, vary);
    if let Some(refused) = preconditions(request, validators, fields) {
        return refused;
    }
    let mut headers = fields();
    headers.insert(0, ("Content-Type", content_type.clone()));
    headers.push(("Accept-Ranges", "bytes".to_owned()));
    if let Some(coding) = chosen.coding {
        headers.push(("Content-Encoding", coding.token().to_owned()));
    }
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
            let boundary = multipart::boundary();
            headers[0].1 = format!("multipart/byteranges; boundary={boundary}");
            let parts = multipart::body(chosen.file, &parts, size, &content_type, &boundary);
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
pub(crate) fn respond_cached(site: &Site, request: &Request, cached: &Cached) -> Response {
    let vary = cached.compressible.then_some(VARY_CODING);
    let fields = || caching_fields(site, &cached.validators, vary);
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
fn cached_fields(
    site: &Site,
    content_type: &str,
    validators: &Validators,
    compressible: bool,
) -> Vec<u8> {
    let vary = compressible.then_some(VARY_CODING);
    encoded_fields(
        site.cache_control.as_deref(),
        content_type,
        validators,
        vary,
        None,
    )
}

/// The listing of a directory without an index, as HTML or as JSON when
/// the client prefers it; its validators (see [`Validators::of_listing`])
/// make conditional requests work as for files.
pub(crate) fn listing(
    site: &Site,
    request: &Request,
    dir: &File,
    meta: &Metadata,
    target: &Target,
) -> Response {
    let key = ListingKey {
        dir: FileId::of(meta),
        url_path: target.encoded_path(),
        json: negotiate::wants_json(request.fields.negotiation.accept.as_deref()),
        sort: listing::Sort::from_query(&target.query),
    };
    let json = key.json;
    let listing = match site.listings.get(&key) {
        Some(listing) => listing,
        None => {
            let rendered = if json {
                listing::render_json(dir, site.show_hidden, key.sort)
            } else {
                let download = (site.archive != Format::Off).then(|| site.archive.token());
                let base = &site.base_path;
                listing::render_html(
                    dir,
                    base,
                    &key.url_path,
                    site.show_hidden,
                    key.sort,
                    download,
                )
            };
            let rendered = match rendered {
                Ok(listing) => listing,
                Err(err) => return Response::error(root::status_for(&err)),
            };
            let validators = Validators::of_listing(&rendered.body, rendered.newest, meta);
            site.listings.insert(key, rendered.body, validators)
        }
    };
    let validators = &listing.validators;
    let fields = || caching_fields(site, validators, Some(VARY_LISTING));
    if let Some(refused) = preconditions(request, validators, fields) {
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
        body: Body::Shared(Arc::clone(&listing.body)),
    }
}

/// The permanent redirect to `location`, a directory's name with its
/// slash; as cacheable as what it points to.
pub(crate) fn redirect(site: &Site, location: String) -> Response {
    let mut moved = Response::redirect(location);
    push_cache_control(site.cache_control.as_deref(), &mut moved.headers);
    moved
}

/// The Content-Type for a file, with `--charset` on text types that do
/// not name one already (a `--mime-type` may).
pub(crate) fn content_type(site: &Site, name: &Path) -> String {
    let ty = mime::content_type(name, &site.mime_types);
    match &site.charset {
        Some(charset) if ty.starts_with("text/") && !ty.contains(';') => {
            format!("{ty}; charset={charset}")
        }
        _ => ty.to_owned(),
    }
}
