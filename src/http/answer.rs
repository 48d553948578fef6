//! Responses staticd reads as a client (the ACME CA's): a status line,
//! header fields and a body framed by `Content-Length`, by the chunked
//! coding, or by the end of the connection (RFC 9112 §6.3). Pure: bytes
//! in, a response out once all of it has arrived.

use crate::http::limits::MAX_HEADERS;

/// A whole response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub status: u16,
    /// Header fields in order, names in lower case.
    pub fields: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Why bytes are not a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AnswerError {
    #[error("malformed response head")]
    Head,
    #[error("malformed Content-Length")]
    Length,
    #[error("malformed chunked body")]
    Chunked,
    #[error("response cut short")]
    Truncated,
}

/// The response in `buf`, `Ok(None)` while more bytes are needed; with
/// `ended` (the peer closed), what is there is all there will be.
pub(crate) fn parse(buf: &[u8], ended: bool) -> Result<Option<Answer>, AnswerError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let head = match response.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if ended => return Err(AnswerError::Truncated),
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(AnswerError::Head),
    };
    let status = response.code.ok_or(AnswerError::Head)?;
    let fields: Vec<(String, Vec<u8>)> = response
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| &v[..]);
    let rest = &buf[head..];
    let chunked = field("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case(b"chunked"));
    let body = if chunked {
        dechunk(rest, ended)?
    } else if let Some(length) = field("content-length") {
        let length: usize = std::str::from_utf8(length)
            .ok()
            .and_then(|l| l.trim().parse().ok())
            .ok_or(AnswerError::Length)?;
        match rest.get(..length) {
            Some(body) => Some(body.to_vec()),
            None if ended => return Err(AnswerError::Truncated),
            None => None,
        }
    } else if status == 204 || status == 304 {
        Some(Vec::new())
    } else {
        ended.then(|| rest.to_vec())
    };
    Ok(body.map(|body| Answer {
        status,
        fields,
        body,
    }))
}

/// The data of a chunked body (RFC 9112 §7.1), extensions and trailers
/// skipped; `None` until the last chunk and the trailers have arrived.
fn dechunk(mut rest: &[u8], ended: bool) -> Result<Option<Vec<u8>>, AnswerError> {
    let more = || {
        if ended {
            Err(AnswerError::Truncated)
        } else {
            Ok(None)
        }
    };
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return more();
        };
        let line = std::str::from_utf8(&rest[..line_end]).map_err(|_| AnswerError::Chunked)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| AnswerError::Chunked)?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // Trailer fields, each a line, end with an empty line.
            return match rest.windows(2).position(|w| w == b"\r\n") {
                Some(0) => Ok(Some(body)),
                Some(_) => match rest.windows(4).position(|w| w == b"\r\n\r\n") {
                    Some(_) => Ok(Some(body)),
                    None => more(),
                },
                None => more(),
            };
        }
        let Some(data) = rest.get(..size) else {
            return more();
        };
        match rest.get(size..size + 2) {
            Some(b"\r\n") => {}
            Some(_) => return Err(AnswerError::Chunked),
            None => return more(),
        }
        body.extend_from_slice(data);
        rest = &rest[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_by_length_waits_for_all_of_it() {
        let whole = b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nLocation: /x\r\n\r\nhello";
        for end in 0..whole.len() {
            assert_eq!(parse(&whole[..end], false), Ok(None), "{end}");
            assert!(parse(&whole[..end], true).is_err(), "{end}");
        }
        let answer = parse(whole, false).unwrap().unwrap();
        assert_eq!((answer.status, &answer.body[..]), (201, &b"hello"[..]));
        assert_eq!(answer.fields[1], ("location".to_owned(), b"/x".to_vec()));
    }

    #[test]
    fn chunked_bodies_are_joined_and_trailers_skipped() {
        let whole = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                      5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
        for end in 0..whole.len() {
            assert_eq!(parse(&whole[..end], false), Ok(None), "{end}");
        }
        assert_eq!(parse(whole, false).unwrap().unwrap().body, b"hello world");
        let plain = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        assert_eq!(parse(plain, false).unwrap().unwrap().body, b"");
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
        assert_eq!(parse(bad, false), Err(AnswerError::Chunked));
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n";
        assert_eq!(parse(bad, false), Err(AnswerError::Chunked));
    }

    #[test]
    fn without_a_length_the_body_ends_with_the_connection() {
        let whole = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of it";
        assert_eq!(parse(whole, false), Ok(None));
        assert_eq!(parse(whole, true).unwrap().unwrap().body, b"all of it");
        assert_eq!(
            parse(b"HTTP/1.1 204 No Content\r\n\r\n", false)
                .unwrap()
                .unwrap()
                .body,
            b""
        );
        assert_eq!(parse(b"garbage\r\n\r\n", false), Err(AnswerError::Head));
        let bad = b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n";
        assert_eq!(parse(bad, false), Err(AnswerError::Length));
    }
}
