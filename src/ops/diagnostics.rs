//! Diagnostics on standard error, through `tracing`: what a person running
//! staticd reads, apart from the access log.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The target of the lifecycle lines (listening, stopping, stopped). They
/// are logged whatever the level: scripts using `--port 0` read the
/// listening line to learn the port.
pub const LIFECYCLE: &str = "staticd::lifecycle";

/// Starts logging to standard error at `level` (`--log-level`); without
/// one, `RUST_LOG` (full directive syntax) decides, else `info`.
pub fn init(level: Option<&str>) {
    let filter = match level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    }
    .add_directive(
        format!("{LIFECYCLE}=info")
            .parse()
            .expect("static directive"),
    );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}
