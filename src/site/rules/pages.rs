//! Redirects, the app fallback and error pages: the rules that decide which
//! response a request gets.

/// `--redirect`, `--fallback` and `--error-page`.
#[derive(Debug, Clone, Default)]
pub struct PageRules {}
