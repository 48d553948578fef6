//! The `--auth-file` format: Apache's htpasswd, bcrypt entries only. Pure:
//! text in, entries or the line at fault out.

use std::collections::HashMap;

/// One `user:hash` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub user: String,
    /// A bcrypt hash, checked to have bcrypt's shape (`$2y$CC$` and 53
    /// digits of its alphabet).
    pub hash: String,
    pub cost: u32,
}

/// Why a line was refused: its number (from 1; 0 for the file as a whole)
/// and what is wrong, for an error naming file and line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LineError {
    pub line: usize,
    pub message: String,
}

/// The longest user name taken: Apache's own limit.
pub(crate) const MAX_USER: usize = 255;

/// The entries of an htpasswd file. Blank lines and lines starting with
/// `#` are skipped; every other line must be `user:hash` with a bcrypt
/// hash, and a user may appear once.
pub(crate) fn parse(text: &str) -> Result<Vec<Entry>, LineError> {
    let mut entries = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, raw) in text.split('\n').enumerate() {
        let line = index + 1;
        let refuse = |message: String| LineError { line, message };
        let text = raw.strip_suffix('\r').unwrap_or(raw);
        if text.trim().is_empty() || text.starts_with('#') {
            continue;
        }
        let (user, hash) = text
            .split_once(':')
            .ok_or_else(|| refuse("not 'user:hash'".to_owned()))?;
        check_user(user).map_err(refuse)?;
        let cost = bcrypt_cost(hash).map_err(refuse)?;
        if let Some(first) = seen.insert(user.to_owned(), line) {
            return Err(refuse(format!("user '{user}' is already on line {first}")));
        }
        entries.push(Entry {
            user: user.to_owned(),
            hash: hash.to_owned(),
            cost,
        });
    }
    if entries.is_empty() {
        return Err(LineError {
            line: 0,
            message: "has no users".to_owned(),
        });
    }
    Ok(entries)
}

fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("the user name is empty".to_owned());
    }
    if user.len() > MAX_USER {
        return Err(format!("the user name is longer than {MAX_USER} bytes"));
    }
    if user.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the user name has a space or a control character".to_owned());
    }
    Ok(())
}

/// The cost of a bcrypt hash, or why `hash` is not one.
fn bcrypt_cost(hash: &str) -> Result<u32, String> {
    let not_bcrypt = |kind: &str| {
        format!("only bcrypt entries ($2y$ or $2b$, from 'htpasswd -B') are supported, not {kind}")
    };
    let kind = if hash.starts_with("$apr1$") {
        Some("Apache MD5 ($apr1$)")
    } else if hash.starts_with("{SHA}") {
        Some("SHA-1 ({SHA})")
    } else if hash.starts_with("$1$") || hash.starts_with("$5$") || hash.starts_with("$6$") {
        Some("crypt(3)")
    } else if !hash.starts_with('$') {
        Some("plain text or DES crypt")
    } else {
        None
    };
    if let Some(kind) = kind {
        return Err(not_bcrypt(kind));
    }
    let version = hash.get(1..4).unwrap_or("");
    if !matches!(version, "2y$" | "2b$" | "2a$") {
        return Err(not_bcrypt("this scheme"));
    }
    let malformed = || "malformed bcrypt hash: want $2y$CC$ and 53 characters".to_owned();
    let (text, digits) = hash[4..].split_once('$').ok_or_else(malformed)?;
    let cost: u32 = match text.parse() {
        Ok(cost @ 4..=31) if text.len() == 2 => cost,
        _ => return Err(format!("bcrypt cost '{text}' is not 04 to 31")),
    };
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'.' || b == b'/';
    if digits.len() != 53 || !digits.bytes().all(alphabet) {
        return Err(malformed());
    }
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A string of bcrypt's shape, cost 5, for the shape checks.
    const HASH: &str = "$2y$05$9k3TkVgwWUUbe7yrE0JHPOkqBzJcbI9VbiO2hWDBgTCvdOUPCpsPy";

    fn error(text: &str) -> LineError {
        parse(text).unwrap_err()
    }

    #[test]
    fn reads_entries_and_skips_comments() {
        let text = format!(
            "# made by htpasswd -B\n\nalice:{HASH}\r\nbob:{}\n",
            HASH.replace("$2y$", "$2b$")
        );
        let entries = parse(&text).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].user, "alice");
        assert_eq!(entries[0].hash, HASH);
        assert_eq!(entries[0].cost, 5);
        assert_eq!(entries[1].user, "bob");
    }

    #[test]
    fn names_the_line_at_fault() {
        let cases = [
            (format!("alice:{HASH}\nbob\n"), 2, "not 'user:hash'"),
            (format!("alice:{HASH}\n:{HASH}"), 2, "empty"),
            (format!("al ice:{HASH}"), 1, "space"),
            (
                format!("alice:{HASH}\n\nalice:{HASH}"),
                3,
                "already on line 1",
            ),
            ("alice:$apr1$abc$def".to_owned(), 1, "$apr1$"),
            (
                "alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=".to_owned(),
                1,
                "{SHA}",
            ),
            ("alice:password".to_owned(), 1, "plain text"),
            ("alice:$6$salt$hash".to_owned(), 1, "crypt(3)"),
            ("alice:$2x$05$abc".to_owned(), 1, "this scheme"),
            (format!("alice:{}", HASH.replace("$05$", "$99$")), 1, "cost"),
            (format!("alice:{}", HASH.replace("$05$", "$5$")), 1, "cost"),
            (format!("alice:{}", &HASH[..59]), 1, "malformed"),
            (format!("alice:{}!", &HASH[..59]), 1, "malformed"),
            (format!("{}:{HASH}", "u".repeat(MAX_USER + 1)), 1, "longer"),
            ("# nobody\n\n".to_owned(), 0, "no users"),
        ];
        for (text, line, needle) in cases {
            let err = error(&text);
            assert_eq!(err.line, line, "{text}: {err:?}");
            assert!(err.message.contains(needle), "{text}: {err:?}");
        }
        // The longest name allowed is taken.
        assert!(parse(&format!("{}:{HASH}", "u".repeat(MAX_USER))).is_ok());
    }
}
