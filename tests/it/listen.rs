//! Where staticd listens and what it says about it: the URLs announced at
//! start-up and `--qrcode`, run as the built binary.

use crate::common;

use std::process::Command;

use common::process::Started;

/// The URLs of the `open URL` lines among `lines`.
fn opened(lines: &[String]) -> Vec<String> {
    let url = |line: &String| {
        let (_, rest) = line.split_once(" open ")?;
        Some(rest.split_whitespace().next()?.to_owned())
    };
    lines.iter().filter_map(url).collect()
}

/// The IPv4 addresses `ip -o -4 addr` lists, loopback left out.
fn ipv4_addresses() -> Vec<String> {
    let out = Command::new("ip").args(["-o", "-4", "addr"]).output();
    let out = out.expect("run ip (iproute2)");
    let text = String::from_utf8_lossy(&out.stdout);
    let inet = |line: &str| {
        let mut words = line.split_whitespace();
        words.find(|w| *w == "inet")?;
        Some(words.next()?.split('/').next()?.to_owned())
    };
    let all = text.lines().filter_map(inet);
    all.filter(|ip| !ip.starts_with("127.")).collect()
}

fn serving(extra: &[&str]) -> (tempfile::TempDir, Started) {
    let root = common::fixture();
    let mut args = vec!["--root", root.path().to_str().unwrap(), "--port", "0"];
    args.extend_from_slice(extra);
    let started = Started::new(&args, &[]);
    (root, started)
}

#[test]
fn bound_to_every_ipv4_address_the_urls_are_loopback_and_each_interface_address() {
    let (_root, mut server) = serving(&["--bind", "0.0.0.0"]);
    assert!(server.listening.contains("listening on http://0.0.0.0:"));
    let port = server.port();
    let urls = opened(&server.stop());
    let mut expected = vec![format!("http://127.0.0.1:{port}/")];
    expected.extend(
        ipv4_addresses()
            .iter()
            .map(|ip| format!("http://{ip}:{port}/")),
    );
    assert_eq!(urls, expected);
}

#[test]
fn bound_to_loopback_the_only_url_is_loopback() {
    let (_root, mut server) = serving(&["--bind", "127.0.0.1"]);
    let port = server.port();
    let urls = opened(&server.stop());
    assert_eq!(urls, [format!("http://127.0.0.1:{port}/")]);
}

#[test]
fn over_tls_the_urls_are_https() {
    let dir = tempfile::tempdir().unwrap();
    let pair = common::tls::certificate(dir.path(), "site", &["localhost"]);
    let (_root, mut server) = serving(&[
        "--bind",
        "127.0.0.1",
        "--tls-cert",
        pair.cert.to_str().unwrap(),
        "--tls-key",
        pair.key.to_str().unwrap(),
    ]);
    let port = server.port();
    let urls = opened(&server.stop());
    assert_eq!(urls, [format!("https://127.0.0.1:{port}/")]);
}

/// The QR code the binary prints: the lines after `scan to open URL`, up
/// to the first line that is not made of blocks.
fn printed_code(lines: &[String]) -> Option<(String, String)> {
    let at = lines.iter().position(|l| l.starts_with("scan to open "))?;
    let heading = lines[at].trim_start_matches("scan to open ").to_owned();
    let blocks = |l: &&String| !l.is_empty() && l.chars().all(|c| " ▀▄█".contains(c));
    let code: Vec<&String> = lines[at + 1..].iter().take_while(blocks).collect();
    let code = code.iter().map(|l| format!("{l}\n")).collect::<String>();
    Some((heading, code))
}

/// `url` as the qrcode crate renders it for a terminal, as staticd does.
fn expected_code(url: &str) -> String {
    use qrcode::render::unicode::Dense1x2;
    let code = qrcode::QrCode::new(url.as_bytes()).unwrap();
    let rendered = code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    rendered.lines().map(|l| format!("{l}\n")).collect()
}

#[test]
fn qrcode_prints_the_first_lan_url_and_is_absent_without_the_flag() {
    let (_root, mut server) = serving(&["--bind", "0.0.0.0", "--qrcode"]);
    let port = server.port();
    let lines = server.stop();
    let (heading, code) = printed_code(&lines).expect("a QR code on stderr");
    let lan = ipv4_addresses();
    let url = match lan.first() {
        Some(ip) => format!("http://{ip}:{port}/"),
        None => format!("http://127.0.0.1:{port}/"),
    };
    assert!(heading.starts_with(&url), "{heading}");
    assert_eq!(code, expected_code(&url));

    let (_root, mut plain) = serving(&["--bind", "0.0.0.0"]);
    assert_eq!(printed_code(&plain.stop()), None);
}

#[test]
fn qrcode_on_loopback_shows_the_loopback_url_with_a_note() {
    let root = common::fixture();
    let args = ["--root", root.path().to_str().unwrap(), "--port", "0"];
    let mut server = Started::new(
        &args,
        &[("STATICD_QRCODE", "true"), ("STATICD_BIND", "127.0.0.1")],
    );
    let port = server.port();
    let lines = server.stop();
    let (heading, code) = printed_code(&lines).expect("a QR code from STATICD_QRCODE");
    let url = format!("http://127.0.0.1:{port}/");
    assert!(
        heading.starts_with(&url) && heading.contains("loopback only"),
        "{heading}"
    );
    assert_eq!(code, expected_code(&url));
}
