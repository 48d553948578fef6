//! The directory listing rendered by a real browser: headless Chromium
//! takes screenshots at 1000 and 400 px, light and dark, and the script
//! checks them (see `httptest/screenshot.py`). Skipped, saying so, when
//! Chromium is not installed; CI installs it and sets
//! STATICD_REQUIRE_LINT=1 so it can never be skipped there.

use crate::common;

use common::tools::python_check;

#[test]
fn chromium_renders_the_listing_light_and_dark_at_both_widths() {
    let (ok, stdout, stderr) = python_check("screenshot.py", &[]);
    assert!(ok, "screenshot check failed:\n{stdout}\n{stderr}");
}
