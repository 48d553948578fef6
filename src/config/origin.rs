//! Where each option's value came from, and the `--print-config` table
//! that shows it: a deployer who wonders why a value is what it is sees the
//! file and line, the variable, or that it is the default.

use std::fmt;
use std::path::PathBuf;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory};

use super::Config;
use super::syntax::NOT_IN_FILES;

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

/// Each option's origin, in `--help` order: `first` holds what the
/// command line and the environment set, `from_files` what files set
/// beneath them.
pub(super) fn origins(
    first: &ArgMatches,
    from_files: &[(String, Origin)],
) -> Vec<(String, Origin)> {
    let command = Config::command();
    command
        .get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?;
            if NOT_IN_FILES.contains(&long) {
                return None;
            }
            let id = match arg.get_id().as_str() {
                // `staticd DIR` sets the root as --root would.
                "root" if first.value_source("dir").is_some() => "dir",
                id => id,
            };
            let origin = match first.value_source(id) {
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

/// Each option's effective value as one text (several values one per
/// line), in `--help` order: what a reload compares to say what changed.
pub(super) fn settings(
    origins: &[(String, Origin)],
    matches: &ArgMatches,
) -> Vec<(String, String)> {
    let command = Config::command();
    let value = |long: &str| {
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long))?;
        let id = match arg.get_id().as_str() {
            "root" if matches.value_source("dir").is_some() => "dir",
            id => id,
        };
        let values = matches.get_raw(id)?;
        let values: Vec<_> = values.map(|v| v.to_string_lossy().into_owned()).collect();
        Some(values.join("\n"))
    };
    origins
        .iter()
        .map(|(long, _)| (long.clone(), value(long).unwrap_or_default()))
        .collect()
}

/// The effective configuration in the config-file format, so that it can
/// be fed back with `--config`: one `key value` line per option (per value
/// for a repeatable one), its default when clap holds none, its origin as
/// a trailing comment; an option with no value at all is a comment line.
pub(super) fn render(origins: &[(String, Origin)], matches: &ArgMatches) -> String {
    let command = Config::command();
    let mut out = String::from(
        "# The effective staticd configuration (--print-config); `staticd --config FILE` reads it back.\n",
    );
    for (long, origin) in origins {
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
        else {
            continue;
        };
        let id = match arg.get_id().as_str() {
            "root" if matches.value_source("dir").is_some() => "dir",
            id => id,
        };
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let values = match (values.is_empty(), implicit_default(long)) {
            (false, _) => values,
            (true, Some(value)) => vec![value],
            (true, None) if long == "auth-realm" => {
                // Shown, but as a comment: given without --auth-file it is refused.
                let realm = &super::defaults::site().auth.realm;
                out.push_str(&format!(
                    "# {long:<18} {realm:<30} # {origin}, with auth-file\n"
                ));
                continue;
            }
            (true, None) => {
                out.push_str(&format!("# {long:<18} {:<30} # {origin}, unset\n", ""));
                continue;
            }
        };
        // A list written on one line (`a,b`), or one line per value for a
        // repeatable option (whose environment form is one per line).
        let lines = match arg.get_value_delimiter() {
            Some(delimiter) if delimiter != '\n' => vec![values.join(&delimiter.to_string())],
            _ => values,
        };
        for value in lines {
            let value = quoted(&value);
            out.push_str(&format!("{long:<20} {value:<30} # {origin}\n"));
        }
    }
    out
}

/// A value as the file syntax reads it back: in quotes when it has
/// spaces at its ends or is empty, which a bare value would lose.
fn quoted(value: &str) -> String {
    if value.is_empty() || value.trim() != value {
        format!("\"{value}\"")
    } else {
        value.to_owned()
    }
}

/// The default clap does not hold: the worker count, which depends on the
/// machine. (The realm's default is written as a comment: `auth-realm`
/// stays unset unless given, so that setting it without `--auth-file` can
/// be refused.)
fn implicit_default(long: &str) -> Option<String> {
    match long {
        "workers" => Some(super::defaults::SERVE.workers.to_string()),
        _ => None,
    }
}
