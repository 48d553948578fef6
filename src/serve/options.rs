//! What the serving layer is told, as plain values the configuration
//! fills in, and why a server could not start (or keep running: signal
//! handlers and the bound address are part of starting the binary).

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::ops::access_log::LogFormat;
use crate::serve::activation::Inherited;
use crate::serve::balance::Balance;
use crate::serve::proxy::TrustedProxy;
use crate::serve::tls::{CertPair, TlsError};
use crate::site;
use crate::site::root::Symlinks;
use crate::site::rules::auth::AuthError;

/// Everything [`crate::serve::Server::bind`] needs.
#[derive(Debug, Clone)]
pub struct Options {
    /// The document root as given (resolved when the server binds).
    pub root: PathBuf,
    pub symlinks: Symlinks,
    pub site: site::Options,
    /// The TCP address to listen on, unless `unix_socket` is given.
    pub addr: SocketAddr,
    /// A Unix stream socket to listen on instead of `addr`: created at
    /// start-up (replacing a stale one nobody listens on), removed at
    /// shutdown.
    pub unix_socket: Option<PathBuf>,
    /// The Unix socket file's permission bits: the owner and the group
    /// (a reverse proxy's user, added to the group) may connect.
    pub socket_mode: u32,
    /// Listening sockets passed by the service manager, served instead of
    /// binding `addr`, `unix_socket` and `redirect_http`'s port.
    pub inherited: Vec<Inherited>,
    /// Worker threads, at least one.
    pub workers: usize,
    pub balance: Balance,
    pub limits: Limits,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: u32,
    /// At shutdown, how long requests in flight may take to finish.
    pub grace_period: Duration,
    /// `--header` fields, added to every response.
    pub headers: Vec<(String, String)>,
    pub log_format: LogFormat,
    /// The access log file; standard output when `None`.
    pub access_log: Option<PathBuf>,
    /// HTTPS on the main listener, when certificates are given.
    pub tls: Option<TlsOptions>,
    /// A plain-HTTP listener on this port (on the same address as the main
    /// one) that redirects every request to HTTPS.
    pub redirect_http: Option<u16>,
    /// At start-up, print the first LAN URL as a QR code on stderr.
    pub qrcode: bool,
    /// Peers whose `Forwarded` / `X-Forwarded-For` name the client.
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Site connections start with a PROXY protocol header.
    pub proxy_protocol: bool,
    /// Where `/metrics`, `/healthz` and `/readyz` are answered; nowhere
    /// when `None`.
    pub metrics_listen: Option<SocketAddr>,
    pub http2: Http2Options,
}

/// HTTP/2 (`--http2`, `--http2-max-streams`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Http2Options {
    /// ALPN offers `h2` over TLS, and a plain connection that starts with
    /// the preface is served as HTTP/2.
    pub enabled: bool,
    /// `SETTINGS_MAX_CONCURRENT_STREAMS`: streams open at once per
    /// connection; more are refused (`REFUSED_STREAM`).
    pub max_streams: u32,
}

impl Default for Http2Options {
    fn default() -> Self {
        Http2Options {
            enabled: true,
            // nginx's http2_max_concurrent_streams.
            max_streams: 128,
        }
    }
}

/// The documented defaults; the command line takes its own from here.
impl Default for Options {
    fn default() -> Self {
        Options {
            root: PathBuf::from("."),
            symlinks: Symlinks::default(),
            site: site::Options::default(),
            addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            unix_socket: None,
            socket_mode: 0o660,
            inherited: Vec::new(),
            workers: default_workers(),
            balance: Balance::default(),
            limits: Limits::default(),
            max_connections: 10_000,
            grace_period: Duration::from_secs(10),
            headers: Vec::new(),
            log_format: LogFormat::default(),
            access_log: None,
            tls: None,
            redirect_http: None,
            qrcode: false,
            trusted_proxies: Vec::new(),
            proxy_protocol: false,
            metrics_listen: None,
            http2: Http2Options::default(),
        }
    }
}

impl Options {
    /// The fields added to every response, over plain HTTP and over HTTPS
    /// (which adds `Strict-Transport-Security` under `--hsts`).
    #[allow(clippy::type_complexity)]
    pub(crate) fn response_headers(&self) -> (Vec<(String, String)>, Vec<(String, String)>) {
        let mut https_headers = self.headers.clone();
        if let Some(hsts) = self.tls.as_ref().and_then(|tls| tls.hsts) {
            https_headers.push(hsts.field());
        }
        (self.headers.clone(), https_headers)
    }
}

/// One worker per CPU this process may use: its affinity mask and cgroup
/// CPU quota, as the standard library reads them; one if unknown.
pub(super) fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// What the HTTPS listener is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    /// Certificate chains and keys; the first is the default, the others
    /// are chosen by SNI. Empty when every name is ACME's.
    pub certificates: Vec<CertPair>,
    /// A certificate obtained and renewed from an ACME CA (`--acme-domain`)
    /// for the names the files do not cover.
    pub acme: Option<AcmeOptions>,
    /// `Strict-Transport-Security` on every HTTPS response.
    pub hsts: Option<Hsts>,
}

