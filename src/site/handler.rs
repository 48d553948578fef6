//! Routing one request, with no sockets: the method check, target parsing,
//! hidden files, the file cache lookup, file resolution and the
//! `--autoindex` policy. What is found is answered by [`representation`].

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use crate::http::request::{Method, Request};
use crate::http::response::Response;
use crate::http::status::Status;
use crate::http::target::Target;
use crate::site::Autoindex;
use crate::site::representation;
use crate::site::root::{self, Resolved};

/// The site, defined in [`crate::site`] and re-exported where its
/// [`Site::handle`] is.
pub use crate::site::Site;

/// The one dot-directory served even without `--show-hidden` (RFC 8615).
const WELL_KNOWN: &[u8] = b".well-known";

impl Site {
    /// Answers one request. HEAD is answered exactly like GET (Range
    /// aside, which RFC 9110 defines for GET only); the body is dropped
    /// when the response is written. An allowed CORS preflight is
    /// answered before routing; the header rules then apply to whatever
    /// is sent.
    pub fn handle(&self, request: &Request) -> Response {
        let rules = &self.rules.headers;
        let mut response = rules
            .preflight(request)
            .unwrap_or_else(|| self.route(request));
        rules.apply(request, &mut response);
        response
    }

    /// The response before the rules that add header fields to it.
    fn route(&self, request: &Request) -> Response {
        if let Method::Other(_) = request.method {
            return self.error(request, Status::MethodNotAllowed);
        }
        let Ok(target) = Target::parse(&request.target) else {
            return self.error(request, Status::BadRequest);
        };
        // Site rules, in the README's order: redirects before the file
        // system, the app fallback for a miss, then error pages.
        if let Some(moved) = self.redirect_rule(&target) {
            return moved;
        }
        if !self.show_hidden
            && target
                .segments
                .iter()
                .any(|s| s.starts_with(b".") && s != WELL_KNOWN)
        {
            return self.error(request, Status::NotFound);
        }
        // A plain file request a cached entry can answer (ranges take the
        // long way: they are rare and need the file's other validators).
        if !target.trailing_slash && request.fields.negotiation.range.is_none() {
            let name: PathBuf = target
                .segments
                .iter()
                .map(|s| OsStr::from_bytes(s))
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
                let location = format!("{}/{}", target.encoded_path(), target.query);
                representation::redirect(self, location)
            }
            Ok(Resolved::DirectoryWithoutIndex { dir, meta }) => match self.autoindex {
                Autoindex::Off => self.error(request, Status::NotFound),
                Autoindex::Forbid => self.error(request, Status::Forbidden),
                Autoindex::On => representation::listing(self, request, &dir, &meta, &target),
            },
            Err(Status::NotFound) => self
                .fallback(request, &target)
                .unwrap_or_else(|| self.error(request, Status::NotFound)),
            Err(status) => self.error(request, status),
        }
    }

    /// The answer when the file system has none for `request`.
    fn error(&self, _request: &Request, status: Status) -> Response {
        self.error_page(status)
    }
}
