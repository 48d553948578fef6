//! A streaming tar writer (POSIX ustar, with pax records for long names
//! and sizes over ustar's 8 GiB): directory and file members, written in
//! order as they are read, so nothing but one chunk is held in memory.
//! A file that changes while it is read fails the archive instead of
//! giving a member that looks complete and is not.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;

const BLOCK: usize = 512;
/// ustar's size field holds 11 octal digits.
const USTAR_MAX_SIZE: u64 = 0o77777777777;

/// Members written to `out`.
pub(super) struct TarWriter<W: Write> {
    out: W,
    /// One buffer for every file's bytes, not one per file.
    buf: Vec<u8>,
}

impl<W: Write> TarWriter<W> {
    pub(super) fn new(out: W) -> TarWriter<W> {
        TarWriter {
            out,
            buf: vec![0u8; 64 * 1024],
        }
    }

    /// A directory member; `path` without its trailing `/`.
    pub(super) fn dir(&mut self, path: &[u8], mtime: i64) -> io::Result<()> {
        let mut name = path.to_vec();
        name.push(b'/');
        self.header(&name, b'5', 0o755, 0, mtime)
    }

    /// A file member: exactly the `size` bytes `file` had when it was
    /// opened, or an error if it changed meanwhile.
    pub(super) fn file(
        &mut self,
        path: &[u8],
        file: &mut File,
        size: u64,
        mtime: i64,
    ) -> io::Result<()> {
        self.header(path, b'0', 0o644, size, mtime)?;
        let mut left = size;
        while left > 0 {
            let want = self
                .buf
                .len()
                .min(usize::try_from(left).unwrap_or(usize::MAX));
            let n = file.read(&mut self.buf[..want])?;
            if n == 0 {
                return Err(changed());
            }
            self.out.write_all(&self.buf[..n])?;
            left -= n as u64;
        }
        let after = file.metadata()?;
        if after.size() != size || after.mtime() != mtime {
            return Err(changed());
        }
        self.pad(size)
    }

    /// The two zero blocks that end an archive, then the inner writer.
    pub(super) fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 2 * BLOCK])?;
        Ok(self.out)
    }

    fn header(
        &mut self,
        name: &[u8],
        kind: u8,
        mode: u32,
        size: u64,
        mtime: i64,
    ) -> io::Result<()> {
        let mut pax = Vec::new();
        if name.len() > 100 {
            record(&mut pax, "path", name);
        }
        if size > USTAR_MAX_SIZE {
            record(&mut pax, "size", size.to_string().as_bytes());
        }
        if !pax.is_empty() {
            let block = ustar(b"././@PaxHeader", b'x', 0o644, pax.len() as u64, mtime);
            self.out.write_all(&block)?;
            self.out.write_all(&pax)?;
            self.pad(pax.len() as u64)?;
        }
        let short = &name[..name.len().min(100)];
        let size_field = if size > USTAR_MAX_SIZE { 0 } else { size };
        self.out
            .write_all(&ustar(short, kind, mode, size_field, mtime))
    }

    fn pad(&mut self, len: u64) -> io::Result<()> {
        let rest = (BLOCK - (len % BLOCK as u64) as usize) % BLOCK;
        self.out.write_all(&[0u8; BLOCK][..rest])
    }
}

fn changed() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "a file changed while it was archived",
    )
}

/// One pax record: `LEN key=value\n`, where LEN counts itself.
fn record(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + 1;
    while len != body + len.to_string().len() {
        len = body + len.to_string().len();
    }
    out.extend_from_slice(format!("{len} {key}=").as_bytes());
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// A ustar header block.
fn ustar(name: &[u8], kind: u8, mode: u32, size: u64, mtime: i64) -> [u8; BLOCK] {
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name);
    octal(&mut h[100..108], u64::from(mode));
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], u64::try_from(mtime).unwrap_or(0));
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    octal(&mut h[148..155], u64::from(sum));
    h
}

/// `value` in octal, zero-padded to fill `field` but its last byte (NUL).
fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&text.as_bytes()[text.len() - digits..]);
    field[digits] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        let mut out = Vec::new();
        record(&mut out, "path", b"a");
        assert_eq!(out, b"9 path=a\n");
        let mut long = Vec::new();
        record(&mut long, "path", &[b'x'; 95]);
        let text = String::from_utf8(long.clone()).unwrap();
        let len: usize = text.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(len, long.len());
    }

    #[test]
    fn headers_checksum_and_pad() {
        let h = ustar(b"d/f.txt", b'0', 0o644, 5, 0);
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut blank = h;
        blank[148..156].fill(b' ');
        assert_eq!(stored, blank.iter().map(|&b| u32::from(b)).sum::<u32>());
        assert_eq!(&h[124..136], b"00000000005\0");
    }
}
