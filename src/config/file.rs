//! Loading the configuration: the command line, the environment
//! (`STATICD_*`) and the files named with `--config` and
//! `--optional-config`, merged into one [`Config`] that remembers where
//! each value came from. Precedence: command line > environment > files
//! (later files win) > defaults.
//!
//! A file's settings become command-line arguments placed before the real
//! ones, so clap applies one set of parsers, checks and defaults to every
//! source, and its own precedence (arguments over environment) holds.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::Config;
pub(crate) use super::error::Conflict;
pub use super::error::LoadError;
pub(crate) use super::origin::Origin;
use super::origin::origins;
pub(crate) use super::syntax::{Setting, parse};
use crate::serve::{Reload, Reloader};

/// The effective configuration and each option's origin, in `--help` order.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub origins: Vec<(String, Origin)>,
    matches: ArgMatches,
}

/// Settings a running server cannot change: they name its listening
/// sockets, its threads, or what it set up once at start.
const NEEDS_RESTART: &[&str] = &[
    "bind",
    "port",
    "socket-mode",
    "redirect-http",
    "workers",
    "balance",
    "max-connections",
    "log-level",
    "metrics-listen",
    // The ACME task keeps what it started with but the names.
    "acme-directory",
    "acme-email",
    "acme-ca-file",
    "acme-state",
    "acme-challenge",
    "acme-renew-before",
];

impl Loaded {
    /// `--print-config`: every option with its effective value and origin.
    pub fn render(&self) -> String {
        super::origin::render(&self.origins, &self.matches)
    }

    /// Each option's effective value as text, for a reload to compare.
    fn settings(&self) -> Vec<(String, String)> {
        super::origin::settings(&self.origins, &self.matches)
    }

    /// What SIGHUP reloads with: `args` (the command line the process
    /// started with) and the environment loaded again, with the files as
    /// they are then. Settings that need a restart (listening sockets, threads), and HTTPS going on or
    /// off, are compared with this configuration, the one at start.
    pub fn reloader(&self, args: Vec<OsString>) -> Reloader {
        let start = self.settings();
        let https = self.config.tls_options().is_some();
        let acme = !self.config.acme.domains.is_empty();
        let load = move || -> Result<Reload, Box<dyn std::error::Error + Send + Sync>> {
            let loaded = load(args.clone()).map_err(one_line)?;
            let settings = loaded.settings();
            let value = |list: &[(String, String)], key: &str| {
                list.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
            };
            let mut needs_restart: Vec<String> = NEEDS_RESTART
                .iter()
                .filter(|key| value(&start, key) != value(&settings, key))
                .map(|key| key.to_string())
                .collect();
            if https != loaded.config.tls_options().is_some() {
                needs_restart.push("tls-cert (HTTPS on or off)".to_owned());
            }
            if acme == loaded.config.acme.domains.is_empty() {
                needs_restart.push("acme-domain (automatic HTTPS on or off)".to_owned());
            }
            Ok(Reload {
                options: loaded.config.options(),
                settings,
                needs_restart,
            })
        };
        Reloader {
            settings: self.settings(),
            load: Box::new(load),
        }
    }
}

/// A load error as one line: clap's own message has a usage hint below.
fn one_line(err: LoadError) -> Box<dyn std::error::Error + Send + Sync> {
    match err {
        LoadError::Clap(err) => {
            let text = err.to_string();
            let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let lines: Vec<_> = lines
                .filter(|l| !l.starts_with("For more information"))
                .collect();
            lines.join(" ").into()
        }
        other => Box::new(other),
    }
}

/// Loads the configuration from `args` (the program name first), the
/// environment, and the files named with `--config`/`--optional-config`.
pub fn load<I: IntoIterator<Item = OsString>>(args: I) -> Result<Loaded, LoadError> {
    let args: Vec<OsString> = args.into_iter().collect();
    let first = Config::command()
        .try_get_matches_from(&args)
        .map_err(LoadError::Clap)?;
    refuse_two_roots(&first)?;
    let base = Config::from_arg_matches(&first).map_err(LoadError::Clap)?;
    let files = from_files(&first, read_files(&base)?)?;
    let mut merged = vec![args.first().cloned().unwrap_or_else(|| "staticd".into())];
    merged.extend(files.args);
    merged.extend(args.iter().skip(1).cloned());
    let matches = Config::command()
        .try_get_matches_from(&merged)
        .map_err(LoadError::Clap)?;
    let mut config = Config::from_arg_matches(&matches).map_err(LoadError::Clap)?;
    if let Some(dir) = config.dir.take() {
        config.root = dir;
    }
    let origins = origins(&first, &files.origins);
    config
        .check_https()
        .and_then(|()| config.check_listen())
        .and_then(|()| config.auth.check())
        .map_err(|conflict| placed(conflict, &origins))?;
    Ok(Loaded {
        config,
        origins,
        matches,
    })
}

