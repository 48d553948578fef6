//! Request to response, with no sockets: method check, target parsing,
//! hidden files, file resolution and the `--autoindex` policy.

use crate::http::request::{Method, Request};
use crate::http::response::{Body, Response};
use crate::site::Autoindex;
use crate::site::listing;
use crate::site::negotiate;
use crate::site::representation;
use crate::site::root::{self, Resolved};
use crate::site::validators::{self, Precondition, Validators};

use crate::http::status::Status;
use crate::http::target::Target;
use std::fs::{File, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

/// The site, defined in [`crate::site`] and re-exported where its
/// [`Site::handle`] is.
pub use crate::site::Site;

/// The one dot-directory served even without `--show-hidden` (RFC 8615).
const WELL_KNOWN: &[u8] = b".well-known";

impl Site {
    /// Answers one request. HEAD is answered exactly like GET (Range
    /// aside, which RFC 9110 defines for GET only); the body is dropped
    /// when the response is written.
    pub fn handle(&self, request: &Request) -> Response {
        if let Method::Other(_) = request.method {
            return Response::error(Status::MethodNotAllowed);
        }
        let Ok(target) = Target::parse(&request.target) else {
            return Response::error(Status::BadRequest);
        };
        if !self.show_hidden
            && target
                .segments
                .iter()
                .any(|s| s.starts_with(b".") && s != WELL_KNOWN)
        {
            return Response::error(Status::NotFound);
        }
        // A plain file request a cached entry can answer (ranges take the
        // long way: they are rare and need the file's other validators).
        if !target.trailing_slash && request.fields.negotiation.range.is_none() {
            let name: std::path::PathBuf = target
                .segments
                .iter()
                .map(|s| std::ffi::OsStr::from_bytes(s))
                .collect();
            if let Some(cached) = self.cache.get(&name) {
                return representation::respond_cached(self, request, cached);
            }
        }
        match root::resolve(&self.root, &target) {
            Ok(Resolved::File { file, meta, name }) => {
                representation::respond(self, request, file, meta, &name)
            }
            Ok(Resolved::DirectoryWithoutSlash) => {
                let mut moved =
                    Response::redirect(format!("{}/{}", target.encoded_path(), target.query));
                self.add_cache_control(&mut moved);
                moved
            }
            Ok(Resolved::DirectoryWithoutIndex { dir, meta }) => match self.autoindex {
                Autoindex::Off => Response::error(Status::NotFound),
                Autoindex::Forbid => Response::error(Status::Forbidden),
                Autoindex::On => self.listing(request, &dir, &meta, &target),
            },
            Err(status) => Response::error(status),
        }
    }

    /// A directory listing, with validators of its own: a strong ETag
    /// hashed from the bytes sent, and the newest modification time of the
    /// directory and its entries, so conditional requests work as for files.
    fn listing(&self, request: &Request, dir: &File, meta: &Metadata, target: &Target) -> Response {
        let json = negotiate::wants_json(request.fields.negotiation.accept.as_deref());
        let listing = if json {
            listing::render_json(dir, self.show_hidden)
        } else {
            listing::render_html(dir, &target.encoded_path(), self.show_hidden)
        };
        let listing = match listing {
            Ok(listing) => listing,
            Err(err) => return Response::error(root::status_for(&err)),
        };
        let dir_modified = u64::try_from(meta.mtime()).unwrap_or(0);
        let validators = Validators {
            etag: format!("\"l-{:016x}\"", fnv1a(&listing.body)),
            modified: listing.newest.max(dir_modified),
        };
        let mut headers = vec![
            (
                "Last-Modified",
                crate::http::date::format(validators.modified),
            ),
            ("ETag", validators.etag.clone()),
            ("Vary", "Accept".to_owned()),
        ];
        if let Some(cache_control) = &self.cache_control {
            headers.push(("Cache-Control", cache_control.clone()));
        }
        match validators::evaluate(&request.fields.conditions, &validators) {
            Precondition::Failed => Response::error(Status::PreconditionFailed),
            Precondition::NotModified => Response {
                status: Status::NotModified,
                headers,
                encoded_fields: None,
                body: Body::None,
            },
            Precondition::Proceed => {
                let ty = if json {
                    "application/json"
                } else {
                    "text/html"
                };
                headers.insert(0, ("Content-Type", ty.to_owned()));
                Response {
                    status: Status::Ok,
                    headers,
                    encoded_fields: None,
                    body: Body::Bytes(listing.body),
                }
            }
        }
    }

    fn add_cache_control(&self, response: &mut Response) {
        if let Some(cache_control) = &self.cache_control {
            response
                .headers
                .push(("Cache-Control", cache_control.clone()));
        }
    }
}

/// FNV-1a, 64-bit: a cheap, stable hash for listing ETags (not a defence
/// against anything; a collision only costs a missed refresh).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
