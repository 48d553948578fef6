//! Answering with the page rules ([`super::pages`]), in the order the
//! handler applies them: redirects before the file system
//! ([`Site::redirect_rule`]), the fallback for a miss that looks like an
//! app route ([`Site::fallback`]), and a page from the root as the body of
//! an error ([`Site::error_page`]). A module of its own, because it names
//! [`Site`], which holds the rules: the rules' module cannot name it back.

use crate::http::request::Request;
use crate::http::response::{Body, Response};
use crate::http::status::Status;
use crate::http::target::Target;
use crate::site::Site;
use crate::site::limits::INLINE_BODY;
use crate::site::representation;
use crate::site::root;

impl Site {
    /// The first `--redirect` rule matching `target`, answered.
    pub fn redirect_rule(&self, target: &Target) -> Option<Response> {
        let pages = &self.rules.pages;
        let (rule, location) = pages
            .redirects
            .iter()
            .find_map(|rule| Some((rule, rule.location(target)?)))?;
        let mut moved = Response::error(rule.status);
        moved.headers.push(("Location", location));
        // A permanent redirect is as cacheable as the site's files; a
        // temporary one must not be kept past its time.
        let permanent = matches!(
            rule.status,
            Status::MovedPermanently | Status::PermanentRedirect
        );
        if let (true, Some(cache_control)) = (permanent, &self.cache_control) {
            moved.headers.push(("Cache-Control", cache_control.clone()));
        }
        Some(moved)
    }

    /// `--fallback` for a path that does not exist (resolution said 404)
    /// and looks like an app route: no dotfile segment and no extension
    /// on the last one. `None` leaves the 404 as it is.
    pub fn fallback(&self, request: &Request, target: &Target) -> Option<Response> {
        let fallback = self.rules.pages.fallback.as_ref()?;
        let last = target.segments.last()?;
        if last.contains(&b'.') || target.segments.iter().any(|s| s.starts_with(b".")) {
            return None;
        }
        let (file, meta) = fallback.open(&self.root)?;
        let mut found = representation::respond_uncached(self, request, file, meta, &fallback.name);
        // The app decides what the route shows; it must be asked each time.
        found.headers.retain(|(name, _)| *name != "Cache-Control");
        found.headers.push(("Cache-Control", "no-cache".to_owned()));
        Some(found)
    }

    /// The error `status`, with its `--error-page` as the body when one is
    /// set and readable: the page's own type, no validators (a cache must
    /// not keep it as if it were the page itself).
    pub fn error_page(&self, status: Status) -> Response {
        let mut response = Response::error(status);
        let pages = &self.rules.pages.error_pages;
        let Some(page) = pages.iter().find(|p| p.code == status.code()) else {
            return response;
        };
        let Some((file, meta)) = page.page.open(&self.root) else {
            return response;
        };
        if meta.len() > INLINE_BODY {
            return page
                .page
                .warn_once("larger than 64 KiB")
                .unwrap_or(response);
        }
        let bytes = match root::read_exactly(&file, 0, meta.len()) {
            Ok(bytes) => bytes,
            Err(err) => return page.page.warn_once(&err.to_string()).unwrap_or(response),
        };
        let content_type = representation::content_type(self, &page.page.name);
        response.headers[0] = ("Content-Type", content_type);
        response.body = Body::Bytes(bytes);
        response
    }
}
