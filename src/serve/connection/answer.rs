//! Asking for the answer to one request: the site's, or on the redirect
//! listener the way to HTTPS. A credential check the site asks for runs
//! on the shared [`crate::serve::verify`] pool, and the site is asked
//! again with its verdict.

use super::exchange::Connection;
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::status::Status;
use crate::site::handler::Answer;
use crate::site::https_redirect;

impl Connection {
    pub(super) async fn answer(&self, request: &Request) -> Response {
        if let Some(port) = self.redirect_to {
            return https_redirect::respond(request, port);
        }
        let site = &self.shared.site;
        match site.answer(request, None) {
            Answer::Ready(response) => response,
            Answer::Verify(check) => {
                let busy = check.busy();
                let verifier = &self.shared.verifier;
                let verdict = verifier.run(move || check.run(), move || busy).await;
                match site.answer(request, Some(verdict)) {
                    Answer::Ready(response) => response,
                    // The verdict answers the site's own question: it
                    // cannot ask again.
                    Answer::Verify(_) => Response::error(Status::InternalServerError),
                }
            }
        }
    }
}
