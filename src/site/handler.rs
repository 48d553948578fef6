//! Routing one request, with no sockets: the method check, target parsing,
//! redirects and authentication, hidden files, the file cache lookup, file resolution and the
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
use crate::site::rules::auth::{Check, Gate, Verdict};

/// The site, defined in [`crate::site`] and re-exported where its
/// [`Site::handle`] is.
pub use crate::site::Site;

/// The one dot-directory served even without `--show-hidden` (RFC 8615).
const WELL_KNOWN: &[u8] = b".well-known";

/// The site's answer to a request: a response, or a credential to check
/// first (bcrypt is too slow for the event loop; see
/// [`crate::site::rules::auth`]).
#[derive(Debug)]
pub enum Answer {
    Ready(Response),
    Verify(Check),
}

/// Where the checks before the file system leave a request.
enum Front {
    Answered(Response),
    Verify(Check),
    /// On to the file system, for this target.
    Files(Target),
}

impl Site {
    /// Answers one request, running any credential check inline: for
    /// callers without a pool to run it on. See [`Site::answer`].
    pub fn handle(&self, request: &Request) -> Response {
        match self.answer(request, None) {
            Answer::Ready(response) => response,
            Answer::Verify(check) => match self.answer(request, Some(check.run())) {
                Answer::Ready(response) => response,
                Answer::Verify(_) => self.error(request, Status::InternalServerError),
            },
        }
    }

    /// Answers one request. HEAD is answered exactly like GET (Range
    /// aside, which RFC 9110 defines for GET only); the body is dropped
    /// when the response is written. An allowed CORS preflight is
    /// answered before routing; the header rules then apply to whatever
    /// is sent. `verdict` is the outcome of the [`Check`] the same
    /// request was answered with before.
    pub fn answer(&self, request: &Request, verdict: Option<Verdict>) -> Answer {
        let rules = &self.rules.headers;
        // The target routing parsed, kept so the rules need not parse it
        // again for a file.
        let (mut response, target) = match rules.preflight(request) {
            Some(preflight) => (preflight, None),
            None => match self.front(request, verdict) {
                Front::Answered(response) => (response, None),
                Front::Verify(check) => return Answer::Verify(check),
                Front::Files(target) => (self.files(request, &target), Some(target)),
            },
        };
        rules.apply(request, target.as_ref(), &mut response);
        Answer::Ready(response)
    }

    /// The checks before the file system, in the README's order: the
    /// method, the target, redirects, then authentication.
    fn front(&self, request: &Request, verdict: Option<Verdict>) -> Front {
        if let Method::Other(_) = request.method {
            return Front::Answered(self.error(request, Status::MethodNotAllowed));
        }
        let Ok(target) = Target::parse(&request.target) else {
            return Front::Answered(self.error(request, Status::BadRequest));
        };
        if let Some(moved) = self.redirect_rule(&target) {
            return Front::Answered(moved);
        }
        if !self.auth.protects(&target) {
            return Front::Files(target);
        }
        match self.auth.gate(request, verdict) {
            Gate::Pass => Front::Files(target),
            Gate::Check(check) => Front::Verify(check),
            Gate::Challenge => Front::Answered(self.challenge(request)),
            Gate::Busy => Front::Answered(self.busy(request)),
        }
    }

    /// The file system's answer, then the app fallback and error pages.
    fn files(&self, request: &Request, target: &Target) -> Response {
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
        match root::resolve(&self.root, target) {
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
                Autoindex::On => representation::listing(self, request, &dir, &meta, target),
            },
            Err(Status::NotFound) => self
                .fallback(request, target)
                .unwrap_or_else(|| self.error(request, Status::NotFound)),
            Err(status) => self.error(request, status),
        }
    }

    /// The answer when the file system has none for `request`.
    fn error(&self, _request: &Request, status: Status) -> Response {
        self.error_page(status)
    }

    /// The answer to a head the connection could not accept (`400`,
    /// `408`, `414`, `431`, `501`, `505`): there is no request to route,
    /// but the error page and the security headers still apply.
    pub fn refusal(&self, status: Status) -> Response {
        let mut response = self.error_page(status);
        self.rules.headers.secure(&mut response);
        response
    }

    /// `401` with the challenge, the same for every refusal.
    fn challenge(&self, request: &Request) -> Response {
        let mut response = self.error(request, Status::Unauthorized);
        if let Some(challenge) = self.auth.challenge() {
            response
                .headers
                .push(("WWW-Authenticate", challenge.to_owned()));
        }
        response
    }

    /// `503` when credential checks are queued past their bound.
    fn busy(&self, request: &Request) -> Response {
        let mut response = self.error(request, Status::ServiceUnavailable);
        response.headers.push(("Retry-After", "1".to_owned()));
        response
    }
}
