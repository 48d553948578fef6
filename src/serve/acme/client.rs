//! The HTTPS client the ACME protocol speaks through: one HTTP/1.1
//! exchange per connection (`Connection: close`), over rustls trusting the
//! system's roots and `--acme-ca-file`, on a blocking thread so a slow CA
//! never holds up the worker whose runtime the ACME task shares.
//!
//! A handful of requests a quarter, at most a few dozen at once: one
//! connection each costs nothing that matters, and keeps this short.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::http::answer::{self, Answer};
use crate::http::date;
use crate::serve::limits::{ACME_HTTP_TIMEOUT, ACME_MAX_RESPONSE};
use crate::serve::tls::config::provider;

/// What staticd calls itself to the CA (RFC 8555 §6.1 asks for one).
const USER_AGENT: &str = concat!("staticd/", env!("CARGO_PKG_VERSION"));

/// The client instant-acme is given. It also notes the `Retry-After` of
/// the last error response (a `rateLimited` one, RFC 8555 §6.6), which
/// the crate's errors do not carry, for the ACME task to wait out.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    tls: Arc<rustls::ClientConfig>,
    retry_after: Arc<Mutex<Option<Duration>>>,
}

impl Client {
    /// A client trusting the system's roots and those in `ca_file`.
    pub(crate) fn new(ca_file: Option<&Path>) -> io::Result<Client> {
        let mut roots = rustls::RootCertStore::empty();
        // Roots the system has but rustls cannot parse are skipped, as
        // every rustls user does; a CA file's must all be good.
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(file) = ca_file {
            let pem = std::fs::read(file)?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                roots
                    .add(cert)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            }
        }
        let tls = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Client {
            tls: Arc::new(tls),
            retry_after: Arc::default(),
        })
    }

    /// The wait the CA asked for in its last error response, once.
    pub(crate) fn take_retry_after(&self) -> Option<Duration> {
        self.retry_after
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): seconds, or an HTTP-date
/// (as a wait from `now`, Unix seconds).
fn retry_after(answer: &Answer, now: u64) -> Option<Duration> {
    let (_, value) = answer.fields.iter().find(|(n, _)| n == "retry-after")?;
    let value = std::str::from_utf8(value).ok()?.trim();
    match value.parse::<u64>() {
        Ok(secs) => Some(Duration::from_secs(secs)),
        Err(_) => Some(Duration::from_secs(date::parse(value)?.saturating_sub(now))),
    }
}

impl HttpClient for Client {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let tls = Arc::clone(&self.tls);
        let noted = Arc::clone(&self.retry_after);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let exchanged = tokio::task::spawn_blocking(move || exchange(&tls, &parts, &body))
                .await
                .map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            let answer = exchanged.map_err(|e| instant_acme::Error::Other(Box::new(e)))?;
            if answer.status >= 400 {
                let now = super::schedule::unix_now().max(0) as u64;
                *noted.lock().unwrap_or_else(|e| e.into_inner()) = retry_after(&answer, now);
            }
            Ok(BytesResponse::from(response(answer)?))
        })
    }
}

/// The parsed answer as the `http` response instant-acme reads.
fn response(answer: Answer) -> Result<http::Response<Full<Bytes>>, instant_acme::Error> {
    let mut builder = http::Response::builder().status(answer.status);
    for (name, value) in answer.fields {
        builder = builder.header(name, value);
    }
    Ok(builder.body(Full::new(Bytes::from(answer.body)))?)
}

/// One request to `parts.uri`, its answer read whole.
fn exchange(
    tls: &Arc<rustls::ClientConfig>,
    parts: &http::request::Parts,
    body: &[u8],
) -> io::Result<Answer> {
    let uri = &parts.uri;
    let invalid =
        |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{what}: {uri}"));
    if uri.scheme_str() != Some("https") {
        return Err(invalid("not an https:// URL"));
    }
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let port = uri.port_u16().unwrap_or(443);
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|_| invalid("not a host name"))?;
    let tcp = connect(host.trim_matches(['[', ']']), port)?;
    let conn = rustls::ClientConnection::new(Arc::clone(tls), name).map_err(io::Error::other)?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    stream.write_all(&head(parts, body.len()))?;
    stream.write_all(body)?;
    stream.flush()?;
    read_answer(&mut stream)
}

/// The first address of `host` that accepts a connection in time.
fn connect(host: &str, port: u16) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, format!("{host}: no address"));
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, ACME_HTTP_TIMEOUT) {
            Ok(tcp) => {
                tcp.set_read_timeout(Some(ACME_HTTP_TIMEOUT))?;
                tcp.set_write_timeout(Some(ACME_HTTP_TIMEOUT))?;
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(err) => last = err,
        }
    }
    Err(last)
}

/// The request head: the method and path, `Host`, our fields, the
/// caller's (`Content-Type: application/jose+json`), the body's length.
fn head(parts: &http::request::Parts, body_len: usize) -> Vec<u8> {
    let uri = &parts.uri;
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or("", |a| a.as_str());
    let mut head = format!(
        "{} {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: {USER_AGENT}\r\nConnection: close\r\n",
        parts.method
    )
    .into_bytes();
    for (name, value) in &parts.headers {
        if name != http::header::HOST && name != http::header::CONTENT_LENGTH {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        }
    }
    if body_len > 0 || parts.method == http::Method::POST {
        head.extend_from_slice(format!("Content-Length: {body_len}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

/// Reads until the answer is whole, the peer closes, or it grows past
/// [`ACME_MAX_RESPONSE`].
fn read_answer(stream: &mut impl Read) -> io::Result<Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            // A server that closes without close_notify has still said
            // all it framed; parse() judges whether that was all.
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => 0,
            Err(err) => return Err(err),
        };
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > ACME_MAX_RESPONSE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the CA's response is too large",
            ));
        }
        let parsed = answer::parse(&buf, n == 0)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        if let Some(answer) = parsed {
            return Ok(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_carries_host_agent_type_and_length() {
        let request = http::Request::post("https://ca.test:14000/new-order?x=1")
            .header("content-type", "application/jose+json")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let head = String::from_utf8(head(&parts, 42)).unwrap();
        assert!(
            head.starts_with("POST /new-order?x=1 HTTP/1.1\r\nHost: ca.test:14000\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nUser-Agent: staticd/"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: application/jose+json\r\n"),
            "{head}"
        );
        assert!(head.ends_with("Content-Length: 42\r\n\r\n"), "{head}");
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let answer = |value: &str| Answer {
            status: 429,
            fields: vec![("retry-after".to_owned(), value.as_bytes().to_vec())],
            body: Vec::new(),
        };
        let now = 784_111_777 - 60; // a minute before Sun, 06 Nov 1994 08:49:37
        assert_eq!(
            retry_after(&answer("120"), now),
            Some(Duration::from_secs(120))
        );
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(
            retry_after(&answer(date), now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(retry_after(&answer("soon"), now), None);
    }

    #[test]
    fn answers_are_read_to_their_end_and_never_past_the_limit() {
        let mut whole = &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"[..];
        assert_eq!(read_answer(&mut whole).unwrap().body, b"ok");
        let mut endless = io::repeat(b'a');
        let mut head = &b"HTTP/1.1 200 OK\r\n\r\n"[..];
        let mut huge = Read::chain(&mut head, &mut endless);
        assert!(read_answer(&mut huge).is_err());
        let mut cut = &b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nok"[..];
        assert!(read_answer(&mut cut).is_err());
    }
}
