//! The staticd binary: parse the configuration, answer `--print-config`
//! and `--probe`, start logging, serve until signalled.

use std::process::ExitCode;

use staticd::{
    Exit, LoadError, inherited_sockets, init_logging, load_config, probe, report, run_blocking,
};

fn main() -> ExitCode {
    // SAFETY: the first thing the process does, while it has one thread.
    let inherited = unsafe { inherited_sockets() };
    let loaded = match load_config(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Clap(err)) => err.exit(),
        Err(err) => {
            eprintln!("error: {}", report(&err));
            return ExitCode::from(2);
        }
    };
    let config = &loaded.config;
    if config.print_config {
        print!("{}", loaded.render());
        return ExitCode::SUCCESS;
    }
    if let Some(path) = &config.probe {
        return match probe(&config.probe_target(), path, !config.tls_certs.is_empty()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => fail(&message),
        };
    }
    init_logging(config.log_level.as_deref());
    let mut options = config.options();
    options.inherited = match inherited {
        Ok(inherited) => inherited,
        Err(err) => return fail(&report(&err)),
    };
    match run_blocking(&options) {
        Ok(Exit::Graceful) => ExitCode::SUCCESS,
        Ok(Exit::Forced) => ExitCode::FAILURE,
        Err(err) => fail(&report(&err)),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
