//! Runs the functional suite in `httptest/` against the built binary, as a
//! user's acceptance script would (the release binary under
//! `cargo test --release`): once over plain HTTP, once over HTTPS.

mod common;

use std::process::Command;

use common::process::BIN;
use common::tools::repo;

/// Runs `httptest/run.py` with `extra` arguments and asserts it ends with
/// `N passed, 0 failed` and exit status 0.
fn suite_passes(extra: &[&str]) {
    let out = Command::new("python3")
        .arg(repo("httptest/run.py"))
        .args(["--bin", BIN])
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .expect("python3 must be installed to run the functional suite");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed"))
        .unwrap_or("");
    assert!(
        out.status.success() && summary.ends_with(" 0 failed"),
        "functional suite {extra:?} failed ({summary}):\n{stdout}\n{stderr}"
    );
}

#[test]
fn functional_suite_passes() {
    suite_passes(&[]);
}

/// Every check again over HTTPS, with a certificate the suite makes with
/// the `openssl` command line tool (required: the suite fails without it).
#[test]
fn functional_suite_passes_over_tls() {
    suite_passes(&["--tls"]);
}
