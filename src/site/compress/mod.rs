//! All of compression: precompressed sidecars beside a file
//! ([`sidecar`], `--precompressed`), and compression on the fly
//! (`--compress`, answered by [`on_the_fly`]), where a file of a compressible type
//! (see [`types`]), with no precompressed sidecar, is sent in the best
//! coding the client accepts, compressed once and then served from
//! memory ([`store`]) at the file cache's speed. The compressed bytes are
//! a variant like a sidecar: their own ETag, `Content-Encoding`, the
//! original `Content-Type`, `Vary: Accept-Encoding` on every answer for
//! the file.
//!
//! The site never compresses on the event loop: a file not compressed
//! yet comes back to the connection as [`Work`], which runs it on a
//! bounded blocking pool (or waits for the request already doing it) and
//! asks the site again with the [`Outcome`].
//!
//! Owns: the options, the codecs, the store, the work, the sidecar choice
//! and the answers from compressed bytes. Imports `http`, and from `site`
//! the file cache's types and the representation's negotiation,
//! validators, shared fields and preconditions.

pub(crate) mod codec;
pub(crate) mod on_the_fly;
pub(crate) mod sidecar;
pub(crate) mod store;
pub(crate) mod types;

use std::sync::Arc;

use crate::ops::metrics::Metrics;
use crate::site::file_cache::{CachedBody, FileId};
use crate::site::limits::COMPRESS_MAX_FILE;
use crate::site::representation::negotiate::Coding;
use crate::site::representation::validators::Validators;
pub(crate) use store::{Compressed, Flight, Lead, Lookup, Outcome, Store};
use types::TypePattern;

/// The least a result must save, in sixteenths of the original: less
/// than that is not worth the client's decoding (nor a `Vary` split in
/// caches).
const MIN_SAVING_SIXTEENTHS: usize = 1;

/// `--compress`, `--compress-types`, `--compress-min`, `--compress-cache`.
#[derive(Debug, Clone)]
pub struct CompressOptions {
    pub enabled: bool,
    pub types: Vec<TypePattern>,
    /// Smaller files are sent as they are.
    pub min: u64,
    /// The store's budget in bytes.
    pub cache_bytes: usize,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            enabled: true,
            types: types::defaults(),
            min: 1024,
            cache_bytes: 64 * 1024 * 1024,
        }
    }
}

/// The site's compressor: its options and its store.
#[derive(Debug)]
pub(crate) struct Compressor {
    options: CompressOptions,
    store: Arc<Store>,
}

impl Compressor {
    /// A compressor with an empty store, counting into `metrics`.
    pub(crate) fn new(options: CompressOptions, metrics: Arc<Metrics>) -> Compressor {
        Compressor {
            store: Arc::new(Store::new(options.cache_bytes, metrics)),
            options,
        }
    }

    /// Whether a file of `content_type` and `size` bytes is compressed:
    /// within `--compress-min` and [`COMPRESS_MAX_FILE`] (larger files go
    /// as they are, by sendfile, with ranges), of a listed type.
    pub(crate) fn takes(&self, content_type: &str, size: u64) -> bool {
        self.options.enabled
            && size >= self.options.min
            && size <= COMPRESS_MAX_FILE
            && self.options.types.iter().any(|t| t.matches(content_type))
    }

    /// The stored result for a file and coding, or who makes it.
    pub(crate) fn lookup(&self, id: FileId, coding: Coding) -> Lookup {
        self.store.lookup(id, coding)
    }

    /// Bytes the stored compressed variants take.
    pub(crate) fn cache_bytes(&self) -> u64 {
        self.store.bytes()
    }
}

/// What the connection does before asking the site again.
pub(crate) enum Work {
    /// Compress, on the blocking pool.
    Run(Job),
    /// Wait for the request that is compressing this file.
    Wait(Arc<Flight>),
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Work::Run(_) => "Work::Run",
            Work::Wait(_) => "Work::Wait",
        })
    }
}

/// Encodes a compressed variant's 200 fields from its validators.
pub(crate) type FieldsFor = Box<dyn FnOnce(&Validators, Coding) -> Vec<u8> + Send>;

/// One file to compress in one coding.
pub(crate) struct Job {
    pub lead: Lead,
    pub id: FileId,
    pub body: CachedBody,
    pub coding: Coding,
    /// The original's validators.
    pub validators: Validators,
    pub fields: FieldsFor,
}

impl Job {
    /// Reads (when the file is held open rather than in memory),
    /// compresses and stores; blocking, for the pool.
    pub(crate) fn run(self) -> Outcome {
        let outcome = match read(&self.body, self.id) {
            Some(original) => outcome(&original, self.coding, &self.validators, self.fields),
            None => Outcome::Skipped,
        };
        self.lead.finish(outcome.clone());
        outcome
    }
}

