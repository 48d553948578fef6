//! HTTP/2 through the built binary with the clients people use: curl
//! (`--http2-prior-knowledge` on a plain port, `--http2` over TLS, where
//! ALPN picks h2) and nghttp from Debian's nghttp2-client (several URIs
//! as streams on one connection, h2c and h2). Each asserts that HTTP/2
//! was spoken, the status and body, a HEAD (no body, END_STREAM on its
//! HEADERS) and a range. Skipped with a `SKIP:` line when a tool is
//! missing, except under STATICD_REQUIRE_LINT=1 (CI, whose `.ci/run`
//! installs curl and nghttp2-client).

use crate::common;

use std::path::Path;
use std::process::Command;

use common::process::Process;
use common::tls::certificate;
use common::tools::lint_tool;
use staticd::CertPair;

const PAGE: &str = "<html><body>Page Sample</body></html>\n";
const DEEP: &str = "bingo, you found it\n";

/// `curl -sS` with `args`: (exit code, stdout, stderr).
fn curl(args: &[&str]) -> (i32, String, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10"])
        .args(args)
        .output()
        .expect("run curl");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Everything after the last line `-w` wrote: curl's `%{...}` values,
/// which follow a `\n` after the body or headers.
fn written(stdout: &str) -> (&str, &str) {
    stdout.rsplit_once('\n').unwrap_or(("", stdout))
}

/// A GET, a HEAD and a range of `/dir2/page.html` at `base` with curl and
/// `how` (the protocol options), each answered over HTTP/2.
fn curl_get_head_range(base: &str, how: &[&str]) {
    let url = format!("{base}/dir2/page.html");
    let w = ["-w", "\n%{http_version} %{http_code} %{size_download}"];
    let (code, out, err) = curl(&[how, &w, &[url.as_str()]].concat());
    assert_eq!(code, 0, "GET: {err}");
    assert_eq!(written(&out), (PAGE, "2 200 38"), "GET over HTTP/2");

    let (code, out, err) = curl(&[how, &["-I"], &w, &[url.as_str()]].concat());
    assert_eq!(code, 0, "HEAD: {err}");
    let (head, values) = written(&out);
    assert_eq!(values, "2 200 0", "HEAD over HTTP/2, no body");
    assert!(head.starts_with("HTTP/2 200"), "{head}");
    assert!(head.contains("\r\ncontent-length: 38\r\n"), "{head}");
    assert!(!head.contains("connection:"), "{head}");

    let (code, out, err) = curl(&[how, &["-D", "-", "-r", "6-11"], &w, &[url.as_str()]].concat());
    assert_eq!(code, 0, "range: {err}");
    let (all, values) = written(&out);
    assert_eq!(values, "2 206 6", "a range over HTTP/2");
    assert!(
        all.contains("\r\ncontent-range: bytes 6-11/38\r\n"),
        "{all}"
    );
    assert!(all.ends_with("\r\n\r\n<body>"), "{all}");
}

fn tls_args<'a>(root: &'a Path, pair: &'a CertPair) -> Vec<&'a str> {
    let (cert, key) = (pair.cert.to_str().unwrap(), pair.key.to_str().unwrap());
    let root = root.to_str().unwrap();
    vec!["--root", root, "--tls-cert", cert, "--tls-key", key]
}

#[test]
fn curl_http2_prior_knowledge_on_a_plain_port() {
    if lint_tool("curl", "apt-get install curl").is_none() {
        return;
    }
    let root = common::fixture();
    let server = Process::start(&["--root", root.path().to_str().unwrap()], &[]);
    let base = format!("http://{}", server.addr);
    curl_get_head_range(&base, &["--http2-prior-knowledge"]);
}

#[test]
fn curl_http2_over_tls_by_alpn() {
    if lint_tool("curl", "apt-get install curl").is_none() {
        return;
    }
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["localhost"]);
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let port = server.addr.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let cacert = pair.cert.to_str().unwrap();
    let how = ["--http2", "--cacert", cacert, "--resolve", &resolve];
    curl_get_head_range(&format!("https://localhost:{port}"), &how);
}

/// A 2 GiB file over h2 with TLS, fetched by curl: every byte arrives
/// and the server's peak memory stays within 16 MiB of where it was
/// (files go out a chunk at a time, records at most rustls's buffer
/// ahead).
#[test]
fn a_2gib_file_over_http2_streams_in_bounded_memory() {
    const SIZE: u64 = 2 << 30;
    if lint_tool("curl", "apt-get install curl").is_none() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    common::sparse_file(&root.path().join("big.bin"), SIZE);
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["localhost"]);
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let rss_before = server.proc_status("VmRSS:");
    let port = server.addr.port();
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}/big.bin");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "120", "--http2", "-o", "/dev/null"])
        .args([
            "--cacert",
            pair.cert.to_str().unwrap(),
            "--resolve",
            &resolve,
        ])
        .args(["-w", "%{http_version} %{http_code} %{size_download}", &url])
        .output()
        .expect("run curl");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        said,
        format!("2 200 {SIZE}"),
        "{}",
        common::tools::text(&out)
    );
    let peak_kib = server.proc_status("VmHWM:");
    assert!(
        peak_kib < rss_before + 16 * 1024,
        "peak RSS {peak_kib} KiB after the download vs {rss_before} KiB before"
    );
}

/// What `nghttp -nv` printed about one stream.
#[derive(Debug, Default)]
struct Stream {
    id: u32,
    status: Option<u16>,
    data: usize,
    data_frames: usize,
    ended: bool,
}

