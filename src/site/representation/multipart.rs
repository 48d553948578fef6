//! `multipart/byteranges` bodies for several ranges of a file: the part
//! heads in memory, the parts sent from the file.

use std::fs::File;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::http::response::{Body, Piece};

/// A `multipart/byteranges` body (RFC 9110 §14.6) for sorted, merged parts.
pub(crate) fn body(
    file: File,
    parts: &[(u64, u64)],
    size: u64,
    content_type: &str,
    boundary: &str,
) -> Body {
    let mut pieces = Vec::with_capacity(parts.len() * 2 + 1);
    for &(first, last) in parts {
        let head = format!(
            "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {first}-{last}/{size}\r\n\r\n"
        );
        pieces.push(Piece::Bytes(head.into_bytes()));
        pieces.push(Piece::Range {
            offset: first,
            len: last - first + 1,
        });
    }
    pieces.push(Piece::Bytes(format!("\r\n--{boundary}--\r\n").into_bytes()));
    Body::Parts { file, pieces }
}

/// A boundary unique within this process and unlikely in any file.
pub(crate) fn boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("staticd-{:016x}{:08x}", seed, n)
}
