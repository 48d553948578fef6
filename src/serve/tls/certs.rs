//! Certificates and keys: a chain and its key loaded from PEM files, with
//! errors that name the file and say what is wrong, and several chosen by
//! the name the client asks for (SNI). A set of certificates is a plain
//! value, so a reload builds a new one beside the old and swaps it whole,
//! keeping the old one when loading fails.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::managed::{ALPN_ACME, Managed};

/// One certificate chain and its private key, as files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPair {
    /// PEM certificate chain, the server's own certificate first.
    pub cert: PathBuf,
    /// PEM private key: PKCS#8, SEC1 (EC) or PKCS#1 (RSA).
    pub key: PathBuf,
}

/// Why a certificate and key could not be used; it names the file, and
/// carries what went wrong underneath as its `source()`.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{}: cannot read", .0.display())]
    Read(PathBuf, #[source] io::Error),
    /// The file is not valid PEM.
    #[error("{}: not valid PEM", .0.display())]
    BadPem(PathBuf, #[source] pem::Error),
    /// The certificate file holds no certificate.
    #[error("{}: no certificate in this file", .0.display())]
    NoCertificate(PathBuf),
    /// The key file holds no private key.
    #[error("{}: no private key in this file", .0.display())]
    NoKey(PathBuf),
    /// The key is of a type or form the crypto provider cannot use.
    #[error("{}: unusable private key", .0.display())]
    Key(PathBuf, #[source] rustls::Error),
    /// The TLS configuration could not be built (for the first key named,
    /// if any).
    #[error("{}: cannot build the TLS configuration", .0.as_ref().map_or("HTTPS".into(), |p| p.display().to_string()))]
    Config(Option<PathBuf>, #[source] rustls::Error),
    /// The key is not the one the certificate was issued for.
    #[error("{}: this key does not match the certificate in {}", .key.display(), .cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
}

/// Reads `path` whole, so a missing file is told apart from bad PEM.
fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|err| TlsError::Read(path.to_owned(), err))
}

fn bad_pem(path: &Path, err: pem::Error) -> TlsError {
    TlsError::BadPem(path.to_owned(), err)
}

/// Loads one certificate chain and its key, and checks that they belong
/// together.
pub(crate) fn load_pair(
    pair: &CertPair,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(&read(&pair.cert)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| bad_pem(&pair.cert, err))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate(pair.cert.clone()));
    }
    let key = match PrivateKeyDer::from_pem_slice(&read(&pair.key)?) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => return Err(TlsError::NoKey(pair.key.clone())),
        Err(err) => return Err(bad_pem(&pair.key, err)),
    };
    CertifiedKey::from_der(chain, key, provider).map_err(|err| match err {
        rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
            cert: pair.cert.clone(),
            key: pair.key.clone(),
        },
        err => TlsError::Key(pair.key.clone(), err),
    })
}

/// Several certificates, the first being the default: a client naming a
/// host (SNI) gets the first certificate valid for it, any other client
/// the default.
///
/// With ACME (`managed`), the files answer the names they cover, the
/// ACME certificate its own names (and clients that name none), and any
/// other name is refused: nothing is ordered for a name a client chooses.
#[derive(Debug)]
pub(crate) struct Certificates {
    keys: Vec<Arc<CertifiedKey>>,
    managed: Option<Arc<Managed>>,
}

impl Certificates {
    /// Loads every pair, in order; the first failure is the error.
    pub(crate) fn load(
        pairs: &[CertPair],
        provider: &CryptoProvider,
    ) -> Result<Certificates, TlsError> {
        let keys = pairs
            .iter()
            .map(|pair| load_pair(pair, provider).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Certificates {
            keys,
            managed: None,
        })
    }

    /// Whether the ACME certificate is among them.
    pub(crate) fn has_acme(&self) -> bool {
        self.managed.is_some()
    }

    /// The same certificates beside the ACME one.
    pub(crate) fn with_managed(self, managed: Option<Arc<Managed>>) -> Certificates {
        Certificates { managed, ..self }
    }

