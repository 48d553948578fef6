//! The access log: one line per request, written after the response, in
//! Combined Log Format or JSON, to stdout or a file.
//!
//! Workers never write: they format a line into a shared, bounded buffer
//! that a writer thread empties in batches. When the terminal or disk is
//! too slow and the buffer is full, lines are dropped and counted (with a
//! warning at most once a second) rather than stalling a worker.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::ValueEnum;

use crate::http::date;
use crate::http::escape::{escape_json, escape_log};
use crate::http::response::push_decimal;
use crate::ops::limits::{ACCESS_LOG_BATCH, ACCESS_LOG_BUFFER, ACCESS_LOG_INTERVAL};

/// How access-log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// Combined Log Format plus the duration in seconds.
    #[default]
    Combined,
    /// One JSON object per line with the same fields.
    Json,
    /// No access log.
    Off,
}

/// Who a connection is from: its peer, or the client a trusted proxy
/// named (`serve::proxy`). A client of a Unix socket has no address
/// of its own: it is logged as `unix:`, as nginx's `$remote_addr` shows it.
/// Port 0 means none is known (`X-Forwarded-For` names none): the
/// address is then shown alone.
/// An address and port rather than a `SocketAddr`, which would carry an
/// IPv6 flow label and scope the log does not show, in every connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Peer {
    Ip(IpAddr, u16),
    Unix,
}

impl Peer {
    /// Appends the client's host as the Combined format's first field
    /// shows it; an IPv4 address without the formatting machinery, since
    /// every line has one.
    fn push_host(&self, out: &mut Vec<u8>) {
        match self {
            Peer::Ip(IpAddr::V4(ip), _) => {
                for (i, octet) in ip.octets().into_iter().enumerate() {
                    if i > 0 {
                        out.push(b'.');
                    }
                    push_decimal(out, u64::from(octet));
                }
            }
            Peer::Ip(ip, _) => {
                let _ = write!(out, "{ip}");
            }
            Peer::Unix => out.extend_from_slice(b"unix:"),
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::Ip(ip, 0) => ip.fmt(f),
            Peer::Ip(ip, port) => SocketAddr::new(*ip, *port).fmt(f),
            Peer::Unix => f.write_str("unix:"),
        }
    }
}

impl From<SocketAddr> for Peer {
    fn from(addr: SocketAddr) -> Peer {
        Peer::Ip(addr.ip(), addr.port())
    }
}

/// What is logged about one request.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    pub peer: Peer,
    pub time: SystemTime,
    /// The request line, or `None` when none was parsed.
    pub request_line: Option<RequestLine<'a>>,
    pub status: u16,
    /// Body bytes sent (not the head), as `%b` in the Common Log Format.
    pub body_bytes: u64,
    pub referer: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub duration: Duration,
    /// Whether the whole response was written.
    pub completed: bool,
}

/// A request line's three parts (`GET`, `/x`, `HTTP/1.1`), as the log
/// shows them joined by spaces; HTTP/2 has no line of its own, so the
/// parts are what both protocols have.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestLine<'a> {
    pub method: &'a str,
    pub target: &'a str,
    pub version: &'a str,
}

/// Appends a Combined Log Format line (plus duration) for `entry`.
pub(crate) fn format_combined(entry: &Entry<'_>, out: &mut Vec<u8>) {
    entry.peer.push_host(out);
    out.extend_from_slice(b" - - [");
    date::with_clf(unix_secs(entry.time), |date| {
        out.extend_from_slice(date.as_bytes())
    });
    out.extend_from_slice(b"] \"");
    match &entry.request_line {
        Some(line) => {
            escape_log(line.method.as_bytes(), out);
            out.push(b' ');
            escape_log(line.target.as_bytes(), out);
            out.push(b' ');
            escape_log(line.version.as_bytes(), out);
        }
        None => out.push(b'-'),
    }
    out.extend_from_slice(b"\" ");
    push_decimal(out, u64::from(entry.status));
    out.push(b' ');
    if entry.body_bytes == 0 {
        out.push(b'-');
    } else {
        push_decimal(out, entry.body_bytes);
    }
    out.extend_from_slice(b" \"");
    escape_log(entry.referer.unwrap_or("-").as_bytes(), out);
    out.extend_from_slice(b"\" \"");
    escape_log(entry.user_agent.unwrap_or("-").as_bytes(), out);
    out.extend_from_slice(b"\" ");
    push_seconds(entry.duration, out);
    out.push(b'\n');
}

