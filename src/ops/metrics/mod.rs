//! Metrics for `--metrics-listen`: the counters ([`counters`]: one row
//! per worker thread, so counting never shares a written cache line
//! between cores), every family a scrape shows ([`render`]), and the text
//! format they are written in ([`exposition`]). The server reads its
//! gauges at each scrape and answers the scrape; nothing here touches a
//! socket.

pub(crate) mod counters;
pub(crate) mod exposition;
pub(crate) mod process;
pub(crate) mod render;

pub(crate) use counters::{Counter, Metrics, Served, count_as_worker};
