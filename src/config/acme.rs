//! The automatic HTTPS options (`--acme-*`), their value parsers, and the
//! [`AcmeOptions`] they make. Whether they go with the rest (a challenge
//! that needs `--redirect-http`) is [`super::Config::check_https`]'s to say.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::serve::{AcmeOptions, Challenge};

use super::defaults;

#[derive(Debug, Clone, Args)]
pub struct AcmeArgs {
    /// Obtain and renew a certificate for this name from an ACME CA (Let's Encrypt by default, whose terms of service this accepts); --port then speaks HTTPS (repeatable: one certificate covers them all)
    #[arg(long = "acme-domain", env = "STATICD_ACME_DOMAIN", value_name = "NAME",
          value_parser = parse_domain, value_delimiter = '\n', help_heading = "Automatic HTTPS")]
    pub domains: Vec<String>,

    /// The ACME CA's directory URL (https://)
    #[arg(long = "acme-directory", env = "STATICD_ACME_DIRECTORY", value_name = "URL",
          value_parser = parse_directory, default_value_t = defaults::acme().directory.clone(),
          help_heading = "Automatic HTTPS")]
    pub directory: String,

    /// Contact address given to the CA for the account (optional)
    #[arg(long = "acme-email", env = "STATICD_ACME_EMAIL", value_name = "ADDR",
          value_parser = parse_email, help_heading = "Automatic HTTPS")]
    pub email: Option<String>,

    /// PEM root certificates trusted for the CA's directory, beside the system's (a private or test CA)
    #[arg(
        long = "acme-ca-file",
        env = "STATICD_ACME_CA_FILE",
        value_name = "FILE",
        help_heading = "Automatic HTTPS"
    )]
    pub ca_file: Option<PathBuf>,

    /// Where the ACME account and certificates are kept (certs/NAME/cert.pem and key.pem)
    #[arg(long = "acme-state", env = "STATICD_ACME_STATE", value_name = "DIR",
          default_value_os_t = defaults::acme().state.clone(), help_heading = "Automatic HTTPS")]
    pub state: PathBuf,

    /// How the CA checks the names: tls-alpn-01 on the HTTPS port, or http-01 on the --redirect-http port
    #[arg(long = "acme-challenge", env = "STATICD_ACME_CHALLENGE", value_enum,
          default_value_t = defaults::acme().challenge, value_name = "KIND",
          help_heading = "Automatic HTTPS")]
    pub challenge: Challenge,

    /// Renew when less than this remains of the certificate (e.g. 30d, 720h; at most half its lifetime); default a third of its lifetime
    #[arg(long = "acme-renew-before", env = "STATICD_ACME_RENEW_BEFORE", value_name = "DURATION",
          value_parser = parse_renew_before, help_heading = "Automatic HTTPS")]
    pub renew_before: Option<Duration>,
}

impl AcmeArgs {
    /// The ACME options, `None` without `--acme-domain`.
    pub fn options(&self) -> Option<AcmeOptions> {
        if self.domains.is_empty() {
            return None;
        }
        Some(AcmeOptions {
            domains: self.domains.clone(),
            directory: self.directory.clone(),
            email: self.email.clone(),
            ca_file: self.ca_file.clone(),
            state: self.state.clone(),
            challenge: self.challenge,
            renew_before: self.renew_before,
        })
    }
}

/// A host name a CA can issue for (RFC 1123 labels), in lower case; not a
/// wildcard (that needs DNS-01) nor an IP address.
pub(crate) fn parse_domain(text: &str) -> Result<String, String> {
    let name = text.trim().trim_end_matches('.').to_ascii_lowercase();
    if name.starts_with("*.") {
        return Err(format!(
            "'{text}' is a wildcard name, which needs the DNS-01 challenge; staticd offers tls-alpn-01 and http-01: list each name"
        ));
    }
    if name.parse::<IpAddr>().is_ok() || name.trim_matches(['[', ']']).parse::<IpAddr>().is_ok() {
        return Err(format!(
            "'{text}' is an IP address; --acme-domain takes a host name"
        ));
    }
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err(format!("'{text}' is not a valid host name"));
    }
    Ok(name)
}

/// A directory URL: `https://` and a host.
pub(crate) fn parse_directory(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("https://")
        .ok_or_else(|| format!("'{text}' is not an https:// URL (RFC 8555 asks for HTTPS)"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("'{text}' is not a URL with a host"));
    }
    Ok(text.to_owned())
}

/// A contact address: something `@` something, no spaces.
fn parse_email(text: &str) -> Result<String, String> {
    match text.split_once('@') {
        Some((user, host))
            if !user.is_empty()
                && !host.is_empty()
                && !text.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(text.to_owned())
        }
        _ => Err(format!("'{text}' is not an email address")),
    }
}

/// A duration in days (`30d`), hours (`720h`), minutes (`90m`) or
/// seconds (`45s`); at least a second.
pub(crate) fn parse_renew_before(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = super::values::number_and_unit(text, "30d or 720h")?;
    let unit_secs = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" | "" => 1,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' in '{text}' (use d, h, m or s)"
            ));
        }
    };
    match number.checked_mul(unit_secs) {
        Some(0) => Err(format!("'{text}': renewing needs some time before the end")),
        Some(secs) => Ok(Duration::from_secs(secs)),
        None => Err(format!("'{text}' is too long")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_taken_in_lower_case() {
        assert_eq!(parse_domain("Example.COM"), Ok("example.com".to_owned()));
        assert_eq!(
            parse_domain("www.example.com."),
            Ok("www.example.com".to_owned())
        );
        assert_eq!(parse_domain("a-1.b2.test"), Ok("a-1.b2.test".to_owned()));
    }

    #[test]
    fn wildcards_addresses_and_bad_names_are_refused_saying_why() {
        let why = |text| parse_domain(text).unwrap_err();
        assert!(
            why("*.example.com").contains("DNS-01"),
            "{}",
            why("*.example.com")
        );
        assert!(why("192.0.2.1").contains("IP address"));
        assert!(why("[2001:db8::1]").contains("IP address"));
        assert!(why("2001:db8::1").contains("IP address"));
        for bad in [
            "", "-a.test", "a-.test", "a..test", "a_b.test", "é.test", "a b.test",
        ] {
            assert!(
                why(bad).contains("not a valid host name"),
                "{bad}: {}",
                why(bad)
            );
        }
        assert!(why(&format!("{}.test", "a".repeat(64))).contains("not a valid"));
    }

    #[test]
    fn directories_must_be_https_with_a_host() {
        assert!(parse_directory("https://acme.test/dir").is_ok());
        assert!(
            parse_directory("http://acme.test/dir")
                .unwrap_err()
                .contains("https://")
        );
        assert!(parse_directory("acme.test").is_err());
        assert!(parse_directory("https:///dir").is_err());
        assert!(parse_directory("https://a b/").is_err());
    }

    #[test]
    fn renewal_margins_in_days_hours_minutes_or_seconds() {
        assert_eq!(
            parse_renew_before("30d"),
            Ok(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(
            parse_renew_before("720h"),
            Ok(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(parse_renew_before("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_renew_before("45"), Ok(Duration::from_secs(45)));
        for bad in ["0d", "d", "30w", "-1d", "99999999999999999999d"] {
            assert!(parse_renew_before(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_need_an_at() {
        assert!(parse_email("you@example.com").is_ok());
        assert!(parse_email("you").is_err());
        assert!(parse_email("@example.com").is_err());
        assert!(parse_email("a b@example.com").is_err());
    }
}
