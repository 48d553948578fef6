//! The docs kept honest against the tree they describe: the module map in
//! `docs/architecture.md` names every file under `src/` and no other, every
//! long flag `staticd --help` prints has its row on the options page, the
//! README stays short enough to read at once, and every relative link and
//! `#anchor` in the README, the changelog and `docs/` leads somewhere.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::tools::{read, repo};

/// The README is an introduction; the manual is in `docs/`.
const README_MAX_LINES: usize = 250;

/// Every `.rs` file under `src/`, as `src/a/b.rs`.
fn source_files() -> BTreeSet<String> {
    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(repo("")).expect("inside the repository");
                found.insert(relative.to_string_lossy().into_owned());
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(&repo("src"), &mut found);
    found
}

/// The first cell of each table row, for rows whose first cell is code.
fn first_cells(markdown: &str) -> impl Iterator<Item = &str> {
    markdown.lines().filter_map(|line| {
        let cell = line.strip_prefix("| `")?;
        Some(&cell[..cell.find('|')?])
    })
}

/// The files the module map names: the first cell of its tables' rows.
fn mapped_files() -> BTreeSet<String> {
    let text = read(&repo("docs/architecture.md"));
    let map = &text[text.find("\n## Module map").expect("a module map section")..];
    let map = map[1..].split("\n## ").next().expect("the section");
    first_cells(map)
        .map(|cell| cell.trim().trim_end_matches('`').to_owned())
        .filter(|file| file.starts_with("src/"))
        .collect()
}

#[test]
fn the_module_map_names_every_source_file_and_no_other() {
    let (files, mapped) = (source_files(), mapped_files());
    let unmapped: Vec<_> = files.difference(&mapped).collect();
    let gone: Vec<_> = mapped.difference(&files).collect();
    assert!(
        unmapped.is_empty() && gone.is_empty(),
        "docs/architecture.md, module map: missing {unmapped:?}; no such file {gone:?}"
    );
}

/// The long flags of `--help`'s option lines (`  -r, --root <DIR>`).
fn help_flags() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_staticd"))
        .arg("--help")
        .env_clear()
        .output()
        .expect("run staticd --help");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    text.lines()
        .filter(|line| line.trim_start().starts_with('-'))
        .filter_map(|line| line.split_whitespace().find(|w| w.starts_with("--")))
        .map(|flag| flag.trim_end_matches(',').to_owned())
        .collect()
}

/// Whether `cell` names `flag` whole (`--hsts` is not in `--hsts-subdomains`).
fn names_flag(cell: &str, flag: &str) -> bool {
    cell.match_indices(flag).any(|(at, _)| {
        let next = cell[at + flag.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

#[test]
fn every_flag_in_help_has_a_row_on_the_options_page() {
    let page = read(&repo("docs/options.md"));
    let flags = help_flags();
    assert!(flags.contains("--root") && flags.len() > 20, "{flags:?}");
    let missing: Vec<_> = flags
        .iter()
        .filter(|flag| !first_cells(&page).any(|cell| names_flag(cell, flag)))
        .collect();
    assert!(
        missing.is_empty(),
        "docs/options.md has no row for {missing:?}"
    );
}

#[test]
fn the_readme_is_short() {
    let lines = read(&repo("README.md")).lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines; the manual belongs in docs/ (at most {README_MAX_LINES})"
    );
}

/// The markdown pages whose links are checked.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![repo("README.md"), repo("CHANGELOG.md")];
    for entry in std::fs::read_dir(repo("docs")).expect("read docs") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    pages.sort();
    pages
}

/// The lines of `markdown` outside fenced code blocks.
fn prose(markdown: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    markdown.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// A heading's anchor as GitHub makes it: lower case, punctuation dropped
/// (except `-` and `_`), spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor of a page, with GitHub's `-1`, `-2` for repeated headings.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in prose(markdown) {
        let Some(heading) = line.strip_prefix('#') else {
            continue;
        };
        let base = slug(heading.trim_start_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while !found.insert(anchor.clone()) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
    }
    found
}

/// The targets of `[text](target)` links outside code.
fn links(markdown: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(markdown) {
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            let in_code = rest[..at].matches('`').count() % 2 == 1;
            if !in_code {
                found.push(after[..end].to_owned());
            }
            rest = &after[end..];
        }
    }
    found
}

/// Why `target`, linked from `page`, leads nowhere; None when it resolves.
fn broken(page: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, anchor) = target.split_once('#').unwrap_or((target, ""));
    let file = match path {
        "" => page.to_path_buf(),
        path => page.parent().expect("a directory").join(path),
    };
    if !file.exists() {
        return Some(format!("{target}: no such file"));
    }
    let is_page = file.extension().is_some_and(|e| e == "md");
    if anchor.is_empty() || !is_page {
        return None;
    }
    let found = anchors(&read(&file));
    (!found.contains(anchor)).then(|| format!("{target}: no heading for #{anchor}"))
}

#[test]
fn every_relative_link_and_anchor_resolves() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for page in pages() {
        for target in links(&read(&page)) {
            checked += 1;
            if let Some(why) = broken(&page, &target) {
                let name = page.strip_prefix(repo("")).unwrap_or(&page);
                problems.push(format!("{}: {why}", name.display()));
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser reading?"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_link_checker_sees_what_github_does() {
    assert_eq!(
        slug(" What it costs, against nginx's gzip"),
        "what-it-costs-against-nginxs-gzip"
    );
    assert_eq!(slug("`http/`: the wire format"), "http-the-wire-format");
    let page = "# A\n```\n# not a heading\n[x](nowhere.md)\n```\n## A\n[y](#a-1) `[z](no)`\n";
    assert_eq!(anchors(page), BTreeSet::from(["a".into(), "a-1".into()]));
    assert_eq!(links(page), ["#a-1"]);
    assert!(broken(&repo("README.md"), "docs/options.md#no-such-heading").is_some());
    assert!(broken(&repo("README.md"), "docs/nothing.md").is_some());
    assert!(broken(&repo("README.md"), "docs/options.md#configuration-files").is_none());
}