/// `nghttp -nv` with `args` (exit status checked): the number of
/// connections it made, its whole output, and per stream it opened, in
/// the order it sent them, what came back.
fn nghttp(args: &[&str]) -> (usize, String, Vec<Stream>) {
    let out = Command::new("nghttp")
        .args(["-nv", "-t", "10"])
        .args(args)
        .output()
        .expect("run nghttp");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nghttp {args:?}:\n{text}");
    let connections = text.lines().filter(|l| l.ends_with("] Connected")).count();
    let mut streams: Vec<Stream> = Vec::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once("] ") else {
            continue;
        };
        if let Some(frame) = rest.strip_prefix("send HEADERS frame ") {
            let id = field(frame, "stream_id");
            streams.push(Stream {
                id,
                ..Stream::default()
            });
        } else if let Some(status) = rest.split_once(") :status: ") {
            let id: u32 = status
                .0
                .trim_start_matches("recv (stream_id=")
                .parse()
                .unwrap();
            stream(&mut streams, id).status = status.1.trim().parse().ok();
        } else if let Some(frame) = rest.strip_prefix("recv DATA frame ") {
            let s = stream(&mut streams, field(frame, "stream_id"));
            s.data += field(frame, "length") as usize;
            s.data_frames += 1;
            s.ended |= field_hex(frame, "flags") & 0x1 != 0;
        } else if let Some(frame) = rest.strip_prefix("recv HEADERS frame ") {
            let s = stream(&mut streams, field(frame, "stream_id"));
            s.ended |= field_hex(frame, "flags") & 0x1 != 0;
        }
    }
    (connections, text, streams)
}

fn stream(streams: &mut [Stream], id: u32) -> &mut Stream {
    let found = streams.iter_mut().find(|s| s.id == id);
    found.unwrap_or_else(|| panic!("a frame on stream {id}, which nghttp never opened"))
}

/// `name=value` in a frame's `<length=38, flags=0x01, stream_id=13>`.
fn raw_field<'a>(frame: &'a str, name: &str) -> &'a str {
    let start = frame.find(&format!("{name}=")).expect(name) + name.len() + 1;
    let rest = &frame[start..];
    &rest[..rest.find([',', '>']).unwrap_or(rest.len())]
}

fn field(frame: &str, name: &str) -> u32 {
    raw_field(frame, name).parse().expect(name)
}

fn field_hex(frame: &str, name: &str) -> u32 {
    u32::from_str_radix(raw_field(frame, name).trim_start_matches("0x"), 16).expect(name)
}

/// nghttp at `base`: three URIs as three streams on one connection, each
/// answered (status, DATA to END_STREAM); then a HEAD answered by HEADERS
/// with END_STREAM and no DATA; then a range.
fn nghttp_streams(base: &str) -> String {
    let uris = [
        "/dir2/page.html",
        "/dir1/dir12/dir123/deep.txt",
        "/no-such.txt",
    ];
    let uris: Vec<String> = uris.iter().map(|u| format!("{base}{u}")).collect();
    let args: Vec<&str> = uris.iter().map(String::as_str).collect();
    let (connections, text, streams) = nghttp(&args);
    assert_eq!(connections, 1, "one connection for all three:\n{text}");
    let got: Vec<_> = streams
        .iter()
        .map(|s| (s.status, s.data, s.ended))
        .collect();
    let error_page = streams.get(2).map_or(0, |s| s.data);
    let want = vec![
        (Some(200), PAGE.len(), true),
        (Some(200), DEEP.len(), true),
        (Some(404), error_page, true),
    ];
    assert_eq!(
        got, want,
        "three streams answered on one connection:\n{text}"
    );
    assert!(error_page > 0, "the 404 has its page:\n{text}");
    let ids: Vec<u32> = streams.iter().map(|s| s.id).collect();
    assert!(
        ids[0] < ids[1] && ids[1] < ids[2],
        "distinct streams {ids:?}"
    );

    let (_, text, head) = nghttp(&["-H", ":method: HEAD", &uris[0]]);
    assert_eq!(head.len(), 1, "{text}");
    assert_eq!(
        (head[0].status, head[0].data_frames, head[0].ended),
        (Some(200), 0, true),
        "HEAD: HEADERS with END_STREAM, no DATA:\n{text}"
    );
    assert!(text.contains("content-length: 38"), "{text}");

    let (_, text, range) = nghttp(&["-H", "range: bytes=6-11", &uris[0]]);
    assert_eq!((range[0].status, range[0].data), (Some(206), 6), "{text}");
    assert!(text.contains("content-range: bytes 6-11/38"), "{text}");
    text
}

#[test]
fn nghttp_answers_several_streams_on_one_h2c_connection() {
    if lint_tool("nghttp", "apt-get install nghttp2-client").is_none() {
        return;
    }
    let root = common::fixture();
    let server = Process::start(&["--root", root.path().to_str().unwrap()], &[]);
    nghttp_streams(&format!("http://{}", server.addr));
}

#[test]
fn nghttp_answers_several_streams_on_one_tls_connection() {
    if lint_tool("nghttp", "apt-get install nghttp2-client").is_none() {
        return;
    }
    let root = common::fixture();
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate(dir.path(), "site", &["localhost"]);
    let server = Process::start(&tls_args(root.path(), &pair), &[]);
    let text = nghttp_streams(&format!("https://{}", server.addr));
    assert!(text.contains("The negotiated protocol: h2"), "{text}");
}
