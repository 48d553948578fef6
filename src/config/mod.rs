//! The configuration layer: the command line, the `STATICD_*` environment
//! and `key value` config files, turned into the plain option structs the
//! layers below define and own ([`serve::Options`], holding
//! [`site::Options`] and [`serve::Limits`]).
//!
//! `config` may import `serve`, `site`, `ops` and `http`, for the types its
//! options are made of; none of them imports `config`, so each layer can be
//! built, tested and embedded from its own options, without clap.
//! [`Config::options`] is the one place where the conversion happens.
//!
//! - this file: [`Config`], every option with its flag, variable and help
//!   text, written once; its defaults come from the layers' `Default`s
//!   through `defaults`, and [`Config::for_root`] reads them back from here;
//! - `values`: parsers for the values clap has no parser for;
//! - `tls`: the HTTPS options' checks against each other, which no
//!   single value's parser can make, and their conversion;
//! - [`file`](mod@file): loading, which merges files, environment and command line
//!   and remembers where each value came from (`--print-config`), over
//!   `syntax` (the file format), `origin` and `error`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};

use crate::{serve, site};

pub(crate) mod acme;
pub(crate) mod archive;
pub(crate) mod auth;
pub(crate) mod compress;
mod defaults;
mod error;
pub(crate) mod features;
pub(crate) mod file;
pub(crate) mod headers;
mod listen;
mod origin;
pub(crate) mod pages;
pub(crate) mod reference;
mod syntax;
mod tls;
mod values;

pub use crate::ops::access_log::LogFormat;
pub use crate::serve::balance::Balance;
pub use crate::serve::proxy::TrustedProxy;
pub use crate::site::root::Symlinks;
pub use crate::site::{Autoindex, MimeType};
pub use values::parse_duration;
pub(crate) use values::{
    parse_base_path, parse_charset, parse_extension, parse_field_value, parse_header,
    parse_index_name, parse_level, parse_mime_type, parse_trusted_proxy,
};

pub use values::{Bind, Switch};

