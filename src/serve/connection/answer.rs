//! Asking the site for the answer to one request, over either protocol.
//! Work the site asks for first (a credential
//! check, a compression) runs on its [`crate::serve::offload`] pool, or
//! waits for the request already compressing the same file, and the site
//! is asked again with the outcome.

use std::sync::Arc;

use super::worker::Shared;
use crate::http::request::Request;
use crate::http::response::Response;
use crate::http::status::Status;
use crate::ops::metrics::Counter;
use crate::site::compress::{Outcome, Work};
use crate::site::handler::{Answer, Prior};

/// The site's answer to `request`, over either protocol.
pub(crate) async fn answer(shared: &Shared, request: &Request) -> Response {
    let site = &shared.site;
    let mut prior = Prior::default();
    loop {
        match site.answer(request, &prior) {
            Answer::Ready(response) => return response,
            Answer::Verify(check) if prior.verdict.is_none() => {
                let busy = check.busy();
                let verifier = &shared.verifier;
                let verdict = verifier.run(move || check.run(), move || busy).await;
                prior.verdict = Some(verdict);
            }
            Answer::Compress(work) if prior.compressed.is_none() => {
                prior.compressed = Some(compress(shared, work).await);
            }
            // The site asked again for what it was given: it cannot.
            _ => return Response::error(Status::InternalServerError),
        }
    }
}

/// Runs a compression on the pool (a full pool sends the file as it is),
/// or waits for the one in progress.
async fn compress(shared: &Shared, work: Work) -> Outcome {
    match work {
        Work::Run(job) => {
            let pool = &shared.compressor;
            let metrics = &shared.metrics;
            metrics.count(Counter::CompressionsQueued);
            let counts = Arc::clone(metrics);
            let run = move || {
                let outcome = job.run();
                counts.count(Counter::CompressionsDone);
                outcome
            };
            let busy = || {
                metrics.count(Counter::CompressionsRefused);
                Outcome::Skipped
            };
            Box::pin(pool.run(run, busy)).await
        }
        Work::Wait(flight) => Box::pin(async move { flight.wait().await }).await,
    }
}
