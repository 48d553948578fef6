//! Fuzzes the PROXY protocol header parser (`staticd::wire::parse_proxy_header`).
//!
//! Asserted for any input bytes:
//! - it never panics;
//! - an accepted header used `0 < used <= input length` bytes, at most
//!   `MAX_PROXY_V1_LINE` for v1 and `16 + MAX_PROXY_V2_LENGTH` for v2;
//! - the header's own bytes (`&data[..used]`) parse again to the same
//!   header and the same `used`: nothing after it was read;
//! - every strict prefix of an accepted header asks for more bytes
//!   (`Ok(None)`): it is streaming, never deciding early on a prefix;
//! - an input refused is refused the same with any bytes appended: the
//!   refusal was decided on the bytes seen.

#![no_main]

use libfuzzer_sys::fuzz_target;
use staticd::limits::{MAX_PROXY_V1_LINE, MAX_PROXY_V2_LENGTH};
use staticd::wire::parse_proxy_header as parse;

fuzz_target!(|data: &[u8]| {
    match parse(data) {
        Ok(Some((header, used))) => {
            assert!(used > 0 && used <= data.len(), "used {used} of {}", data.len());
            let most = if data[0] == b'P' {
                MAX_PROXY_V1_LINE
            } else {
                16 + MAX_PROXY_V2_LENGTH
            };
            assert!(used <= most, "used {used} > {most}");
            assert_eq!(parse(&data[..used]), Ok(Some((header, used))));
            for cut in [0, used / 2, used - 1] {
                assert_eq!(parse(&data[..cut]), Ok(None), "prefix of {cut} bytes");
            }
        }
        Ok(None) => {}
        Err(err) => {
            let mut longer = data.to_vec();
            longer.extend_from_slice(b"\r\n\0\0GET / HTTP/1.1\r\n");
            assert_eq!(parse(&longer), Err(err), "more bytes changed the refusal");
        }
    }
});
