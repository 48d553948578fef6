//! The HTTPS options (`--tls-cert`, `--tls-key`, `--hsts`,
//! `--hsts-subdomains`, `--redirect-http`) checked against each other and
//! turned into [`TlsOptions`].
//!
//! This file exists because these are the first options that make sense
//! only together: a certificate needs its key, keys pair with certificates
//! by position, and HSTS and the redirect listener need HTTPS. No value
//! parser sees more than one option, and clap's own rules (`requires`)
//! cannot be used: each config-file setting is checked alone so a bad
//! value names its line (`file::to_args`), and clap's errors take several
//! lines. So [`Config::check_https`] checks the merged configuration once,
//! and the loader places its one-line [`Conflict`] at the origin of the
//! option at fault. Whether the files exist and hold a certificate and
//! its key is the serving layer's to say, when it loads them.

use crate::serve::tls::CertPair;
use crate::serve::{Hsts, TlsOptions};

use super::Config;
use super::error::Conflict;

impl Config {
    /// What the HTTPS listener is told: `None` without a certificate and
    /// its key or an `--acme-domain`. Certificates and keys pair up in the
    /// order given.
    pub fn tls_options(&self) -> Option<TlsOptions> {
        let certificates: Vec<CertPair> = self
            .tls_certs
            .iter()
            .zip(&self.tls_keys)
            .map(|(cert, key)| CertPair {
                cert: cert.clone(),
                key: key.clone(),
            })
            .collect();
        let acme = self.acme.options();
        if certificates.is_empty() && acme.is_none() {
            return None;
        }
        let hsts = self.hsts.map(|max_age| Hsts {
            max_age,
            include_subdomains: self.hsts_subdomains,
        });
        Some(TlsOptions {
            certificates,
            acme,
            hsts,
        })
    }

    /// Refuses HTTPS options that do not go together: a certificate
    /// without a key or the reverse, unequal numbers of them, HSTS or the
    /// HTTP redirect without HTTPS, a redirect on the HTTPS port, and
    /// the HTTP-01 challenge without the redirect listener it is answered on.
    pub fn check_https(&self) -> Result<(), Conflict> {
        let conflict = |option, message: String| Err(Conflict { option, message });
        let (certs, keys) = (self.tls_certs.len(), self.tls_keys.len());
        if keys == 0 && certs > 0 {
            return conflict("tls-cert", "--tls-cert needs --tls-key".to_owned());
        }
        if certs == 0 && keys > 0 {
            return conflict("tls-key", "--tls-key needs --tls-cert".to_owned());
        }
        if certs != keys {
            let option = if certs > keys { "tls-cert" } else { "tls-key" };
            let message = format!(
                "{} (--tls-cert) but {} (--tls-key): give one key per certificate, in the same order",
                count(certs, "certificate"),
                count(keys, "key")
            );
            return conflict(option, message);
        }
        let needing_https = [
            ("hsts", self.hsts.is_some()),
            ("hsts-subdomains", self.hsts_subdomains),
            ("redirect-http", self.redirect_http.is_some()),
        ];
        let acme = !self.acme.domains.is_empty();
        for (option, set) in needing_https {
            if set && certs == 0 && !acme {
                let message =
                    format!("--{option} needs --tls-cert and --tls-key, or --acme-domain (HTTPS)");
                return conflict(option, message);
            }
        }
        if acme
            && self.acme.challenge == crate::serve::Challenge::Http01
            && self.redirect_http.is_none()
        {
            let message = "--acme-challenge http-01 is answered on the plain-HTTP port: it needs --redirect-http PORT".to_owned();
            return conflict("acme-challenge", message);
        }
        if self.hsts_subdomains && self.hsts.is_none() {
            let message = "--hsts-subdomains needs --hsts SECONDS".to_owned();
            return conflict("hsts-subdomains", message);
        }
        if self.redirect_http == Some(self.port) && self.port != 0 {
            let message = format!(
                "--redirect-http and --port are both {}: the HTTP redirect needs a port of its own",
                self.port
            );
            return conflict("redirect-http", message);
        }
        Ok(())
    }
}

