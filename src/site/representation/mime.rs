//! File extension to Content-Type.
//!
//! Three sources, in order: the site's `--mime-type` overrides, our own
//! table of the types browsers insist on (pinned, so a `mime_guess`
//! upgrade can never change them), then `mime_guess`; an extension none
//! of them knows is `application/octet-stream`. The type is judged by the
//! last extension only, never by sniffing content, so a user-uploaded
//! `.txt` is never served as HTML.

use std::path::Path;

/// The type of a file no source knows: the browser downloads it rather
/// than guessing.
pub(crate) const FALLBACK: &str = "application/octet-stream";

/// One `--mime-type EXT=TYPE`: files ending `.EXT` (matched without
/// regard to case) are served as `TYPE`, ahead of every built-in type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MimeType {
    /// The extension without its dot, lowercase.
    pub extension: String,
    /// The whole Content-Type value, parameters included.
    pub content_type: String,
}

/// Pinned types, matched case-insensitively on the extension. Where the
/// registries differ, the choice follows what browsers require (WHATWG's
/// MIME Sniffing and Fetch, e.g. `text/javascript` for module scripts,
/// `application/wasm` for streaming compilation) and then IANA. Every
/// extension nginx's `mime.types` lists gets nginx's type but for four
/// where a newer standard differs (js, xml, bmp, m4a: tests/it/mime.rs
/// holds the list, docs/behaviour.md the reasons), so a site moved from
/// nginx is typed as before; the rows here cover the rest that
/// `mime_guess` types otherwise.
pub(crate) const TABLE: &[(&str, &str)] = &[
    // Documents and scripts.
    ("html", "text/html"),
    ("htm", "text/html"),
    ("xhtml", "application/xhtml+xml"),
    ("css", "text/css"),
    ("js", "text/javascript"),
    ("mjs", "text/javascript"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("jsonld", "application/ld+json"),
    ("webmanifest", "application/manifest+json"),
    ("wasm", "application/wasm"),
    ("xml", "application/xml"),
    ("rss", "application/rss+xml"),
    ("atom", "application/atom+xml"),
    ("txt", "text/plain"),
    ("md", "text/markdown"),
    ("csv", "text/csv"),
    ("ics", "text/calendar"),
    ("vtt", "text/vtt"),
    ("gpx", "application/gpx+xml"),
    ("pdf", "application/pdf"),
    // Images.
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("apng", "image/apng"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("svg", "image/svg+xml"),
    ("ico", "image/x-icon"),
    ("bmp", "image/bmp"),
    // Fonts.
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    // Audio and video.
    ("mp3", "audio/mpeg"),
    ("m4a", "audio/mp4"),
    ("mid", "audio/midi"),
    ("midi", "audio/midi"),
    ("ra", "audio/x-realaudio"),
    ("ogg", "audio/ogg"),
    ("opus", "audio/ogg"),
    ("wav", "audio/wav"),
    ("flac", "audio/flac"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    // HTTP Live Streaming: the playlist and its MPEG-TS segments (a `.ts`
    // on a web server is a segment far more often than TypeScript).
    ("m3u8", "application/vnd.apple.mpegurl"),
    ("ts", "video/mp2t"),
    // Downloads.
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
    ("apk", "application/vnd.android.package-archive"),
    ("rpm", "application/x-redhat-package-manager"),
    ("dll", "application/octet-stream"),
    ("sea", "application/x-sea"),
    ("pdb", "application/x-pilot"),
    ("prc", "application/x-pilot"),
    ("swf", "application/x-shockwave-flash"),
];

/// The Content-Type for a file named `path`, `overrides` first.
pub(crate) fn content_type<'a>(path: &Path, overrides: &'a [MimeType]) -> &'a str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return FALLBACK;
    };
    let over = overrides
        .iter()
        .find(|m| m.extension.eq_ignore_ascii_case(ext));
    if let Some(over) = over {
        return &over.content_type;
    }
    if let Some((_, ty)) = TABLE.iter().find(|(e, _)| e.eq_ignore_ascii_case(ext)) {
        return ty;
    }
    mime_guess::from_ext(ext).first_raw().unwrap_or(FALLBACK)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ty(name: &str) -> &'static str {
        content_type(Path::new(name), &[])
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

    /// The types browsers refuse to use a file without (a module script,
    /// streaming WebAssembly, a manifest, a font, a subtitle track), each
    /// written out here rather than read from TABLE, so a changed row
    /// fails.
    #[test]
    fn types_browsers_insist_on() {
        for (name, want) in [
            ("app.mjs", "text/javascript"),
            ("app.wasm", "application/wasm"),
            ("site.webmanifest", "application/manifest+json"),
            ("photo.avif", "image/avif"),
            ("photo.webp", "image/webp"),
            ("font.woff2", "font/woff2"),
            ("font.woff", "font/woff"),
            ("data.json", "application/json"),
            ("logo.svg", "image/svg+xml"),
            ("feed.xml", "application/xml"),
            ("notes.txt", "text/plain"),
            ("app.js.map", "application/json"),
            ("event.ics", "text/calendar"),
            ("track.gpx", "application/gpx+xml"),
            ("captions.vtt", "text/vtt"),
            ("app.apk", "application/vnd.android.package-archive"),
            ("readme.md", "text/markdown"),
            ("table.csv", "text/csv"),
            ("favicon.ico", "image/x-icon"),
            ("clip.mp4", "video/mp4"),
            ("clip.webm", "video/webm"),
            ("doc.pdf", "application/pdf"),
        ] {
            assert_eq!(ty(name), want, "{name}");
        }
    }

    #[test]
    fn the_table_has_one_row_per_extension_in_lowercase() {
        for (i, (ext, ty)) in TABLE.iter().enumerate() {
            assert_eq!(*ext, ext.to_ascii_lowercase(), "{ext}");
            assert!(ty.contains('/'), "{ext}: {ty}");
            assert!(TABLE[..i].iter().all(|(e, _)| e != ext), "{ext} twice");
        }
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
        assert_eq!(ty(".bashrc"), FALLBACK);
        assert_eq!(ty("text..txt"), "text/plain");
    }

    #[test]
    fn falls_back_to_mime_guess() {
        assert_eq!(ty("a.epub"), "application/epub+zip");
    }

    #[test]
    fn overrides_come_first_by_last_extension_in_any_case() {
        let overrides = [
            MimeType {
                extension: "md".to_owned(),
                content_type: "text/plain; charset=utf-8".to_owned(),
            },
            MimeType {
                extension: "pkg".to_owned(),
                content_type: "application/x-custom".to_owned(),
            },
        ];
        let ty = |name: &str| content_type(Path::new(name), &overrides).to_owned();
        assert_eq!(ty("README.MD"), "text/plain; charset=utf-8");
        assert_eq!(ty("a.pkg"), "application/x-custom");
        assert_eq!(ty("a.md.gz"), "application/gzip");
        assert_eq!(ty("a.html"), "text/html");
    }
}
