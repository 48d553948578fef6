//! The encoders: one call from a file's bytes to a coding's bytes. Levels
//! are high, since a result is kept and served many times (see
//! [`super`]), yet bounded so the first request for a megabyte file waits
//! tens of milliseconds, not seconds: brotli's 11 and zstd's 19 compress
//! a few percent smaller at ten to fifty times the cost.

use std::io::Write;

use crate::site::representation::negotiate::Coding;

/// Brotli quality (0–11).
pub(crate) const BROTLI_QUALITY: u32 = 9;
/// Brotli window, log2 bytes: 4 MiB, what browsers accept.
pub(crate) const BROTLI_WINDOW: u32 = 22;
/// zstd level (1–19 without --ultra).
pub(crate) const ZSTD_LEVEL: i32 = 12;
/// gzip level (0–9).
pub(crate) const GZIP_LEVEL: u32 = 9;

/// `bytes` in `coding`; an error only if an encoder fails (writing to
/// memory does not).
pub(crate) fn encode(bytes: &[u8], coding: Coding) -> std::io::Result<Vec<u8>> {
    match coding {
        Coding::Brotli => {
            let mut out = Vec::with_capacity(bytes.len() / 3);
            {
                let quality = BROTLI_QUALITY;
                let mut writer =
                    brotli::CompressorWriter::new(&mut out, 64 * 1024, quality, BROTLI_WINDOW);
                writer.write_all(bytes)?;
                writer.flush()?;
            }
            Ok(out)
        }
        Coding::Zstd => zstd::bulk::compress(bytes, ZSTD_LEVEL),
        Coding::Gzip => {
            let level = flate2::Compression::new(GZIP_LEVEL);
            let mut writer =
                flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 3), level);
            writer.write_all(bytes)?;
            writer.finish()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn decode(bytes: &[u8], coding: Coding) -> Vec<u8> {
        let mut out = Vec::new();
        match coding {
            Coding::Brotli => {
                brotli::Decompressor::new(bytes, 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Coding::Zstd => out = zstd::decode_all(bytes).unwrap(),
            Coding::Gzip => {
                flate2::read::GzDecoder::new(bytes)
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn every_coding_round_trips_and_shrinks_text() {
        let text: Vec<u8> = (0..20_000)
            .flat_map(|i| format!("<li class=\"item\">entry {i}</li>\n").into_bytes())
            .collect();
        for coding in Coding::ALL {
            let encoded = encode(&text, coding).unwrap();
            assert!(
                encoded.len() * 5 < text.len(),
                "{coding:?}: {}",
                encoded.len()
            );
            assert_eq!(decode(&encoded, coding), text, "{coding:?}");
            assert_eq!(decode(&encode(b"", coding).unwrap(), coding), b"");
        }
    }
}
