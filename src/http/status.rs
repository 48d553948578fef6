//! The status codes staticd sends, with their reason phrases.

/// An HTTP status code staticd can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// A CORS preflight's answer.
    NoContent,
    PartialContent,
    MovedPermanently,
    /// A temporary redirect (`--redirect ... 302`).
    Found,
    NotModified,
    /// A temporary redirect that keeps the method and body (RFC 9110 §15.4.8).
    TemporaryRedirect,
    /// Like 301, but the client must repeat the method and body (RFC 9110
    /// §15.4.9): a POST is not turned into a GET.
    PermanentRedirect,
    BadRequest,
    /// Credentials are missing or wrong (`--auth-file`, RFC 9110 §15.5.2).
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    PreconditionFailed,
    RangeNotSatisfiable,
    UriTooLong,
    HeaderFieldsTooLarge,
    /// What was asked needs a newer protocol: an archive (chunked) for an
    /// HTTP/1.0 client (RFC 9110 §15.5.22, with `Upgrade`).
    UpgradeRequired,
    InternalServerError,
    NotImplemented,
    /// Too many credential checks are waiting: try again shortly.
    ServiceUnavailable,
    VersionNotSupported,
}

impl Status {
    /// The numeric code.
    pub fn code(self) -> u16 {
        self.parts().0
    }

    /// The reason phrase sent in the status line.
    pub fn reason(self) -> &'static str {
        self.parts().1
    }

    /// Whether the response must not carry on the connection: after these
    /// the framing of what the client sent next is in doubt.
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            Status::BadRequest
                | Status::RequestTimeout
                | Status::UriTooLong
                | Status::HeaderFieldsTooLarge
                | Status::NotImplemented
                | Status::VersionNotSupported
        )
    }

    fn parts(self) -> (u16, &'static str) {
        match self {
            Status::Ok => (200, "OK"),
            Status::NoContent => (204, "No Content"),
            Status::PartialContent => (206, "Partial Content"),
            Status::MovedPermanently => (301, "Moved Permanently"),
            Status::Found => (302, "Found"),
            Status::NotModified => (304, "Not Modified"),
            Status::TemporaryRedirect => (307, "Temporary Redirect"),
            Status::PermanentRedirect => (308, "Permanent Redirect"),
            Status::BadRequest => (400, "Bad Request"),
            Status::Unauthorized => (401, "Unauthorized"),
            Status::Forbidden => (403, "Forbidden"),
            Status::NotFound => (404, "Not Found"),
            Status::MethodNotAllowed => (405, "Method Not Allowed"),
            Status::RequestTimeout => (408, "Request Timeout"),
            Status::PreconditionFailed => (412, "Precondition Failed"),
            Status::RangeNotSatisfiable => (416, "Range Not Satisfiable"),
            Status::UriTooLong => (414, "URI Too Long"),
            Status::HeaderFieldsTooLarge => (431, "Request Header Fields Too Large"),
            Status::UpgradeRequired => (426, "Upgrade Required"),
            Status::InternalServerError => (500, "Internal Server Error"),
            Status::NotImplemented => (501, "Not Implemented"),
            Status::ServiceUnavailable => (503, "Service Unavailable"),
            Status::VersionNotSupported => (505, "HTTP Version Not Supported"),
        }
    }
}
