//! The shape of the source tree, checked: each layer imports only the
//! layers below it, no `#[path]` attributes, files and functions stay
//! short. `cargo modules dependencies --lib --acyclic` checks cycles at
//! every level as well (see the README); this test needs no tool and
//! fails on the first upward import.

use std::path::{Path, PathBuf};

/// Each layer (a folder or file directly under `src/`) and the layers it
/// may name. `lib.rs` and `main.rs` wire everything and may name any.
const LAYERS: &[(&str, &[&str])] = &[
    ("http", &[]),
    ("site", &["http"]),
    ("ops", &["http"]),
    ("shutdown", &[]),
    ("serve", &["site", "http", "ops", "shutdown"]),
    ("config", &["serve", "site", "http", "ops", "shutdown"]),
];

const MAX_FILE_LINES: usize = 400;
const MAX_FN_LINES: usize = 60;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            (rel, std::fs::read_to_string(&path).expect("read source"))
        })
        .collect()
}

/// The layer a file under `src/` belongs to: its first path component.
fn layer_of(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// The code of a line, without a trailing `//` comment (good enough for
/// this tree: no `//` inside the strings that name modules).
fn code(line: &str) -> &str {
    line.find("//").map_or(line, |at| &line[..at])
}

#[test]
fn layers_import_only_the_layers_below_them() {
    let mut wrong = Vec::new();
    for (rel, text) in all_sources() {
        let layer = layer_of(&rel);
        let Some((_, allowed)) = LAYERS.iter().find(|(name, _)| *name == layer) else {
            continue; // lib.rs, main.rs
        };
        for (n, line) in text.lines().enumerate() {
            let code = code(line);
            for (other, _) in LAYERS {
                let named = code.contains(&format!("crate::{other}::"))
                    || code.contains(&format!("crate::{other};"))
                    || code.contains(&format!("crate::{other}}}"))
                    || code.contains(&format!("crate::{other},"));
                if named && *other != layer && !allowed.contains(other) {
                    wrong.push(format!("src/{rel}:{}: {layer} names {other}", n + 1));
                }
            }
            // The crate root re-exports from the upper layers.
            if code.contains("crate::Config") || code.contains("crate::Server") {
                wrong.push(format!("src/{rel}:{}: names the crate root", n + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn no_path_attributes_and_no_long_files() {
    let mut wrong = Vec::new();
    for (rel, text) in all_sources() {
        if text.contains("#[path") {
            wrong.push(format!("src/{rel}: #[path] attribute"));
        }
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            wrong.push(format!("src/{rel}: {lines} lines"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether a line starts a function definition.
fn starts_fn(line: &str) -> bool {
    let mut rest = line.trim_start();
    for prefix in ["pub(crate) ", "pub(super) ", "pub ", "const ", "async ", "unsafe "] {
        rest = rest.strip_prefix(prefix).unwrap_or(rest);
    }
    rest.starts_with("fn ")
}

/// The number of lines of the function starting at `lines[0]`, by its braces.
fn fn_length(lines: &[&str]) -> usize {
    let mut depth = 0i32;
    let mut opened = false;
    for (n, line) in lines.iter().enumerate() {
        let code = code(line);
        if !opened && code.trim_end().ends_with(';') && !code.contains('{') {
            return n + 1; // a declaration without a body
        }
        depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        opened |= code.contains('{');
        if opened && depth <= 0 {
            return n + 1;
        }
    }
    lines.len()
}

#[test]
fn no_long_functions() {
    let mut wrong = Vec::new();
    for (rel, text) in all_sources() {
        let lines: Vec<&str> = text.lines().collect();
        for at in 0..lines.len() {
            if starts_fn(lines[at]) {
                let len = fn_length(&lines[at..]);
                if len > MAX_FN_LINES {
                    wrong.push(format!("src/{rel}:{}: {len} lines", at + 1));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "functions over {MAX_FN_LINES} lines:\n{}", wrong.join("\n"));
}
