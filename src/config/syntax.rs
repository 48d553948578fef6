//! The config file format. A file holds `key value` lines; `#` starts a
//! comment (at the start of a line or after whitespace). Keys are the long
//! option names (`root`, `port`, `max-connections` or `max_connections`),
//! plus the keys course assignments use: `document_root`, `cpu_limit`
//! (worker threads), `thread_limit` (simultaneous connections) and
//! `listen` (port). Values are checked later, by the command line's own
//! parsers, so a file accepts exactly what the flags accept.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::Config;
use super::error::LoadError;

/// Options that only steer loading; they cannot come from a file.
pub(super) const NOT_IN_FILES: &[&str] = &[
    "config",
    "optional-config",
    "print-config",
    "check",
    "generate",
    "help",
    "version",
];

/// One `key value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    /// The long option it sets, after aliases.
    pub option: String,
    pub value: String,
    pub file: PathBuf,
    pub line: usize,
}

/// Parses the text of a config file named `file`.
pub(crate) fn parse(text: &str, file: &Path) -> Result<Vec<Setting>, LoadError> {
    let mut settings = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        let (key, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        let error = |message: String| LoadError::File {
            file: file.to_owned(),
            line: index + 1,
            message,
        };
        let option = option_for(key).ok_or_else(|| error(format!("unknown key '{key}'")))?;
        settings.push(Setting {
            option,
            value: value.to_owned(),
            file: file.to_owned(),
            line: index + 1,
        });
    }
    Ok(settings)
}

fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let at = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()));
    at.map_or(line, |i| &line[..i])
}

/// The long option a file key sets, if any.
fn option_for(key: &str) -> Option<String> {
    let key = key.to_ascii_lowercase().replace('_', "-");
    let option = match key.as_str() {
        "document-root" => "root",
        "cpu-limit" => "workers",
        "thread-limit" => "max-connections",
        "listen" => "port",
        other => other,
    };
    let known = Config::command()
        .get_arguments()
        .any(|arg| arg.get_long() == Some(option) && !NOT_IN_FILES.contains(&option));
    known.then(|| option.to_owned())
}

#[cfg(test)]
mod tests {
    //! Unit tests for the file syntax: keys, aliases, comments, quotes.
    use super::*;

    #[test]
    fn parses_keys_aliases_comments_and_quotes() {
        let text = "# comment\n\ncpu_limit 4   # trailing\nthread_limit 256\ndocument_root /var/www/html\n\
                    cache-control \"public, max-age=60\"\nshow_hidden\nheader X-A: b#c\n";
        let settings = parse(text, Path::new("httpd.conf")).unwrap();
        let pairs: Vec<(&str, &str, usize)> = settings
            .iter()
            .map(|s| (s.option.as_str(), s.value.as_str(), s.line))
            .collect();
        assert_eq!(
            pairs,
            [
                ("workers", "4", 3),
                ("max-connections", "256", 4),
                ("root", "/var/www/html", 5),
                ("cache-control", "public, max-age=60", 6),
                ("show-hidden", "", 7),
                ("header", "X-A: b#c", 8),
            ]
        );
    }

    #[test]
    fn unknown_keys_name_the_file_and_line() {
        let err = parse("port 80\nbogus 1\n", Path::new("x.conf")).unwrap_err();
        assert_eq!(err.to_string(), "config x.conf:2: unknown key 'bogus'");
        let err = parse("config other.conf\n", Path::new("x.conf")).unwrap_err();
        assert_eq!(err.to_string(), "config x.conf:1: unknown key 'config'");
    }
}
