//! Helpers shared by the deployment tests: repository paths, command
//! output, and linters that CI must have but a developer may not.

use std::path::{Path, PathBuf};
use std::process::Output;

/// `path` in the repository (the crate root).
pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A finished command's stdout and stderr.
pub fn text(out: &Output) -> String {
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    String::from_utf8_lossy(stdout).into_owned() + &String::from_utf8_lossy(stderr)
}

/// Where `tool` is on PATH.
pub fn on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    let mut found = std::env::split_paths(&path).map(|dir| dir.join(tool));
    found.find(|p| p.is_file())
}

/// A linter on PATH, or None after printing SKIP; when STATICD_REQUIRE_LINT=1
/// (as in CI) a missing linter fails the test instead.
pub fn lint_tool(name: &str, install: &str) -> Option<PathBuf> {
    let found = on_path(name);
    if found.is_none() {
        let message = format!("SKIP: {name} not installed ({install})");
        let required = std::env::var_os("STATICD_REQUIRE_LINT").is_some_and(|v| v == "1");
        assert!(!required, "{message}");
        println!("{message}");
    }
    found
}