/// The file's bytes, if they are still those of `id`: bytes are only
/// compressed from a file unchanged across the read, as for the file
/// cache.
fn read(body: &CachedBody, id: FileId) -> Option<Arc<[u8]>> {
    match body {
        CachedBody::Bytes(bytes) => Some(Arc::clone(bytes)),
        CachedBody::Open { file, len } => {
            let bytes = crate::site::root::read_exactly(file, 0, *len).ok()?;
            let after = file.metadata().ok()?;
            (FileId::of(&after) == id).then(|| bytes.into())
        }
    }
}

fn outcome(original: &[u8], coding: Coding, validators: &Validators, fields: FieldsFor) -> Outcome {
    let Ok(bytes) = codec::encode(original, coding) else {
        return Outcome::Skipped;
    };
    let worth = original.len() - original.len() * MIN_SAVING_SIXTEENTHS / 16;
    if bytes.len() >= worth {
        return Outcome::NotSmaller;
    }
    let validators = Validators {
        etag: suffixed(&validators.etag, coding),
        modified: validators.modified,
    };
    Outcome::Compressed(Arc::new(Compressed {
        bytes: bytes.into(),
        fields: fields(&validators, coding).into(),
        validators,
    }))
}

/// The original's strong ETag with the coding inside its quotes
/// (`"abc-br"`): each variant has its own.
fn suffixed(etag: &str, coding: Coding) -> String {
    let inner = etag.strip_suffix('"').unwrap_or(etag);
    format!("{inner}-z{}\"", coding.token())
}

#[cfg(test)]
mod tests {
    //! The store as the site uses it: a file is compressed once per
    //! coding, however many requests ask meanwhile, and then answered
    //! from memory. Over TCP, with every coding decoded, in
    //! tests/it/compress.rs.

    use super::*;
    use crate::http::request::{Request, parse};
    use crate::http::response::{Body, Response};
    use crate::site::root::{Root, Symlinks};
    use crate::site::{Answer, Options, Prior, Site};

    /// A site over a fresh root holding a page that compresses well.
    fn site() -> (Site, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let page: String = (0..1500)
            .map(|i| format!("<li id=\"n{i}\">item {}</li>\n", i * 7))
            .collect();
        std::fs::write(dir.path().join("page.html"), page).unwrap();
        let root = Root::open(dir.path(), Symlinks::Inside).unwrap();
        (
            Site::new(root, &Options::default(), Default::default()).unwrap(),
            dir,
        )
    }

    fn get(coding: &str) -> Request {
        let head =
            format!("GET /page.html HTTP/1.1\r\nHost: t\r\nAccept-Encoding: {coding}\r\n\r\n");
        parse(head.as_bytes()).unwrap().unwrap().0
    }

    /// The compressed 200's bytes, checking it is one in `coding`.
    fn compressed(answer: Answer, coding: &str) -> Arc<[u8]> {
        let Answer::Ready(Response {
            encoded_fields: Some(fields),
            body: Body::Shared(bytes),
            ..
        }) = answer
        else {
            panic!("expected a compressed answer, got {answer:?}");
        };
        let fields = String::from_utf8_lossy(&fields);
        assert!(
            fields.contains(&format!("Content-Encoding: {coding}\r\n")),
            "{fields}"
        );
        bytes
    }

    fn asked_again(outcome: Outcome) -> Prior {
        Prior {
            compressed: Some(outcome),
            ..Prior::default()
        }
    }

    #[test]
    fn each_coding_is_compressed_once_then_answered_from_the_store() {
        let (site, _dir) = site();
        for coding in ["br", "zstd", "gzip"] {
            let request = get(coding);
            let Answer::Compress(Work::Run(job)) = site.answer(&request, &Prior::default()) else {
                panic!("{coding}: the first request compresses");
            };
            let first = compressed(site.answer(&request, &asked_again(job.run())), coding);
            for _ in 0..3 {
                let again = compressed(site.answer(&request, &Prior::default()), coding);
                assert!(Arc::ptr_eq(&first, &again), "{coding}: the stored bytes");
            }
        }
    }

    #[tokio::test]
    async fn requests_arriving_during_a_compression_wait_for_it() {
        let (site, _dir) = site();
        let request = get("br");
        let Answer::Compress(Work::Run(job)) = site.answer(&request, &Prior::default()) else {
            panic!("the first request compresses");
        };
        let flights: Vec<Arc<Flight>> = (0..7)
            .map(|_| match site.answer(&request, &Prior::default()) {
                Answer::Compress(Work::Wait(flight)) => flight,
                other => panic!("expected to wait, got {other:?}"),
            })
            .collect();
        let led = compressed(site.answer(&request, &asked_again(job.run())), "br");
        for flight in flights {
            let outcome = flight.wait().await;
            let waited = compressed(site.answer(&request, &asked_again(outcome)), "br");
            assert!(Arc::ptr_eq(&led, &waited), "the leader's bytes");
        }
        let later = compressed(site.answer(&request, &Prior::default()), "br");
        assert!(Arc::ptr_eq(&led, &later));
    }
}
