//! One ACME order (RFC 8555 §7.4): the account (made once per CA and
//! kept), a new order for the names, each authorization's challenge
//! answered from memory ([`Managed`]), the CSR for a new key, and the
//! certificate chain. Everything it needs from the CA goes through
//! `instant-acme`; the challenge answers are gone when it returns,
//! whatever the outcome.

use std::sync::Arc;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::sign::CertifiedKey;

use super::client::Client;
use super::state::{State, Stored};
use crate::serve::limits::ACME_ORDER_TIMEOUT;
use crate::serve::options::{AcmeOptions, Challenge};
use crate::serve::tls::Managed;

/// Why an order did not bring a certificate; the cause is its `source()`.
#[derive(Debug, thiserror::Error)]
pub(crate) enum OrderError {
    #[error("the CA")]
    Acme(#[from] instant_acme::Error),
    #[error("the state directory")]
    State(#[source] std::io::Error),
    #[error("the account file is damaged")]
    Account(#[source] serde_json::Error),
    #[error("making a key or a certificate request")]
    Key(#[from] rcgen::Error),
    #[error("the challenge certificate")]
    Challenge(#[source] rustls::Error),
    #[error("the CA refused the order: {0}")]
    Refused(String),
}

/// Everything an order needs.
pub(crate) struct Orderer<'a> {
    pub options: &'a AcmeOptions,
    pub client: &'a Client,
    pub state: &'a State,
    pub managed: &'a Managed,
    pub provider: &'a Arc<CryptoProvider>,
}

impl Orderer<'_> {
    /// Orders a certificate for `domains` and returns it with its new key.
    pub(crate) async fn order(&self, domains: &[String]) -> Result<Stored, OrderError> {
        let ordered = self.order_inner(domains).await;
        self.managed.clear_challenges();
        ordered
    }

    async fn order_inner(&self, domains: &[String]) -> Result<Stored, OrderError> {
        let account = self.account().await?;
        let identifiers: Vec<Identifier> =
            domains.iter().map(|d| Identifier::Dns(d.clone())).collect();
        let mut order = account.new_order(&NewOrder::new(&identifiers)).await?;
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization?;
            match authorization.status {
                AuthorizationStatus::Valid => continue,
                AuthorizationStatus::Pending => {}
                status => return Err(OrderError::Refused(format!("authorization {status:?}"))),
            }
            let kind = match self.options.challenge {
                Challenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
                Challenge::Http01 => ChallengeType::Http01,
            };
            let mut challenge = authorization.challenge(kind.clone()).ok_or_else(|| {
                OrderError::Refused(format!("the CA offers no {kind:?} challenge"))
            })?;
            let name = challenge.identifier().to_string();
            let key_authorization = challenge.key_authorization();
            match self.options.challenge {
                Challenge::TlsAlpn01 => {
                    let digest = key_authorization.digest();
                    let key = challenge_key(&name, digest.as_ref(), self.provider)?;
                    self.managed.set_challenge(&name, Arc::new(key));
                }
                Challenge::Http01 => {
                    self.managed
                        .set_token(&challenge.token, key_authorization.as_str());
                }
            }
            challenge.set_ready().await?;
        }
        let patience = RetryPolicy::new().timeout(ACME_ORDER_TIMEOUT);
        if order.poll_ready(&patience).await? != OrderStatus::Ready {
            return Err(OrderError::Refused(refusal(&mut order).await));
        }
        let key = rcgen::KeyPair::generate()?;
        let mut params = rcgen::CertificateParams::new(domains.to_vec())?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params.serialize_request(&key)?;
        order.finalize_csr(csr.der()).await?;
        let cert = order.poll_certificate(&patience).await?;
        Ok(Stored {
            cert,
            key: key.serialize_pem(),
        })
    }

    /// The account for this CA: the saved one, or a new one (agreeing to
    /// the CA's terms of service) that is saved before it is used.
    async fn account(&self) -> Result<Account, OrderError> {
        let directory = &self.options.directory;
        let builder = || Account::builder_with_http(Box::new(self.client.clone()));
        if let Some(json) = self.state.account(directory).map_err(OrderError::State)? {
            let credentials: AccountCredentials =
                serde_json::from_slice(&json).map_err(OrderError::Account)?;
            return Ok(builder().from_credentials(credentials).await?);
        }
        let contact = self.options.email.as_ref().map(|e| format!("mailto:{e}"));
        let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
        let new = NewAccount {
            contact: &contact,
            terms_of_service_agreed: true,
            only_return_existing: false,
        };
        let (account, credentials) = builder().create(&new, directory.clone(), None).await?;
        let json = serde_json::to_vec(&credentials).map_err(OrderError::Account)?;
        self.state
            .save_account(directory, &json)
            .map_err(OrderError::State)?;
        Ok(account)
    }
}

/// What the CA said about an order that did not become ready: the first
/// challenge error it reports, or the order's state.
async fn refusal(order: &mut instant_acme::Order) -> String {
    let mut authorizations = order.authorizations();
    while let Some(Ok(authorization)) = authorizations.next().await {
        let error = authorization
            .challenges
            .iter()
            .find_map(|c| c.error.as_ref());
        if let Some(problem) = error {
            return problem.to_string();
        }
    }
    format!("order {:?}", order.state().status)
}

/// The TLS-ALPN-01 certificate for `name` (RFC 8737 §3): self-signed,
/// for that name alone, with the `acmeIdentifier` extension holding the
/// SHA-256 digest of the key authorization; made in memory, never written.
fn challenge_key(
    name: &str,
    digest: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, OrderError> {
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()])?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    // Not from_der: its consistency check parses the certificate with
    // webpki, which refuses the critical acmeIdentifier extension.
    let signing = provider
        .key_provider
        .load_private_key(key_der)
        .map_err(OrderError::Challenge)?;
    Ok(CertifiedKey::new(chain, signing))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_certificate_names_one_host_and_carries_the_digest() {
        let digest = [7u8; 32];
        let key =
            challenge_key("site.test", &digest, &crate::serve::tls::config::provider()).unwrap();
        let der = key.end_entity_cert().unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
        // id-pe-acmeIdentifier (RFC 8737 §6.1), critical, an OCTET STRING
        // of the digest.
        let ext = cert
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .unwrap();
        assert!(ext.critical);
        assert_eq!(ext.value, [&[0x04, 32][..], &digest].concat());
        let names = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(names.value.general_names.len(), 1);
    }
}
