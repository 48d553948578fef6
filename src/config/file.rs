//! Configuration files and where each setting came from.
//!
//! A file holds `key value` lines; `#` starts a comment (at the start of a
//! line or after whitespace). Keys are the long option names (`root`,
//! `port`, `max-connections` or `max_connections`), plus the keys course
//! assignments use: `document_root`, `cpu_limit` (worker threads),
//! `thread_limit` (simultaneous connections) and `listen` (port).
//! Precedence: command line > environment (`STATICD_*`) > files (later
//! files win) > defaults.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use crate::config::Config;

/// Options that only steer loading; they cannot come from a file.
const NOT_IN_FILES: &[&str] = &[
    "config",
    "optional-config",
    "print-config",
    "help",
    "version",
];

/// One `key value` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The long option it sets, after aliases.
    pub option: String,
    pub value: String,
    pub file: PathBuf,
    pub line: usize,
}

/// Why the configuration could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// A command-line or environment problem, reported by clap itself.
    Clap(clap::Error),
    /// A problem in a file, with its place.
    File {
        file: PathBuf,
        line: usize,
        message: String,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Clap(err) => write!(f, "{}", err.to_string().lines().next().unwrap_or("")),
            LoadError::File {
                file,
                line: 0,
                message,
            } => write!(f, "config {}: {message}", file.display()),
            LoadError::File {
                file,
                line,
                message,
            } => write!(f, "config {}:{line}: {message}", file.display()),
        }
    }
}

impl std::error::Error for LoadError {}

/// Parses the text of a config file named `file`.
pub fn parse(text: &str, file: &Path) -> Result<Vec<Setting>, LoadError> {
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

/// Where an option's value came from, for `--print-config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Default,
    CommandLine,
    Environment(String),
    File(PathBuf, usize),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::CommandLine => f.write_str("command line"),
            Origin::Environment(var) => write!(f, "environment {var}"),
            Origin::File(file, line) => write!(f, "{}:{line}", file.display()),
        }
    }
}

/// The effective configuration and each option's origin, in `--help` order.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub origins: Vec<(String, Origin)>,
    matches: ArgMatches,
}

/// Loads the configuration from `args` (the program name first), the
/// environment, and the files named with `--config`/`--optional-config`.
pub fn load<I: IntoIterator<Item = OsString>>(args: I) -> Result<Loaded, LoadError> {
    let args: Vec<OsString> = args.into_iter().collect();
    let first = Config::command()
        .try_get_matches_from(&args)
        .map_err(LoadError::Clap)?;
    let base = Config::from_arg_matches(&first).map_err(LoadError::Clap)?;
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
                return Err(LoadError::File {
                    file: file.clone(),
                    line: 0,
                    message: err.to_string(),
                });
            }
        }
    }
    let mut file_args: Vec<OsString> = Vec::new();
    let mut from_files: Vec<(String, Origin)> = Vec::new();
    for setting in latest_wins(settings) {
        let id = arg_id(&setting.option);
        if matches!(
            first.value_source(&id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue; // overridden
        }
        let as_args = to_args(&setting)?;
        file_args.extend(as_args);
        from_files.push((
            setting.option.clone(),
            Origin::File(setting.file.clone(), setting.line),
        ));
    }
    let mut merged = vec![args.first().cloned().unwrap_or_else(|| "staticd".into())];
    merged.extend(file_args);
    merged.extend(args.iter().skip(1).cloned());
    let matches = Config::command()
        .try_get_matches_from(&merged)
        .map_err(LoadError::Clap)?;
    let config = Config::from_arg_matches(&matches).map_err(LoadError::Clap)?;
    let origins = origins(&first, &from_files);
    Ok(Loaded {
        config,
        origins,
        matches,
    })
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

fn arg_id(option: &str) -> String {
    Config::command()
        .get_arguments()
        .find(|a| a.get_long() == Some(option))
        .map_or_else(|| option.to_owned(), |a| a.get_id().to_string())
}

fn origins(first: &ArgMatches, from_files: &[(String, Origin)]) -> Vec<(String, Origin)> {
    let command = Config::command();
    command
        .get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?;
            if NOT_IN_FILES.contains(&long) {
                return None;
            }
            let origin = match first.value_source(arg.get_id().as_str()) {
                Some(ValueSource::CommandLine) => Origin::CommandLine,
                Some(ValueSource::EnvVariable) => Origin::Environment(
                    arg.get_env()
                        .map_or(String::new(), |e| e.to_string_lossy().into_owned()),
                ),
                _ => from_files
                    .iter()
                    .find(|(o, _)| o == long)
                    .map_or(Origin::Default, |(_, origin)| origin.clone()),
            };
            Some((long.to_owned(), origin))
        })
        .collect()
}

impl Loaded {
    /// `--print-config`: every option with its effective value and origin.
    pub fn render(&self) -> String {
        let command = Config::command();
        let mut out = String::new();
        for (long, origin) in &self.origins {
            let Some(arg) = command
                .get_arguments()
                .find(|a| a.get_long() == Some(long.as_str()))
            else {
                continue;
            };
            let values: Vec<String> = self
                .matches
                .get_raw(arg.get_id().as_str())
                .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
                .unwrap_or_default();
            let shown = if values.is_empty() {
                "(unset)".to_owned()
            } else {
                values.join(", ")
            };
            out.push_str(&format!("{long:<20} {shown:<30} # {origin}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests for config files. Environment precedence is tested with the
    //! binary (tests/operate.rs), since the environment is process-wide.

    use super::*;
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
        let err = load(args(&["--config", missing.to_str().unwrap()]))
            .unwrap_err()
            .to_string();
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
