//! A third-party HTTP linter (REDbot) against a file, a directory listing,
//! a 304, a variant and a redirect: nothing worse than informational notes.
//! Skipped, saying so, when REDbot is not installed; CI installs it and
//! sets STATICD_REQUIRE_LINT=1 so it can never be skipped there.

use crate::common;

use common::tools::python_check;

#[test]
fn redbot_finds_nothing_worse_than_info() {
    let (ok, stdout, stderr) = python_check("lint.py", &[]);
    assert!(ok, "lint failed:\n{stdout}\n{stderr}");
}