/// `staticd DIR --root OTHER` names two roots: refused as clap refuses
/// conflicting arguments (exit 2). DIR does override `STATICD_ROOT` and a
/// file's `root`, as every command-line value does.
fn refuse_two_roots(first: &ArgMatches) -> Result<(), LoadError> {
    let positional = first.value_source("dir") == Some(ValueSource::CommandLine);
    if positional && first.value_source("root") == Some(ValueSource::CommandLine) {
        let message =
            "the argument '[DIR]' cannot be used with '--root <DIR>': give the document root once";
        let error = Config::command().error(clap::error::ErrorKind::ArgumentConflict, message);
        return Err(LoadError::Clap(error));
    }
    Ok(())
}

/// A conflict between options, placed at the origin of the one at fault:
/// its file and line, or its environment variable.
fn placed(conflict: Conflict, origins: &[(String, Origin)]) -> LoadError {
    let origin = origins.iter().find(|(option, _)| option == conflict.option);
    match origin.map(|(_, origin)| origin) {
        Some(Origin::File(file, line)) => LoadError::File {
            file: file.clone(),
            line: *line,
            message: conflict.message,
        },
        Some(Origin::Environment(var)) => {
            LoadError::Invalid(format!("environment {var}: {}", conflict.message))
        }
        _ => LoadError::Invalid(conflict.message),
    }
}

/// Every setting of the files `base` names, in order: the `--config` files,
/// then the `--optional-config` ones that exist.
fn read_files(base: &Config) -> Result<Vec<Setting>, LoadError> {
    let mut settings = Vec::new();
    for (file, optional) in base
        .config_files
        .iter()
        .map(|f| (f, false))
        .chain(base.optional_config_files.iter().map(|f| (f, true)))
    {
        match std::fs::read_to_string(file) {
            Ok(text) => settings.extend(parse(&text, file)?),
            Err(err) if optional && err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                return Err(LoadError::Read {
                    file: file.clone(),
                    source: err,
                });
            }
        }
    }
    Ok(settings)
}

/// What the files contribute beneath the command line and the environment.
struct FromFiles {
    /// Command-line arguments, placed before the real ones.
    args: Vec<OsString>,
    /// The file and line of each option they set.
    origins: Vec<(String, Origin)>,
}

/// The files' settings that the command line or the environment (`first`)
/// does not set, as arguments.
fn from_files(first: &ArgMatches, settings: Vec<Setting>) -> Result<FromFiles, LoadError> {
    let mut files = FromFiles {
        args: Vec::new(),
        origins: Vec::new(),
    };
    for setting in latest_wins(settings) {
        let id = arg_id(&setting.option);
        let root_given = id == "root" && first.value_source("dir").is_some();
        if root_given
            || matches!(
                first.value_source(&id),
                Some(ValueSource::CommandLine | ValueSource::EnvVariable)
            )
        {
            continue; // overridden
        }
        files.args.extend(to_args(&setting)?);
        files.origins.push((
            setting.option.clone(),
            Origin::File(setting.file.clone(), setting.line),
        ));
    }
    Ok(files)
}

/// Keeps, per option, the settings of the last file that sets it (all of
/// that file's lines for a repeatable option such as `header`).
fn latest_wins(settings: Vec<Setting>) -> Vec<Setting> {
    let mut kept: Vec<Setting> = Vec::new();
    for setting in settings {
        kept.retain(|k| k.option != setting.option || k.file == setting.file);
        kept.push(setting);
    }
    kept
}

/// The command-line form of one setting, checked on its own so a bad value
/// is reported with its file and line.
fn to_args(setting: &Setting) -> Result<Vec<OsString>, LoadError> {
    let flag = format!("--{}", setting.option);
    let is_switch = Config::command()
        .get_arguments()
        .any(|a| a.get_long() == Some(setting.option.as_str()) && !a.get_action().takes_values());
    let error = |message: String| LoadError::File {
        file: setting.file.clone(),
        line: setting.line,
        message,
    };
    let args: Vec<OsString> = if is_switch {
        match setting.value.to_ascii_lowercase().as_str() {
            "" | "true" | "yes" | "on" | "1" => vec![flag.into()],
            "false" | "no" | "off" | "0" => Vec::new(),
            other => {
                return Err(error(format!(
                    "'{other}' is not on or off for '{}'",
                    setting.option
                )));
            }
        }
    } else {
        vec![flag.into(), setting.value.clone().into()]
    };
    let mut alone = vec![OsString::from("staticd")];
    alone.extend(args.iter().cloned());
    if let Err(err) = Config::command().try_get_matches_from(&alone) {
        if err.kind() != clap::error::ErrorKind::DisplayHelp {
            let first = err
                .to_string()
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_owned();
            return Err(error(first));
        }
    }
    Ok(args)
}