/// staticd: a small, fast, careful HTTP/1.1 static file server.
#[derive(Debug, Clone, Parser)]
#[command(name = "staticd", version, long_version = features::long_version(), about, max_term_width = 100)]
pub struct Config {
    /// Document root to serve: the same as --root, as `staticd ./site`
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Document root to serve
    #[arg(
        short = 'r',
        long,
        env = "STATICD_ROOT",
        default_value = defaults::SERVE.root.display().to_string(),
        value_name = "DIR"
    )]
    pub root: PathBuf,

    /// Address to listen on (IPv4 or IPv6), or unix:PATH for a Unix stream socket
    #[arg(
        short = 'b',
        long,
        env = "STATICD_BIND",
        default_value_t = Bind::Ip(defaults::SERVE.addr.ip()),
        value_parser = values::parse_bind,
        value_name = "ADDR"
    )]
    pub bind: Bind,

    /// File mode of a unix: socket (octal); only with --bind unix:PATH
    #[arg(
        long,
        env = "STATICD_SOCKET_MODE",
        default_value = values::mode_text(defaults::SERVE.socket_mode),
        value_parser = values::parse_mode,
        value_name = "MODE"
    )]
    pub socket_mode: u32,

    /// Port to listen on; 0 picks a free one (the log line says which)
    #[arg(
        short = 'p',
        long,
        env = "STATICD_PORT",
        default_value_t = defaults::SERVE.addr.port(),
        value_name = "PORT"
    )]
    pub port: u16,

    /// At start-up, print the first LAN URL (else the loopback one) as a QR code on stderr
    #[arg(long, env = "STATICD_QRCODE")]
    pub qrcode: bool,

    /// Worker threads [default: number of CPUs]
    #[arg(short = 'w', long, env = "STATICD_WORKERS", value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// How workers share the load: pack = as few as it needs, more while CPUs are idle; spread = all, always
    #[arg(long, env = "STATICD_BALANCE", value_enum, default_value_t = defaults::SERVE.balance,
          value_name = "MODE")]
    pub balance: Balance,

    /// Index file names tried in order for a directory (comma-separated); the first that exists is served
    #[arg(long, env = "STATICD_INDEX", value_name = "NAMES", value_delimiter = ',',
          value_parser = parse_index_name, default_values_t = defaults::site().index.clone())]
    pub index: Vec<String>,

    /// For a path that names nothing, the extensions tried on it in order (comma-separated), e.g. html: /about -> about.html
    #[arg(long, env = "STATICD_TRY_EXTENSIONS", value_name = "EXTS", value_delimiter = ',',
          value_parser = parse_extension)]
    pub try_extensions: Vec<String>,

    /// Also redirect /about.html and /dir/index.html to /about and /dir/ (308); tries .html when --try-extensions is not given
    #[arg(long, env = "STATICD_CLEAN_URLS")]
    pub clean_urls: bool,

    /// The path prefix a reverse proxy strips (e.g. /docs/): redirects and listings are sent under it
    #[arg(long, env = "STATICD_BASE_PATH", value_name = "PATH", value_parser = parse_base_path,
          default_value = defaults::site().base_path.clone())]
    pub base_path: String,

    /// A directory without any --index file: off = 404, forbid = 403, on = HTML listing
    #[arg(long, env = "STATICD_AUTOINDEX", value_enum, default_value_t = defaults::site().autoindex,
          value_name = "MODE")]
    pub autoindex: Autoindex,

    /// Symlinks followed: inside = only those resolving inside the root, never, any
    #[arg(long, env = "STATICD_SYMLINKS", value_enum, default_value_t = defaults::SERVE.symlinks,
          value_name = "POLICY")]
    pub symlinks: Symlinks,

    /// Serve FILE.br / FILE.zst / FILE.gz beside FILE to clients that accept them
    #[arg(long, env = "STATICD_PRECOMPRESSED", value_enum, default_value_t = Switch::from(defaults::site().precompressed),
          value_name = "MODE", help_heading = "HTTP")]
    pub precompressed: Switch,

    /// Serve and list dotfiles (/.git/config, /.env); /.well-known/ is always served
    #[arg(long, env = "STATICD_SHOW_HIDDEN", help_heading = "HTTP")]
    pub show_hidden: bool,

    /// Cache-Control value for files, listings, 304 and redirects (e.g. "public, max-age=3600")
    #[arg(long, env = "STATICD_CACHE_CONTROL", value_name = "VALUE",
          value_parser = parse_field_value, help_heading = "HTTP")]
    pub cache_control: Option<String>,

    /// A header added to every response, e.g. 'X-Frame-Options: DENY' (repeatable)
    #[arg(long = "header", env = "STATICD_HEADER", value_name = "NAME: VALUE",
          value_parser = parse_header, value_delimiter = '\n', help_heading = "HTTP")]
    pub headers: Vec<(String, String)>,

    /// Add "; charset=NAME" to text/* content types (e.g. utf-8)
    #[arg(long, env = "STATICD_CHARSET", value_name = "NAME",
          value_parser = parse_charset, help_heading = "HTTP")]
    pub charset: Option<String>,

    /// Serve files ending .EXT as TYPE, ahead of the built-in types, e.g. 'md=text/plain; charset=utf-8' (repeatable)
    #[arg(long = "mime-type", env = "STATICD_MIME_TYPE", value_name = "EXT=TYPE",
          value_parser = parse_mime_type, value_delimiter = '\n', help_heading = "HTTP")]
    pub mime_types: Vec<MimeType>,

    #[command(flatten)]
    pub pages: pages::PageArgs,

    #[command(flatten)]
    pub header_rules: headers::HeaderArgs,

    #[command(flatten)]
    pub auth: auth::AuthArgs,

    #[command(flatten)]
    pub compress: compress::CompressArgs,

    #[command(flatten)]
    pub archive: archive::ArchiveArgs,

    /// PEM certificate chain; with --tls-key, --port speaks HTTPS (repeatable: one per host name, chosen by SNI, the first the default)
    #[arg(
        long = "tls-cert",
        env = "STATICD_TLS_CERT",
        value_name = "FILE",
        value_delimiter = '\n',
        help_heading = "HTTPS"
    )]
    pub tls_certs: Vec<PathBuf>,

    /// PEM private key of the --tls-cert given in the same position (repeatable)
    #[arg(
        long = "tls-key",
        env = "STATICD_TLS_KEY",
        value_name = "FILE",
        value_delimiter = '\n',
        help_heading = "HTTPS"
    )]
    pub tls_keys: Vec<PathBuf>,

    /// Send Strict-Transport-Security with this max-age on HTTPS responses
    #[arg(
        long,
        env = "STATICD_HSTS",
        value_name = "SECONDS",
        help_heading = "HTTPS"
    )]
    pub hsts: Option<u64>,

    /// Add includeSubDomains to Strict-Transport-Security
    #[arg(long, env = "STATICD_HSTS_SUBDOMAINS", help_heading = "HTTPS")]
    pub hsts_subdomains: bool,

    /// Also listen for plain HTTP on this port (same address) and redirect every request to HTTPS
    #[arg(
        long,
        env = "STATICD_REDIRECT_HTTP",
        value_name = "PORT",
        help_heading = "HTTPS"
    )]
    pub redirect_http: Option<u16>,

    #[command(flatten)]
    pub acme: acme::AcmeArgs,

    /// A proxy whose Forwarded / X-Forwarded-For name the client: CIDR, a bare address, or unix for Unix socket peers (repeatable)
    #[arg(long = "trusted-proxy", env = "STATICD_TRUSTED_PROXY", value_name = "CIDR",
          value_parser = parse_trusted_proxy, value_delimiter = '\n', help_heading = "Proxies")]
    pub trusted_proxies: Vec<TrustedProxy>,

    /// Every connection to the site starts with a PROXY protocol header (v1 or v2), whose source is the client; without one it is closed
    #[arg(long, env = "STATICD_PROXY_PROTOCOL", help_heading = "Proxies")]
    pub proxy_protocol: bool,

    /// HTTP/2: offered by ALPN over TLS, and taken on a plain port from a client that starts with its preface (h2c)
    #[arg(long, env = "STATICD_HTTP2", value_enum, default_value_t = Switch::from(defaults::SERVE.http2.enabled),
          value_name = "on|off", help_heading = "HTTP")]
    pub http2: Switch,

    /// HTTP/2 streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS)
    #[arg(long, env = "STATICD_HTTP2_MAX_STREAMS", value_name = "N",
          default_value_t = defaults::SERVE.http2.max_streams,
          value_parser = clap::value_parser!(u32).range(1..), help_heading = "HTTP")]
    pub http2_max_streams: u32,

    /// Answer /metrics (Prometheus), /healthz and /readyz on this address, apart from the site (e.g. 127.0.0.1:9090)
    #[arg(long, env = "STATICD_METRICS_LISTEN", value_name = "ADDR:PORT",
          value_parser = values::parse_listen, help_heading = "Monitoring")]
    pub metrics_listen: Option<std::net::SocketAddr>,

    /// Access log format
    #[arg(long, env = "STATICD_LOG_FORMAT", value_enum, default_value_t = defaults::SERVE.log_format,
          value_name = "FORMAT", help_heading = "Logging")]
    pub log_format: LogFormat,

    /// Access log file (appended to); stdout when absent or "-"
    #[arg(
        long,
        env = "STATICD_ACCESS_LOG",
        value_name = "FILE",
        help_heading = "Logging"
    )]
    pub access_log: Option<PathBuf>,

    /// Diagnostics level on stderr: error, warn, info, debug, trace or off [default: RUST_LOG, else info]
    #[arg(long, env = "STATICD_LOG_LEVEL", value_name = "LEVEL", value_parser = parse_level,
          help_heading = "Logging")]
    pub log_level: Option<String>,

    /// Read options from this `key value` file (repeatable; later files win)
    #[arg(
        long = "config",
        env = "STATICD_CONFIG",
        value_name = "FILE",
        value_delimiter = ':',
        help_heading = "Configuration"
    )]
    pub config_files: Vec<PathBuf>,

    /// Like --config, but a missing file is skipped (read after all --config files)
    #[arg(
        long = "optional-config",
        env = "STATICD_OPTIONAL_CONFIG",
        value_name = "FILE",
        value_delimiter = ':',
        help_heading = "Configuration"
    )]
    pub optional_config_files: Vec<PathBuf>,

    /// Print the effective configuration and where each value came from, then exit
    #[arg(long, help_heading = "Configuration")]
    pub print_config: bool,

    /// Load everything a start would (root, certificates, auth file, pages, log file) without binding; print "configuration ok" or every error, then exit 0 or 1
    #[arg(short = 't', long, help_heading = "Configuration")]
    pub check: bool,

    /// Print the man page (man) or a shell's completion script (bash, zsh, fish), then exit
    #[arg(long, value_name = "WHAT", value_enum, help_heading = "Configuration")]
    pub generate: Option<features::Generate>,

    /// Health check: ask the server this configuration describes for PATH (HEAD); exit 0 if it answers below 400
    #[arg(long, value_name = "PATH", help_heading = "Configuration")]
    pub probe: Option<String>,

    /// Time for a whole request head to arrive, counted from its first byte (from the accept for a connection's first request); then 408
    #[arg(long, env = "STATICD_HEADER_TIMEOUT", default_value = defaults::duration(defaults::SERVE.limits.header_timeout), value_name = "DURATION",
          value_parser = parse_duration, help_heading = "Limits")]
    pub header_timeout: Duration,

    /// Idle time allowed between requests on a kept-alive connection
    #[arg(long, env = "STATICD_KEEPALIVE_TIMEOUT", default_value = defaults::duration(defaults::SERVE.limits.keepalive_timeout), value_name = "DURATION",
          value_parser = parse_duration, help_heading = "Limits")]
    pub keepalive_timeout: Duration,

    /// Time a write may wait for a client that stopped reading before the connection is dropped
    #[arg(long, env = "STATICD_SEND_TIMEOUT", default_value = defaults::duration(defaults::SERVE.limits.send_timeout), value_name = "DURATION",
          value_parser = parse_duration, help_heading = "Limits")]
    pub send_timeout: Duration,

    /// Connections served at once; more wait in the listen backlog
    #[arg(long, env = "STATICD_MAX_CONNECTIONS", default_value_t = defaults::SERVE.max_connections, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000), help_heading = "Limits")]
    pub max_connections: u32,

    /// Requests served on one keep-alive connection before it is closed
    #[arg(long, env = "STATICD_MAX_REQUESTS", default_value_t = defaults::SERVE.limits.max_requests, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..), help_heading = "Limits")]
    pub max_requests: u32,

    /// On SIGTERM/SIGINT, time allowed for requests in flight to finish
    #[arg(long, env = "STATICD_GRACE_PERIOD", default_value = defaults::duration(defaults::SERVE.grace_period), value_name = "DURATION",
          value_parser = parse_duration, help_heading = "Limits")]
    pub grace_period: Duration,
}

