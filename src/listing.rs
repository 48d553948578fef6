//! HTML directory listings for `--autoindex on`.
//!
//! Names come from the filesystem and are hostile input: every name is
//! HTML-escaped where shown and percent-encoded where linked.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;

use crate::target::encode_segment;

struct Entry {
    name: Vec<u8>,
    is_dir: bool,
}

/// Renders the listing of the open directory `dir`, whose URL path
/// (percent-encoded, ending in `/`) is `url_path`. Directories come first,
/// then files, each by name. The directory is read through its descriptor
/// (`/proc/self/fd`), so it is the one that was checked, not whatever its
/// path names by now.
pub fn render(dir: &File, url_path: &str) -> io::Result<Vec<u8>> {
    let mut entries = Vec::new();
    let fd_path = format!("/proc/self/fd/{}", dir.as_raw_fd());
    for entry in std::fs::read_dir(fd_path)? {
        let entry = entry?;
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        entries.push(Entry {
            name: entry.file_name().as_bytes().to_vec(),
            is_dir,
        });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    let title = escape_html(&String::from_utf8_lossy(
        &percent_encoding::percent_decode_str(url_path).collect::<Vec<u8>>(),
    ));
    let mut page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<ul>\n"
    );
    if url_path != "/" {
        page.push_str("<li><a href=\"../\">../</a></li>\n");
    }
    for entry in &entries {
        let slash = if entry.is_dir { "/" } else { "" };
        page.push_str(&format!(
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>\n",
            encode_segment(&entry.name),
            escape_html(&String::from_utf8_lossy(&entry.name)),
        ));
    }
    page.push_str("</ul>\n</body></html>\n");
    Ok(page.into_bytes())
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn lists_dirs_first_escaped_and_encoded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("<img src=x onerror=alert(1)>.txt"), "x").unwrap();
        std::fs::write(dir.path().join("a b.txt"), "x").unwrap();
        std::fs::create_dir(dir.path().join("zdir")).unwrap();
        let open = File::open(dir.path()).unwrap();
        let page = String::from_utf8(render(&open, "/some%20dir/").unwrap()).unwrap();
        assert!(page.contains("<title>Index of /some dir/</title>"));
        assert!(!page.contains("<img"));
        assert!(page.contains(
            "<a href=\"%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\">\
             &lt;img src=x onerror=alert(1)&gt;.txt</a>"
        ));
        let zdir = page.find("zdir/").unwrap();
        assert!(zdir < page.find("a%20b.txt").unwrap(), "directories first");
        assert!(page.contains("href=\"../\""));
    }
}
