//! Per-path headers, security headers and CORS: the rules that add fields
//! to whatever response is sent.

/// `--path-header`, `--security-headers` and `--cors-origin`.
#[derive(Debug, Clone, Default)]
pub struct HeaderRules {}
