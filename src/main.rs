//! The staticd binary: parse configuration, answer `--print-config` and
//! `--probe`, start logging, run the server until signalled.

use std::io::IsTerminal;
use std::process::ExitCode;

use staticd::Config;
use staticd::config::file::{self as config_file, LoadError};
use staticd::ops::probe;
use staticd::serve::{self, Exit};
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let config = match configure() {
        Ok(config) => config,
        Err(code) => return code,
    };
    start_logging(&config);
    // The first worker; the server starts the others on their own threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the runtime: {err}")),
    };
    let ended = runtime.block_on(serve::serve_until_signalled(&config.options()));
    // Do not wait for blocking file reads of connections cut short.
    runtime.shutdown_background();
    match ended {
        Ok(Exit::Graceful) => ExitCode::SUCCESS,
        Ok(Exit::Forced) => ExitCode::FAILURE,
        Err(err) => fail(&err.to_string()),
    }
}

/// The configuration to serve with, or the exit code when there is
/// nothing to serve: an error, `--print-config`, or `--probe`.
fn configure() -> Result<Config, ExitCode> {
    let loaded = match config_file::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Clap(err)) => err.exit(),
        Err(err) => {
            eprintln!("error: {err}");
            return Err(ExitCode::from(2));
        }
    };
    if loaded.config.print_config {
        print!("{}", loaded.render());
        return Err(ExitCode::SUCCESS);
    }
    let config = loaded.config;
    if let Some(path) = &config.probe {
        let addr = probe::target(config.bind, config.port);
        return Err(match probe::probe(addr, path) {
            Ok(status) if status < 400 => ExitCode::SUCCESS,
            Ok(status) => fail(&format!("probe {addr}{path}: status {status}")),
            Err(err) => fail(&format!("probe {addr}{path}: {err}")),
        });
    }
    Ok(config)
}

/// Logs to standard error: `--log-level` wins; else `RUST_LOG` (full
/// directive syntax); else info. The lifecycle lines (listening, stopping)
/// are logged whatever the level, since scripts using `--port 0` need the
/// listening line.
fn start_logging(config: &Config) {
    let filter = match &config.log_level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    }
    .add_directive(
        format!("{}=info", serve::LIFECYCLE)
            .parse()
            .expect("static directive"),
    );
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
