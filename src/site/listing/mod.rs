//! Directory listings for `--autoindex on`, as HTML or JSON.
//!
//! Owns reading a directory's entries and their order (`entries`:
//! natural name order, directories first), the `?sort=`/`?order=` query
//! (`sort`), the HTML page from its one built-in template (`html`)
//! with its sizes and dates ([`format`]), the JSON array (here), and the
//! rendered listings kept for the next request ([`cache`]).
//!
//! Names come from the filesystem and are hostile input: every name is
//! HTML-escaped (or JSON-escaped) where shown and percent-encoded where
//! linked. Both formats take the same [`Sort`], so a query orders HTML and
//! JSON alike; the body differs per order, and so do its validators.

pub(crate) mod cache;
mod entries;
mod format;
mod html;
mod sort;

pub(crate) use sort::Sort;

use std::fmt::Write as _;
use std::fs::File;
use std::io;

use crate::http::escape::escape_json;
use entries::Entry;

/// A rendered listing and the newest modification time among its entries
/// (a listing changes when any entry does, not only when the directory
/// itself does).
pub(crate) struct Listing {
    pub body: Vec<u8>,
    pub newest: u64,
}

fn newest(entries: &[Entry]) -> u64 {
    entries.iter().map(|e| e.modified).max().unwrap_or(0)
}

/// The HTML listing of `dir`, whose URL path (percent-encoded, ending in
/// `/`) is `url_path`: name, size and modification time per entry.
/// `download` names the archive format the page links to, if any.
pub(crate) fn render_html(
    dir: &File,
    base: &str,
    url_path: &str,
    show_hidden: bool,
    sort: Sort,
    download: Option<&str>,
) -> io::Result<Listing> {
    let entries = entries::read(dir, show_hidden, sort)?;
    Ok(Listing {
        body: html::page(&entries, base, url_path, sort, download).into_bytes(),
        newest: newest(&entries),
    })
}

