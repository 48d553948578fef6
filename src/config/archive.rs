//! `--archive`: the format a directory listing offers its directory in
//! (see [`crate::site::archive`]).

use clap::Args;

use crate::site::archive::Format;

use super::defaults;

#[derive(Debug, Clone, Args)]
pub struct ArchiveArgs {
    /// Let listings download their directory as an archive: off, tar or tar.gz (streamed, ?download=FORMAT)
    #[arg(long, env = "STATICD_ARCHIVE", value_enum, default_value_t = defaults::site().archive,
          value_name = "FORMAT", help_heading = "HTTP")]
    pub archive: Format,
}
