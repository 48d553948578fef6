//! Site rules: what a deployed site needs from its server beyond files,
//! each off by default. Evaluated in one order: redirects, then
//! authentication ([`auth`], against an [`htpasswd`] file, with a cache
//! of [`verified`] credentials), then the file system, then the app
//! fallback and error pages ([`pages`]); per-path headers, security
//! headers and CORS go on whatever is sent ([`headers`], [`cors`]), which
//! replace fields through [`edit`]. `docs/rules.md` describes them for
//! users.
//!
//! Rules match the decoded, normalized path (the one the root wall
//! resolves, see [`pattern`]), so `/assets/../secret` or `%2e%2e` cannot
//! dodge a pattern.

pub(crate) mod auth;
pub(crate) mod cors;
pub(crate) mod edit;
pub(crate) mod headers;
pub(crate) mod htpasswd;
pub(crate) mod pages;
pub(crate) mod pattern;
pub(crate) mod verified;

/// Every rule the site applies.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub pages: pages::PageRules,
    pub headers: headers::HeaderRules,
}