impl Config {
    /// The defaults, serving `root` on an ephemeral loopback port; for
    /// embedding and tests. The defaults are the command line's, read from
    /// its definition with the environment ignored, so they are written
    /// once.
    pub fn for_root(root: impl Into<PathBuf>) -> Config {
        let command = Config::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(["staticd", "--bind", "127.0.0.1", "--port", "0"])
            .expect("the defaults parse");
        let mut config = Config::from_arg_matches(&matches).expect("the defaults convert");
        config.root = root.into();
        config
    }

    /// The plain options the serving layer (and through it each layer
    /// below) is built from.
    pub fn options(&self) -> serve::Options {
        let tls = self.tls_options();
        serve::Options {
            root: self.root.clone(),
            symlinks: self.symlinks,
            site: site::Options {
                index: self.index.clone(),
                autoindex: self.autoindex,
                precompressed: self.precompressed == Switch::On,
                show_hidden: self.show_hidden,
                cache_control: self.cache_control.clone(),
                charset: self.charset.clone(),
                mime_types: self.mime_types.clone(),
                try_extensions: self.try_extensions.clone(),
                clean_urls: self.clean_urls,
                base_path: self.base_path.clone(),
                rules: site::rules::Rules {
                    pages: self.pages.rules(),
                    headers: self.header_rules.rules(),
                },
                auth: self.auth.options(),
                compress: self.compress.options(),
                archive: self.archive.archive,
            },
            addr: self.addr(),
            unix_socket: self.unix_socket(),
            socket_mode: self.socket_mode,
            // Sockets passed by a service manager are not configuration:
            // the binary takes them from its environment.
            inherited: Vec::new(),
            workers: self.worker_threads(),
            balance: self.balance,
            limits: serve::Limits {
                header_timeout: self.header_timeout,
                keepalive_timeout: self.keepalive_timeout,
                send_timeout: self.send_timeout,
                max_requests: self.max_requests,
            },
            max_connections: self.max_connections,
            grace_period: self.grace_period,
            headers: self.headers.clone(),
            log_format: self.log_format,
            access_log: self.access_log.clone(),
            // Only with HTTPS to redirect to ([`Config::check_https`]).
            redirect_http: tls.as_ref().and(self.redirect_http),
            tls,
            qrcode: self.qrcode,
            trusted_proxies: self.trusted_proxies.clone(),
            proxy_protocol: self.proxy_protocol,
            metrics_listen: self.metrics_listen,
            http2: serve::Http2Options {
                enabled: self.http2 == Switch::On,
                max_streams: self.http2_max_streams,
            },
        }
    }

