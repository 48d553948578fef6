//! `--auth-file` and `--auth-path`: HTTP Basic authentication (RFC 7617)
//! against bcrypt entries ([`htpasswd`]).
//!
//! bcrypt costs tens of milliseconds, so it never runs inside
//! [`Auth::gate`]: a credential not in the [`Verified`] cache comes back as
//! a [`Check`], which whoever owns threads runs (the connection layer, on
//! a small bounded pool) and hands back as a [`Verdict`]. Every check
//! costs the same whether the user exists or not: an unknown user is
//! checked against a real entry's hash (the decoy) and refused whatever
//! the outcome, so timing does not tell users apart. Wrong user and wrong
//! password get the same `401`, byte for byte; there is no `403`.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::http::auth;
use crate::http::request::Request;
use crate::http::target::Target;
use crate::site::rules::htpasswd::{self, Entry, LineError};
use crate::site::rules::pattern::{self, Pattern};
use crate::site::rules::verified::{Key, Verified};

/// The realm when none is given.
pub(crate) const DEFAULT_REALM: &str = "staticd";

/// What the configuration says.
#[derive(Debug, Clone)]
pub struct AuthOptions {
    /// The htpasswd file; `None` turns authentication off.
    pub file: Option<PathBuf>,
    /// The paths to protect; none means every path.
    pub paths: Vec<Pattern>,
    /// The realm of the challenge, checked to be a plain quoted-string.
    pub realm: String,
}

impl Default for AuthOptions {
    fn default() -> Self {
        AuthOptions {
            file: None,
            paths: Vec::new(),
            realm: DEFAULT_REALM.to_owned(),
        }
    }
}

/// Why the auth file could not be used: it names the file, and the line
/// when one is at fault; the cause underneath is its `source()`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("auth file {}", .file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("auth file {}: is not UTF-8", .file.display())]
    NotUtf8 {
        file: PathBuf,
        #[source]
        source: std::string::FromUtf8Error,
    },
    #[error("auth file {}", place(.file, .source.line))]
    Line {
        file: PathBuf,
        #[source]
        source: LineError,
    },
}

/// `FILE:LINE`, or `FILE` alone when the file as a whole is at fault.
fn place(file: &std::path::Path, line: usize) -> String {
    match line {
        0 => file.display().to_string(),
        n => format!("{}:{n}", file.display()),
    }
}

/// The authentication rule, shared by everything answering with one
/// configuration (a reload builds a new one, with an empty cache).
#[derive(Debug, Clone, Default)]
pub(crate) struct Auth {
    table: Option<Arc<Table>>,
}

#[derive(Debug)]
struct Table {
    users: HashMap<String, String>,
    /// The hash unknown users are checked against: see the module docs.
    decoy: String,
    paths: Vec<Pattern>,
    challenge: String,
    verified: Verified,
}

/// What a request may do, as far as authentication goes.
#[derive(Debug)]
pub(crate) enum Gate {
    Pass,
    /// `401` with the challenge.
    Challenge,
    /// Too many checks were waiting to run this one: `503`.
    Busy,
    /// Run this, then ask again with its verdict.
    Check(Check),
}

/// One bcrypt verification, owning what it needs, so it can run on any
/// thread.
pub(crate) struct Check {
    table: Arc<Table>,
    key: Key,
    user: String,
    password: Vec<u8>,
}

impl fmt::Debug for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Check")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// What a [`Check`] found, for the credential it checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    key: Key,
    outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Granted,
    Refused,
    Busy,
}

impl Check {
    /// Runs bcrypt: tens of milliseconds, off the event loop.
    pub(crate) fn run(self) -> Verdict {
        let table = &self.table;
        let (hash, known) = match table.users.get(&self.user) {
            Some(hash) => (hash, true),
            None => (&table.decoy, false),
        };
        // bcrypt's own comparison of the digests is constant-time.
        let matched = bcrypt::verify(&self.password, hash).unwrap_or(false);
        let outcome = if matched && known {
            Outcome::Granted
        } else {
            Outcome::Refused
        };
        Verdict {
            key: self.key,
            outcome,
        }
    }

    /// The verdict when the check could not be run now.
    pub(crate) fn busy(&self) -> Verdict {
        Verdict {
            key: self.key,
            outcome: Outcome::Busy,
        }
    }
}