/// `1 key`, `2 keys`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests for the HTTPS options from the command line, a file and
    //! (through clap's own environment lookup, with a variable name only
    //! these tests use) the environment; their pairing; and every refusal,
    //! placed at the origin of the option at fault.
    use super::*;
    use crate::config::file::{LoadError, Origin, load};
    use clap::Parser;
    use std::ffi::OsString;
    use std::path::PathBuf;

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("staticd")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn pair(cert: &str, key: &str) -> CertPair {
        CertPair {
            cert: PathBuf::from(cert),
            key: PathBuf::from(key),
        }
    }

    /// The error loading `list` gives, as shown after `error: `.
    fn refusal(list: &[&str]) -> String {
        load(args(list)).unwrap_err().to_string()
    }

    #[test]
    fn from_the_command_line_pairs_in_order() {
        let c = Config::try_parse_from(args(&[
            "--tls-cert",
            "a.crt",
            "--tls-key",
            "a.key",
            "--tls-cert",
            "b.crt",
            "--tls-key",
            "b.key",
            "--hsts",
            "31536000",
            "--hsts-subdomains",
            "--redirect-http",
            "80",
            "--port",
            "443",
        ]))
        .unwrap();
        assert_eq!(c.check_https(), Ok(()));
        let options = c.options();
        let tls = options.tls.unwrap();
        assert_eq!(
            tls.certificates,
            [pair("a.crt", "a.key"), pair("b.crt", "b.key")]
        );
        let hsts = Hsts {
            max_age: 31_536_000,
            include_subdomains: true,
        };
        assert_eq!(tls.hsts, Some(hsts));
        assert_eq!(options.redirect_http, Some(80));
    }

    #[test]
    fn off_by_default_and_hsts_without_subdomains() {
        let d = Config::try_parse_from(args(&[])).unwrap();
        assert_eq!(d.check_https(), Ok(()));
        let options = d.options();
        assert_eq!((options.tls, options.redirect_http), (None, None));
        let c = Config::try_parse_from(args(&[
            "--tls-cert",
            "a.crt",
            "--tls-key",
            "a.key",
            "--hsts",
            "0",
        ]))
        .unwrap();
        let tls = c.tls_options().unwrap();
        assert_eq!(tls.certificates, [pair("a.crt", "a.key")]);
        let hsts = tls.hsts.unwrap();
        assert_eq!((hsts.max_age, hsts.include_subdomains), (0, false));
        assert_eq!(c.options().redirect_http, None);
    }

    #[test]
    fn bad_values_are_refused() {
        for list in [
            &["--hsts", "a year"][..],
            &["--hsts", "-1"],
            &["--redirect-http", "65536"],
            &["--redirect-http", "http"],
            &["--tls-cert", ""],
        ] {
            assert!(Config::try_parse_from(args(list)).is_err(), "{list:?}");
        }
    }

    #[test]
    fn from_the_environment_one_per_line() {
        // The environment is process-wide, so values set there are tested
        // with the binary (tests/it/cli.rs); here, the variables and that a
        // repeatable one takes a value per line, like STATICD_HEADER.
        use clap::CommandFactory;
        let command = Config::command();
        let env = |long: &str| {
            let arg = command.get_arguments().find(|a| a.get_long() == Some(long));
            let arg = arg.unwrap();
            let var = arg.get_env().map(|v| v.to_string_lossy().into_owned());
            (var.unwrap_or_default(), arg.get_value_delimiter())
        };
        let var = |name: &str| (name.to_owned(), None);
        let lines = |name: &str| (name.to_owned(), Some('\n'));
        assert_eq!(env("header"), lines("STATICD_HEADER"));
        assert_eq!(env("tls-cert"), lines("STATICD_TLS_CERT"));
        assert_eq!(env("tls-key"), lines("STATICD_TLS_KEY"));
        assert_eq!(env("hsts"), var("STATICD_HSTS"));
        assert_eq!(env("hsts-subdomains"), var("STATICD_HSTS_SUBDOMAINS"));
        assert_eq!(env("redirect-http"), var("STATICD_REDIRECT_HTTP"));
        let c = Config::try_parse_from(args(&["--tls-cert", "a.crt\nb.crt"])).unwrap();
        assert_eq!(
            c.tls_certs,
            [PathBuf::from("a.crt"), PathBuf::from("b.crt")]
        );
    }

    #[test]
    fn from_a_file_pairs_in_order_with_origins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tls.conf");
        let text = "tls-cert a.crt\ntls_key a.key\ntls-cert b.crt\ntls-key b.key\n\
                    hsts 600\nhsts-subdomains yes\nredirect-http 8081\n";
        std::fs::write(&file, text).unwrap();
        let loaded = load(args(&["--config", file.to_str().unwrap()])).unwrap();
        let options = loaded.config.options();
        let tls = options.tls.unwrap();
        assert_eq!(
            tls.certificates,
            [pair("a.crt", "a.key"), pair("b.crt", "b.key")]
        );
        let hsts = Hsts {
            max_age: 600,
            include_subdomains: true,
        };
        assert_eq!((tls.hsts, options.redirect_http), (Some(hsts), Some(8081)));
        let origin = |name: &str| {
            let found = loaded.origins.iter().find(|(o, _)| o == name);
            found.map(|(_, origin)| origin.clone())
        };
        assert_eq!(origin("tls-key"), Some(Origin::File(file.clone(), 2)));
        assert_eq!(origin("redirect-http"), Some(Origin::File(file.clone(), 7)));
        let rendered = loaded.render();
        let line = |name: &str| {
            let found = rendered
                .lines()
                .find(|l| l.starts_with(&format!("{name} ")));
            found.unwrap_or_default().to_owned()
        };
        let certs: Vec<&str> = rendered
            .lines()
            .filter(|l| l.starts_with("tls-cert "))
            .collect();
        assert_eq!(certs.len(), 2, "one line per certificate: {rendered}");
        assert!(
            certs[0].contains("a.crt") && certs[1].contains("b.crt"),
            "{rendered}"
        );
        assert!(line("tls-cert").ends_with(":1"), "{rendered}");
        assert!(line("hsts").contains(" 600 "), "{rendered}");
        assert!(line("hsts-subdomains").ends_with(":6"), "{rendered}");
        assert!(line("redirect-http").contains(" 8081 "), "{rendered}");
    }

    #[test]
    fn printed_unset_by_default() {
        let rendered = load(args(&[])).unwrap().render();
        for name in ["tls-cert", "tls-key", "hsts", "redirect-http"] {
            let line = rendered
                .lines()
                .find(|l| l.starts_with(&format!("# {name} ")));
            let line = line.unwrap_or_default();
            assert!(line.ends_with("# default, unset"), "{name}: {rendered}");
        }
    }

    #[test]
    fn each_refusal_names_the_options() {
        let (cert, key) = (["--tls-cert", "a.crt"], ["--tls-key", "a.key"]);
        let cases: [(Vec<&str>, &str); 9] = [
            (cert.to_vec(), "--tls-cert needs --tls-key"),
            (key.to_vec(), "--tls-key needs --tls-cert"),
            (
                [&cert[..], &key, &["--tls-cert", "b.crt"]].concat(),
                "2 certificates (--tls-cert) but 1 key (--tls-key): \
                 give one key per certificate, in the same order",
            ),
            (
                [
                    &cert[..],
                    &key,
                    &["--tls-key", "b.key", "--tls-key", "c.key"],
                ]
                .concat(),
                "1 certificate (--tls-cert) but 3 keys (--tls-key): \
                 give one key per certificate, in the same order",
            ),
            (
                vec!["--hsts", "60"],
                "--hsts needs --tls-cert and --tls-key, or --acme-domain (HTTPS)",
            ),
            (
                vec!["--hsts-subdomains"],
                "--hsts-subdomains needs --tls-cert and --tls-key, or --acme-domain (HTTPS)",
            ),
            (
                vec!["--redirect-http", "8081"],
                "--redirect-http needs --tls-cert and --tls-key, or --acme-domain (HTTPS)",
            ),
            (
                [&cert[..], &key, &["--hsts-subdomains"]].concat(),
                "--hsts-subdomains needs --hsts SECONDS",
            ),
            (
                [
                    &cert[..],
                    &key,
                    &["--port", "8443", "--redirect-http", "8443"],
                ]
                .concat(),
                "--redirect-http and --port are both 8443: \
                 the HTTP redirect needs a port of its own",
            ),
        ];
        for (list, want) in cases {
            assert_eq!(refusal(&list), want, "{list:?}");
            let c = Config::try_parse_from(args(&list)).unwrap();
            assert_eq!(c.check_https().unwrap_err().message, want);
        }
    }

    #[test]
    fn both_ports_zero_and_the_default_port_taken_too() {
        let (cert, key) = (["--tls-cert", "a.crt"], ["--tls-key", "a.key"]);
        let zero = [&cert[..], &key, &["--port", "0", "--redirect-http", "0"]].concat();
        assert!(load(args(&zero)).is_ok());
        let default = [&cert[..], &key, &["--redirect-http", "8080"]].concat();
        assert!(refusal(&default).contains("both 8080"));
        let other = [&cert[..], &key, &["--redirect-http", "8081"]].concat();
        assert!(load(args(&other)).is_ok());
    }

    #[test]
    fn a_refusal_from_a_file_names_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("https.conf");
        std::fs::write(&file, "port 8443\n\nhsts 60\n").unwrap();
        let err = load(args(&["--config", file.to_str().unwrap()])).unwrap_err();
        assert!(matches!(err, LoadError::File { line: 3, .. }), "{err:?}");
        let want = format!(
            "config {}:3: --hsts needs --tls-cert and --tls-key, or --acme-domain (HTTPS)",
            file.display()
        );
        assert_eq!(err.to_string(), want);
        std::fs::write(&file, "tls-cert a.crt\ntls-key a.key\nredirect-http 8080\n").unwrap();
        let err = load(args(&["--config", file.to_str().unwrap()])).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "config {}:3: --redirect-http and --port",
                file.display()
            )),
            "{err}"
        );
    }
}
