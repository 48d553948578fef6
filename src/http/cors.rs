//! The request fields of CORS (the Fetch standard): `Origin` and a
//! preflight's `Access-Control-Request-*`, kept as sent (repeated fields
//! joined like [`crate::http::fields::Negotiation`]'s) for the site's CORS
//! rule. Apart from `fields`, which has the framing rules to itself.

/// `Origin`, `Access-Control-Request-Method`, `Access-Control-Request-Headers`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsFields {
    pub origin: Option<String>,
    pub request_method: Option<String>,
    pub request_headers: Option<String>,
}

impl CorsFields {
    /// Where one of these fields (lowercase `name`) is kept, if it is one.
    pub fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        match name {
            "origin" => Some(&mut self.origin),
            "access-control-request-method" => Some(&mut self.request_method),
            "access-control-request-headers" => Some(&mut self.request_headers),
            _ => None,
        }
    }
}