/// Let's Encrypt's production directory, the default CA.
pub(crate) const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// How the CA is shown that this server answers for a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Challenge {
    /// TLS-ALPN-01 (RFC 8737), on the HTTPS port itself.
    #[default]
    #[value(name = "tls-alpn-01")]
    TlsAlpn01,
    /// HTTP-01 (RFC 8555 §8.3), on the `--redirect-http` listener.
    #[value(name = "http-01")]
    Http01,
}

/// Automatic HTTPS: one certificate for `domains`, obtained at start and
/// renewed in the background.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeOptions {
    /// The names the certificate covers, the first naming its files.
    pub domains: Vec<String>,
    /// The CA's directory URL (`https://`).
    pub directory: String,
    /// The account's contact address.
    pub email: Option<String>,
    /// PEM roots trusted for the directory, beside the system's.
    pub ca_file: Option<PathBuf>,
    /// Where the account and the certificates are kept.
    pub state: PathBuf,
    pub challenge: Challenge,
    /// Renew when less than this remains; `None`: a third of the
    /// certificate's lifetime.
    pub renew_before: Option<Duration>,
}

impl Default for AcmeOptions {
    fn default() -> Self {
        AcmeOptions {
            domains: Vec::new(),
            directory: LETS_ENCRYPT.to_owned(),
            email: None,
            ca_file: None,
            state: default_state(std::env::var_os("STATE_DIRECTORY").as_deref()),
            challenge: Challenge::default(),
            renew_before: None,
        }
    }
}

/// The state directory a service gets: `acme` under the first directory
/// systemd's `StateDirectory=` names (`$STATE_DIRECTORY`, colon-separated),
/// else under `/var/lib/staticd`.
pub(crate) fn default_state(state_directory: Option<&std::ffi::OsStr>) -> PathBuf {
    let first = state_directory
        .and_then(|dirs| dirs.to_str())
        .and_then(|dirs| dirs.split(':').find(|d| !d.is_empty()));
    PathBuf::from(first.unwrap_or("/var/lib/staticd")).join("acme")
}

/// The `Strict-Transport-Security` policy (RFC 6797 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hsts {
    pub max_age: u64,
    pub include_subdomains: bool,
}

impl Hsts {
    /// The field as sent.
    pub fn field(&self) -> (String, String) {
        let mut value = format!("max-age={}", self.max_age);
        if self.include_subdomains {
            value.push_str("; includeSubDomains");
        }
        ("Strict-Transport-Security".to_owned(), value)
    }
}

/// The per-connection limits the configuration sets.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time for a whole request head to arrive, from its first byte (from
    /// the accept for a connection's first request); then 408.
    pub header_timeout: Duration,
    /// Idle time allowed between requests on a kept-alive connection.
    pub keepalive_timeout: Duration,
    /// Time a write may wait for a client that stopped reading.
    pub send_timeout: Duration,
    /// Requests served on one connection before it is closed.
    pub max_requests: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(5),
            send_timeout: Duration::from_secs(30),
            max_requests: 10_000,
        }
    }
}

/// Why the server could not start. Each variant says what was being
/// done and carries the error underneath as its `source()`; a person reads
/// the whole chain as one line (`ops::diagnostics::report`).
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("document root {}", .0.display())]
    Root(PathBuf, #[source] io::Error),
    #[error("document root {} is not a directory", .0.display())]
    RootNotDirectory(PathBuf),
    #[error("cannot listen on {0}")]
    Bind(SocketAddr, #[source] io::Error),
    #[error("cannot listen on {0} (--metrics-listen)")]
    Metrics(SocketAddr, #[source] io::Error),
    #[error("cannot listen on unix:{}", .0.display())]
    BindUnix(PathBuf, #[source] io::Error),
    /// A socket the service manager passed cannot be served.
    #[error("inherited socket {0}")]
    Inherited(String, #[source] io::Error),
    /// The sockets the service manager passed could not be taken.
    #[error("socket activation")]
    Activation(#[source] io::Error),
    #[error("access log {}", .0.display())]
    AccessLog(PathBuf, #[source] io::Error),
    /// A worker thread or its runtime could not be started.
    #[error("cannot start the workers")]
    Workers(#[source] io::Error),
    /// The SIGTERM and SIGINT handlers could not be installed.
    #[error("cannot install signal handlers")]
    Signals(#[source] io::Error),
    /// The address bound could not be read back.
    #[error("cannot read the bound address")]
    Address(#[source] io::Error),
    /// The first worker's runtime could not be built.
    #[error("cannot start the runtime")]
    Runtime(#[source] io::Error),
    /// A certificate or key could not be used (the cause names the file).
    #[error("HTTPS")]
    Tls(#[source] TlsError),
    /// The `--auth-file` could not be used (it names file and line).
    #[error(transparent)]
    Auth(AuthError),
    /// The ACME state directory cannot be created, locked or written.
    #[error("ACME state directory {} (--acme-state)", .0.display())]
    AcmeState(PathBuf, #[source] io::Error),
    /// The `--acme-ca-file` cannot be read as PEM certificates.
    #[error("{} (--acme-ca-file)", .0.display())]
    AcmeCaFile(PathBuf, #[source] io::Error),
}
