//! The built binary with a metrics listener (`--metrics-listen
//! 127.0.0.1:0`, no access log), and its scrape.

use std::net::SocketAddr;

use super::process::Started;
use super::{get, request};

/// A server with a metrics listener, and that listener's address.
pub struct Monitored {
    pub server: Started,
    pub site: SocketAddr,
    pub metrics: SocketAddr,
}

pub fn start(root: &std::path::Path, args: &[&str]) -> Monitored {
    let mut all = vec![
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--log-format",
        "off",
        "--root",
        root.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let server = Started::new(&all, &[]);
    let site = SocketAddr::from(([127, 0, 0, 1], server.port()));
    let line = loop {
        let line = server
            .stderr
            .recv_timeout(super::IO_TIMEOUT)
            .expect("metrics line");
        if line.contains("metrics on ") {
            break line;
        }
    };
    let metrics = line.split("http://").nth(1).unwrap();
    let metrics = metrics.trim_end_matches("/metrics").parse().unwrap();
    Monitored {
        server,
        site,
        metrics,
    }
}

/// The text of one scrape.
pub fn scrape(metrics: SocketAddr) -> String {
    let reply = get(metrics, &request("GET", "/metrics"));
    assert_eq!(reply.status, 200, "{}", reply.head);
    assert_eq!(
        reply.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    String::from_utf8(reply.body).unwrap()
}

/// The value of the sample written exactly `series` (name and labels as
/// the exposition writes them) in a scrape, 0 when absent.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}
