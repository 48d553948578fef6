//! The values options take that clap has no parser for: durations, header
//! fields, charset names, log levels, `--bind`, file modes and trusted proxies. Each refuses what it cannot send
//! or use as is, so a bad value stops the server at start-up with a message
//! naming it, from the command line, the environment or a file alike.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::serve::proxy::TrustedProxy;
use crate::site::MimeType;

/// An on/off switch for features that default to on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Switch {
    On,
    Off,
}

impl From<bool> for Switch {
    fn from(on: bool) -> Switch {
        if on { Switch::On } else { Switch::Off }
    }
}

/// A header field value we can send as is: visible ASCII, spaces and tabs.
pub(crate) fn parse_field_value(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        Ok(text.to_owned())
    } else {
        Err("header values may hold only visible ASCII, spaces and tabs".to_owned())
    }
}

/// A `--trusted-proxy` value: `unix`, an address, or a network
/// `ADDRESS/PREFIX` without host bits (see [`TrustedProxy`]).
pub(crate) fn parse_trusted_proxy(text: &str) -> Result<TrustedProxy, String> {
    text.parse()
}

/// A `--metrics-listen` value: an IP address and a port.
pub(crate) fn parse_listen(text: &str) -> Result<std::net::SocketAddr, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not ADDRESS:PORT (such as 127.0.0.1:9090 or [::1]:9090)"))
}

/// `Name: value` with a token name.
pub(crate) fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once(':')
        .ok_or_else(|| format!("'{text}' is not 'Name: value'"))?;
    let tchar = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if name.is_empty() || !name.bytes().all(tchar) {
        return Err(format!("'{name}' is not a valid header name"));
    }
    let reserved = [
        "content-length",
        "connection",
        "transfer-encoding",
        "date",
        "server",
        "content-type",
    ];
    if reserved.iter().any(|r| name.eq_ignore_ascii_case(r)) {
        return Err(format!("{name} is set by staticd itself"));
    }
    Ok((name.to_owned(), parse_field_value(value)?))
}

/// A charset token such as `utf-8`.
pub(crate) fn parse_charset(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:+".contains(&b));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!("'{text}' is not a charset name"))
    }
}

/// One `--index` name: a file name in the directory itself, so not empty,
/// not `.` or `..`, and without `/` (nor NUL, which no file name holds).
pub(crate) fn parse_index_name(text: &str) -> Result<String, String> {
    match text {
        "" => Err("an index name cannot be empty".to_owned()),
        "." | ".." => Err(format!("'{text}' is not a file name")),
        _ if text.contains(['/', '\0']) => Err(format!(
            "'{text}' is not a file name in the directory (no '/')"
        )),
        _ => Ok(text.to_owned()),
    }
}

/// One `--mime-type EXT=TYPE`: an extension (a leading dot allowed, no
/// `/` or further dot, since only the last extension is matched) and a
/// media type `type/subtype` of token characters, parameters allowed
/// after `;` (e.g. `text/plain; charset=utf-8`).
pub(crate) fn parse_mime_type(text: &str) -> Result<MimeType, String> {
    let (extension, content_type) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not 'EXT=TYPE' (e.g. 'md=text/markdown')"))?;
    let extension = parse_extension(extension)?;
    let content_type = parse_field_value(content_type.trim())?;
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => Ok(MimeType {
            extension: extension.to_ascii_lowercase(),
            content_type,
        }),
        _ => Err(format!(
            "'{content_type}' is not a media type 'type/subtype'"
        )),
    }
}

/// A file extension, as `--mime-type` and `--try-extensions` take it: a
/// leading dot allowed, then letters, digits and `- _ + ~` only (no
/// further dot, since only the last extension counts, and no `/`).
pub(crate) fn parse_extension(text: &str) -> Result<String, String> {
    let text = text.trim();
    let extension = text.strip_prefix('.').unwrap_or(text);
    let name_char = |c: char| c.is_ascii_alphanumeric() || "-_+~".contains(c);
    if extension.is_empty() || !extension.chars().all(name_char) {
        return Err(format!(
            "'{text}' is not a file extension (letters, digits, - _ + ~; no dot or '/')"
        ));
    }
    Ok(extension.to_owned())
}

