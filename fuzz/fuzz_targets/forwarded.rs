//! Fuzzes the `Forwarded` and `X-Forwarded-For` chain parsers and the walk
//! from the right (`staticd::wire::{forwarded_hops, x_forwarded_for_hops,
//! forwarded_client}`).
//!
//! Asserted for any input bytes (as the value of either field):
//! - nothing panics;
//! - a chain holds at most `MAX_FORWARDED_HOPS` hops;
//! - the client the walk picks, trusting every address or none, is an
//!   address the chain holds, never one made up: trusting none, the
//!   rightmost hop if it is an address; trusting all, an address left of
//!   every opaque hop on its right.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staticd::limits::MAX_FORWARDED_HOPS;
use staticd::wire::{Hop, Hops, forwarded_client, forwarded_hops, x_forwarded_for_hops};

fuzz_target!(|data: &[u8]| {
    check(&forwarded_hops(data));
    check(&x_forwarded_for_hops(&String::from_utf8_lossy(data)));
});

fn check(hops: &Hops) {
    assert!(hops.len() <= MAX_FORWARDED_HOPS, "{} hops", hops.len());
    let none = forwarded_client(hops, |_| false);
    let rightmost = match hops.back() {
        Some(Hop::Addr(ip, port)) => Some((*ip, *port)),
        _ => None,
    };
    assert_eq!(none, rightmost, "trusting none");
    let all = forwarded_client(hops, |_| true);
    // Trusting all: the leftmost address of the run of addresses at the
    // right end of the chain.
    let run = hops.iter().rev().take_while(|h| matches!(h, Hop::Addr(..)));
    let leftmost = run.last().map(|h| match h {
        Hop::Addr(ip, port) => (*ip, *port),
        Hop::Opaque => unreachable!(),
    });
    assert_eq!(all, leftmost, "trusting all");
}
