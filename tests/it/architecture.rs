//! The shape of the source tree, checked: each layer imports only the
//! layers below it, no module names one that names it back (directly or
//! round a loop), no `#[path]` attributes, functions stay short. File
//! length is only a hint: a file is one idea, however long, so a long one
//! is named in the test's output for a reviewer, not failed.
//! The module graph is read from the sources as text, which needs no tool;
//! `.ci/modules-acyclic.py` checks the same over cargo-modules' graph (see
//! docs/testing.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer (a folder or file directly under `src/`) and the layers it
/// may name. `lib.rs` and `main.rs` wire everything and may name any.
const LAYERS: &[(&str, &[&str])] = &[
    ("http", &[]),
    ("site", &["http", "ops"]),
    ("ops", &["http"]),
    ("shutdown", &[]),
    ("serve", &["site", "http", "ops", "shutdown"]),
    ("config", &["serve", "site", "http", "ops", "shutdown"]),
];

/// Past this, a file is named in the output as worth a second look.
const LONG_FILE_LINES: usize = 800;
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
            let rel = path
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
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
fn no_path_attributes() {
    let mut wrong = Vec::new();
    for (rel, text) in all_sources() {
        if text.contains("#[path") {
            wrong.push(format!("src/{rel}: #[path] attribute"));
        }
        let lines = text.lines().count();
        if lines > LONG_FILE_LINES {
            println!("note: src/{rel} has {lines} lines; is it still one idea?");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Whether a line starts a function definition.
fn starts_fn(line: &str) -> bool {
    let mut rest = line.trim_start();
    for prefix in [
        "pub(crate) ",
        "pub(super) ",
        "pub ",
        "const ",
        "async ",
        "unsafe ",
    ] {
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
    assert!(
        wrong.is_empty(),
        "functions over {MAX_FN_LINES} lines:\n{}",
        wrong.join("\n")
    );
}

/// A file's module path: `serve/connection/mod.rs` is `serve::connection`.
fn module_of(rel: &str) -> String {
    let rel = rel.strip_suffix(".rs").unwrap_or(rel);
    let rel = rel.strip_suffix("/mod").unwrap_or(rel);
    rel.replace('/', "::")
}

/// The code of a file outside its unit tests (a `#[cfg(test)] mod tests`
/// at the end) and comments.
fn non_test_code(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]"
                && lines.get(i + 1).is_some_and(|l| l.contains("mod tests"))
        })
        .unwrap_or(lines.len());
    lines[..end].iter().map(|line| code(line)).collect()
}

/// The paths in `code`, with `use` groups spread out: `crate::{a, b::c}`
/// gives `crate::a` and `crate::b::c`, and a group's prefix on its own.
fn paths(code: &str) -> Vec<Vec<String>> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = Vec::new();
    let mut groups: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut chars = code.char_indices().peekable();
    let mut after_colons = false;
    while let Some((at, c)) = chars.next() {
        if ident(c) {
            let len = code[at..]
                .find(|c: char| !ident(c))
                .unwrap_or(code.len() - at);
            if !after_colons {
                current = groups.last().cloned().unwrap_or_default();
            }
            current.push(code[at..at + len].to_owned());
            for _ in 1..len {
                chars.next();
            }
            after_colons = false;
        } else if c == ':' && chars.peek().is_some_and(|&(_, c)| c == ':') {
            chars.next();
            after_colons = true;
        } else {
            if after_colons && c == '{' {
                groups.push(current.clone());
            } else if c == '}' && !after_colons && groups.pop().is_some() {
            }
            if current.len() > groups.last().map_or(0, Vec::len) || after_colons {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
            after_colons = false;
        }
    }
    out.push(current);
    out
}

/// The module a path names from module `me`, if any: `crate::`, `super::`
/// and `self::` paths, and paths starting with one of `me`'s children.
fn module_named(me: &str, path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    if path.len() < 2 {
        return None; // `pub(super)`, `pub(crate)`, a `mod` declaration
    }
    let own: Vec<String> = me.split("::").map(str::to_owned).collect();
    let (mut base, rest) = match path[0].as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (own, &path[1..]),
        "super" => (own[..own.len().saturating_sub(1)].to_vec(), &path[1..]),
        child if modules.contains(&format!("{me}::{child}")) => (own, path),
        _ => return None,
    };
    let mut found = (!base.is_empty()).then(|| base.join("::"));
    for segment in rest {
        base.push(segment.clone());
        let candidate = base.join("::");
        if modules.contains(&candidate) {
            found = Some(candidate);
        }
    }
    found.filter(|m| m != me)
}

/// The first cycle in `graph`, as the modules round it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_module_names_one_that_names_it_back() {
    let sources: Vec<(String, String)> = all_sources()
        .into_iter()
        .filter(|(rel, _)| rel != "main.rs" && rel != "lib.rs")
        .collect();
    let modules: BTreeSet<String> = sources.iter().map(|(rel, _)| module_of(rel)).collect();
    let mut graph = BTreeMap::new();
    for (rel, text) in &sources {
        let me = module_of(rel);
        let code = non_test_code(text).join("\n");
        let named: BTreeSet<String> = paths(&code)
            .iter()
            .filter_map(|path| module_named(&me, path, &modules))
            .collect();
        graph.insert(me, named);
    }
    let edges: usize = graph.values().map(BTreeSet::len).sum();
    assert!(edges > 50, "the module graph is read: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}
