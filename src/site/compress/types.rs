//! Which content types are compressed on the fly (`--compress-types`):
//! text, and the structured formats sent as text (scripts, JSON, XML,
//! SVG, WebAssembly, web manifests, uncompressed fonts). Never images,
//! audio, video, archives or fonts that carry their own compression:
//! compressing them again costs CPU and gains nothing.

/// The default `--compress-types`.
pub(crate) const DEFAULT_TYPES: &[&str] = &[
    "text/*",
    "application/javascript",
    "application/json",
    "application/*+json",
    "application/xml",
    "application/*+xml",
    "image/svg+xml",
    "application/wasm",
    "application/x-javascript",
    "font/ttf",
    "font/otf",
    "application/vnd.ms-fontobject",
];

/// One `--compress-types` entry: `type/subtype`, `type/*`, or
/// `type/*+suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypePattern {
    top: String,
    /// The subtype; `*` for any, `*+xml` for any ending in `+xml`.
    sub: String,
}

impl TypePattern {
    /// Parses an entry, lowercased; refuses anything but the three forms.
    pub fn parse(text: &str) -> Result<TypePattern, String> {
        let lower = text.trim().to_ascii_lowercase();
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        };
        let bad =
            || format!("'{text}' is not a media type (type/subtype, type/* or type/*+suffix)");
        let (top, sub) = lower.split_once('/').ok_or_else(bad)?;
        let sub_ok = sub == "*" || token(sub.strip_prefix('*').unwrap_or(sub));
        if !token(top) || !sub_ok {
            return Err(bad());
        }
        Ok(TypePattern {
            top: top.to_owned(),
            sub: sub.to_owned(),
        })
    }

    /// Whether `content_type` (parameters ignored, any case) matches.
    pub fn matches(&self, content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        let Some((top, sub)) = essence.split_once('/') else {
            return false;
        };
        if !top.eq_ignore_ascii_case(&self.top) {
            return false;
        }
        match self.sub.strip_prefix('*') {
            Some("") => true,
            Some(suffix) => {
                sub.len() > suffix.len()
                    && sub[sub.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            }
            None => sub.eq_ignore_ascii_case(&self.sub),
        }
    }
}

impl std::fmt::Display for TypePattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.top, self.sub)
    }
}

/// The default list, parsed.
pub(crate) fn defaults() -> Vec<TypePattern> {
    DEFAULT_TYPES
        .iter()
        .map(|t| TypePattern::parse(t).expect("the defaults parse"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compressible(content_type: &str) -> bool {
        defaults().iter().any(|p| p.matches(content_type))
    }

    #[test]
    fn the_defaults_take_text_and_leave_media_alone() {
        for yes in [
            "text/html; charset=utf-8",
            "TEXT/CSS",
            "text/javascript",
            "application/json",
            "application/manifest+json",
            "application/ld+json",
            "application/rss+xml",
            "image/svg+xml",
            "application/wasm",
            "font/ttf",
        ] {
            assert!(compressible(yes), "{yes}");
        }
        for no in [
            "image/png",
            "image/jpeg",
            "video/mp4",
            "application/zip",
            "application/gzip",
            "font/woff2",
            "font/woff",
            "application/octet-stream",
            "application/pdf",
            "garbage",
            "",
        ] {
            assert!(!compressible(no), "{no}");
        }
    }

    #[test]
    fn patterns_parse_in_three_forms_only() {
        assert!(TypePattern::parse("text/*").is_ok());
        assert!(
            TypePattern::parse("Application/*+JSON")
                .unwrap()
                .matches("application/geo+json")
        );
        assert!(
            !TypePattern::parse("application/*+json")
                .unwrap()
                .matches("application/+json")
        );
        for bad in [
            "text",
            "*/*",
            "text/",
            "/x",
            "text/h*ml",
            "te xt/html",
            "a/b/c",
        ] {
            assert!(TypePattern::parse(bad).is_err(), "{bad}");
        }
    }
}
