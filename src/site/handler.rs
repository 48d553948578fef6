//! Routing one request, with no sockets: the method check, target parsing,
//! redirects and authentication, hidden files, the file cache lookup, file
//! resolution and the `--autoindex` policy, then the app fallback and error
//! pages for a miss (the page rules of [`crate::site::rules::pages`], in
//! the order `docs/rules.md` gives). What is found is answered by
//! [`representation`].

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::http::request::{Method, Request};
use crate::http::response::{Body, Response};
use crate::http::status::Status;
use crate::http::target::Target;
use crate::http::version::Version;
use crate::ops::metrics::Counter;
use crate::site::Autoindex;
use crate::site::archive;
use crate::site::compress::on_the_fly;
use crate::site::file_cache::Cached;
use crate::site::limits::INLINE_BODY;
use crate::site::representation;
use crate::site::root::{self, Resolved};
use crate::site::rules::auth::{Check, Gate, Verdict};

/// The site, defined in [`crate::site`] and re-exported where its
/// [`Site::handle`] is.
pub(crate) use crate::site::Site;

/// The one dot-directory served even without `--show-hidden` (RFC 8615).
const WELL_KNOWN: &[u8] = b".well-known";

/// The site's answer, defined in [`crate::site`] beside [`Site`].
pub(crate) use crate::site::{Answer, Prior};

/// Where the checks before the file system leave a request.
enum Front {
    Answered(Response),
    Verify(Check),
    /// On to the file system, for this target.
    Files(Target),
}

impl Site {
    /// Answers one request, doing any work the site asks for inline (a
    /// credential check, a compression): for callers without a pool to
    /// run it on, as the unit tests are. See [`Site::answer`].
    #[cfg(test)]
    pub(crate) fn handle(&self, request: &Request) -> Response {
        let mut prior = Prior::default();
        loop {
            match self.answer(request, &prior) {
                Answer::Ready(response) => return response,
                Answer::Verify(check) if prior.verdict.is_none() => {
                    prior.verdict = Some(check.run());
                }
                Answer::Compress(work) if prior.compressed.is_none() => {
                    prior.compressed = Some(match work {
                        crate::site::compress::Work::Run(job) => job.run(),
                        // Nobody to wait with here: send it as it is.
                        crate::site::compress::Work::Wait(_) => {
                            crate::site::compress::Outcome::Skipped
                        }
                    });
                }
                // The site asked again for what it was given.
                _ => return self.error(request, Status::InternalServerError),
            }
        }
    }

    /// Answers one request. HEAD is answered exactly like GET (Range
    /// aside, which RFC 9110 defines for GET only); the body is dropped
    /// when the response is written. An allowed CORS preflight is
    /// answered before routing; the header rules then apply to whatever
    /// is sent. `prior` holds the outcomes of the work the same request
    /// was answered with before.
    pub(crate) fn answer(&self, request: &Request, prior: &Prior) -> Answer {
        let rules = &self.rules.headers;
        let mut response = match rules.preflight(request) {
            Some(preflight) => preflight,
            None => match self.front(request, prior.verdict) {
                Front::Answered(response) => response,
                Front::Verify(check) => return Answer::Verify(check),
                // With the header rules applied, to the target routing
                // parsed.
                Front::Files(target) => return self.files(request, &target, prior),
            },
        };
        rules.apply(request, None, &mut response);
        Answer::Ready(response)
    }

