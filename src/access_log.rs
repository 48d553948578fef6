//! The access log: one line per request, written after the response, in
//! Combined Log Format or JSON, to stdout or a file.
//!
//! Workers never write: they format a line and hand it to a writer thread
//! through a bounded queue. When the terminal or disk is too slow and the
//! queue is full, the line is dropped and counted rather than stalling a
//! worker; the count is reported once the queue has room again.

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::ValueEnum;

use crate::date;
use crate::escape::{escape_json, escape_log};
use crate::limits::ACCESS_LOG_QUEUE;

/// How access-log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Combined Log Format plus the duration in seconds.
    Combined,
    /// One JSON object per line with the same fields.
    Json,
    /// No access log.
    Off,
}

/// What is logged about one request.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub peer: SocketAddr,
    pub time: SystemTime,
    /// The request line (`GET /x HTTP/1.1`), or `None` when none was parsed.
    pub request_line: Option<&'a [u8]>,
    pub status: u16,
    /// Body bytes sent (not the head), as `%b` in the Common Log Format.
    pub body_bytes: u64,
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub duration: Duration,
    /// Whether the whole response was written.
    pub completed: bool,
}

/// Appends a Combined Log Format line (plus duration) for `entry`.
pub fn format_combined(entry: &Entry<'_>, out: &mut Vec<u8>) {
    let secs = entry
        .time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    out.extend_from_slice(
        format!("{} - - [{}] \"", entry.peer.ip(), date::format_clf(secs)).as_bytes(),
    );
    escape_log(entry.request_line.unwrap_or(b"-"), out);
    let bytes = if entry.body_bytes == 0 {
        "-".to_owned()
    } else {
        entry.body_bytes.to_string()
    };
    out.extend_from_slice(format!("\" {} {bytes} \"", entry.status).as_bytes());
    escape_log(entry.referer.unwrap_or("-").as_bytes(), out);
    out.extend_from_slice(b"\" \"");
    escape_log(entry.user_agent.unwrap_or("-").as_bytes(), out);
    out.extend_from_slice(format!("\" {:.6}\n", entry.duration.as_secs_f64()).as_bytes());
}

/// Appends one JSON object line with the same fields.
pub fn format_json(entry: &Entry<'_>, out: &mut Vec<u8>) {
    let since = entry.time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let text = |v: Option<&str>| v.map_or("null".to_owned(), |v| format!("\"{}\"", escape_json(v)));
    let request = entry.request_line.map(String::from_utf8_lossy);
    let line = format!(
        "{{\"time\":\"{}\",\"peer\":\"{}\",\"request\":{},\"status\":{},\"bytes\":{},\
         \"referer\":{},\"user_agent\":{},\"duration\":{:.6},\"completed\":{}}}\n",
        date::format_rfc3339(since.as_secs(), since.subsec_micros()),
        entry.peer,
        text(request.as_deref()),
        entry.status,
        entry.body_bytes,
        text(entry.referer),
        text(entry.user_agent),
        entry.duration.as_secs_f64(),
        entry.completed,
    );
    out.extend_from_slice(line.as_bytes());
}

enum Message {
    Line(Vec<u8>),
    Flush(std::sync::mpsc::Sender<()>),
}

/// The access log's front end, shared by all connections.
#[derive(Debug)]
pub struct AccessLog {
    format: LogFormat,
    queue: Option<SyncSender<Message>>,
    dropped: AtomicU64,
    /// When we last warned about dropped lines (seconds since the epoch).
    warned_at: AtomicU64,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl AccessLog {
    /// Opens the log: `path` `None` or `-` means stdout; a file is opened
    /// for appending (created if missing).
    pub fn open(format: LogFormat, path: Option<&Path>) -> io::Result<AccessLog> {
        if format == LogFormat::Off {
            return Ok(AccessLog {
                format,
                queue: None,
                dropped: AtomicU64::new(0),
                warned_at: AtomicU64::new(0),
            });
        }
        let sink: Box<dyn Write + Send> = match path {
            Some(p) if p != Path::new("-") => {
                Box::new(OpenOptions::new().create(true).append(true).open(p)?)
            }
            _ => Box::new(io::stdout()),
        };
        let (queue, lines) = sync_channel(ACCESS_LOG_QUEUE);
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_lines(lines, sink))?;
        Ok(AccessLog {
            format,
            queue: Some(queue),
            dropped: AtomicU64::new(0),
            warned_at: AtomicU64::new(0),
        })
    }

