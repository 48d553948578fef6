//! The options of the rules that add header fields to responses:
//! `--path-header`, `--security-headers`, `--cors-origin` (see
//! [`crate::site::rules::headers`]).

use clap::Args;

use crate::site::rules::headers::HeaderRules;

/// `--path-header`, `--security-headers`, `--cors-origin`.
#[derive(Debug, Clone, Default, Args)]
pub struct HeaderArgs {}

impl HeaderArgs {
    /// The rules as the site takes them.
    pub fn rules(&self) -> HeaderRules {
        HeaderRules::default()
    }
}