/// `--base-path`: an absolute URL path, `/docs` or `/docs/` alike, made of
/// the characters a path may hold unescaped (RFC 3986 `pchar`, `%XX`
/// escapes included), with no empty, `.` or `..` segment; kept with its
/// trailing slash.
pub(crate) fn parse_base_path(text: &str) -> Result<String, String> {
    let Some(rest) = text.strip_prefix('/') else {
        return Err(format!("'{text}' must start with '/' (e.g. /docs/)"));
    };
    let pchar = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%".contains(&b);
    if rest.is_empty() {
        return Ok("/".to_owned());
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    for segment in rest.split('/') {
        if matches!(segment, "" | "." | "..") || !segment.bytes().all(pchar) {
            return Err(format!(
                "'{text}' is not a plain URL path ('{segment}': no empty, . or .. segment, no space, ? or #)"
            ));
        }
        if percent_encoding::percent_decode_str(segment).any(|b| b == b'/' || b == 0) {
            return Err(format!("'{text}' encodes a '/' or NUL"));
        }
    }
    Ok(format!("/{rest}/"))
}

/// A log level name.
pub(crate) fn parse_level(text: &str) -> Result<String, String> {
    let level = text.trim().to_ascii_lowercase();
    match level.as_str() {
        "error" | "warn" | "info" | "debug" | "trace" | "off" => Ok(level),
        _ => Err(format!(
            "'{text}' is not a level (error, warn, info, debug, trace, off)"
        )),
    }
}

/// `30d` as 30 and `d`: the leading digits and what follows them, or an
/// error naming the text and suggesting `examples`.
pub(crate) fn number_and_unit<'a>(text: &'a str, examples: &str) -> Result<(u64, &'a str), String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration (try {examples})"))?;
    Ok((number, unit))
}

/// Parses `500ms`, `10s`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = number_and_unit(text, "500ms, 10s or 2m")?;
    let millis = match unit {
        "ms" => Some(number),
        "" | "s" => number.checked_mul(1_000),
        "m" => number.checked_mul(60_000),
        _ => {
            return Err(format!(
                "unknown unit '{unit}' in '{text}' (use ms, s or m)"
            ));
        }
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{text}' is too long"))
}

/// What `--bind` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Ip(IpAddr),
    /// `unix:PATH`: a Unix stream socket at PATH.
    Unix(PathBuf),
}

impl std::fmt::Display for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bind::Ip(ip) => ip.fmt(f),
            Bind::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// `--bind`: an IPv4 or IPv6 address, or `unix:` and an absolute or
/// relative path whose directory exists (the socket file is made there).
pub(crate) fn parse_bind(text: &str) -> Result<Bind, String> {
    let Some(path) = text.strip_prefix("unix:") else {
        return text
            .parse()
            .map(Bind::Ip)
            .map_err(|_| format!("'{text}' is neither an IP address nor unix:PATH"));
    };
    if path.is_empty() {
        return Err("unix: needs the socket's path, e.g. unix:/run/staticd/http.sock".to_owned());
    }
    let path = PathBuf::from(path);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(format!("the directory {} does not exist", dir.display()));
    }
    Ok(Bind::Unix(path))
}

/// `--socket-mode`: octal permission bits, `0660` or `660`.
pub(crate) fn parse_mode(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!("'{text}' is not an octal file mode from 0 to 0777")),
    }
}

/// A mode as `--help` and `--print-config` show it.
pub(crate) fn mode_text(mode: u32) -> String {
    format!("{mode:04o}")
}

#[cfg(test)]
mod tests {
    //! Unit tests for the value parsers, alone and through the command line.
    use super::*;
    use crate::config::{Config, Switch};

    #[test]
    fn bind_is_an_address_or_a_unix_path_in_an_existing_directory() {
        assert_eq!(parse_bind("::1"), Ok(Bind::Ip("::1".parse().unwrap())));
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("s.sock");
        let text = format!("unix:{}", sock.display());
        assert_eq!(parse_bind(&text), Ok(Bind::Unix(sock.clone())));
        assert_eq!(Bind::Unix(sock).to_string(), text);
        let missing = format!("unix:{}/no/s.sock", dir.path().display());
        assert!(parse_bind(&missing).unwrap_err().contains("does not exist"));
        assert!(parse_bind("unix:").is_err());
        assert!(parse_bind("localhost").is_err());
    }

