//! A third-party HTTP linter (REDbot) against a file, a directory listing,
//! a 304, a variant and a redirect: nothing worse than informational notes.
//! Skipped, saying so, when REDbot is not installed; CI installs it and
//! sets STATICD_REQUIRE_LINT=1 so it can never be skipped there.

mod common;

use std::process::Command;

use common::process::BIN;
use common::tools::repo;

#[test]
fn redbot_finds_nothing_worse_than_info() {
    let out = Command::new("python3")
        .arg(repo("httptest/lint.py"))
        .args(["--bin", BIN])
        .env_remove("RUST_LOG")
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "lint failed:\n{stdout}\n{stderr}");
}
