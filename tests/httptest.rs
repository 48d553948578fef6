//! Runs the functional suite in `httptest/` against the built binary, as a
//! user's acceptance script would (the release binary under
//! `cargo test --release`).

mod common;

use std::process::Command;

use common::process::BIN;
use common::tools::repo;

#[test]
fn functional_suite_passes() {
    let out = Command::new("python3")
        .arg(repo("httptest/run.py"))
        .args(["--bin", BIN])
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
        "functional suite failed ({summary}):\n{stdout}\n{stderr}"
    );
}
