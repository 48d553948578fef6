//! Interim: replaced by the redirect builder being written beside this.

use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::status::Status;

pub fn respond(_request: &Request, _https_port: u16) -> Response {
    Response::error(Status::BadRequest)
}
