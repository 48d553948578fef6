//! Why a request head is refused, and the one table from that reason to the
//! status it is answered with (the connection only writes it). Both the request line and the header fields
//! can refuse a head, so the reasons live apart from either.

use crate::http::status::Status;

/// Why a request head was refused; each maps to exactly one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Not a valid HTTP/1.x request head.
    #[error("malformed request head")]
    Malformed,
    /// The request line is longer than
    /// [`MAX_REQUEST_LINE`](crate::http::limits::MAX_REQUEST_LINE).
    #[error("request line too long")]
    LineTooLong,
    /// The head is longer than [`MAX_HEAD`](crate::http::limits::MAX_HEAD)
    /// or has more than [`MAX_HEADERS`](crate::http::limits::MAX_HEADERS)
    /// fields.
    #[error("request head too large")]
    HeadTooLarge,
    /// A Transfer-Encoding we do not know.
    #[error("unknown transfer coding")]
    UnknownCoding,
    /// A well-formed request line for HTTP/2 or later.
    #[error("unsupported HTTP version")]
    UnsupportedVersion,
    /// The head did not arrive whole within the header timeout (the
    /// connection measures the time; the answer is decided here).
    #[error("request head timed out")]
    TimedOut,
}

impl ParseError {
    /// The one table from parse failure to response status.
    pub fn status(self) -> Status {
        match self {
            ParseError::Malformed => Status::BadRequest,
            ParseError::LineTooLong => Status::UriTooLong,
            ParseError::HeadTooLarge => Status::HeaderFieldsTooLarge,
            ParseError::UnknownCoding => Status::NotImplemented,
            ParseError::UnsupportedVersion => Status::VersionNotSupported,
            ParseError::TimedOut => Status::RequestTimeout,
        }
    }
}
