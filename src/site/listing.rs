//! Directory listings for `--autoindex on`, as HTML or JSON.
//!
//! Names come from the filesystem and are hostile input: every name is
//! HTML-escaped (or JSON-escaped) where shown and percent-encoded where
//! linked.

use std::fmt::Write as _;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use crate::http::escape::{escape_html, escape_json};
use crate::http::target::encode_segment;

struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    size: u64,
    modified: u64,
}

impl Entry {
    fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }
}

/// Reads the open directory `dir` through its descriptor
/// (`/proc/self/fd`), so it is the directory that was checked, not
/// whatever its path names by now. Directories first, then by name;
/// dotfiles only with `show_hidden`.
fn entries(dir: &File, show_hidden: bool) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))? {
        let entry = entry?;
        let name = entry.file_name().as_bytes().to_vec();
        if !show_hidden && name.starts_with(b".") {
            continue;
        }
        let meta = entry.metadata()?;
        entries.push(Entry {
            name,
            is_dir: meta.is_dir(),
            size: meta.size(),
            modified: u64::try_from(meta.mtime()).unwrap_or(0),
        });
    }
    entries.sort_by(|a, b| b.is_dir.cmp(&a.is_dir).then_with(|| a.name.cmp(&b.name)));
    Ok(entries)
}

/// A rendered listing and the newest modification time among its entries
/// (a listing changes when any entry does, not only when the directory
/// itself does).
pub struct Listing {
    pub body: Vec<u8>,
    pub newest: u64,
}

fn newest(entries: &[Entry]) -> u64 {
    entries.iter().map(|e| e.modified).max().unwrap_or(0)
}

/// The HTML listing of `dir`, whose URL path (percent-encoded, ending in
/// `/`) is `url_path`: name, size and modification time per entry.
pub fn render_html(dir: &File, url_path: &str, show_hidden: bool) -> io::Result<Listing> {
    let entries = entries(dir, show_hidden)?;
    let decoded = percent_encoding::percent_decode_str(url_path).collect::<Vec<u8>>();
    let title = escape_html(&String::from_utf8_lossy(&decoded));
    let mut page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
         <body><h1>Index of {title}</h1>\n<table>\n\
         <tr><th>Name</th><th>Size</th><th>Modified</th></tr>\n"
    );
    if url_path != "/" {
        page.push_str("<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    }
    for entry in &entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let size = if entry.is_dir {
            "-".to_owned()
        } else {
            entry.size.to_string()
        };
        let _ = writeln!(
            page,
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td>{size}</td><td>{}</td></tr>",
            encode_segment(&entry.name),
            escape_html(&entry.display_name()),
            crate::http::date::format(entry.modified),
        );
    }
    page.push_str("</table>\n</body></html>\n");
    Ok(Listing {
        body: page.into_bytes(),
        newest: newest(&entries),
    })
}

/// The same listing as a JSON array of `{"name", "type", "size",
/// "modified"}` objects (`modified` in seconds since the epoch).
pub fn render_json(dir: &File, show_hidden: bool) -> io::Result<Listing> {
    let entries = entries(dir, show_hidden)?;
    let mut out = String::from("[");
    for (i, entry) in entries.iter().enumerate() {
        let kind = if entry.is_dir { "directory" } else { "file" };
        let _ = write!(
            out,
            "{}\n{{\"name\":\"{}\",\"type\":\"{kind}\",\"size\":{},\"modified\":{}}}",
            if i == 0 { "" } else { "," },
            escape_json(&entry.display_name()),
            entry.size,
            entry.modified,
        );
    }
    out.push_str("\n]\n");
    Ok(Listing {
        body: out.into_bytes(),
        newest: newest(&entries),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("<img src=x onerror=alert(1)>.txt"), "x").unwrap();
        std::fs::write(dir.path().join("a b.txt"), "xyz").unwrap();
        std::fs::write(dir.path().join(".env"), "SECRET").unwrap();
        std::fs::create_dir(dir.path().join("zdir")).unwrap();
        dir
    }

    #[test]
    fn html_lists_dirs_first_escaped_and_encoded() {
        let dir = fixture();
        let open = File::open(dir.path()).unwrap();
        let page =
            String::from_utf8(render_html(&open, "/some%20dir/", false).unwrap().body).unwrap();
        assert!(page.contains("<title>Index of /some dir/</title>"));
        assert!(!page.contains("<img"));
        assert!(page.contains(
            "<a href=\"%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\">\
             &lt;img src=x onerror=alert(1)&gt;.txt</a></td><td>1</td>"
        ));
        assert!(page.contains("<a href=\"a%20b.txt\">a b.txt</a></td><td>3</td><td>"));
        let zdir = page.find("zdir/").unwrap();
        assert!(zdir < page.find("a%20b.txt").unwrap(), "directories first");
        assert!(page.contains("href=\"../\""));
        assert!(!page.contains(".env"), "dotfiles hidden");
        let shown = String::from_utf8(render_html(&open, "/", true).unwrap().body).unwrap();
        assert!(shown.contains(".env") && !shown.contains("href=\"../\""));
    }

    #[test]
    fn json_listing() {
        let dir = fixture();
        let open = File::open(dir.path()).unwrap();
        let json = String::from_utf8(render_json(&open, false).unwrap().body).unwrap();
        assert!(
            json.starts_with("[\n{\"name\":\"zdir\",\"type\":\"directory\","),
            "{json}"
        );
        assert!(json.contains("{\"name\":\"\\u003cimg src=x onerror=alert(1)\\u003e.txt\",\"type\":\"file\",\"size\":1,"));
        assert!(!json.contains(".env"));
        assert!(json.ends_with("}\n]\n"));
    }
}
