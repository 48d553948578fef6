//! The staticd binary: parse configuration, start logging, bind, run.

use std::io::IsTerminal;
use std::process::ExitCode;

use staticd::config::file::{self as config_file, LoadError};
use staticd::ops::probe;
use staticd::serve::{Drained, StopSignal};
use staticd::{Config, Server};
use tracing_subscriber::EnvFilter;

/// Lifecycle lines (listening, stopping) are logged whatever `RUST_LOG` says.
const LIFECYCLE_DIRECTIVE: &str = "staticd::lifecycle=info";

fn main() -> ExitCode {
    let loaded = match config_file::load(std::env::args_os()) {
        Ok(loaded) => loaded,
        Err(LoadError::Clap(err)) => err.exit(),
        Err(err) => {
            eprintln!("error: {err}");
            return ExitCode::from(2);
        }
    };
    if loaded.config.print_config {
        print!("{}", loaded.render());
        return ExitCode::SUCCESS;
    }
    let config = loaded.config;
    if let Some(path) = &config.probe {
        let addr = probe::target(config.bind, config.port);
        return match probe::probe(addr, path) {
            Ok(status) if status < 400 => ExitCode::SUCCESS,
            Ok(status) => fail(&format!("probe {addr}{path}: status {status}")),
            Err(err) => fail(&format!("probe {addr}{path}: {err}")),
        };
    }
    // --log-level wins; else RUST_LOG (full directive syntax); else info.
    let filter = match &config.log_level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    }
    // Scripts using `--port 0` need the listening line at any level.
    .add_directive(LIFECYCLE_DIRECTIVE.parse().expect("static directive"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    // The first worker; the server starts the others on their own threads.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(err) => return fail(&format!("cannot start the runtime: {err}")),
    };
    let code = runtime.block_on(serve(config));
    // Do not wait for blocking file reads of connections cut short.
    runtime.shutdown_background();
    code
}

/// Binds, announces, serves; the first signal starts a graceful shutdown,
/// a second one exits at once.
async fn serve(config: Config) -> ExitCode {
    let mut stop = match StopSignal::install() {
        Ok(stop) => stop,
        Err(err) => return fail(&format!("cannot install signal handlers: {err}")),
    };
    let server = match Server::bind(&config.options()).await {
        Ok(server) => server,
        Err(err) => return fail(&err.to_string()),
    };
    match server.local_addr() {
        Ok(addr) => tracing::info!(target: "staticd::lifecycle", "listening on http://{addr}"),
        Err(err) => return fail(&format!("cannot read the bound address: {err}")),
    }
    let (begin_tx, begin_rx) = tokio::sync::oneshot::channel::<()>();
    let run = server.run(async {
        let _ = begin_rx.await;
    });
    tokio::pin!(run);
    tokio::select! {
        _ = &mut run => return ExitCode::SUCCESS,
        () = stop.recv() => {}
    }
    tracing::info!(
        target: "staticd::lifecycle",
        "stopping on signal: finishing requests in flight for up to {:?}",
        config.grace_period
    );
    let _ = begin_tx.send(());
    tokio::select! {
        drained = &mut run => {
            match drained {
                Drained::All => tracing::info!(target: "staticd::lifecycle", "stopped"),
                Drained::TimedOut { open } => tracing::warn!(
                    target: "staticd::lifecycle",
                    "grace period over: stopped with {open} connections cut"
                ),
            }
            ExitCode::SUCCESS
        }
        () = stop.recv() => {
            tracing::warn!(target: "staticd::lifecycle", "second signal: exiting at once");
            ExitCode::FAILURE
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}
