//! staticd: an HTTP/1.1 static file server.
//!
//! Data flows one way: [`server`] accepts connections, [`connection`] turns
//! bytes into [`request::Request`]s and writes responses, [`handler`] maps a
//! request to a [`response::Response`] without touching sockets, and [`fs`]
//! resolves paths safely inside the document root. Idle connections wait in
//! [`idle`]'s parking table instead of holding a task. The workers form a
//! [`pool`]; [`balance`] decides how many of them take connections.

pub mod access_log;
pub mod balance;
pub mod cache;
pub mod config;
pub mod config_file;
pub mod connection;
pub mod date;
pub mod escape;
pub mod fields;
pub mod fs;
pub mod handler;
pub mod idle;
pub mod limits;
pub mod listing;
pub mod mime;
pub mod negotiate;
pub mod pool;
pub mod probe;
pub mod range;
pub mod representation;
pub mod request;
pub mod response;
pub mod server;
pub mod status;
pub mod target;
pub mod validators;

pub use config::{Autoindex, Config};
pub use server::Server;