    /// The TCP address to bind (unspecified, on the port, with
    /// `--bind unix:PATH`, where it is not used).
    pub fn addr(&self) -> SocketAddr {
        let ip = match self.bind {
            Bind::Ip(ip) => ip,
            Bind::Unix(_) => IpAddr::from([0, 0, 0, 0]),
        };
        SocketAddr::new(ip, self.port)
    }

    /// Worker thread count: the flag, or the serving layer's default (one
    /// per CPU this process may use).
    pub fn worker_threads(&self) -> usize {
        self.workers.map_or(defaults::SERVE.workers, usize::from)
    }
}

#[cfg(test)]
mod tests {
    //! Unit tests for command-line parsing and validation.
    use super::*;

    #[test]
    fn command_line_names() {
        let c = Config::try_parse_from([
            "staticd",
            "-r",
            "/srv",
            "-b",
            "::1",
            "-p",
            "0",
            "-w",
            "3",
            "--autoindex",
            "forbid",
        ])
        .unwrap();
        assert_eq!(c.root, PathBuf::from("/srv"));
        assert_eq!(c.addr(), "[::1]:0".parse().unwrap());
        assert_eq!(c.worker_threads(), 3);
        assert_eq!(c.autoindex, Autoindex::Forbid);
    }

    #[test]
    fn root_must_be_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        // Why binding a server for `root` fails, as shown to a person.
        let refusal = |root: &std::path::Path| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            let options = Config::for_root(root).options();
            let bound = runtime.block_on(crate::serve::Server::bind(&options));
            bound.err().map(|err| crate::ops::diagnostics::report(&err))
        };
        assert!(refusal(dir.path()).is_none());
        let err = refusal(&file).unwrap();
        assert!(err.ends_with("is not a directory"), "{err}");
        let err = refusal(&dir.path().join("missing")).unwrap();
        assert!(err.ends_with("No such file or directory"), "{err}");
    }
}
