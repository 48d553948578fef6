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

/// One line per option: its name, its effective values from `matches`
/// (its default when clap holds none, `(unset)` when there is none) and
/// its origin.
pub(super) fn render(origins: &[(String, Origin)], matches: &ArgMatches) -> String {
    let command = Config::command();
    let mut out = String::new();
    for (long, origin) in origins {
        let Some(arg) = command
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()))
        else {
            continue;
        };
        let values: Vec<String> = matches
            .get_raw(arg.get_id().as_str())
            .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let shown = match implicit_default(long) {
            _ if !values.is_empty() => values.join(", "),
            Some(value) => value,
            None => "(unset)".to_owned(),
        };
        out.push_str(&format!("{long:<20} {shown:<30} # {origin}\n"));
    }
    out
}

/// The defaults clap does not hold: the worker count, which depends on the
/// machine, and the realm, which stays unset on the command line so that
/// setting it without `--auth-file` can be refused.
fn implicit_default(long: &str) -> Option<String> {
    match long {
        "workers" => Some(super::defaults::SERVE.workers.to_string()),
        "auth-realm" => Some(super::defaults::site().auth.realm.clone()),
        _ => None,
    }
}
