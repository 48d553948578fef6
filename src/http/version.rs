//! The protocol version of a request: the request line names it (or the
//! connection, for HTTP/2), and the field rules (`Host`,
//! `Transfer-Encoding`, persistence) depend on it.

/// The protocol a request came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
    /// RFC 9113: `:authority` stands for `Host`, and framing is the
    /// stream's.
    Http2,
}

impl Version {
    /// The version as written in a request line.
    pub fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
            Version::Http2 => "HTTP/2.0",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_written_in_the_request_line() {
        assert_eq!(Version::Http10.as_str(), "HTTP/1.0");
        assert_eq!(Version::Http11.as_str(), "HTTP/1.1");
    }
}
