//! Per-path headers, security headers and CORS: the rules that add fields
//! to whatever response is sent, once it is chosen. In this order, each
//! replacing a field of the same name set before it: security headers
//! (on every response the site sends), per-path headers (not on errors),
//! CORS ([`cors`]).

use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::target::Target;
use crate::site::rules::cors;
use crate::site::rules::edit;
use crate::site::rules::pattern::{self, Pattern, PatternSet};

/// `--security-headers`: the fields that are safe for any static site.
pub const SECURITY: &[(&str, &str)] = &[
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

    /// Adds the rules' fields to `response`, the answer to `request`
    /// (whose `target` is given when routing parsed it): the security and
    /// path fields replace theirs in one pass, CORS after.
    pub fn apply(&self, request: &Request, target: Option<&Target>, response: &mut Response) {
        let mut fields: Vec<(&'static str, String)> = Vec::new();
        if self.security {
            fields.extend(SECURITY.iter().map(|&(n, v)| (n, v.to_owned())));
        }
        // Errors are left alone: a 404 must not be cached for a year
        // because its path looks like an asset.
        if !self.path_headers.is_empty() && response.status.code() < 400 {
            let parsed;
            let target = match target {
                Some(target) => Some(target),
                None => {
                    parsed = Target::parse(&request.target).ok();
                    parsed.as_ref()
                }
            };
            if let Some(target) = target {
                let mut matched = Vec::new();
                self.patterns
                    .matches_into(&pattern::normalized(target), &mut matched);
                for rule in matched.into_iter().map(|i| &self.path_headers[i]) {
                    fields.push((rule.name, rule.value.clone()));
                }
            }
        }
        if !fields.is_empty() {
            edit::set_all(response, fields);
        }
        self.cors.apply(request, response);
    }
}
