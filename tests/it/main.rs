//! The integration tests, one module per area, linked into one binary so
//! rustls, ring and tokio are built and linked once rather than per file.
//! Each module starts the real server (in process on `127.0.0.1:0`, or the
//! built binary as a child process) and speaks raw bytes, real TLS or the
//! tools a user would run; the helpers they share are in `common`.

mod common;

mod acme;
mod activation;
mod architecture;
mod archive;
mod clean_urls;
mod cli;
mod compress;
mod conditional;
mod container;
mod deb_package;
mod defaults;
mod deploy;
mod docs;
mod file_cache;
mod framing;
mod hostile_paths;
mod http2;
mod http2_attacks;
mod http2_tools;
mod httptest;
mod init_script;
mod limits;
mod lint;
mod listen;
mod listing_browser;
mod listings;
mod metrics;
mod mime;
mod operate;
mod paths;
mod persistence;
mod proxy;
mod ranges;
mod reference;
mod reload;
mod responses;
mod reverse_proxy;
mod rules_auth;
mod rules_headers;
mod rules_order;
mod rules_pages;
mod shutdown;
mod site_options;
mod site_paths;
mod timeouts;
mod tls;
mod tls_lint;
mod tls_listeners;
mod tls_process;
mod unix_socket;
mod variants;
mod workers;
