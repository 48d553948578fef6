//! The monitoring listener's answers: the three paths, for GET and HEAD.

use crate::http::request::{Method, Request};
use crate::http::response::Response;
use crate::http::status::Status;
use crate::ops::metrics::exposition::CONTENT_TYPE;
use crate::ops::metrics::render::render;

use super::gauges::View;

/// The response to `request`: the path alone decides (a query is ignored).
pub(super) fn respond(request: &Request, view: &View) -> Response {
    if !matches!(request.method, Method::Get | Method::Head) {
        return Response::error(Status::MethodNotAllowed);
    }
    let path = request.target.split('?').next().unwrap_or_default();
    let mut response = match path {
        "/metrics" => {
            let text = render(&view.metrics(), &view.gauges());
            Response::bytes(Status::Ok, CONTENT_TYPE, text.into_bytes())
        }
        "/healthz" => text(Status::Ok, "ok\n"),
        "/readyz" if view.ready() => text(Status::Ok, "ready\n"),
        "/readyz" => text(Status::ServiceUnavailable, "shutting down\n"),
        _ => Response::error(Status::NotFound),
    };
    response
        .headers
        .push(("Cache-Control", "no-store".to_owned()));
    response
}

fn text(status: Status, body: &str) -> Response {
    Response::bytes(
        status,
        "text/plain; charset=utf-8",
        body.as_bytes().to_vec(),
    )
}
