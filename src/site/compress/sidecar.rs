//! Which file answers a request for a regular file: the file itself, or a
//! precompressed sidecar beside it (`FILE.br`, `FILE.gz`) that the client
//! accepts, opened through the root wall like the file was.

use std::ffi::OsString;
use std::fs::{File, Metadata};
use std::path::{Path, PathBuf};

use crate::site::representation::negotiate::{self, Coding};
use crate::site::root::Root;

/// The file chosen to answer with.
#[derive(Debug)]
pub(crate) struct Selected {
    pub file: File,
    pub meta: Metadata,
    /// The coding of a chosen sidecar; `None` for the file itself.
    pub coding: Option<Coding>,
    /// Whether a precompressed variant of this file exists, so the answer
    /// depends on Accept-Encoding (`Vary`).
    pub has_variants: bool,
}

impl Selected {
    /// The requested file itself, with no variants looked for.
    pub(crate) fn original(file: File, meta: Metadata) -> Selected {
        Selected {
            file,
            meta,
            coding: None,
            has_variants: false,
        }
    }
}

/// Picks, for the file `original` requested as `name`, the precompressed
/// sidecar that `accept_encoding` accepts best, if one exists and is not
/// older than the original; otherwise the original, noting whether any
/// fresh sidecar exists.
pub(crate) fn select(
    root: &Root,
    name: &Path,
    accept_encoding: Option<&str>,
    original: Selected,
) -> Selected {
    let fresh: Vec<(Coding, File, Metadata)> = Coding::ALL
        .iter()
        .filter_map(|&coding| {
            let (file, meta) = open_sidecar(root, name, coding)?;
            let fresh = meta.is_file() && meta.modified().ok()? >= original.meta.modified().ok()?;
            fresh.then_some((coding, file, meta))
        })
        .collect();
    let has_variants = !fresh.is_empty();
    let accepted = negotiate::accepted_codings(accept_encoding);
    let best = accepted
        .iter()
        .find_map(|want| fresh.iter().position(|(coding, ..)| coding == want));
    match best.map(|i| fresh.into_iter().nth(i)) {
        Some(Some((coding, file, meta))) => Selected {
            file,
            meta,
            coding: Some(coding),
            has_variants,
        },
        _ => Selected {
            has_variants,
            ..original
        },
    }
}

fn open_sidecar(root: &Root, name: &Path, coding: Coding) -> Option<(File, Metadata)> {
    let mut sidecar = OsString::from(name.as_os_str());
    sidecar.push(".");
    sidecar.push(coding.extension());
    let file = root.open_beneath(&PathBuf::from(sidecar)).ok()?;
    let meta = file.metadata().ok()?;
    Some((file, meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::root::Symlinks;

    fn choose(dir: &Path, accept_encoding: Option<&str>) -> Selected {
        let root = Root::open(dir, Symlinks::Inside).unwrap();
        let file = root.open_beneath(Path::new("a.js")).unwrap();
        let meta = file.metadata().unwrap();
        let original = Selected::original(file, meta);
        select(&root, Path::new("a.js"), accept_encoding, original)
    }

    #[test]
    fn the_best_accepted_fresh_sidecar_answers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.js"), "plain").unwrap();
        let chosen = choose(dir.path(), Some("gzip, br"));
        assert_eq!((chosen.coding, chosen.has_variants), (None, false));
        std::fs::write(dir.path().join("a.js.gz"), "gz").unwrap();
        std::fs::write(dir.path().join("a.js.br"), "br").unwrap();
        let chosen = choose(dir.path(), Some("gzip, br"));
        assert_eq!(chosen.coding, Some(Coding::Brotli));
        assert_eq!(chosen.meta.len(), 2);
        let chosen = choose(dir.path(), Some("gzip"));
        assert_eq!(chosen.coding, Some(Coding::Gzip));
        let chosen = choose(dir.path(), None);
        assert_eq!((chosen.coding, chosen.has_variants), (None, true));
        assert_eq!(chosen.meta.len(), 5);
    }

    #[test]
    fn a_sidecar_older_than_the_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.js.gz"), "gz").unwrap();
        std::fs::write(dir.path().join("a.js"), "plain").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1);
        let gz = File::options().write(true).open(dir.path().join("a.js.gz"));
        gz.unwrap().set_modified(old).unwrap();
        let chosen = choose(dir.path(), Some("gzip"));
        assert_eq!((chosen.coding, chosen.has_variants), (None, false));
    }
}
