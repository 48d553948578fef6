//! Diagnostics on standard error, through `tracing`: what a person running
//! staticd reads, apart from the access log.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// The target of the lifecycle lines (listening, stopping, stopped). They
/// are logged whatever the level: scripts using `--port 0` read the
/// listening line to learn the port.
pub(crate) const LIFECYCLE: &str = "staticd::lifecycle";

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

/// An error as one line for a person: its message, then each cause's
/// after a colon (`cannot listen on 0.0.0.0:80: Permission denied`). An
/// operating-system error is shown without its "(os error N)" tail, which
/// repeats the message as a number.
pub fn report(err: &(dyn std::error::Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(err);
    while let Some(err) = next {
        if !line.is_empty() {
            line.push_str(": ");
        }
        let text = err.to_string();
        match err.downcast_ref::<std::io::Error>() {
            Some(_) => line.push_str(text.split(" (os error").next().unwrap_or(&text)),
            None => line.push_str(&text),
        }
        next = err.source();
    }
    line
}

#[cfg(test)]
mod tests {
    //! Unit tests for the one-line error report.
    use super::report;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn the_chain_is_joined_and_os_codes_dropped() {
        let io = std::io::Error::from_raw_os_error(libc::EACCES);
        assert!(io.to_string().contains("(os error"), "{io}");
        assert_eq!(report(&Outer(io)), "outer: Permission denied");
        let alone = std::io::Error::other("plain");
        assert_eq!(report(&alone), "plain");
    }
}
