//! HTTP/2 with a real HTTP/2 client (the `h2` crate's, in this process)
//! against the server: prior knowledge on a plain port (h2c) and `h2` by
//! ALPN over TLS; the same answers as HTTP/1.1 (files, HEAD, ranges,
//! validators, errors with `Allow`), no connection-specific field, flow
//! control from a client that opens its window slowly, a small request
//! beside a large download, the settings it advertises, the idle and the
//! shutdown GOAWAY, `--http2 off`; the access log and the metrics.

use crate::common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{serve, serve_root};
use h2::client::{self, SendRequest};
use http::{Method, Request, Response, StatusCode};
use staticd::Config;
use tokio::net::TcpStream;

/// An HTTP/2 connection by prior knowledge, its driver on the runtime.
async fn h2c(addr: SocketAddr) -> SendRequest<Bytes> {
    let tcp = connect(addr).await;
    let (send, conn) = client::handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

fn request(method: Method, path: &str, fields: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"));
    for (name, value) in fields {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

/// A TCP connection as HTTP/2 clients make them: small frames (window
/// updates) go at once.
async fn connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp
}

/// Sends `request` and reads the whole body.
async fn fetch(send: &mut SendRequest<Bytes>, request: Request<()>) -> (Response<()>, Vec<u8>) {
    let mut send = send.clone().ready().await.unwrap();
    let (response, _) = send.send_request(request, true).unwrap();
    let response = response.await.expect("a response");
    let (head, mut body) = response.into_parts();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("a whole body");
        body.flow_control().release_capacity(chunk.len()).unwrap();
        bytes.extend_from_slice(&chunk);
    }
    (Response::from_parts(head, ()), bytes)
}

/// Sends `GET path` and returns the response's body, unread.
async fn body_of(send: &SendRequest<Bytes>, path: &str) -> h2::RecvStream {
    let mut send = send.clone().ready().await.unwrap();
    let (response, _) = send
        .send_request(request(Method::GET, path, &[]), true)
        .unwrap();
    response.await.unwrap().into_body()
}

fn root() -> tempfile::TempDir {
    let root = common::fixture();
    std::fs::write(root.path().join("ten.txt"), b"0123456789").unwrap();
    root
}

#[tokio::test]
async fn files_head_ranges_validators_and_errors_are_answered_as_over_http1() {
    let root = root();
    let addr = serve_root(root.path(), |_| {});
    let mut send = h2c(addr).await;
    let (head, body) = fetch(&mut send, request(Method::GET, "/ten.txt", &[])).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(body, b"0123456789");
    let fields = head.headers();
    assert_eq!(fields["content-length"], "10");
    assert_eq!(fields["content-type"], "text/plain");
    assert!(fields["server"].to_str().unwrap().starts_with("staticd/"));
    assert!(fields.contains_key("date") && fields.contains_key("etag"));
    for name in ["connection", "keep-alive", "transfer-encoding", "upgrade"] {
        assert!(!fields.contains_key(name), "{name}");
    }
    let etag = fields["etag"].to_str().unwrap().to_owned();

    let (head, body) = fetch(&mut send, request(Method::HEAD, "/ten.txt", &[])).await;
    assert_eq!(
        (
            head.status(),
            head.headers()["content-length"].to_str().unwrap()
        ),
        (StatusCode::OK, "10")
    );
    assert!(body.is_empty(), "HEAD: no DATA");

    let (head, body) = fetch(
        &mut send,
        request(Method::GET, "/ten.txt", &[("range", "bytes=2-4")]),
    )
    .await;
    assert_eq!(
        (head.status(), &body[..]),
        (StatusCode::PARTIAL_CONTENT, &b"234"[..])
    );
    assert_eq!(head.headers()["content-range"], "bytes 2-4/10");

    let (head, body) = fetch(
        &mut send,
        request(Method::GET, "/ten.txt", &[("range", "bytes=0-0,8-9")]),
    )
    .await;
    assert_eq!(head.status(), StatusCode::PARTIAL_CONTENT);
    let text = String::from_utf8_lossy(&body);
    assert!(
        text.contains("Content-Range: bytes 0-0/10")
            && text.contains("Content-Range: bytes 8-9/10"),
        "{text}"
    );

    let (head, body) = fetch(
        &mut send,
        request(Method::GET, "/ten.txt", &[("if-none-match", &etag)]),
    )
    .await;
    assert_eq!((head.status(), body.len()), (StatusCode::NOT_MODIFIED, 0));

    let (head, _) = fetch(&mut send, request(Method::GET, "/missing", &[])).await;
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    let (head, _) = fetch(&mut send, request(Method::DELETE, "/ten.txt", &[])).await;
    assert_eq!(head.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(head.headers()["allow"], "GET, HEAD");
    let (head, _) = fetch(&mut send, request(Method::GET, "/dir2", &[])).await;
    assert_eq!(head.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(head.headers()["location"], "/dir2/");
}

#[tokio::test]
async fn a_host_field_that_contradicts_the_authority_is_a_400() {
    let root = root();
    let addr = serve_root(root.path(), |_| {});
    let mut send = h2c(addr).await;
    let (head, _) = fetch(
        &mut send,
        request(Method::GET, "/ten.txt", &[("host", "other.example")]),
    )
    .await;
    assert_eq!(head.status(), StatusCode::BAD_REQUEST);
    // The connection carries on for the next request.
    let (head, _) = fetch(&mut send, request(Method::GET, "/ten.txt", &[])).await;
    assert_eq!(head.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_large_file_follows_a_slow_window_and_a_small_request_is_not_held_behind_it() {
    let root = root();
    let big: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.path().join("big.bin"), &big).unwrap();
    let addr = serve_root(root.path(), |_| {});
    let tcp = connect(addr).await;
    // A small window: the server may send 16 KiB at a time on the stream.
    let (send, conn) = client::Builder::new()
        .initial_window_size(16 * 1024)
        .handshake::<_, Bytes>(tcp)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut body = body_of(&send, "/big.bin").await;
    // Read a little, hold the rest back, then ask for a small file.
    let first = body.data().await.unwrap().unwrap();
    assert!(first.len() <= 16 * 1024);
    let mut other = send.clone();
    let (head, small) = fetch(&mut other, request(Method::GET, "/ten.txt", &[])).await;
    assert_eq!(
        (head.status(), &small[..]),
        (StatusCode::OK, &b"0123456789"[..])
    );
    body.flow_control().release_capacity(first.len()).unwrap();
    let mut got = first.to_vec();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        got.extend_from_slice(&chunk);
    }
    assert_eq!(got.len(), big.len());
    assert!(got == big, "the bytes of the file, in order");
}

#[tokio::test]
async fn the_server_advertises_its_stream_limit_and_header_list_size() {
    let root = root();
    let addr = serve_root(root.path(), |config| config.http2_max_streams = 7);
    let mut send = h2c(addr).await;
    // The first exchange brings the server's SETTINGS in.
    let _ = fetch(&mut send, request(Method::GET, "/ten.txt", &[])).await;
    // Eight at once: the eighth waits for one of the seven, none fails.
    let all = (0..8).map(|_| {
        let mut send = send.clone();
        async move {
            fetch(&mut send, request(Method::GET, "/ten.txt", &[]))
                .await
                .0
                .status()
        }
    });
    for status in futures_join(all).await {
        assert_eq!(status, StatusCode::OK);
    }
    // A header list past the server's limit is refused, the connection lives.
    let long = "x".repeat(20 * 1024);
    let mut ready = send.clone().ready().await.unwrap();
    let (response, _) = ready
        .send_request(request(Method::GET, "/ten.txt", &[("x-long", &long)]), true)
        .unwrap();
    match response.await {
        Ok(response) => assert_eq!(
            response.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        ),
        Err(err) => assert!(err.is_reset() || err.is_go_away(), "{err}"),
    }
}

/// Runs `futures` concurrently, their outputs in order.
async fn futures_join<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn an_idle_connection_gets_goaway_after_the_keepalive_timeout() {
    let root = root();
    let addr = serve_root(root.path(), |config| {
        config.keepalive_timeout = Duration::from_millis(200);
    });
    let tcp = connect(addr).await;
    let (send, conn) = client::handshake(tcp).await.unwrap();
    let driver = tokio::spawn(conn);
    let mut send2 = send.clone();
    let _ = fetch(&mut send2, request(Method::GET, "/ten.txt", &[])).await;
    drop((send, send2));
    // The server's GOAWAY NO_ERROR ends the connection cleanly.
    let ended = tokio::time::timeout(common::IO_TIMEOUT, driver)
        .await
        .unwrap()
        .unwrap();
    assert!(ended.is_ok(), "{ended:?}");
}

#[tokio::test]
async fn graceful_shutdown_lets_the_stream_in_flight_finish() {
    let root = root();
    let big = vec![7u8; 4 << 20];
    std::fs::write(root.path().join("big.bin"), &big).unwrap();
    let mut config = Config::for_root(root.path());
    config.grace_period = Duration::from_secs(20);
    let running = serve(config);
    let tcp = connect(running.addr).await;
    let (send, conn) = client::handshake(tcp).await.unwrap();
    tokio::spawn(conn);
    let mut body = body_of(&send, "/big.bin").await;
    let first = body.data().await.unwrap().unwrap();
    let stopping = tokio::task::spawn_blocking(move || running.shutdown());
    let mut got = first.len();
    body.flow_control().release_capacity(first.len()).unwrap();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("the download is not cut");
        body.flow_control().release_capacity(chunk.len()).unwrap();
        got += chunk.len();
    }
    assert_eq!(got, big.len());
    assert_eq!(stopping.await.unwrap(), staticd::Drained::All);
}

#[tokio::test]
async fn with_http2_off_the_preface_is_refused() {
    let root = root();
    let addr = serve_root(root.path(), |config| config.http2 = staticd::Switch::Off);
    let reply = common::exchange(addr, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert!(
        reply.starts_with(b"HTTP/1.1 505 "),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}
