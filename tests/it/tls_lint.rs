//! A third-party TLS scanner (testssl.sh) against the HTTPS listener: no
//! protocol below TLS 1.2, no weak cipher category, no vulnerability, and
//! nothing else rated MEDIUM or worse but what a self-signed test
//! certificate brings (see `httptest/tls_lint.py`). Skipped, saying so,
//! when testssl.sh is not installed; CI installs it and sets
//! STATICD_REQUIRE_LINT=1 so it can never be skipped there.

use crate::common;

use common::tools::python_check;

#[test]
fn testssl_finds_no_weak_protocol_cipher_or_vulnerability() {
    let (ok, stdout, stderr) = python_check("tls_lint.py", &[]);
    assert!(ok, "TLS lint failed:\n{stdout}\n{stderr}");
}