fn unix_secs(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Appends `duration` in seconds with six decimals, rounded to the
/// nearest microsecond (a half up), in integers: float formatting costs
/// more than the rest of the line.
fn push_seconds(duration: Duration, out: &mut Vec<u8>) {
    let micros = (duration.as_nanos() + 500) / 1000;
    push_decimal(out, u64::try_from(micros / 1_000_000).unwrap_or(u64::MAX));
    out.push(b'.');
    let mut fraction = (micros % 1_000_000) as u32;
    let mut digits = [b'0'; 6];
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    out.extend_from_slice(&digits);
}

/// Appends one JSON object line with the same fields.
pub(crate) fn format_json(entry: &Entry<'_>, out: &mut Vec<u8>) {
    let since = entry.time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let text = |v: Option<&str>| v.map_or("null".to_owned(), |v| format!("\"{}\"", escape_json(v)));
    let request = entry
        .request_line
        .map(|l| format!("{} {} {}", l.method, l.target, l.version));
    let _ = writeln!(
        out,
        "{{\"time\":\"{}\",\"peer\":\"{}\",\"request\":{},\"status\":{},\"bytes\":{},\
         \"referer\":{},\"user_agent\":{},\"duration\":{:.6},\"completed\":{}}}",
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
}

/// Lines waiting for the writer thread, and its wake-up flags.
#[derive(Debug, Default)]
struct Pending {
    lines: Vec<u8>,
    dropped: u64,
    /// Flush requests not yet served (each waits for `flushed` to pass it).
    flush_wanted: u64,
    flushed: u64,
    closed: bool,
    /// Newly opened files for the writer to switch to, in order, each
    /// with the lines recorded before it was opened, which still go to the
    /// file before it (see [`AccessLog::reopen`]).
    reopened: Vec<(Vec<u8>, std::fs::File)>,
}

#[derive(Debug, Default)]
struct Shared {
    pending: Mutex<Pending>,
    wake: Condvar,
    done: Condvar,
}

/// The access log's front end, shared by all connections. Recording a line
/// is a short lock and a copy; the writer thread wakes every
/// [`ACCESS_LOG_INTERVAL`] (or when a batch is large) to write a batch, so
/// no request ever waits for a terminal or a disk, and no request causes a
/// thread wake-up of its own.
#[derive(Debug)]
pub(crate) struct AccessLog {
    format: LogFormat,
    /// The file written, `None` for stdout.
    path: Option<PathBuf>,
    shared: Option<Arc<Shared>>,
    warned_at: AtomicU64,
}

impl AccessLog {
    /// Opens the log: `path` `None` or `-` means stdout; a file is opened
    /// for appending (created if missing).
    /// Whether `open` would succeed for the file at `path`, without
    /// creating it: an existing file must open for appending, a new one
    /// needs a directory this process may write in. For `--check`.
    pub(crate) fn check(path: &Path) -> io::Result<()> {
        if path == Path::new("-") {
            return Ok(());
        }
        if path.exists() {
            return OpenOptions::new().append(true).open(path).map(drop);
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if !std::fs::metadata(dir)?.is_dir() {
            return Err(io::Error::from(io::ErrorKind::NotADirectory));
        }
        let c_dir = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
        // SAFETY: a NUL-terminated path; access(2) only reads it.
        if unsafe { libc::access(c_dir.as_ptr(), libc::W_OK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    pub(crate) fn open(format: LogFormat, path: Option<&Path>) -> io::Result<AccessLog> {
        if format == LogFormat::Off {
            return Ok(AccessLog {
                format,
                path: None,
                shared: None,
                warned_at: AtomicU64::new(0),
            });
        }
        let path = path.filter(|p| *p != Path::new("-"));
        let sink: Box<dyn Write + Send> = match path {
            Some(p) => Box::new(append(p)?),
            None => Box::new(io::stdout()),
        };
        let shared = Arc::new(Shared::default());
        let writer = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || write_batches(&writer, sink))?;
        Ok(AccessLog {
            format,
            path: path.map(Path::to_owned),
            shared: Some(shared),
            warned_at: AtomicU64::new(0),
        })
    }

    /// Records the line for `entry`; never blocks on I/O. False when the
    /// line was dropped, the log being too slow.
    pub(crate) fn record(&self, entry: &Entry<'_>) -> bool {
        let Some(shared) = &self.shared else {
            return true;
        };
        thread_local! {
            static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            match self.format {
                LogFormat::Combined => format_combined(entry, &mut line),
                LogFormat::Json => format_json(entry, &mut line),
                LogFormat::Off => return true,
            }
            let Ok(mut pending) = shared.pending.lock() else {
                return false;
            };
            if pending.lines.len() + line.len() > ACCESS_LOG_BUFFER {
                pending.dropped += 1;
                let dropped = pending.dropped;
                drop(pending);
                self.warn_dropped(dropped);
                return false;
            }
            pending.lines.extend_from_slice(&line);
            if pending.lines.len() >= ACCESS_LOG_BATCH
                && pending.lines.len() - line.len() < ACCESS_LOG_BATCH
            {
                shared.wake.notify_one();
            }
            true
        })
    }

    /// One warning a second at most, with the running total.
    fn warn_dropped(&self, dropped: u64) {
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

    /// Whether lines are written at all: with the log off, callers skip
    /// building them.
    pub(crate) fn enabled(&self) -> bool {
        self.shared.is_some() && self.format != LogFormat::Off
    }

    /// The format and the file (`None` for stdout) it was opened with:
    /// a reload keeps the log when these stay the same.
    pub(crate) fn opened_as(&self) -> (LogFormat, Option<&Path>) {
        (self.format, self.path.as_deref())
    }

    /// Opens the file again by its name, for SIGUSR1 and reloads after
    /// `logrotate` has moved it: every line recorded before this call goes
    /// to the old file, every later one to the new, so none is lost or
    /// written twice. Stdout and a log that is off are left as they are;
    /// a file that cannot be opened is an error and the old one stays.
    pub(crate) fn reopen(&self) -> io::Result<()> {
        let (Some(path), Some(shared)) = (&self.path, &self.shared) else {
            return Ok(());
        };
        let file = append(path)?;
        let Ok(mut pending) = shared.pending.lock() else {
            return Ok(());
        };
        let before = std::mem::take(&mut pending.lines);
        pending.reopened.push((before, file));
        shared.wake.notify_one();
        Ok(())
    }

    /// Waits (at most `limit`) until every recorded line is written and
    /// flushed; used when shutting down.
    pub(crate) fn flush(&self, limit: Duration) {
        let Some(shared) = &self.shared else { return };
        let Ok(mut pending) = shared.pending.lock() else {
            return;
        };
        pending.flush_wanted += 1;
        let ticket = pending.flush_wanted;
        shared.wake.notify_one();
        let _ = shared
            .done
            .wait_timeout_while(pending, limit, |p| p.flushed < ticket && !p.closed);
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            if let Ok(mut pending) = shared.pending.lock() {
                pending.closed = true;
                shared.wake.notify_one();
            }
        }
    }
}

/// Writes `batch` to `sink`, warning once when writes start failing.
fn write_batch(sink: &mut Box<dyn Write + Send>, batch: &[u8], failed: &mut bool) {
    if batch.is_empty() {
        return;
    }
    let written = sink.write_all(batch).and_then(|()| sink.flush());
    if let (Err(err), false) = (&written, *failed) {
        tracing::warn!(error = %err, "cannot write the access log");
    }
    *failed = written.is_err();
}

/// The log file at `path`, opened for appending and created if missing.
fn append(path: &Path) -> io::Result<std::fs::File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// The writer thread: every interval (or when woken for a large batch or a
/// flush), takes what is pending and writes it in one go.
fn write_batches(shared: &Shared, mut sink: Box<dyn Write + Send>) {
    let mut batch = Vec::new();
    let mut failed = false;
    loop {
        let (flush_ticket, closed, reopened) = {
            let Ok(pending) = shared.pending.lock() else {
                return;
            };
            let idle = |p: &mut Pending| {
                p.lines.len() < ACCESS_LOG_BATCH
                    && p.flush_wanted == p.flushed
                    && !p.closed
                    && p.reopened.is_empty()
            };
            let Ok((mut pending, _)) =
                shared
                    .wake
                    .wait_timeout_while(pending, ACCESS_LOG_INTERVAL, idle)
            else {
                return;
            };
            std::mem::swap(&mut batch, &mut pending.lines);
            let reopened = std::mem::take(&mut pending.reopened);
            (pending.flush_wanted, pending.closed, reopened)
        };
        for (before, file) in reopened {
            write_batch(&mut sink, &before, &mut failed);
            sink = Box::new(file);
            failed = false;
        }
        write_batch(&mut sink, &batch, &mut failed);
        batch.clear();
        if let Ok(mut pending) = shared.pending.lock() {
            pending.flushed = flush_ticket;
            shared.done.notify_all();
        }
        if closed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry<'static> {
        Entry {
            peer: "192.0.2.7:51234".parse::<SocketAddr>().unwrap().into(),
            time: UNIX_EPOCH + Duration::new(784_111_777, 123_000),
            request_line: Some(RequestLine {
                method: "GET",
                target: "/x?a=\"1\"",
                version: "HTTP/1.1",
            }),
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
    fn durations_read_as_seconds_with_six_decimals() {
        for nanos in [
            0,
            1,
            499,
            501,
            1_500_000,
            999_999_499,
            999_999_501,
            3_600_000_123_456,
        ] {
            let duration = Duration::from_nanos(nanos);
            let mut out = Vec::new();
            push_seconds(duration, &mut out);
            let expected = format!("{:.6}", duration.as_secs_f64());
            assert_eq!(String::from_utf8(out).unwrap(), expected, "{nanos} ns");
        }
    }

    #[test]
    fn hosts_of_every_kind() {
        let host = |peer: Peer| {
            let mut out = Vec::new();
            peer.push_host(&mut out);
            String::from_utf8(out).unwrap()
        };
        let ip = |text: &str| Peer::Ip(text.parse().unwrap(), 443);
        assert_eq!(host(ip("0.0.0.0")), "0.0.0.0");
        assert_eq!(host(ip("255.10.1.100")), "255.10.1.100");
        assert_eq!(host(ip("2001:db8::1")), "2001:db8::1");
        assert_eq!(host(ip("::ffff:192.0.2.1")), "::ffff:192.0.2.1");
        assert_eq!(host(Peer::Unix), "unix:");
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

    #[test]
    fn a_reopen_after_a_rename_splits_the_lines_between_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        let log = AccessLog::open(LogFormat::Combined, Some(&path)).unwrap();
        log.record(&entry());
        log.record(&entry());
        let rotated = dir.path().join("access.log.1");
        std::fs::rename(&path, &rotated).unwrap();
        log.reopen().unwrap();
        log.record(&entry());
        log.flush(Duration::from_secs(5));
        let lines = |p: &Path| std::fs::read_to_string(p).unwrap().lines().count();
        assert_eq!((lines(&rotated), lines(&path)), (2, 1));
        // A directory that is gone: an error, and the open file stays.
        std::fs::remove_dir_all(dir.path()).unwrap();
        assert!(log.reopen().is_err());
        let stdout = AccessLog::open(LogFormat::Combined, None).unwrap();
        assert!(stdout.reopen().is_ok());
    }
}
