//! The library's server in this process, on an ephemeral loopback port:
//! the one way the tests start it. Every other helper is a configuration
//! of [`serve`].

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, mpsc};

use staticd::{Acceptor, Autoindex, Config, Drained, Options, Pool, Server};

use super::{IO_TIMEOUT, fixture};

/// A server on its own thread: stopped gracefully by [`Running::shutdown`],
/// or left running for the rest of the test by [`Running::detach`].
pub struct Running {
    pub addr: SocketAddr,
    /// The redirect listener's address, with `redirect_http`.
    pub redirect: Option<SocketAddr>,
    /// Its workers, for tests that choose how many are active.
    pub pool: Arc<Pool>,
    /// Its HTTPS configuration, for tests that reload it.
    pub tls: Option<Arc<Acceptor>>,
    stop: tokio::sync::oneshot::Sender<()>,
    /// Receives how the shutdown ended.
    drained: mpsc::Receiver<Drained>,
}

impl Running {
    /// Starts the graceful shutdown and waits for its outcome.
    pub fn shutdown(self) -> Drained {
        self.stop.send(()).expect("server running");
        self.drained
            .recv_timeout(IO_TIMEOUT)
            .expect("shutdown finished")
    }

    /// Leaves the server running as long as the test process, and returns
    /// its address.
    pub fn detach(self) -> SocketAddr {
        // Dropping the sender would end the stop future: a shutdown.
        std::mem::forget(self.stop);
        self.addr
    }
}

/// Starts a server with `config` on its own thread and returns once it is
/// accepting. The thread's runtime is single-threaded, as in the binary:
/// it is worker 0, whose thread the balancer samples.
pub fn serve(config: Config) -> Running {
    serve_options(config.options())
}

/// [`serve`] for options the command line cannot express yet, or that a
/// test changes after the configuration made them.
pub fn serve_options(options: Options) -> Running {
    let (started_tx, started) = mpsc::channel();
    let (drained_tx, drained) = mpsc::channel();
    let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let server = Server::bind(&options).await.expect("bind");
            let addr = server.local_addr().expect("addr");
            let redirect = server.redirect_addr().map(|a| a.expect("redirect addr"));
            let started = Started {
                addr,
                redirect,
                pool: server.pool(),
                tls: server.tls(),
            };
            started_tx.send(started).expect("send addr");
            let outcome = server
                .run(async {
                    let _ = stop_rx.await;
                })
                .await;
            let _ = drained_tx.send(outcome);
        });
        runtime.shutdown_background();
    });
    let Started {
        addr,
        redirect,
        pool,
        tls,
    } = started.recv().expect("server started");
    Running {
        addr,
        redirect,
        pool,
        tls,
        stop,
        drained,
    }
}

/// What a server thread reports once it is accepting.
struct Started {
    addr: SocketAddr,
    redirect: Option<SocketAddr>,
    pool: Arc<Pool>,
    tls: Option<Arc<Acceptor>>,
}

/// A server for `root` with the defaults as `configure` changes them,
/// running for the rest of the test.
pub fn serve_root(root: &Path, configure: impl FnOnce(&mut Config)) -> SocketAddr {
    let mut config = Config::for_root(root);
    configure(&mut config);
    serve(config).detach()
}

/// A running in-process server and the fixture root it serves.
pub struct TestServer {
    pub addr: SocketAddr,
    pub root: tempfile::TempDir,
}

/// A server over a fresh fixture root (see [`fixture`]), configured by
/// `configure`.
pub fn server(configure: impl FnOnce(&mut Config)) -> TestServer {
    let root = fixture();
    let addr = serve_root(root.path(), configure);
    TestServer { addr, root }
}

/// A fixture server that differs from the defaults only in `autoindex`.
pub fn start(autoindex: Autoindex) -> TestServer {
    server(|config| config.autoindex = autoindex)
}
