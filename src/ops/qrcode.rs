//! `--qrcode`: a URL as a QR code drawn with Unicode half blocks, two
//! modules a character, for a phone on the same network to scan off the
//! terminal.

use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;

/// The line printed above the code.
pub(crate) const HEADING: &str = "scan to open ";

/// `url` as a QR code, dark modules on a light quiet zone (as scanners
/// expect whatever the terminal's colours); an explanation instead if it
/// does not fit in a QR code.
pub(crate) fn render(url: &str) -> String {
    match QrCode::new(url.as_bytes()) {
        Ok(code) => code
            .render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
        Err(err) => format!("(no QR code: {err})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_becomes_rows_of_half_blocks() {
        let code = render("http://192.0.2.1:8080/");
        let rows: Vec<&str> = code.lines().collect();
        assert!(rows.len() > 10);
        assert!(
            rows.iter()
                .all(|r| r.chars().count() == rows[0].chars().count())
        );
        assert!(
            code.chars()
                .all(|c| " \u{2580}\u{2584}\u{2588}\n".contains(c))
        );
    }
}
