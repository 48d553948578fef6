//! The staticd binary: parse the configuration, answer `--print-config`
//! and `--probe`, start logging, serve until signalled.

use std::process::ExitCode;

use staticd::config::file::{self as config_file, LoadError};
use staticd::ops::{diagnostics, probe};
use staticd::serve::{self, Exit};

fn main() -> ExitCode {
    let loaded = match config_file::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Clap(err)) => err.exit(),
        Err(err) => {
            eprintln!("error: {}", diagnostics::report(&err));
            return ExitCode::from(2);
        }
    };
    let config = &loaded.config;
    if config.print_config {
        print!("{}", loaded.render());
        return ExitCode::SUCCESS;
    }
    if let Some(path) = &config.probe {
        return match probe::check(config.bind, config.port, path, !config.tls_certs.is_empty()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        };
    }
    diagnostics::init(config.log_level.as_deref());
    match serve::run_blocking(&config.options()) {
        Ok(Exit::Graceful) => ExitCode::SUCCESS,
        Ok(Exit::Forced) => ExitCode::FAILURE,
        Err(err) => fail(&diagnostics::report(&err)),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
