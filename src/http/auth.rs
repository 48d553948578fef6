//! `Authorization: Basic` (RFC 7617): the field kept as sent, behind a
//! type that never prints it, and its decoding into a user and password.
//! What is checked against what is the site's business.

use std::fmt;

/// A field value that must never reach a log: its `Debug` hides it, so a
/// request printed with `{:?}` cannot leak credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Box<str>);

impl Secret {
    pub fn new(value: &str) -> Secret {
        Secret(value.into())
    }

    /// The value as sent; read only to check it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A user and password from a `Basic` field, the password hidden from
/// `Debug` as [`Secret`] is.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub user: String,
    pub password: Vec<u8>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The credentials of an `Authorization` value, if it is the `Basic`
/// scheme (case-insensitive) with a token68 that decodes to `user:pass`
/// (RFC 7617 §2: the user has no colon, the password may). The user must
/// be UTF-8, as the challenge's `charset="UTF-8"` asks; the password is
/// compared as bytes.
pub(crate) fn basic(value: &str) -> Option<Credentials> {
    let (scheme, token) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = decode_base64(token.trim_start_matches(' ').as_bytes())?;
    let colon = decoded.iter().position(|&b| b == b':')?;
    let user = String::from_utf8(decoded[..colon].to_vec()).ok()?;
    Some(Credentials {
        user,
        password: decoded[colon + 1..].to_vec(),
    })
}

/// The value of one base64 digit (RFC 4648 §4 alphabet).
fn digit(b: u8) -> Option<u32> {
    let value = match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Standard base64, with or without its `=` padding; anything else
/// (another alphabet, stray bits in the last digit) is refused, so one
/// field has one reading.
fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let unpadded = match text.iter().position(|&b| b == b'=') {
        Some(at) => {
            let padding = &text[at..];
            let complete = text.len() % 4 == 0 && padding.len() <= 2;
            if !complete || padding.iter().any(|&b| b != b'=') {
                return None;
            }
            &text[..at]
        }
        None => text,
    };
    if unpadded.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(unpadded.len() * 3 / 4);
    for chunk in unpadded.chunks(4) {
        let mut bits = 0u32;
        for &b in chunk {
            bits = bits << 6 | digit(b)?;
        }
        let bytes = chunk.len() * 6 / 8;
        let spare = chunk.len() * 6 - bytes * 8;
        if bits & ((1 << spare) - 1) != 0 {
            return None;
        }
        let bits = bits >> spare;
        for i in (0..bytes).rev() {
            out.push((bits >> (8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(value: &str) -> Option<(String, Vec<u8>)> {
        basic(value).map(|c| (c.user, c.password))
    }

    #[test]
    fn decodes_rfc_7617_example() {
        // RFC 7617 §2: "Aladdin" / "open sesame".
        assert_eq!(
            pair("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="),
            Some(("Aladdin".into(), b"open sesame".to_vec()))
        );
        assert_eq!(
            pair("basic   QWxhZGRpbjpvcGVuIHNlc2FtZQ"),
            Some(("Aladdin".into(), b"open sesame".to_vec()))
        );
        // The password keeps its colons; an empty password is a password.
        assert_eq!(pair("Basic dTphOmI="), Some(("u".into(), b"a:b".to_vec())));
        assert_eq!(pair("Basic dTo="), Some(("u".into(), Vec::new())));
        // UTF-8 user names (RFC 7617 §2.1's example, "test" / "123£").
        assert_eq!(
            pair("Basic dGVzdDoxMjPCow=="),
            Some(("test".into(), "123\u{a3}".as_bytes().to_vec()))
        );
    }

    #[test]
    fn refuses_what_is_not_basic_credentials() {
        for bad in [
            "",
            "Basic",
            "Basic ",
            "Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            "Basic QWxhZGRpbg==",      // no colon
            "Basic QWxhZGRpbjpvcGVu?", // not base64
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=",
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ===",
            "Basic QWxh=ZGRp",
            "Basic QWxhZGRpbjpvcGVuIHNlc2FtZR==", // stray bits
            "Basic QWxhZ",
            "Basic //86YQ==", // user not UTF-8
        ] {
            assert_eq!(pair(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64_round_trips_every_length() {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for len in 0..40usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut text = Vec::new();
            for chunk in data.chunks(3) {
                let mut bits = 0u32;
                for (i, &b) in chunk.iter().enumerate() {
                    bits |= u32::from(b) << (16 - 8 * i);
                }
                for i in 0..=chunk.len() {
                    text.push(ALPHABET[(bits >> (18 - 6 * i) & 63) as usize]);
                }
                text.extend(std::iter::repeat_n(b'=', 3 - chunk.len()));
            }
            assert_eq!(decode_base64(&text), Some(data.clone()), "{len}");
            let bare: Vec<u8> = text.iter().copied().filter(|&b| b != b'=').collect();
            assert_eq!(decode_base64(&bare), Some(data), "{len} unpadded");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let creds = basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==").unwrap();
        let shown = format!(
            "{creds:?} {:?}",
            Secret::new("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert!(
            !shown.contains("sesame") && !shown.contains("QWxh"),
            "{shown}"
        );
    }
}