/// The same listing as a JSON array of `{"name", "type", "size",
/// "modified"}` objects (`modified` in seconds since the epoch).
pub(crate) fn render_json(dir: &File, show_hidden: bool, sort: Sort) -> io::Result<Listing> {
    let entries = entries::read(dir, show_hidden, sort)?;
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
        std::fs::write(dir.path().join("{{rows}}"), "").unwrap();
        std::fs::create_dir(dir.path().join("zdir")).unwrap();
        dir
    }

    fn html(dir: &tempfile::TempDir, url_path: &str, shown: bool, query: &str) -> String {
        let open = File::open(dir.path()).unwrap();
        let sort = Sort::from_query(query);
        let body = render_html(&open, "", url_path, shown, sort, None).unwrap();
        String::from_utf8(body.body).unwrap()
    }

    #[test]
    fn html_lists_dirs_first_escaped_and_encoded() {
        let dir = fixture();
        let page = html(&dir, "/some%20dir/", false, "");
        assert!(page.contains("<title>Index of /some dir/</title>"));
        assert!(!page.contains("<img"));
        assert!(page.contains(
            "<a href=\"%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.txt\">\
             &lt;img src=x onerror=alert(1)&gt;.txt</a></td>\
             <td class=\"size\" title=\"1 bytes\">1 B</td>"
        ));
        assert!(page.contains(
            "<a href=\"a%20b.txt\">a b.txt</a></td><td class=\"size\" title=\"3 bytes\">3 B</td>"
        ));
        assert!(page.contains("<a href=\"zdir/\">zdir/</a></td><td class=\"size\">—</td>"));
        let zdir = page.find("zdir/").unwrap();
        assert!(zdir < page.find("a%20b.txt").unwrap(), "directories first");
        assert!(page.contains("href=\"../\""));
        assert!(!page.contains(".env"), "dotfiles hidden");
        let shown = html(&dir, "/", true, "");
        assert!(shown.contains(".env") && !shown.contains("href=\"../\""));
    }

    #[test]
    fn a_name_like_a_placeholder_is_shown_as_it_is() {
        let dir = fixture();
        let page = html(&dir, "/%7B%7Btitle%7D%7D/", false, "");
        assert!(page.contains("<a href=\"%7B%7Brows%7D%7D\">{{rows}}</a>"));
        assert_eq!(page.matches("<tr class=\"file\">").count(), 3, "{page}");
        assert!(page.contains("<title>Index of /{{title}}/</title>"));
    }

    #[test]
    fn breadcrumb_links_every_ancestor() {
        let dir = fixture();
        let page = html(&dir, "/a/b%20%3Cc%3E/", false, "");
        assert!(page.contains(
            "<a href=\"../../\">/</a><a href=\"../\">a</a>/\
             <a href=\"./\" aria-current=\"page\">b &lt;c&gt;</a>/</h1>"
        ));
        let root = html(&dir, "/", false, "");
        assert!(root.contains("<a href=\"./\" aria-current=\"page\">/</a></h1>"));
    }

    #[test]
    fn under_a_base_path_the_title_and_first_crumb_show_it() {
        let dir = fixture();
        let open = File::open(dir.path()).unwrap();
        let body = render_html(&open, "/docs", "/a/", false, Sort::from_query(""), None);
        let page = String::from_utf8(body.unwrap().body).unwrap();
        assert!(page.contains("<title>Index of /docs/a/</title>"), "{page}");
        assert!(page.contains(
            "<a href=\"../\">/docs/</a><a href=\"./\" aria-current=\"page\">a</a>/</h1>"
        ));
    }

    #[test]
    fn column_heads_sort_and_mark_the_current_one() {
        let dir = fixture();
        let page = html(&dir, "/", false, "");
        assert!(page.contains(
            "<th class=\"name\" scope=\"col\" aria-sort=\"ascending\">\
             <a href=\"?sort=name&amp;order=desc\">Name<span aria-hidden=\"true\"> ▲</span></a></th>"
        ));
        assert!(page.contains("<a href=\"?sort=size&amp;order=asc\">Size</a>"));
        let by_size = html(&dir, "/", false, "?sort=size&order=desc");
        assert!(by_size.contains("aria-sort=\"descending\"><a href=\"?sort=size&amp;order=asc\">"));
        assert!(by_size.contains("<a href=\"?sort=name&amp;order=asc\">Name</a>"));
        assert_eq!(by_size.matches("aria-sort").count(), 1);
    }

    #[test]
    fn page_is_self_contained_and_fits_phones() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "a").unwrap();
        let page = html(&dir, "/", false, "");
        assert!(
            page.contains(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            )
        );
        assert!(page.contains("<meta name=\"color-scheme\" content=\"light dark\">"));
        assert!(page.contains("@media (prefers-color-scheme: dark)"));
        for external in ["http://", "https://", "src=", "<script", "<link", "url("] {
            assert!(!page.contains(external), "{external}");
        }
        assert!(page.contains("Times are UTC."));
        assert!(page.contains("0 directories, 1 file."));
    }

    #[test]
    fn json_listing() {
        let dir = fixture();
        let open = File::open(dir.path()).unwrap();
        let json =
            String::from_utf8(render_json(&open, false, Sort::default()).unwrap().body).unwrap();
        assert!(
            json.starts_with("[\n{\"name\":\"zdir\",\"type\":\"directory\","),
            "{json}"
        );
        assert!(json.contains("{\"name\":\"\\u003cimg src=x onerror=alert(1)\\u003e.txt\",\"type\":\"file\",\"size\":1,"));
        assert!(!json.contains(".env"));
        assert!(json.ends_with("}\n]\n"));
        let by_size = render_json(&open, false, Sort::from_query("?sort=size&order=desc"));
        let by_size = String::from_utf8(by_size.unwrap().body).unwrap();
        let at = |name: &str| by_size.find(name).unwrap();
        assert!(
            at("zdir") < at("a b.txt") && at("a b.txt") < at("img"),
            "{by_size}"
        );
    }
}
