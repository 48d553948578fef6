//! The HTML listing: one template in the binary (`page.html`, inline
//! style only, nothing fetched from elsewhere) filled with the
//! breadcrumb, the column heads that sort, and one row per entry.

use std::fmt::Write as _;

use super::entries::Entry;
use super::format::{human_size, short_date};
use super::sort::{Key, Order, Sort};
use crate::http::escape::escape_html;
use crate::http::target::encode_segment;

const TEMPLATE: &str = include_str!("page.html");
const OPEN: &str = "{{";
const CLOSE: &str = "}}";

/// The page for `entries` of the directory at `url_path` (percent-encoded,
/// ending in `/`) of a site served under `base` (`--base-path` without its
/// trailing slash, empty for none), sorted as `sort`.
pub(super) fn page(
    entries: &[Entry],
    base: &str,
    url_path: &str,
    sort: Sort,
    download: Option<&str>,
) -> String {
    let segments = decoded_segments(url_path);
    let mut title = format!("{base}/");
    for segment in &segments {
        title.push_str(&String::from_utf8_lossy(segment));
        title.push('/');
    }
    let mut rows = String::new();
    if !segments.is_empty() {
        rows.push_str(
            "<tr class=\"up\"><td class=\"name\"><a href=\"../\">../</a></td>\
             <td class=\"size\"></td><td class=\"date\"></td></tr>\n",
        );
    }
    for entry in entries {
        row(&mut rows, entry);
    }
    fill(
        TEMPLATE,
        &[
            ("title", &escape_html(&title)),
            ("crumbs", &crumbs(base, &segments)),
            ("heads", &heads(sort)),
            ("rows", &rows),
            ("summary", &summary(entries)),
            ("download", &download_link(download)),
        ],
    )
}

/// The link that downloads the directory as an archive in `format`
/// (`--archive`), or nothing.
fn download_link(format: Option<&str>) -> String {
    match format {
        Some(format) => format!(
            " <a class=\"download\" href=\"?download={format}\" download>Download this folder ({format})</a>"
        ),
        None => String::new(),
    }
}

/// The template with each `{{name}}` replaced by its value, in one pass,
/// so nothing in a value (a file name with braces) is ever read as a
/// placeholder. An unknown name stays as it is.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let value = after.find(CLOSE).and_then(|end| {
            let name = &after[..end];
            let value = values.iter().find(|(n, _)| *n == name)?.1;
            Some((value, end))
        });
        match value {
            Some((value, end)) => {
                out.push_str(value);
                rest = &after[end + CLOSE.len()..];
            }
            None => {
                out.push_str(OPEN);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The path's segments, decoded: the names as shown.
fn decoded_segments(url_path: &str) -> Vec<Vec<u8>> {
    url_path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).collect())
        .collect()
}

/// `/ a / b /`, each part a link to that directory, the last one marked
/// as the current page; the first is the site's root, shown as the base
/// path. The links are relative (`../`), so they hold under any prefix a
/// proxy puts in front of the site.
fn crumbs(base: &str, segments: &[Vec<u8>]) -> String {
    let depth = segments.len();
    let link = |level: usize| match depth - level {
        0 => ("./".to_owned(), " aria-current=\"page\""),
        up => ("../".repeat(up), ""),
    };
    let (href, current) = link(0);
    let mut out = format!("<a href=\"{href}\"{current}>{}/</a>", escape_html(base));
    for (level, segment) in segments.iter().enumerate() {
        let (href, current) = link(level + 1);
        let _ = write!(
            out,
            "<a href=\"{href}\"{current}>{}</a>/",
            escape_html(&String::from_utf8_lossy(segment)),
        );
    }
    out
}

/// The three column heads, each a link that sorts by it; the current one
/// carries `aria-sort` and an arrow, and its link flips the order.
fn heads(sort: Sort) -> String {
    let mut out = String::new();
    for key in Key::ALL {
        let (label, class) = match key {
            Key::Name => ("Name", "name"),
            Key::Size => ("Size", "size"),
            Key::Modified => ("Modified (UTC)", "date"),
        };
        let (aria, arrow) = match (key == sort.key, sort.order) {
            (false, _) => (String::new(), ""),
            (true, Order::Asc) => (" aria-sort=\"ascending\"".to_owned(), " ▲"),
            (true, Order::Desc) => (" aria-sort=\"descending\"".to_owned(), " ▼"),
        };
        let arrow = if arrow.is_empty() {
            String::new()
        } else {
            format!("<span aria-hidden=\"true\">{arrow}</span>")
        };
        let _ = write!(
            out,
            "<th class=\"{class}\" scope=\"col\"{aria}><a href=\"{}\">{label}{arrow}</a></th>",
            escape_html(&sort.toggled(key).query()),
        );
    }
    out
}

fn row(out: &mut String, entry: &Entry) {
    let (class, slash) = if entry.is_dir {
        ("dir", "/")
    } else {
        ("file", "")
    };
    let size = if entry.is_dir {
        "<td class=\"size\">—</td>".to_owned()
    } else {
        format!(
            "<td class=\"size\" title=\"{} bytes\">{}</td>",
            entry.size,
            human_size(entry.size)
        )
    };
    let (shown, machine) = short_date(entry.modified);
    let _ = writeln!(
        out,
        "<tr class=\"{class}\"><td class=\"name\"><a href=\"{}{slash}\">{}{slash}</a></td>{size}\
         <td class=\"date\"><time datetime=\"{machine}\">{shown}</time></td></tr>",
        escape_html(&encode_segment(&entry.name)),
        escape_html(&entry.display_name()),
    );
}

/// `2 directories, 3 files.`
fn summary(entries: &[Entry]) -> String {
    let dirs = entries.iter().filter(|e| e.is_dir).count();
    let files = entries.len() - dirs;
    let plural = |n: usize, one: &'static str, many: &'static str| if n == 1 { one } else { many };
    format!(
        "{dirs} {}, {files} {}.",
        plural(dirs, "directory", "directories"),
        plural(files, "file", "files"),
    )
}