    /// A warning for each certificate that is expired or not yet valid at
    /// `now`, naming its file (`pairs` are those it was loaded from). Such
    /// a certificate is still served: clients judge it, and refusing to
    /// start would take the whole site down over one name.
    pub(crate) fn warnings(&self, pairs: &[CertPair], now: std::time::SystemTime) -> Vec<String> {
        let ends = self.keys.iter().filter_map(|key| key.cert.first());
        pairs
            .iter()
            .zip(ends)
            .filter_map(|(pair, end)| {
                let warning = super::x509::warning(end.as_ref(), now)?;
                Some(format!("{}: {warning}", pair.cert.display()))
            })
            .collect()
    }

    /// Each certificate's file (`pairs` are those it was loaded from) and
    /// its `notAfter` in Unix seconds, for those that can be read (and end
    /// after 1970).
    pub(crate) fn expiries(&self, pairs: &[CertPair]) -> Vec<(String, u64)> {
        let ends = self.keys.iter().filter_map(|key| key.cert.first());
        pairs
            .iter()
            .zip(ends)
            .filter_map(|(pair, end)| {
                let not_after = super::x509::validity(end.as_ref())?.not_after;
                Some((
                    pair.cert.display().to_string(),
                    u64::try_from(not_after).ok()?,
                ))
            })
            .collect()
    }

    /// The certificate for a client that asked for `name` (or for none):
    /// the first that covers it, else the default.
    pub(crate) fn choose(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        name.and_then(|name| self.covering(name))
            .or_else(|| self.keys.first().cloned())
    }

    /// The first certificate valid for `name`.
    fn covering(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let name = ServerName::try_from(name).ok()?;
        let covers = |key: &&Arc<CertifiedKey>| {
            let Ok(end_entity) = key.end_entity_cert() else {
                return false;
            };
            webpki::EndEntityCert::try_from(end_entity)
                .is_ok_and(|cert| cert.verify_is_valid_for_subject_name(&name).is_ok())
        };
        self.keys.iter().find(covers).cloned()
    }

    /// With ACME: a file's certificate for the names it covers, the ACME
    /// one for its names and for a client naming none (a file's while
    /// there is none yet), nothing for any other name.
    fn with_acme(&self, managed: &Managed, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        if let Some(key) = name.and_then(|name| self.covering(name)) {
            return Some(key);
        }
        match name {
            Some(name) if !managed.covers(name) => None,
            _ => managed.current().or_else(|| self.keys.first().cloned()),
        }
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let Some(managed) = &self.managed else {
            return self.choose(hello.server_name());
        };
        // RFC 8737 §3: the CA's validation handshake offers acme-tls/1
        // and gets the challenge certificate, or nothing.
        let validating = hello
            .alpn()
            .is_some_and(|mut offered| offered.any(|p| p == ALPN_ACME));
        if validating {
            return hello.server_name().and_then(|name| managed.challenge(name));
        }
        self.with_acme(managed, hello.server_name())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::serve::tls::config::provider;

    /// A self-signed certificate for `names`, written as PEM files into
    /// `dir` under `stem`.
    pub(crate) fn pair_for(dir: &Path, stem: &str, names: &[&str]) -> CertPair {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let made = rcgen::generate_simple_self_signed(names).unwrap();
        let pair = CertPair {
            cert: dir.join(format!("{stem}.crt")),
            key: dir.join(format!("{stem}.key")),
        };
        std::fs::write(&pair.cert, made.cert.pem()).unwrap();
        std::fs::write(&pair.key, made.signing_key.serialize_pem()).unwrap();
        pair
    }

    fn error(pair: &CertPair) -> String {
        crate::ops::diagnostics::report(&load_pair(pair, &provider()).unwrap_err())
    }

    #[test]
    fn a_matching_pair_loads() {
        let dir = tempfile::tempdir().unwrap();
        let pair = pair_for(dir.path(), "site", &["example.test"]);
        let key = load_pair(&pair, &provider()).unwrap();
        assert_eq!(key.cert.len(), 1);
    }

    #[test]
    fn errors_name_the_file_and_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let a = pair_for(dir.path(), "a", &["a.test"]);
        let b = pair_for(dir.path(), "b", &["b.test"]);
        let missing = CertPair {
            cert: dir.path().join("missing.crt"),
            ..a.clone()
        };
        let err = error(&missing);
        assert!(
            err.starts_with(&format!("{}: cannot read", missing.cert.display())),
            "{err}"
        );
        let swapped = CertPair {
            cert: a.key.clone(),
            key: a.key.clone(),
        };
        let err = error(&swapped);
        assert!(err.ends_with("no certificate in this file"), "{err}");
        let keyless = CertPair {
            cert: a.cert.clone(),
            key: a.cert.clone(),
        };
        let err = error(&keyless);
        assert!(err.ends_with("no private key in this file"), "{err}");
        let crossed = CertPair {
            cert: a.cert.clone(),
            key: b.key.clone(),
        };
        let err = error(&crossed);
        assert!(err.contains("does not match the certificate"), "{err}");
        assert!(err.starts_with(&b.key.display().to_string()), "{err}");
    }