/// clap's id for a long option: the field name, which differs from the
/// flag for some (`headers` for `--header`).
fn arg_id(option: &str) -> String {
    Config::command()
        .get_arguments()
        .find(|a| a.get_long() == Some(option))
        .map_or_else(|| option.to_owned(), |a| a.get_id().to_string())
}

#[cfg(test)]
mod tests {
    //! Unit tests for loading files under the command line. Environment
    //! precedence is tested with the binary (tests/it/operate.rs), since the
    //! environment is process-wide.

    use super::*;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("staticd")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn the_assignment_style_file_works_as_is() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "httpd.conf",
            "cpu_limit 4\nthread_limit 256\ndocument_root /var/www/html\n",
        );
        let loaded = load(args(&["--config", file.to_str().unwrap()])).unwrap();
        let c = &loaded.config;
        assert_eq!((c.worker_threads(), c.max_connections), (4, 256));
        assert_eq!(c.root, PathBuf::from("/var/www/html"));
        let origin = loaded
            .origins
            .iter()
            .find(|(o, _)| o == "max-connections")
            .unwrap();
        assert_eq!(origin.1, Origin::File(file.clone(), 2));
    }

    #[test]
    fn the_command_line_wins_and_later_files_win() {
        let dir = tempfile::tempdir().unwrap();
        let a = write(
            dir.path(),
            "a.conf",
            "port 81\nkeepalive-timeout 2s\nheader X-A: 1\nheader X-B: 2\n",
        );
        let b = write(dir.path(), "b.conf", "port 82\n");
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        let loaded = load(args(&[
            "--config",
            a,
            "--config",
            b,
            "--keepalive-timeout",
            "3s",
        ]))
        .unwrap();
        assert_eq!(loaded.config.port, 82);
        assert_eq!(loaded.config.keepalive_timeout, Duration::from_secs(3));
        assert_eq!(
            loaded.config.headers.len(),
            2,
            "all header lines of the file that sets them"
        );
        let rendered = loaded.render();
        assert!(rendered.contains("# command line"), "{rendered}");
        assert!(
            rendered
                .lines()
                .any(|l| l.starts_with("port ") && l.contains("82") && l.ends_with(":1")),
            "{rendered}"
        );
        assert!(
            rendered
                .lines()
                .any(|l| l.starts_with("bind ") && l.ends_with("# default")),
            "{rendered}"
        );
    }

    #[test]
    fn bad_values_and_missing_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let bad = write(dir.path(), "bad.conf", "port 80\n\nport eighty\n");
        let err = load(args(&["--config", bad.to_str().unwrap()]))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "config {}:3: invalid value 'eighty'",
                bad.display()
            )),
            "{err}"
        );
        let flag = write(dir.path(), "flag.conf", "show-hidden maybe\n");
        let err = load(args(&["--config", flag.to_str().unwrap()]))
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(":1: 'maybe' is not on or off for 'show-hidden'"),
            "{err}"
        );
        let missing = dir.path().join("missing.conf");
        let err = load(args(&["--config", missing.to_str().unwrap()])).unwrap_err();
        assert!(
            std::error::Error::source(&err).is_some(),
            "the I/O error is kept as the cause"
        );
        let err = crate::ops::diagnostics::report(&err);
        assert!(
            err.starts_with(&format!("config {}: No such file", missing.display())),
            "{err}"
        );
        let ok = load(args(&["--optional-config", missing.to_str().unwrap()])).unwrap();
        assert_eq!(ok.config.port, 8080);
    }

    #[test]
    fn switches_can_be_turned_off() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "f.conf", "show-hidden off\n");
        assert!(
            !load(args(&["--config", file.to_str().unwrap()]))
                .unwrap()
                .config
                .show_hidden
        );
        let file = write(dir.path(), "g.conf", "show-hidden yes\n");
        assert!(
            load(args(&["--config", file.to_str().unwrap()]))
                .unwrap()
                .config
                .show_hidden
        );
    }
}
