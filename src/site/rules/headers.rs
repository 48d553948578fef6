//! Per-path headers, security headers and CORS: the rules that add fields
//! to whatever response is sent, once it is chosen. In this order, each
//! replacing a field of the same name set before it: security headers
//! (on every response the site sends), per-path headers (not on errors),
//! CORS ([`cors`]).

use std::sync::Arc;

use crate::http::request::Request;
use crate::http::response::{Body, Response, push_field};
use crate::http::status::Status;
use crate::http::target::Target;
use crate::site::file_cache::{Cached, RuledFields};
use crate::site::rules::cors::{self, Allowed};
use crate::site::rules::edit;
use crate::site::rules::pattern::{self, Pattern, PatternSet};

/// `--security-headers`: the fields that are safe for any static site.
pub(crate) const SECURITY: &[(&str, &str)] = &[
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "SAMEORIGIN"),
];

/// One `--path-header`: a field for the paths a pattern matches.
#[derive(Debug, Clone)]
pub struct PathHeader {
    pub pattern: Pattern,
    /// Static because [`Response`] fields are; a name is made once per
    /// rule at start-up (see `config::headers`).
    pub name: &'static str,
    pub value: String,
}

/// `--path-header`, `--security-headers` and `--cors-origin`.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {
    /// In the order given: a later one replaces an earlier one's field.
    pub path_headers: Vec<PathHeader>,
    /// Their patterns, matched together.
    patterns: PatternSet,
    pub security: bool,
    pub cors: cors::Cors,
}

impl HeaderRules {
    pub fn new(path_headers: Vec<PathHeader>, security: bool, cors: cors::Cors) -> HeaderRules {
        HeaderRules {
            patterns: PatternSet::new(path_headers.iter().map(|r| &r.pattern)),
            path_headers,
            security,
            cors,
        }
    }

    /// The answer to a CORS preflight, when it is one that is allowed.
    pub fn preflight(&self, request: &Request) -> Option<Response> {
        self.cors.preflight(request)
    }

    /// Adds `--security-headers`' fields to `response`.
    pub fn secure(&self, response: &mut Response) {
        if self.security {
            let fields = SECURITY.iter().map(|&(n, v)| (n, v.to_owned())).collect();
            edit::set_all(response, fields);
        }
    }

    /// Whether any rule adds fields.
    fn adds_fields(&self) -> bool {
        self.security || !self.path_headers.is_empty() || !self.cors.origins.is_empty()
    }

    /// Adds the rules' fields to `response`, the answer to `request`
    /// (whose `target` is given when routing parsed it): the security and
    /// path fields replace theirs in one pass, CORS after.
    pub fn apply(&self, request: &Request, target: Option<&Target>, response: &mut Response) {
        let parsed;
        let target = match target {
            Some(target) => Some(target),
            None if self.path_headers.is_empty() => None,
            None => {
                parsed = Target::parse(&request.target).ok();
                parsed.as_ref()
            }
        };
        let fields = self.fields(target, response.status);
        if !fields.is_empty() {
            edit::set_all(response, fields);
        }
        self.cors.apply(request, response);
    }

    /// [`HeaderRules::apply`] for `response`, the 200 the file cache's
    /// `cached` gave a GET or HEAD of `target`, the one path that entry
    /// answers on: the rules' outcome is encoded once per entry, so only
    /// what CORS grants this request is decided here.
    pub fn apply_cached(
        &self,
        request: &Request,
        target: &Target,
        cached: &Cached,
        response: &mut Response,
    ) {
        if !self.adds_fields() {
            return;
        }
        let ruled = cached
            .ruled
            .get_or_init(|| self.rule_cached(target, &cached.fields));
        let fields = match self.cors.allowed(request) {
            Allowed::No => &ruled.refused,
            Allowed::Any => &ruled.granted,
            Allowed::Origin(origin) => {
                let field = ("Access-Control-Allow-Origin", origin.to_owned());
                response.headers.push(field);
                &ruled.granted
            }
        };
        response.encoded_fields = Some(Arc::clone(fields));
    }

    /// A cached file's 200 fields `fields` with the rules for `target`
    /// applied, for each outcome of CORS.
    fn rule_cached(&self, target: &Target, fields: &Arc<[u8]>) -> RuledFields {
        let mut response = Response {
            status: Status::Ok,
            headers: Vec::new(),
            encoded_fields: Some(Arc::clone(fields)),
            body: Body::None,
        };
        let fields = self.fields(Some(target), Status::Ok);
        edit::set_all(&mut response, fields);
        self.cors.apply_shared(&mut response);
        let mut refused = Vec::new();
        for (name, value) in &response.headers {
            push_field(&mut refused, name, value);
        }
        refused.extend_from_slice(response.encoded_fields.as_deref().unwrap_or(&[]));
        let mut granted = refused.clone();
        self.cors.encode_shared_grant(&mut granted);
        RuledFields {
            refused: refused.into(),
            granted: granted.into(),
        }
    }

    /// The security and path fields for an answer with `status` at
    /// `target`, in the order they apply.
    fn fields(&self, target: Option<&Target>, status: Status) -> Vec<(&'static str, String)> {
        let mut fields: Vec<(&'static str, String)> = Vec::new();
        if self.security {
            fields.extend(SECURITY.iter().map(|&(n, v)| (n, v.to_owned())));
        }
        // Errors are left alone: a 404 must not be cached for a year
        // because its path looks like an asset.
        if let Some(target) =
            target.filter(|_| status.code() < 400 && !self.path_headers.is_empty())
        {
            let mut matched = Vec::new();
            self.patterns
                .matches_into(&pattern::normalized(target), &mut matched);
            for rule in matched.into_iter().map(|i| &self.path_headers[i]) {
                fields.push((rule.name, rule.value.clone()));
            }
        }
        fields
    }
}
