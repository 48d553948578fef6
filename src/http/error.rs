//! Why a request head is refused, and the one table from that reason to the
//! status it is answered with (the connection only writes it). Both the request line and the header fields
//! can refuse a head, so the reasons live apart from either.

use crate::http::status::Status;

/// Why a request head was refused; each maps to exactly one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not a valid HTTP/1.x request head.
    Malformed,
    /// The request line is longer than
    /// [`MAX_REQUEST_LINE`](crate::http::limits::MAX_REQUEST_LINE).
    LineTooLong,
    /// The head is longer than [`MAX_HEAD`](crate::http::limits::MAX_HEAD)
    /// or has more than [`MAX_HEADERS`](crate::http::limits::MAX_HEADERS)
    /// fields.
    HeadTooLarge,
    /// A Transfer-Encoding we do not know.
    UnknownCoding,
    /// A well-formed request line for HTTP/2 or later.
    UnsupportedVersion,
    /// The head did not arrive whole within the header timeout (the
    /// connection measures the time; the answer is decided here).
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
