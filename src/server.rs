//! The listening socket and the accept loop.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config::{Config, StartError, canonical_root};
use crate::connection;
use crate::fs::Root;
use crate::handler::Site;

/// Pause after an accept error such as EMFILE, so a full descriptor table
/// does not turn the accept loop into a busy spin.
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// SIGTERM and SIGINT, caught. Without a handler SIGTERM would be ignored
/// when staticd runs as PID 1 in a container. Install it before announcing
/// the listening address, so a signal sent right after is never lost.
/// In-flight requests are not drained yet.
pub struct StopSignal {
    term: Signal,
    int: Signal,
}

impl StopSignal {
    /// Installs the handlers; must run inside the tokio runtime.
    pub fn install() -> io::Result<StopSignal> {
        Ok(StopSignal {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Resolves when either signal arrives.
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    site: Arc<Site>,
}

impl Server {
    /// Checks the document root and binds the listening socket.
    pub async fn bind(config: &Config) -> Result<Server, StartError> {
        let canonical = canonical_root(&config.root)?;
        let root = Root::open(&canonical, config.symlinks)
            .map_err(|e| StartError::Root(config.root.clone(), e))?;
        let addr = config.addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| StartError::Bind(addr, e))?;
        let site = Arc::new(Site {
            root,
            autoindex: config.autoindex,
        });
        Ok(Server { listener, site })
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts connections forever, serving each on its own task.
    pub async fn run(self) {
        loop {
            match self.listener.accept().await {
                Ok((stream, peer)) => {
                    if let Err(err) = stream.set_nodelay(true) {
                        tracing::debug!(%peer, error = %err, "set_nodelay failed");
                    }
                    tokio::spawn(connection::serve(stream, peer, Arc::clone(&self.site)));
                }
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed; backing off");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            }
        }
    }
}
