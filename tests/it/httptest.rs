//! Runs the functional suite in `httptest/` against the built binary, as
//! a user's acceptance script would (the release binary under
//! `cargo test --release`): over plain HTTP, over HTTPS, and over HTTP/2
//! both ways (h2c by prior knowledge, h2 by ALPN).

use crate::common;

use common::tools::{python_check, required};

/// Runs `httptest/run.py` with `extra` arguments and asserts it ends with
/// `N passed, 0 failed` (and `, N skipped` under `--http2`) and exit
/// status 0.
fn suite_passes(extra: &[&str]) {
    let (ok, stdout, stderr) = python_check("run.py", extra);
    if ok && stdout.starts_with("SKIP:") {
        // run.py --http2 without the h2 package; it exits 1 instead when
        // STATICD_REQUIRE_LINT=1, and this catches it saying SKIP anyway.
        assert!(!required(), "functional suite {extra:?} skipped:\n{stdout}");
        return;
    }
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed, "))
        .unwrap_or("");
    let clean = summary.ends_with(" 0 failed") || summary.contains(" 0 failed, ");
    assert!(
        ok && clean,
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

/// Every check not about the HTTP/1.1 wire itself over h2c (HTTP/2 by
/// prior knowledge on the plain port), with hyper-h2 as the client
/// (`httptest/h2-requirements.txt`; skipped without it, except under
/// STATICD_REQUIRE_LINT=1, as in CI).
#[test]
fn functional_suite_passes_over_http2() {
    suite_passes(&["--http2"]);
}

/// The same over HTTPS, HTTP/2 chosen by ALPN (the suite offers `h2` alone).
#[test]
fn functional_suite_passes_over_http2_tls() {
    suite_passes(&["--http2", "--tls"]);
}
