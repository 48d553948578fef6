//! File extension to Content-Type.
//!
//! The types the assignment names are pinned in our own table so a
//! `mime_guess` upgrade can never change them; everything else falls back to
//! `mime_guess`, and unknown extensions are `application/octet-stream`.

use std::path::Path;

const FALLBACK: &str = "application/octet-stream";

/// Pinned types, matched case-insensitively on the extension.
const TABLE: &[(&str, &str)] = &[
    ("html", "text/html"),
    ("htm", "text/html"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("gif", "image/gif"),
    ("swf", "application/x-shockwave-flash"),
    ("txt", "text/plain"),
    ("json", "application/json"),
    ("svg", "image/svg+xml"),
    ("webp", "image/webp"),
    ("ico", "image/x-icon"),
    ("wasm", "application/wasm"),
];

/// The Content-Type for a file, judged by its extension only (never by
/// sniffing content, so a user-uploaded `.txt` is never served as HTML).
pub(crate) fn content_type(path: &Path) -> &'static str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return FALLBACK;
    };
    if let Some((_, ty)) = TABLE.iter().find(|(e, _)| e.eq_ignore_ascii_case(ext)) {
        return ty;
    }
    mime_guess::from_ext(ext).first_raw().unwrap_or(FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str) -> &'static str {
        content_type(Path::new(name))
    }

    #[test]
    fn assignment_types_are_exact() {
        assert_eq!(ty("a.html"), "text/html");
        assert_eq!(ty("a.htm"), "text/html");
        assert_eq!(ty("a.css"), "text/css");
        assert_eq!(ty("a.js"), "text/javascript");
        assert_eq!(ty("a.jpg"), "image/jpeg");
        assert_eq!(ty("a.jpeg"), "image/jpeg");
        assert_eq!(ty("a.png"), "image/png");
        assert_eq!(ty("a.gif"), "image/gif");
        assert_eq!(ty("a.swf"), "application/x-shockwave-flash");
        assert_eq!(ty("a.txt"), "text/plain");
    }

    #[test]
    fn extension_case_does_not_matter() {
        assert_eq!(ty("PHOTO.JPG"), "image/jpeg");
        assert_eq!(ty("Index.HTML"), "text/html");
    }

    #[test]
    fn unknown_and_missing_extensions_are_octet_stream() {
        assert_eq!(ty("a.unknownext"), FALLBACK);
        assert_eq!(ty("Makefile"), FALLBACK);
        assert_eq!(ty("text..txt"), "text/plain");
    }

    #[test]
    fn falls_back_to_mime_guess() {
        assert_eq!(ty("a.pdf"), "application/pdf");
    }
}
