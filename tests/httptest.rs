//! Runs the functional suite in `httptest/` against the built binary, as a
//! user's acceptance script would (the release binary under
//! `cargo test --release`).

use std::process::Command;

#[test]
fn functional_suite_passes() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/httptest/run.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["--bin", env!("CARGO_BIN_EXE_staticd")])
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
