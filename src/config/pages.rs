//! The options of the rules that decide which response a request gets:
//! `--redirect`, `--fallback`, `--error-page` (see [`crate::site::rules::pages`]).

use clap::Args;

use crate::site::rules::pages::PageRules;

/// `--redirect`, `--fallback`, `--error-page`.
#[derive(Debug, Clone, Default, Args)]
pub struct PageArgs {}

impl PageArgs {
    /// The rules as the site takes them.
    pub fn rules(&self) -> PageRules {
        PageRules::default()
    }
}
