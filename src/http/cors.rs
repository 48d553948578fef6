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
    /// Whether the field `name` (lowercase) is one of these.
    pub fn keeps(name: &str) -> bool {
        matches!(
            name,
            "origin" | "access-control-request-method" | "access-control-request-headers"
        )
    }

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

#[cfg(test)]
mod tests {
    use crate::http::fields::Fields;
    use crate::http::version::Version;

    fn read(raw: &[(&str, &str)]) -> Fields {
        let headers: Vec<httparse::Header<'_>> = raw
            .iter()
            .map(|(name, value)| httparse::Header {
                name,
                value: value.as_bytes(),
            })
            .collect();
        Fields::read(&headers, Version::Http11).unwrap()
    }

    #[test]
    fn kept_only_when_sent() {
        assert_eq!(read(&[("Host", "h"), ("X-Other", "1")]).cors, None);
        let fields = read(&[
            ("Host", "h"),
            ("ORIGIN", " https://a.example "),
            ("Access-Control-Request-Method", "GET"),
            ("access-control-request-headers", "range"),
            ("Access-Control-Request-Headers", "accept"),
        ]);
        let cors = fields.cors.unwrap();
        assert_eq!(cors.origin.as_deref(), Some("https://a.example"));
        assert_eq!(cors.request_method.as_deref(), Some("GET"));
        assert_eq!(cors.request_headers.as_deref(), Some("range, accept"));
    }
}
