//! Runs the functional suite in `httptest/` against the built binary, as a
//! user's acceptance script would (the release binary under
//! `cargo test --release`): once over plain HTTP, once over HTTPS.

use crate::common;

use common::tools::python_check;

/// Runs `httptest/run.py` with `extra` arguments and asserts it ends with
/// `N passed, 0 failed` and exit status 0.
fn suite_passes(extra: &[&str]) {
    let (ok, stdout, stderr) = python_check("run.py", extra);
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with(" failed"))
        .unwrap_or("");
    assert!(
        ok && summary.ends_with(" 0 failed"),
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
