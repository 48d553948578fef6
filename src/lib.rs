//! staticd: an HTTP/1.1 static file server.
//!
//! Layers, each a folder; imports go one way, down:
//! `config` → `serve` → `site` → `http`, with `ops` and `shutdown`
//! serving the layers above them. See each layer's module documentation
//! for what it owns and what it may import.
//!
//! The layers are private. What is public below is what the binary
//! (`src/main.rs`), the benchmark (`benches/`), the fuzz targets
//! (`fuzz/`) and the integration tests (`tests/it/`) use, each item under
//! a path that does not follow the layers, so regrouping the inside moves
//! none of them.

// Everything `pub` inside the layers must be reachable from here, so the
// surface stays what this file lists.
#![warn(unreachable_pub)]

mod config;
mod http;
mod ops;
mod serve;
mod shutdown;
mod site;

/// Every option, from the command line, the environment and config files:
/// the binary loads it, the tests make one per server (`Config::for_root`,
/// or clap's `try_parse_from` for a command line) and turn it into
/// [`Options`].
pub use config::Config;

/// Loading the configuration as the binary does (files, environment,
/// command line) and printing it with `--print-config`: used by
/// `src/main.rs`.
pub use config::file::{LoadError, Loaded, load as load_config};

/// Values of [`Config`] fields that the tests set: `--autoindex`,
/// `--balance`, `--symlinks`, `--bind` and `on`/`off` options such as
/// `--precompressed`.
pub use config::{Autoindex, Balance, Bind, MimeType, Switch, Symlinks};

/// A `--trusted-proxy` value and the `--log-format`, which the proxy tests
/// put into a [`Config`].
pub use config::{LogFormat, TrustedProxy};

/// The duration syntax of the options (`30s`, `500ms`), which the defaults
/// test reads `--help` with.
pub use config::parse_duration;

/// Values of the page rules (`--redirect`, `--error-page`, `--fallback`)
/// that the tests put into a [`Config`].
pub use site::rules::pages::{ErrorPage, PagePath, Redirect};

/// `--generate`: the man page and completions from the clap definition,
/// and `--version`'s feature table, which the tests hold against `--help`.
pub use config::features::{FEATURES, Generate};
pub use config::reference::generate;

/// `--check`: what a start would load, loaded without binding; used by
/// `src/main.rs`.
pub use serve::{Checked, check};

/// A server: bound, then run until a future resolves or a signal comes;
/// the tests run it in process, the binary through [`run_blocking`].
pub use serve::{Drained, Exit, Http2Options, Options, Server, StartError, run_blocking};

/// What SIGHUP reloads with: the configuration layer's way to read itself
/// again ([`Loaded::reloader`]), which the server calls.
pub use serve::{Reload, Reloader};

/// systemd socket activation: the binary takes the listening sockets the
/// service manager passed (`LISTEN_FDS`) into [`Options::inherited`].
pub use serve::activation::Inherited;
pub use serve::inherited_sockets;

/// One HTTP/2 connection served from bytes in memory: what the fuzz
/// target `http2_connection` feeds arbitrary client bytes to.
pub use serve::Http2Replay;

/// The HTTPS options of [`Options`], which the TLS tests fill in.
pub use serve::{AcmeOptions, Challenge, Hsts, TlsOptions};

/// A certificate and key file pair, as `--tls-cert`/`--tls-key` name them:
/// the TLS tests write their own.
pub use serve::tls::{CertPair, TlsError};

/// The HTTPS configuration of a running server ([`Server::tls`]), which
/// reloads its certificates (SIGHUP does; the TLS tests call it).
pub use serve::tls::Acceptor;

/// The workers of a running server ([`Server::pool`]): how many accept,
/// and what each holds. With `--balance spread` the active count is the
/// caller's to set; the worker tests move connections by setting it.
pub use serve::pool::Pool;

/// An error and its sources as one line, as the binary prints them; the
/// tests compare the binary's messages with it.
pub use ops::diagnostics::report;

/// Logging as `--log-level` (else `RUST_LOG`) asks: used by `src/main.rs`.
pub use ops::diagnostics::init as init_logging;

/// `--probe`: one request to a running server, for container health
/// checks; used by `src/main.rs`.
pub use ops::probe::check as probe;

/// Where `--probe` connects ([`Config::probe_target`]): the address or the
/// Unix socket the configuration listens on.
pub use ops::probe::Target as ProbeTarget;

/// The fixed limits the tests aim requests at (a head just over the
/// largest accepted, a body too large to read and discard, a file changed
/// within the file cache's trust window, ...).
pub mod limits {
    pub use crate::http::limits::{
        MAX_FORWARDED_HOPS, MAX_HEAD, MAX_HEADERS, MAX_PROXY_V1_LINE, MAX_PROXY_V2_LENGTH,
        MAX_RANGES, MAX_REQUEST_LINE,
    };
    pub use crate::ops::limits::ACCESS_LOG_BUFFER;
    pub use crate::serve::limits::MAX_DISCARD_BODY;
    pub use crate::site::limits::FILE_CACHE_VALID;
}

/// Request heads and targets parsed, response heads encoded, with no
/// sockets: the code the benchmark (`benches/hotpath.rs`) times and the
/// fuzz targets (`request_head`, `proxy_header`, `forwarded`) feed
/// arbitrary bytes; the proxy tests build PROXY headers with the v2
/// signature.
pub mod wire {
    pub use crate::http::date::now as http_date;
    pub use crate::http::error::ParseError;
    pub use crate::http::forwarded::{
        Hop, Hops, client as forwarded_client, forwarded_hops, x_forwarded_for_hops,
    };
    pub use crate::http::proxy_protocol::{
        ProxyError, ProxyHeader, V2_SIGNATURE, parse as parse_proxy_header,
    };
    pub use crate::http::request::{Request, parse as parse_request};
    pub use crate::http::response::{Body, Response, encode_head};
    pub use crate::http::status::Status;
    pub use crate::http::target::Target;
}

/// Resolving a request target inside the document root, the one place the
/// server touches the file system by a client's path: what the fuzz
/// target `resolve_path` attacks with symlinks, dot segments and
/// encodings.
pub mod docroot {
    pub use crate::site::root::{Resolved, Root, resolve};
}
