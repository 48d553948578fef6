//! The staticd binary: parse the configuration, answer `--print-config`
//! and `--probe`, start logging, serve until signalled.

use std::process::ExitCode;

use staticd::{
    Exit, LoadError, check, inherited_sockets, init_logging, load_config, probe, report,
    run_blocking,
};

fn main() -> ExitCode {
    // SAFETY: the first thing the process does, while it has one thread.
    let inherited = unsafe { inherited_sockets() };
    let loaded = match load_config(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Clap(err)) => err.exit(),
        Err(err) => {
            eprintln!("error: {}", report(&err));
            // `--check` judges the configuration: 1 for any fault in it.
            let checking = std::env::args_os().any(|a| a == "--check" || a == "-t");
            return ExitCode::from(if checking { 1 } else { 2 });
        }
    };
    let config = &loaded.config;
    if config.print_config {
        print!("{}", loaded.render());
        return ExitCode::SUCCESS;
    }
    if let Some(what) = config.generate {
        return match staticd::generate(what) {
            Ok(text) => {
                use std::io::Write;
                let _ = std::io::stdout().write_all(&text);
                ExitCode::SUCCESS
            }
            Err(err) => fail(&err.to_string()),
        };
    }
    if config.check {
        return checked(&config.options());
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
    let reloader = loaded.reloader(std::env::args_os().collect());
    match run_blocking(&options, Some(reloader)) {
        Ok(Exit::Graceful) => ExitCode::SUCCESS,
        Ok(Exit::Forced) => ExitCode::FAILURE,
        Err(err) => fail(&report(&err)),
    }
}

/// `--check`: warnings and errors on stderr, the verdict on stdout.
fn checked(options: &staticd::Options) -> ExitCode {
    let checked = check(options);
    for warning in &checked.warnings {
        eprintln!("warning: {warning}");
    }
    for error in &checked.errors {
        eprintln!("error: {}", report(error));
    }
    if checked.errors.is_empty() {
        for note in &checked.notes {
            println!("{note}");
        }
        println!("configuration ok");
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
