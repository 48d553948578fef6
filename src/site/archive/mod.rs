//! Directories downloaded as archives (`--archive tar|tar.gz`): a
//! listing's `?download=FORMAT` streams the directory, walked as it is
//! sent (`walk`), as a tar (`tar`), gzipped for `tar.gz`.
//!
//! The archive obeys the walls serving does, by construction: it starts
//! from the directory the root wall opened, opens every entry by name
//! beneath its parent's descriptor with `O_NOFOLLOW` (a symlink is left
//! out, never followed, whatever `--symlinks` says: it may leave the root
//! or loop), leaves out what is not a regular file or a directory (FIFOs,
//! sockets, devices) and dotfiles unless `--show-hidden`, and names each
//! member by the entries it was reached through, so no member can be
//! absolute or climb with `..`. A file that changes while it is read
//! fails the archive: its stream ends without its last chunk.
//!
//! Owns: the format option, the query, the response; imports `http` and
//! the site's root wall and validators.

mod tar;
mod walk;

use std::fs::File;
use std::io::{self, Write};

use crate::http::chunked::{ChunkSink, Stream};
use crate::http::response::{Body, Response};
use crate::http::status::Status;

/// Bytes gathered before they are handed to the connection as a chunk.
pub(crate) const ARCHIVE_CHUNK: usize = 64 * 1024;

/// `--archive`: which format a listing offers, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Off,
    Tar,
    #[value(name = "tar.gz")]
    TarGz,
}

impl Format {
    /// The `?download=` value and the file name's extension.
    pub fn token(self) -> &'static str {
        match self {
            Format::Off => "",
            Format::Tar => "tar",
            Format::TarGz => "tar.gz",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::TarGz => "application/gzip",
            Format::Tar | Format::Off => "application/x-tar",
        }
    }
}

/// Whether `query` asks for the archive `offered` (the configured
/// format): `download=` with exactly its name. Anything else (another
/// format, an unknown value, no value) is not a download, and the
/// listing is answered, as unknown `sort` values are ignored.
pub(crate) fn requested(query: &str, offered: Format) -> bool {
    offered != Format::Off
        && query
            .trim_start_matches('?')
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .any(|(key, value)| key == "download" && value == offered.token())
}

/// The archive of the open directory `dir`, named `name` (its last path
/// segment, or `site` for the root), streamed.
pub(crate) fn respond(dir: File, name: &[u8], format: Format, show_hidden: bool) -> Response {
    let top = if name.is_empty() {
        b"site".to_vec()
    } else {
        name.to_vec()
    };
    let disposition = format!(
        "attachment; filename=\"{}.{}\"",
        ascii_name(&top),
        format.token()
    );
    let produce = Box::new(move |sink: &mut dyn ChunkSink| -> io::Result<()> {
        let out = Chunks::new(sink);
        match format {
            Format::TarGz => {
                let gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
                let gz = walk::archive(gz, &dir, &top, show_hidden)?;
                gz.finish()?.flush()
            }
            _ => walk::archive(out, &dir, &top, show_hidden)?.flush(),
        }
    });
    Response {
        status: Status::Ok,
        headers: vec![
            ("Content-Type", format.content_type().to_owned()),
            ("Content-Disposition", disposition),
            ("Cache-Control", "no-store".to_owned()),
        ],
        encoded_fields: None,
        body: Body::Stream(Stream { produce }),
    }
}

/// A name for `filename="..."`: what is not a safe ASCII character
/// becomes `_` (quotes, backslashes, controls, anything non-ASCII).
fn ascii_name(name: &[u8]) -> String {
    name.iter()
        .map(|&b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b' ' => b as char,
            _ => '_',
        })
        .collect()
}

/// An `io::Write` that hands the bytes on in chunks of [`ARCHIVE_CHUNK`].
struct Chunks<'a> {
    sink: &'a mut dyn ChunkSink,
    buf: Vec<u8>,
}

impl<'a> Chunks<'a> {
    fn new(sink: &'a mut dyn ChunkSink) -> Chunks<'a> {
        Chunks {
            sink,
            buf: Vec::with_capacity(ARCHIVE_CHUNK),
        }
    }
}

impl Write for Chunks<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let room = ARCHIVE_CHUNK - self.buf.len();
        let n = bytes.len().min(room);
        self.buf.extend_from_slice(&bytes[..n]);
        if self.buf.len() == ARCHIVE_CHUNK {
            self.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            let full = std::mem::replace(&mut self.buf, Vec::with_capacity(ARCHIVE_CHUNK));
            self.sink.send(full)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_format_is_a_download() {
        assert!(requested("?download=tar.gz", Format::TarGz));
        assert!(requested("?sort=size&download=tar", Format::Tar));
        assert!(!requested("?download=tar", Format::TarGz));
        assert!(!requested("?download=zip", Format::Tar));
        assert!(!requested("?download", Format::Tar));
        assert!(!requested("?download=tar", Format::Off));
        assert!(!requested("", Format::Tar));
        assert!(!requested("?%ff=&&=", Format::Tar));
    }

    #[test]
    fn file_names_are_safe_ascii() {
        assert_eq!(ascii_name(b"my dir"), "my dir");
        assert_eq!(ascii_name("a\"b\\c\u{e9}".as_bytes()), "a_b_c__");
    }
}
