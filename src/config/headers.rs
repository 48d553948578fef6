//! The options of the rules that add header fields to responses:
//! `--path-header`, `--security-headers`, `--cors-origin` (see
//! [`crate::site::rules::headers`]). Each value is checked by its parser,
//! so a bad one stops start-up naming the option, and the file and line
//! when it comes from a config file.

use std::sync::Mutex;

use clap::Args;

use crate::site::rules::cors::Cors;
use crate::site::rules::headers::{HeaderRules, PathHeader};
use crate::site::rules::pattern::Pattern;

use super::values::parse_header;

/// Fields staticd sets from what it sends, beyond those `--header` may not
/// set either: a rule setting them would contradict the response.
const OWNED: &[&str] = &[
    "content-range",
    "content-encoding",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
];

/// `--path-header`, `--security-headers`, `--cors-origin`.
#[derive(Debug, Clone, Default, Args)]
pub struct HeaderArgs {
    /// A header for the paths a glob matches, e.g. '/assets/** Cache-Control: max-age=31536000' (repeatable; a later rule replaces an earlier one's field)
    #[arg(long = "path-header", env = "STATICD_PATH_HEADER", value_name = "PATTERN NAME: VALUE",
          value_parser = parse_path_header, value_delimiter = '\n', help_heading = "Site rules")]
    pub path_headers: Vec<PathHeader>,

    /// Send X-Content-Type-Options, Referrer-Policy and X-Frame-Options on every response
    #[arg(long, env = "STATICD_SECURITY_HEADERS", help_heading = "Site rules")]
    pub security_headers: bool,

    /// Allow cross-origin GET and HEAD from this origin (scheme://host or scheme://host:port), or * for any (repeatable)
    #[arg(long = "cors-origin", env = "STATICD_CORS_ORIGIN", value_name = "ORIGIN",
          value_parser = parse_origin, value_delimiter = '\n', help_heading = "Site rules")]
    pub cors_origins: Vec<String>,
}

impl HeaderArgs {
    /// The rules as the site takes them.
    pub fn rules(&self) -> HeaderRules {
        let cors = Cors {
            origins: self.cors_origins.clone(),
        };
        HeaderRules::new(self.path_headers.clone(), self.security_headers, cors)
    }
}

/// `PATTERN NAME: VALUE`: a glob (see [`Pattern`]), a space, and a field
/// as `--header` takes it, less the fields staticd owns.
pub(crate) fn parse_path_header(text: &str) -> Result<PathHeader, String> {
    let text = text.trim();
    let (pattern, field) = text
        .split_once(char::is_whitespace)
        .ok_or_else(|| format!("'{text}' is not 'PATTERN NAME: VALUE'"))?;
    let pattern = Pattern::parse(pattern)?;
    let (name, value) = parse_header(field.trim())?;
    if OWNED.iter().any(|o| name.eq_ignore_ascii_case(o)) {
        return Err(format!("{name} is set by staticd itself"));
    }
    let name = intern(&name);
    Ok(PathHeader {
        pattern,
        name,
        value,
    })
}

/// `name` as a `&'static str`, which response fields are named with. Each
/// distinct name is made once for the life of the process, however often
/// the configuration is read again, so what this keeps is bounded by the
/// names ever configured, not by reloads.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(known) = names.iter().find(|n| **n == name) {
        return known;
    }
    let made: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.push(made);
    made
}

/// `scheme://host[:port]` as a browser sends it in `Origin`, or `*`.
pub(crate) fn parse_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text == "*" {
        return Ok(text.to_owned());
    }
    let refused = || format!("'{text}' is not an origin: scheme://host[:port], or *");
    let (scheme, rest) = text.split_once("://").ok_or_else(refused)?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (rest, None),
    };
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ip) => ip.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.".contains(&b))
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok()
    });
    if scheme_ok && host_ok && port_ok {
        Ok(text.to_owned())
    } else {
        Err(refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use clap::Parser;

    #[test]
    fn path_headers_parse_in_order() {
        let c = Config::try_parse_from([
            "staticd",
            "--path-header",
            "/assets/** Cache-Control: public, max-age=31536000, immutable",
            "--path-header",
            "*.html  X-A:b",
            "--security-headers",
            "--cors-origin",
            "https://example.com:8443",
        ])
        .unwrap();
        let rules = c.header_rules.rules();
        let got: Vec<(&str, &str, &str)> = rules
            .path_headers
            .iter()
            .map(|r| (r.pattern.as_str(), r.name, r.value.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "/assets/**",
                    "Cache-Control",
                    "public, max-age=31536000, immutable"
                ),
                ("*.html", "X-A", "b"),
            ]
        );
        assert!(rules.security);
        assert_eq!(rules.cors.origins, ["https://example.com:8443"]);
        let d = Config::try_parse_from(["staticd"])
            .unwrap()
            .header_rules
            .rules();
        assert!(d.path_headers.is_empty() && !d.security && d.cors.origins.is_empty());
    }

    #[test]
    fn bad_path_headers_are_refused() {
        for bad in [
            "/a/[b X: y",
            "/assets/**",
            "/assets/** NoColon",
            "/assets/** Bad Name: x",
            "/assets/** X: a\u{1}b",
            "/assets/** Content-Length: 5",
            "/assets/** transfer-encoding: chunked",
            "/assets/** Connection: close",
            "/assets/** Content-Range: bytes 0-1/2",
            "/assets/** Date: x",
            "assets/** X: y",
        ] {
            assert!(parse_path_header(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_name_is_made_once_however_often_it_is_parsed() {
        let first = parse_path_header("/a X-Interned-Test: 1").unwrap().name;
        let again = parse_path_header("*.b X-Interned-Test: 2").unwrap().name;
        assert!(std::ptr::eq(first, again));
        let other = parse_path_header("/a x-interned-test: 1").unwrap().name;
        assert_eq!(other, "x-interned-test", "names keep their case as written");
    }

    #[test]
    fn origins() {
        for good in [
            "*",
            "https://example.com",
            "http://localhost:8080",
            "http://[::1]:3000",
            "https://a-b.example",
        ] {
            assert_eq!(parse_origin(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "",
            "example.com",
            "https://",
            "https://example.com/",
            "https://example.com/path",
            "https://example.com:",
            "https://example.com:99999",
            "https://a b",
            "https://[nope]",
            "null",
            "*.example.com",
            "https://user@example.com",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
