//! A third-party TLS scanner (testssl.sh) against the HTTPS listener: no
//! protocol below TLS 1.2, no weak cipher category, no vulnerability, and
//! nothing else rated MEDIUM or worse but what a self-signed test
//! certificate brings (see `httptest/tls_lint.py`). Skipped, saying so,
//! when testssl.sh is not installed; CI installs it and sets
//! STATICD_REQUIRE_LINT=1 so it can never be skipped there.

mod common;

use std::process::Command;

use common::process::BIN;
use common::tools::repo;

#[test]
fn testssl_finds_no_weak_protocol_cipher_or_vulnerability() {
    let out = Command::new("python3")
        .arg(repo("httptest/tls_lint.py"))
        .args(["--bin", BIN])
        .env_remove("RUST_LOG")
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}{stderr}");
    assert!(out.status.success(), "TLS lint failed:\n{stdout}\n{stderr}");
}