impl Auth {
    /// Reads `options.file`; off when there is none.
    pub(crate) fn load(options: &AuthOptions) -> Result<Auth, AuthError> {
        let Some(file) = &options.file else {
            return Ok(Auth::default());
        };
        let file = file.clone();
        let text = std::fs::read(&file).map_err(|source| AuthError::Read {
            file: file.clone(),
            source,
        })?;
        let text = String::from_utf8(text).map_err(|source| AuthError::NotUtf8 {
            file: file.clone(),
            source,
        })?;
        let auth = Auth::from_text(&text, options).map_err(|source| AuthError::Line {
            file: file.clone(),
            source,
        })?;
        if let Some(costs) = auth.mixed_costs() {
            tracing::warn!(
                file = %file.display(),
                "the auth file's entries have different bcrypt costs ({costs}): \
                 response times can tell users of one cost from the others"
            );
        }
        Ok(auth)
    }

    /// The rule for an htpasswd file's `text`.
    pub(crate) fn from_text(text: &str, options: &AuthOptions) -> Result<Auth, LineError> {
        let entries = htpasswd::parse(text)?;
        let decoy = decoy(&entries).hash.clone();
        let users = entries.into_iter().map(|e| (e.user, e.hash)).collect();
        let table = Table {
            users,
            decoy,
            paths: options.paths.clone(),
            challenge: format!("Basic realm=\"{}\", charset=\"UTF-8\"", options.realm),
            verified: Verified::default(),
        };
        Ok(Auth {
            table: Some(Arc::new(table)),
        })
    }

    /// The costs in use, when there are several.
    fn mixed_costs(&self) -> Option<String> {
        let table = self.table.as_ref()?;
        let mut costs: Vec<&str> = table.users.values().map(|h| &h[4..6]).collect();
        costs.sort_unstable();
        costs.dedup();
        (costs.len() > 1).then(|| costs.join(", "))
    }

    /// Whether `target` needs credentials: matched on its normalized
    /// path, so `/open/../private/` is `/private/`. A path without its
    /// trailing slash is protected when the path with it is, so
    /// `/private/**` does not let `/private` say (by its redirect to
    /// `/private/`) that the directory exists.
    pub(crate) fn protects(&self, target: &Target) -> bool {
        let Some(table) = &self.table else {
            return false;
        };
        if table.paths.is_empty() {
            return true;
        }
        let mut path = pattern::normalized(target);
        let matched = |path: &[u8]| table.paths.iter().any(|p| p.matches(path));
        if matched(&path) {
            return true;
        }
        if path.ends_with(b"/") {
            return false;
        }
        path.push(b'/');
        matched(&path)
    }

    /// Whether `request`, for a path [`Auth::protects`], may go on.
    /// `verdict` is what running the [`Check`] this returned before said.
    pub(crate) fn gate(&self, request: &Request, verdict: Option<Verdict>) -> Gate {
        let Some(table) = &self.table else {
            return Gate::Pass;
        };
        let Some(credentials) = request
            .fields
            .authorization
            .as_ref()
            .and_then(|field| auth::basic(field.expose()))
        else {
            return Gate::Challenge;
        };
        let key = table.verified.key(&credentials.user, &credentials.password);
        if table.verified.contains(key) {
            return Gate::Pass;
        }
        match verdict.filter(|v| v.key == key).map(|v| v.outcome) {
            Some(Outcome::Granted) => {
                table.verified.insert(key);
                Gate::Pass
            }
            Some(Outcome::Refused) => Gate::Challenge,
            Some(Outcome::Busy) => Gate::Busy,
            None => Gate::Check(Check {
                table: Arc::clone(table),
                key,
                user: credentials.user,
                password: credentials.password,
            }),
        }
    }

    /// The `WWW-Authenticate` value of a `401`.
    pub(crate) fn challenge(&self) -> Option<&str> {
        self.table.as_ref().map(|t| t.challenge.as_str())
    }
}

/// An entry of the most common cost: checking an unknown user against it
/// takes as long as checking most users.
fn decoy(entries: &[Entry]) -> &Entry {
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for entry in entries {
        *counts.entry(entry.cost).or_default() += 1;
    }
    let common = counts
        .iter()
        .max_by_key(|(cost, count)| (**count, **cost))
        .map_or(0, |(cost, _)| *cost);
    entries
        .iter()
        .find(|e| e.cost == common)
        .unwrap_or(&entries[0])
}

#[cfg(test)]
mod tests;
