//! staticd: an HTTP/1.1 static file server.
//!
//! Layers, each a folder; imports go one way, down:
//! [`config`] → [`serve`] → [`site`] → [`http`], with [`ops`] and
//! [`shutdown`] serving the layers above them. See each layer's module
//! documentation for what it owns and what it may import.

pub mod config;
pub mod http;
pub mod ops;
pub mod serve;
pub mod shutdown;
pub mod site;

pub use config::{Autoindex, Config};
pub use serve::Server;