    #[test]
    fn socket_modes_are_octal_up_to_0777() {
        assert_eq!(parse_mode("0660"), Ok(0o660));
        assert_eq!(parse_mode("600"), Ok(0o600));
        assert_eq!(parse_mode("0o777"), Ok(0o777));
        assert!(parse_mode("0800").is_err());
        assert!(parse_mode("1777").is_err());
        assert_eq!(mode_text(0o660), "0660");
    }
    use clap::Parser;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "",
            "s",
            "-1s",
            "1h",
            "1.5s",
            "99999999999999999999s",
            "18446744073709551615m",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        let c = Config::try_parse_from([
            "staticd",
            "--header-timeout",
            "250ms",
            "--max-requests",
            "3",
        ])
        .unwrap();
        assert_eq!(
            (c.header_timeout, c.max_requests),
            (Duration::from_millis(250), 3)
        );
        let d = Config::try_parse_from(["staticd"]).unwrap();
        assert_eq!(d.send_timeout, Duration::from_secs(30));
        assert_eq!(
            (d.max_connections, d.grace_period),
            (10_000, Duration::from_secs(10))
        );
    }

    #[test]
    fn http_options() {
        let c = Config::try_parse_from([
            "staticd",
            "--header",
            "X-Frame-Options: DENY",
            "--header",
            "X-A:b",
            "--cache-control",
            "max-age=60",
            "--charset",
            "utf-8",
            "--precompressed",
            "off",
            "--show-hidden",
        ])
        .unwrap();
        let want = [
            ("X-Frame-Options".to_owned(), "DENY".to_owned()),
            ("X-A".to_owned(), "b".to_owned()),
        ];
        assert_eq!(c.headers, want);
        assert_eq!(
            (c.cache_control.as_deref(), c.charset.as_deref()),
            (Some("max-age=60"), Some("utf-8"))
        );
        assert_eq!((c.precompressed, c.show_hidden), (Switch::Off, true));
        let d = Config::try_parse_from(["staticd"]).unwrap();
        assert_eq!(
            (d.precompressed, d.show_hidden, d.headers.len()),
            (Switch::On, false, 0)
        );
    }

    #[test]
    fn mime_types_are_extension_and_media_type() {
        let c = Config::try_parse_from([
            "staticd",
            "--mime-type",
            ".MD=text/markdown; charset=utf-8",
            "--mime-type",
            "gpx=application/gpx+xml",
        ])
        .unwrap();
        let pairs: Vec<_> = c
            .mime_types
            .iter()
            .map(|m| (m.extension.as_str(), m.content_type.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("md", "text/markdown; charset=utf-8"),
                ("gpx", "application/gpx+xml")
            ]
        );
        for bad in [
            "md",
            "=text/plain",
            "a/b=text/plain",
            "tar.gz=application/gzip",
            "md=",
            "md=text",
            "md=text/",
            "md=/plain",
            "md=text plain/x",
            "md=text/plain\u{7f}",
        ] {
            let err = Config::try_parse_from(["staticd", "--mime-type", bad]).unwrap_err();
            assert!(err.to_string().contains("--mime-type"), "{bad}: {err}");
        }
    }

    #[test]
    fn base_paths_are_plain_absolute_paths_kept_with_a_slash() {
        for (given, kept) in [
            ("/", "/"),
            ("/docs", "/docs/"),
            ("/docs/", "/docs/"),
            ("/a/b%20c/", "/a/b%20c/"),
        ] {
            let c = Config::try_parse_from(["staticd", "--base-path", given]).unwrap();
            assert_eq!(c.base_path, kept, "{given}");
        }
        for bad in [
            "docs",
            "",
            "//",
            "/a//b",
            "/./",
            "/a/../",
            "/a b",
            "/a?b",
            "/a#b",
            "/%2F",
            "http://x/",
        ] {
            let err = Config::try_parse_from(["staticd", "--base-path", bad]).unwrap_err();
            assert!(err.to_string().contains("--base-path"), "{bad}: {err}");
        }
    }

    #[test]
    fn try_extensions_are_extensions_in_order() {
        let c = Config::try_parse_from(["staticd", "--try-extensions", "html,.htm"]).unwrap();
        assert_eq!(c.try_extensions, ["html", "htm"]);
        for bad in ["", "a.b", "a/b", "html,", "."] {
            let err = Config::try_parse_from(["staticd", "--try-extensions", bad]).unwrap_err();
            assert!(err.to_string().contains("--try-extensions"), "{bad}: {err}");
        }
    }

    #[test]
    fn index_names_are_file_names_in_order() {
        let c = Config::try_parse_from(["staticd", "--index", "index.htm,default.html"]).unwrap();
        assert_eq!(c.index, ["index.htm", "default.html"]);
        assert_eq!(
            Config::try_parse_from(["staticd"]).unwrap().index,
            ["index.html"]
        );
        for bad in ["", "a/b", ".", "..", "index.html,", "x,/etc/passwd"] {
            let err = Config::try_parse_from(["staticd", "--index", bad]).unwrap_err();
            assert!(err.to_string().contains("--index"), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_values_are_refused() {
        for args in [
            &["staticd", "--port", "70000"][..],
            &["staticd", "--workers", "0"],
            &["staticd", "--bind", "nowhere"],
            &["staticd", "--autoindex", "maybe"],
            &["staticd", "--bogus"],
            &["staticd", "--keepalive-timeout", "soon"],
            &["staticd", "--max-connections", "0"],
            &["staticd", "--symlinks", "sometimes"],
            &["staticd", "--header", "NoColon"],
            &["staticd", "--header", "Bad Name: x"],
            &["staticd", "--header", "Content-Length: 5"],
            &["staticd", "--header", "X: a\u{1}b"],
            &["staticd", "--charset", "utf 8"],
            &["staticd", "--precompressed", "maybe"],
        ] {
            assert!(Config::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
