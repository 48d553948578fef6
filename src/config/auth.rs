//! The Basic authentication options: `--auth-file`, `--auth-path`,
//! `--auth-realm` (see [`crate::site::rules::auth`]). Patterns and the
//! realm are checked here, each alone; `--auth-path` and `--auth-realm`
//! without a file are a [`Conflict`] placed like the HTTPS ones. The file
//! itself is read by the site when it starts, which names its lines.

use std::path::PathBuf;

use clap::Args;

use crate::site::rules::auth::AuthOptions;
use crate::site::rules::pattern::Pattern;

use super::error::Conflict;

/// The longest realm taken: it is sent in every `401`.
pub(crate) const MAX_REALM: usize = 128;

/// `--auth-file`, `--auth-path`, `--auth-realm`.
#[derive(Debug, Clone, Default, Args)]
pub struct AuthArgs {
    /// Ask for HTTP Basic credentials, checked against this htpasswd file of bcrypt entries (htpasswd -B)
    #[arg(
        long,
        env = "STATICD_AUTH_FILE",
        value_name = "FILE",
        help_heading = "Site rules"
    )]
    pub auth_file: Option<PathBuf>,

    /// Only paths matching this glob need credentials, e.g. '/private/**' (repeatable) [default: every path]
    #[arg(long = "auth-path", env = "STATICD_AUTH_PATH", value_name = "PATTERN",
          value_parser = Pattern::parse, value_delimiter = '\n', help_heading = "Site rules")]
    pub auth_paths: Vec<Pattern>,

    /// The realm the browser shows when it asks for credentials. An
    /// `Option`, not a clap default, so that setting it without a file is
    /// refused; `--help` shows the site's default.
    #[arg(long, env = "STATICD_AUTH_REALM", value_name = "TEXT",
          help = format!("The realm the browser shows when it asks for credentials [default: {}]",
                         super::defaults::site().auth.realm),
          value_parser = parse_realm, help_heading = "Site rules")]
    pub auth_realm: Option<String>,
}

impl AuthArgs {
    /// What the site is told.
    pub fn options(&self) -> AuthOptions {
        AuthOptions {
            file: self.auth_file.clone(),
            paths: self.auth_paths.clone(),
            realm: self
                .auth_realm
                .clone()
                .unwrap_or_else(|| super::defaults::site().auth.realm.clone()),
        }
    }

    /// Refuses the options that only mean something with a file.
    pub fn check(&self) -> Result<(), Conflict> {
        if self.auth_file.is_some() {
            return Ok(());
        }
        let set = [
            ("auth-path", !self.auth_paths.is_empty()),
            ("auth-realm", self.auth_realm.is_some()),
        ];
        match set.iter().find(|(_, set)| *set) {
            Some((option, _)) => Err(Conflict {
                option,
                message: format!("--{option} needs --auth-file"),
            }),
            None => Ok(()),
        }
    }
}

/// A realm that fits a quoted-string without escapes (RFC 9110 §5.6.4):
/// no quote, backslash or control character.
pub(crate) fn parse_realm(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err("the realm is empty".to_owned());
    }
    if text.len() > MAX_REALM {
        return Err(format!("the realm is longer than {MAX_REALM} bytes"));
    }
    if text
        .chars()
        .any(|c| c == '"' || c == '\\' || c.is_control())
    {
        return Err(format!(
            "'{}' has a quote, a backslash or a control character",
            text.escape_default()
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use clap::Parser;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Config::try_parse_from([&["staticd"][..], args].concat())
    }

    #[test]
    fn options_reach_the_site() {
        let c = parse(&[
            "--auth-file",
            "users.htpasswd",
            "--auth-path",
            "/private/**",
            "--auth-path",
            "*.pdf",
            "--auth-realm",
            "Team café",
        ])
        .unwrap();
        assert_eq!(c.auth.check(), Ok(()));
        let options = c.options().site.auth;
        assert_eq!(options.file, Some(PathBuf::from("users.htpasswd")));
        let paths: Vec<&str> = options.paths.iter().map(Pattern::as_str).collect();
        assert_eq!(paths, ["/private/**", "*.pdf"]);
        assert_eq!(options.realm, "Team café");
        let d = parse(&["--auth-file", "u"]).unwrap().options().site.auth;
        assert_eq!(
            (d.realm.as_str(), d.paths.len()),
            (crate::site::rules::auth::DEFAULT_REALM, 0)
        );
        assert_eq!(parse(&[]).unwrap().options().site.auth.file, None);
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            &["--auth-path", "/a/[b"][..],
            &["--auth-path", "private/**"],
            &["--auth-realm", ""],
            &["--auth-realm", "say \"hi\""],
            &["--auth-realm", "a\\b"],
            &["--auth-realm", "a\nb"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let long = "r".repeat(MAX_REALM + 1);
        assert!(parse(&["--auth-realm", &long]).is_err());
        assert!(parse(&["--auth-realm", &long[1..]]).is_ok());
    }

    #[test]
    fn path_and_realm_need_a_file() {
        for (args, option) in [
            (&["--auth-path", "/p/**"][..], "auth-path"),
            (&["--auth-realm", "r"], "auth-realm"),
        ] {
            let conflict = parse(args).unwrap().auth.check().unwrap_err();
            assert_eq!(conflict.option, option);
            assert_eq!(conflict.message, format!("--{option} needs --auth-file"));
        }
    }
}
