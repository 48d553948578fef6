//! `--check`: everything a start loads, loaded the same way, without
//! binding a socket or starting a worker, so a configuration can be
//! judged before it goes live (as `nginx -t` does). Each part is tried
//! even when an earlier one failed, so one run names every problem.

use std::io;

use crate::ops::access_log::AccessLog;
use crate::serve::options::{Options, StartError};
use crate::site::Site;
use crate::site::root::Root;
use crate::site::rules::auth::Auth;

/// What `--check` found: errors a start would stop at, and warnings a
/// start would log (certificates about to expire, pages that are missing).
#[derive(Debug, Default)]
pub struct Checked {
    pub errors: Vec<StartError>,
    pub warnings: Vec<String>,
    /// What a start would do that is neither (the ACME certificate's
    /// state and next renewal).
    pub notes: Vec<String>,
}

/// Loads the root, the certificates, the auth file, the pages the rules
/// name and the access log's place, as [`crate::serve::Server::bind`]
/// would.
pub fn check(config: &Options) -> Checked {
    let mut checked = Checked::default();
    if let Some(tls) = &config.tls {
        match crate::serve::tls::Acceptor::load(
            &tls.certificates,
            crate::serve::tls::Http2(config.http2.enabled),
            None,
        ) {
            Ok((_, warnings)) => checked.warnings.extend(warnings),
            Err(err) => checked.errors.push(StartError::Tls(err)),
        }
        if let Some(acme) = &tls.acme {
            match crate::serve::acme::describe(acme) {
                Ok(note) => checked.notes.push(note),
                Err(err) => checked.errors.push(err),
            }
        }
    }
    match open_root(config) {
        Ok(root) => match Site::new(root, &config.site, Default::default()) {
            Ok(site) => checked.warnings.extend(site.missing_pages()),
            Err(err) => checked.errors.push(StartError::Auth(err)),
        },
        Err(err) => {
            checked.errors.push(err);
            if let Err(err) = Auth::load(&config.site.auth) {
                checked.errors.push(StartError::Auth(err));
            }
        }
    }
    let logged = config.log_format != crate::ops::access_log::LogFormat::Off;
    if let Some(path) = config.access_log.as_ref().filter(|_| logged) {
        if let Err(err) = AccessLog::check(path) {
            checked
                .errors
                .push(StartError::AccessLog(path.clone(), err));
        }
    }
    checked
}

/// The document root, or why it cannot be served.
pub(super) fn open_root(config: &Options) -> Result<Root, StartError> {
    Root::open(&config.root, config.symlinks).map_err(|e| {
        if e.kind() == io::ErrorKind::NotADirectory {
            StartError::RootNotDirectory(config.root.clone())
        } else {
            StartError::Root(config.root.clone(), e)
        }
    })
}
