//! Escaping for the text formats staticd writes: HTML, JSON, and quoted
//! access-log fields. Anything from a client or the filesystem goes
//! through one of these before it is written.

use std::fmt::Write as _;

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a JSON string (RFC 8259 §7), including `<` and `>`
/// so the output is also safe to embed in HTML.
pub(crate) fn escape_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '<' || c == '>' || c == '&' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Escapes a value for a double-quoted access-log field: `"` and `\\`
/// are backslash-escaped, bytes outside printable ASCII become `\\xHH`,
/// so a log line can never be split or forged by a client.
pub(crate) fn escape_log(text: &[u8], out: &mut Vec<u8>) {
    let mut rest = text;
    // Runs of bytes that need nothing are copied whole: most values
    // (targets, user agents) have no byte to escape at all.
    while let Some(at) = rest
        .iter()
        .position(|&b| !matches!(b, b' '..=b'~') || b == b'"' || b == b'\\')
    {
        out.extend_from_slice(&rest[..at]);
        match rest[at] {
            b @ (b'"' | b'\\') => out.extend_from_slice(&[b'\\', b]),
            b => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[usize::from(b >> 4)],
                    HEX[usize::from(b & 15)],
                ]);
            }
        }
        rest = &rest[at + 1..];
    }
    out.extend_from_slice(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
        assert_eq!(
            escape_json("a\"b\\c\n<\u{1}"),
            "a\\\"b\\\\c\\n\\u003c\\u0001"
        );
    }

    #[test]
    fn log_fields_cannot_be_forged() {
        let mut out = Vec::new();
        escape_log(b"a\"b\\c\n\x1b[31m\xff", &mut out);
        assert_eq!(out, b"a\\\"b\\\\c\\x0A\\x1B[31m\\xFF");
    }
}