    /// Queues the line for `entry`; never blocks.
    pub fn record(&self, entry: &Entry<'_>) {
        let Some(queue) = &self.queue else { return };
        let mut line = Vec::with_capacity(192);
        match self.format {
            LogFormat::Combined => format_combined(entry, &mut line),
            LogFormat::Json => format_json(entry, &mut line),
            LogFormat::Off => return,
        }
        if let Err(TrySendError::Full(_)) = queue.try_send(Message::Line(line)) {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // One warning a second at most, with the running total.
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let last = self.warned_at.load(Ordering::Relaxed);
            if now > last
                && self
                    .warned_at
                    .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok()
            {
                tracing::warn!(dropped, "access log too slow: lines dropped so far");
            }
        }
    }

    /// Waits (at most `limit`) until every queued line is written and
    /// flushed; used when shutting down.
    pub fn flush(&self, limit: Duration) {
        let Some(queue) = &self.queue else { return };
        let (done, wait) = std::sync::mpsc::channel();
        if queue.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(limit);
        }
    }
}

/// The writer thread: writes lines as they come, flushing whenever the
/// queue runs empty, so lines appear promptly but are batched under load.
fn write_lines(lines: Receiver<Message>, sink: Box<dyn Write + Send>) {
    let mut out = BufWriter::with_capacity(64 * 1024, sink);
    let mut failed = false;
    while let Ok(mut message) = lines.recv() {
        loop {
            match message {
                Message::Line(line) => {
                    if let Err(err) = out.write_all(&line) {
                        if !failed {
                            tracing::warn!(error = %err, "cannot write the access log");
                        }
                        failed = true;
                    }
                }
                Message::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                }
            }
            match lines.try_recv() {
                Ok(next) => message = next,
                Err(_) => break,
            }
        }
        failed &= out.flush().is_err();
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry<'static> {
        Entry {
            peer: "192.0.2.7:51234".parse().unwrap(),
            time: UNIX_EPOCH + Duration::new(784_111_777, 123_000),
            request_line: Some(b"GET /x?a=\"1\" HTTP/1.1"),
            status: 200,
            body_bytes: 1234,
            referer: Some("http://example.com/"),
            user_agent: Some("curl/8.0 \x1b[31m"),
            duration: Duration::from_micros(1500),
            completed: true,
        }
    }

    #[test]
    fn combined_log_format() {
        let mut out = Vec::new();
        format_combined(&entry(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "192.0.2.7 - - [06/Nov/1994:08:49:37 +0000] \"GET /x?a=\\\"1\\\" HTTP/1.1\" 200 1234 \
             \"http://example.com/\" \"curl/8.0 \\x1B[31m\" 0.001500\n"
        );
        let mut out = Vec::new();
        let refused = Entry {
            request_line: None,
            status: 400,
            body_bytes: 0,
            referer: None,
            user_agent: None,
            ..entry()
        };
        format_combined(&refused, &mut out);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("] \"-\" 400 - \"-\" \"-\" ")
        );
    }

    #[test]
    fn json_format() {
        let mut out = Vec::new();
        format_json(&entry(), &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"time\":\"1994-11-06T08:49:37.000123Z\",\"peer\":\"192.0.2.7:51234\",\
             \"request\":\"GET /x?a=\\\"1\\\" HTTP/1.1\",\"status\":200,\"bytes\":1234,\
             \"referer\":\"http://example.com/\",\"user_agent\":\"curl/8.0 \\u001b[31m\",\
             \"duration\":0.001500,\"completed\":true}\n"
        );
    }

    #[test]
    fn writes_to_a_file_and_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(LogFormat::Combined, Some(&path)).unwrap();
        for _ in 0..3 {
            log.record(&entry());
        }
        log.flush(Duration::from_secs(5));
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
    }
}
