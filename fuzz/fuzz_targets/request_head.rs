//! Fuzzes the request-head parser (`staticd::wire::parse_request`) and, for every
//! head it accepts, the request-target parser (`staticd::wire::Target`).
//!
//! Asserted for any input bytes:
//! - neither parser panics;
//! - an accepted head used `0 < used <= input length` bytes, and at most
//!   `MAX_HEAD` of them;
//! - the head's own bytes (`&data[..used]`) parse again to the same request
//!   and the same `used`: the parser consumed exactly its head and nothing of
//!   what follows it (a pipelined request);
//! - a shorter prefix is never a complete head: one byte less, and half of it;
//! - a target that parses has no segment that is empty, `.`, `..`, or holds
//!   `/`, `\` or NUL, its `encoded_path()` starts with exactly one `/`, and
//!   parsing that encoded path again gives the same segments and slash.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staticd::limits::MAX_HEAD;
use staticd::wire::{Target, parse_request as parse};

fuzz_target!(|data: &[u8]| {
    let Ok(Some((req, used))) = parse(data) else {
        // `Ok(None)` (needs more bytes) and every error are fine answers; the
        // only failure here is a panic.
        return;
    };

    assert!(used > 0, "a complete head used no bytes");
    assert!(
        used <= data.len(),
        "used {used} > input length {}",
        data.len()
    );
    assert!(used <= MAX_HEAD, "used {used} > MAX_HEAD {MAX_HEAD}");

    match parse(&data[..used]) {
        Ok(Some((again, used_again))) => {
            assert_eq!(used_again, used, "the head alone used a different length");
            assert_eq!(again, req, "the head alone parsed to a different request");
        }
        other => panic!("the head alone ({used} bytes) did not parse again: {other:?}"),
    }

    // A head ends at its first blank line, so no strict prefix of it can be
    // a complete head (which would necessarily have a different `used`).
    for cut in [used - 1, used / 2] {
        if let Ok(Some((_, short))) = parse(&data[..cut]) {
            panic!(
                "prefix of {cut} bytes is a complete head of {short} bytes; the full input's head is {used}"
            );
        }
    }

    check_target(&req.target);
});

fn check_target(raw: &str) {
    let Ok(target) = Target::parse(raw) else {
        return;
    };
    check_segments(raw, &target);

    let encoded = target.encoded_path();
    assert!(
        encoded.starts_with('/') && !encoded.starts_with("//"),
        "encoded path {encoded:?} of {raw:?} does not start with exactly one '/'"
    );

    // The normalized form is what staticd sends back in `Location`; it must
    // name the same thing when the client follows it.
    let again = Target::parse(&encoded)
        .unwrap_or_else(|_| panic!("encoded path {encoded:?} of {raw:?} does not parse"));
    assert_eq!(
        again.segments, target.segments,
        "encoded path {encoded:?} of {raw:?} names other segments"
    );
    assert_eq!(
        again.trailing_slash, target.trailing_slash,
        "encoded path {encoded:?} of {raw:?} changes the trailing slash"
    );
}

fn check_segments(raw: &str, target: &Target) {
    for segment in &target.segments {
        assert!(
            !matches!(segment.as_slice(), b"" | b"." | b".."),
            "target {raw:?} kept segment {segment:?}"
        );
        assert!(
            !segment.iter().any(|b| matches!(b, b'/' | b'\\' | 0)),
            "target {raw:?} has segment {segment:?} containing '/', '\\' or NUL"
        );
    }
}