    #[test]
    fn garbage_is_not_pem() {
        let dir = tempfile::tempdir().unwrap();
        let a = pair_for(dir.path(), "a", &["a.test"]);
        std::fs::write(&a.cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
        let err = error(&a);
        assert!(err.contains("not valid PEM"), "{err}");
    }

    #[test]
    fn sni_picks_the_certificate_for_the_name_and_falls_back_to_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let pairs = [
            pair_for(dir.path(), "main", &["main.test"]),
            pair_for(dir.path(), "other", &["other.test", "*.wild.test"]),
        ];
        let certs = Certificates::load(&pairs, &provider()).unwrap();
        let first = load_pair(&pairs[0], &provider()).unwrap().cert;
        let second = load_pair(&pairs[1], &provider()).unwrap().cert;
        let chosen = |name| certs.choose(name).unwrap().cert.clone();
        assert_eq!(chosen(Some("other.test")), second);
        assert_eq!(chosen(Some("a.wild.test")), second);
        assert_eq!(chosen(Some("main.test")), first);
        assert_eq!(chosen(Some("unknown.test")), first);
        assert_eq!(chosen(None), first);
        assert_eq!(chosen(Some("not a name")), first);
    }

    #[test]
    fn with_acme_files_answer_their_names_acme_its_own_and_others_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let manual = pair_for(dir.path(), "manual", &["files.test"]);
        let acme = pair_for(dir.path(), "acme", &["acme.test"]);
        let managed = Managed::new(&["acme.test".to_owned()]);
        let certs = Certificates::load(std::slice::from_ref(&manual), &provider())
            .unwrap()
            .with_managed(Some(Arc::clone(&managed)));
        let file_cert = load_pair(&manual, &provider()).unwrap().cert;
        let chosen = |name| certs.with_acme(&managed, name).map(|k| k.cert.clone());
        assert_eq!(chosen(Some("files.test")), Some(file_cert.clone()));
        assert_eq!(
            chosen(Some("acme.test")),
            Some(file_cert.clone()),
            "a file's until ACME has one"
        );
        assert_eq!(
            chosen(Some("other.test")),
            None,
            "nothing is ordered for a client's name"
        );
        let acme_key = load_pair(&acme, &provider()).unwrap();
        let acme_cert = acme_key.cert.clone();
        managed.install(Arc::new(acme_key), 1, "acme.pem".into());
        assert_eq!(chosen(Some("ACME.test")), Some(acme_cert.clone()));
        assert_eq!(chosen(None), Some(acme_cert), "no SNI: the ACME one");
        assert_eq!(chosen(Some("files.test")), Some(file_cert));
        assert_eq!(chosen(Some("other.test")), None);
    }

    #[test]
    fn an_expired_certificate_loads_with_a_warning_naming_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = pair_for(dir.path(), "fresh", &["fresh.test"]);
        let mut params = rcgen::CertificateParams::new(vec!["old.test".to_owned()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let old = CertPair {
            cert: dir.path().join("old.crt"),
            key: dir.path().join("old.key"),
        };
        std::fs::write(&old.cert, params.self_signed(&key).unwrap().pem()).unwrap();
        std::fs::write(&old.key, key.serialize_pem()).unwrap();
        let pairs = [fresh, old.clone()];
        let certs = Certificates::load(&pairs, &provider()).unwrap();
        let warnings = certs.warnings(&pairs, std::time::SystemTime::now());
        assert_eq!(
            warnings,
            [format!(
                "{}: certificate expired on 2021-01-01 00:00:00 UTC",
                old.cert.display()
            )]
        );
    }
}