    /// The checks before the file system, in the order `docs/rules.md`
    /// gives: the method, the target, redirects, the `--try-extensions`
    /// mapping, authentication (of the URL and of the file it maps to),
    /// then the `--clean-urls` redirect.
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
        let mapped = self.mapped(&target);
        let protected =
            self.auth.protects(&target) || mapped.as_ref().is_some_and(|m| self.auth.protects(m));
        if protected {
            match self.auth.gate(request, verdict) {
                Gate::Pass => {}
                Gate::Check(check) => return Front::Verify(check),
                Gate::Challenge => return Front::Answered(self.challenge(request)),
                Gate::Busy => return Front::Answered(self.busy(request)),
            }
        }
        match mapped {
            Some(mapped) => Front::Files(mapped),
            None => match self.clean_redirect(&target) {
                Some(moved) => Front::Answered(moved),
                None => Front::Files(target),
            },
        }
    }

    /// The file system's answer, then the app fallback and error pages,
    /// with the header rules applied: a cached file's identity 200 takes
    /// them ready-made from its cache entry.
    fn files(&self, request: &Request, target: &Target, prior: &Prior) -> Answer {
        let rules = &self.rules.headers;
        let answer = match self.cached(request, target) {
            Some(cached) => match on_the_fly::answer(self, request, &cached, prior) {
                Some(answer) => answer,
                None => {
                    let mut response = representation::respond_cached(self, request, &cached);
                    if response.status == Status::Ok {
                        rules.apply_cached(request, target, &cached, &mut response);
                        return Answer::Ready(response);
                    }
                    Answer::Ready(response)
                }
            },
            None => self.resolve(request, target, prior),
        };
        match answer {
            Answer::Ready(mut response) => {
                rules.apply(request, Some(target), &mut response);
                Answer::Ready(response)
            }
            work => work,
        }
    }

    /// Whether a segment is a dotfile that is not served.
    pub(crate) fn hidden(&self, target: &Target) -> bool {
        !self.show_hidden
            && target
                .segments
                .iter()
                .any(|s| s.starts_with(b".") && s != WELL_KNOWN)
    }

    /// The cache entry that answers a plain file request, if one is fresh
    /// (ranges take the long way: they are rare and need the file's other
    /// validators). Its key is the target's path, so the entry answers
    /// this one path only.
    fn cached(&self, request: &Request, target: &Target) -> Option<Arc<Cached>> {
        if self.hidden(target)
            || target.trailing_slash
            || request.fields.negotiation.range.is_some()
        {
            return None;
        }
        let name: PathBuf = target
            .segments
            .iter()
            .map(|s| OsStr::from_bytes(s))
            .collect();
        self.cache.get(&name)
    }

    /// The file system's answer to a request the cache could not take.
    fn resolve(&self, request: &Request, target: &Target, prior: &Prior) -> Answer {
        if self.hidden(target) {
            return Answer::Ready(self.error(request, Status::NotFound));
        }
        let response = match root::resolve_with(&self.root, target, &self.index) {
            Ok(Resolved::File { file, meta, name }) => {
                return representation::respond(self, request, file, meta, &name, prior);
            }
            Ok(Resolved::DirectoryWithoutSlash) => {
                let path = self.public(&target.encoded_path());
                let location = format!("{path}/{}", target.query);
                representation::redirect(self, location)
            }
            Ok(Resolved::DirectoryWithoutIndex { dir, meta }) => match self.autoindex {
                Autoindex::Off => self.error(request, Status::NotFound),
                Autoindex::Forbid => self.error(request, Status::Forbidden),
                Autoindex::On if archive::requested(&target.query, self.archive) => {
                    self.archive(request, dir, target)
                }
                Autoindex::On => representation::listing(self, request, &dir, &meta, target),
            },
            Err(Status::NotFound) => self
                .fallback(request, target)
                .unwrap_or_else(|| self.error(request, Status::NotFound)),
            Err(status) => self.error(request, status),
        };
        Answer::Ready(response)
    }

    /// A directory's archive, streamed with the chunked coding, which
    /// HTTP/1.0 does not have: such a client is told to upgrade (`426`,
    /// RFC 9110 §15.5.22) rather than sent a body whose end it could not
    /// tell from a failure.
    fn archive(&self, request: &Request, dir: std::fs::File, target: &Target) -> Response {
        if request.version == Version::Http10 {
            let mut refused = self.error(request, Status::UpgradeRequired);
            refused.headers.push(("Upgrade", "HTTP/1.1".to_owned()));
            return refused;
        }
        let name = target.segments.last().map_or(&[][..], |s| &s[..]);
        archive::respond(dir, name, self.archive, self.show_hidden)
    }

    /// The answer when the file system has none for `request`.
    fn error(&self, _request: &Request, status: Status) -> Response {
        self.error_page(status)
    }

    /// The answer to a head the connection could not accept (`400`,
    /// `408`, `414`, `431`, `501`, `505`): there is no request to route,
    /// but the error page and the security headers still apply.
    pub(crate) fn refusal(&self, status: Status) -> Response {
        let mut response = self.error_page(status);
        self.rules.headers.secure(&mut response);
        response
    }

    /// `401` with the challenge, the same for every refusal.
    fn challenge(&self, request: &Request) -> Response {
        self.metrics.count(Counter::AuthFailures);
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

// The page rules, applied where the routing above reaches them.
impl Site {
    /// The first `--redirect` rule matching `target`, answered.
    pub(crate) fn redirect_rule(&self, target: &Target) -> Option<Response> {
        let pages = &self.rules.pages;
        let (rule, location) = pages
            .redirects
            .iter()
            .find_map(|rule| Some((rule, rule.location(target)?)))?;
        // A path on this site is sent under the base path; a URL elsewhere
        // as it is.
        let location = match location.starts_with('/') && !location.starts_with("//") {
            true => self.public(&location),
            false => location,
        };
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
    pub(crate) fn fallback(&self, request: &Request, target: &Target) -> Option<Response> {
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
    pub(crate) fn error_page(&self, status: Status) -> Response {
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::http::response::encode_head;
    use crate::site::root::{Root, Symlinks};
    use crate::site::rules::cors::Cors;
    use crate::site::rules::headers::{HeaderRules, PathHeader};
    use crate::site::rules::pattern::Pattern;
    use crate::site::{Options, rules};

    fn site(root: &Path, origins: &[&str]) -> Site {
        std::fs::write(root.join("page.html"), "<p>page</p>").unwrap();
        let rule = |pattern: &str, name: &'static str, value: &str| PathHeader {
            pattern: Pattern::parse(pattern).unwrap(),
            name,
            value: value.to_owned(),
        };
        let path_headers = vec![
            rule("*.html", "Cache-Control", "no-cache"),
            rule("/page.html", "X-Page", "yes"),
            rule("/other.html", "X-Other", "no"),
        ];
        let origins = origins.iter().map(|o| o.to_string()).collect();
        let options = Options {
            autoindex: Autoindex::Off,
            cache_control: Some("max-age=60".to_owned()),
            rules: rules::Rules {
                pages: Default::default(),
                headers: HeaderRules::new(path_headers, true, Cors { origins }),
            },
            ..Options::default()
        };
        Site::new(
            Root::open(root, Symlinks::Inside).unwrap(),
            &options,
            Default::default(),
        )
        .unwrap()
    }

    /// The response's head fields but `Date`, sorted: field order aside,
    /// what a client sees.
    fn fields(site: &Site, origin: Option<&str>) -> Vec<String> {
        let origin = origin.map_or(String::new(), |o| format!("Origin: {o}\r\n"));
        let head = format!("GET /page.html HTTP/1.1\r\nHost: h\r\n{origin}\r\n");
        let (request, _) = crate::http::request::parse(head.as_bytes())
            .unwrap()
            .unwrap();
        let mut out = Vec::new();
        encode_head(&site.handle(&request), true, "now", &[], &mut out);
        let mut lines: Vec<String> = String::from_utf8(out)
            .unwrap()
            .split("\r\n")
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    }

    /// A cached file's 200 takes the rules from its entry, made on the
    /// first request answered from the cache, with the same fields as the
    /// request that read the file, for each outcome of CORS.
    #[test]
    fn a_cached_file_takes_its_rules_ready_made_with_the_same_fields() {
        for origins in [&["https://a.example"][..], &["*"]] {
            for origin in [Some("https://a.example"), Some("https://b.example"), None] {
                let dir = tempfile::tempdir().unwrap();
                let site = site(dir.path(), origins);
                let read = fields(&site, origin);
                let entry = site.cache.get(Path::new("page.html")).unwrap();
                assert!(entry.ruled.get().is_none());
                assert_eq!(fields(&site, origin), read, "{origins:?} {origin:?}");
                assert!(entry.ruled.get().is_some());
                assert_eq!(fields(&site, origin), read, "{origins:?} {origin:?}");
                let joined = read.join("\n");
                assert!(joined.contains("X-Page: yes") && !joined.contains("X-Other"));
                assert!(joined.contains("Cache-Control: no-cache"), "{joined}");
                assert!(!joined.contains("max-age=60"), "{joined}");
                assert!(joined.contains("X-Frame-Options: SAMEORIGIN"));
                let granted = origins == ["*"] || origin == Some("https://a.example");
                assert_eq!(joined.contains("Access-Control-Expose-Headers"), granted);
            }
        }
    }

    /// A listing asked for again is the kept one (the same bytes, not
    /// rendered again); another order is another listing.
    #[test]
    fn a_listing_is_kept_per_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut site = site(dir.path(), &[]);
        site.autoindex = Autoindex::On;
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/a.txt"), "a").unwrap();
        let body = |target: &str| {
            let head = format!("GET {target} HTTP/1.1\r\nHost: h\r\n\r\n");
            let (request, _) = crate::http::request::parse(head.as_bytes())
                .unwrap()
                .unwrap();
            match site.handle(&request).body {
                crate::http::response::Body::Shared(bytes) => bytes,
                other => panic!("expected kept bytes, got {other:?}"),
            }
        };
        let first = body("/d/");
        assert!(Arc::ptr_eq(&first, &body("/d/")));
        assert!(!Arc::ptr_eq(&first, &body("/d/?sort=size")));
        assert_eq!(site.listings.len(), 2);
    }
}
