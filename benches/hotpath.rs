//! Micro-benchmark of the per-request hot path that involves no I/O:
//! parsing a request head, parsing its target, and encoding a response
//! head. Prints nanoseconds per operation; run with
//! `cargo bench --bench hotpath`. A benchmark, not a test: it asserts
//! nothing about speed.

use std::hint::black_box;
use std::time::Instant;

use staticd::wire::{Body, Response, Status, Target, encode_head, http_date, parse_request};

const ROUNDS: u32 = 5;
const ITERATIONS: u32 = 200_000;

/// Runs `op` ROUNDS x ITERATIONS times and returns the best ns/op.
fn measure(mut op: impl FnMut()) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..ITERATIONS {
                op();
            }
            started.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let wrk = b"GET /tiny.html HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
    let browser = b"GET /assets/app.js?v=3 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n\
        Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n\
        Referer: https://example.com/\r\nIf-None-Match: \"abc-123\"\r\nConnection: keep-alive\r\n\r\n";
    let rows = [
        (
            "parse head (wrk, 1 field)",
            measure(|| {
                black_box(parse_request(black_box(wrk)).ok());
            }),
        ),
        (
            "parse head (browser, 9 fields)",
            measure(|| {
                black_box(parse_request(black_box(browser)).ok());
            }),
        ),
        (
            "parse target",
            measure(|| {
                black_box(Target::parse(black_box("/assets/app.js?v=3")).ok());
            }),
        ),
    ];
    let response = Response {
        status: Status::Ok,
        headers: vec![
            ("Content-Type", "text/html".to_owned()),
            ("Last-Modified", "Tue, 14 Nov 2023 22:13:20 GMT".to_owned()),
            ("ETag", "\"98e02a-26-6553f100.0\"".to_owned()),
            ("Accept-Ranges", "bytes".to_owned()),
        ],
        encoded_fields: None,
        body: Body::Bytes(vec![b'x'; 38]),
    };
    let mut out = Vec::with_capacity(512);
    let date = http_date();
    let encode = measure(|| {
        out.clear();
        encode_head(black_box(&response), true, &date, &[], &mut out);
        black_box(&out);
    });
    println!("{:<34} {:>10}", "operation", "ns/op");
    for (name, ns) in rows
        .iter()
        .chain(std::iter::once(&("encode response head", encode)))
    {
        println!("{name:<34} {ns:>10.1}");
    }
}
