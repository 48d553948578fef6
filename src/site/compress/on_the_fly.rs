//! The answers with a variant compressed on the fly ([`crate::site::compress`]):
//! which coding a cached file is sent in, the work to do when it is not
//! compressed yet, and the response from the compressed bytes, with the
//! preconditions and a range applied to them, through the helpers every
//! representation shares ([`crate::site::representation::conditional`]).

use std::sync::Arc;

use crate::http::range::Ranges;
use crate::http::request::Request;
use crate::http::response::{Body, Response};
use crate::http::status::Status;
use crate::site::compress::{Compressed, Job, Lead, Lookup, Outcome, Work};
use crate::site::file_cache::Cached;
use crate::site::representation::conditional::{self, VARY_CODING};
use crate::site::representation::negotiate::{self, Coding};
use crate::site::{Answer, Prior, Site};

/// Whether `request` accepts any coding staticd compresses in.
pub(crate) fn wanted(request: &Request) -> bool {
    best(request).is_some()
}

fn best(request: &Request) -> Option<Coding> {
    let accept_encoding = request.fields.negotiation.accept_encoding.as_deref();
    negotiate::accepted_codings(accept_encoding)
        .first()
        .copied()
}

/// The answer for `cached` in the coding `request` accepts best, or work
/// to do first; `None` when the identity answer is the one to send (not
/// compressible, nothing accepted, not worth it, or not done this time).
/// `prior` carries the outcome of the work asked for before.
pub(crate) fn answer(
    site: &Site,
    request: &Request,
    cached: &Arc<Cached>,
    prior: &Prior,
) -> Option<Answer> {
    if !cached.compressible {
        return None;
    }
    let coding = best(request)?;
    let outcome = match &prior.compressed {
        Some(outcome) => outcome.clone(),
        None => match site.compress.lookup(cached.id, coding) {
            Lookup::Hit(outcome) => outcome,
            Lookup::Follow(flight) => return Some(Answer::Compress(Work::Wait(flight))),
            Lookup::Lead(lead) => {
                let job = job(site, cached, coding, lead);
                return Some(Answer::Compress(Work::Run(job)));
            }
        },
    };
    match outcome {
        Outcome::Compressed(compressed) => Some(Answer::Ready(respond(site, request, &compressed))),
        Outcome::NotSmaller | Outcome::Skipped => None,
    }
}

/// The work of compressing `cached` in `coding`, with what it needs to
/// encode the variant's fields away from the site.
fn job(site: &Site, cached: &Cached, coding: Coding, lead: Lead) -> Job {
    let content_type = cached.content_type.clone();
    let cache_control = site.cache_control.clone();
    Job {
        lead,
        id: cached.id,
        body: cached.body.clone(),
        coding,
        validators: cached.validators.clone(),
        fields: Box::new(move |validators, coding| {
            let cache_control = cache_control.as_deref();
            let vary = Some(VARY_CODING);
            conditional::encoded_fields(
                cache_control,
                &content_type,
                validators,
                vary,
                Some(coding),
            )
        }),
    }
}

/// The compressed variant's answer: its 304 or 412, its 200, or one range
/// of its bytes. Several ranges get the whole variant (RFC 9110 §14.2
/// lets a server ignore Range): a multipart answer from memory would be
/// rare and is not worth a second copy of the assembly code.
fn respond(site: &Site, request: &Request, compressed: &Compressed) -> Response {
    let validators = &compressed.validators;
    let fields = || conditional::caching_fields(site, validators, Some(VARY_CODING));
    if let Some(refused) = conditional::preconditions(request, validators, fields) {
        return refused;
    }
    let bytes = &compressed.bytes;
    let size = bytes.len() as u64;
    let mut response = Response {
        status: Status::Ok,
        headers: Vec::new(),
        encoded_fields: Some(Arc::clone(&compressed.fields)),
        body: Body::Shared(Arc::clone(bytes)),
    };
    match conditional::ranges(request, validators, size) {
        Ranges::Unsatisfiable => return conditional::unsatisfiable(size),
        Ranges::Parts(parts) if parts.len() == 1 => {
            let (first, last) = parts[0];
            let range = format!("bytes {first}-{last}/{size}");
            response.status = Status::PartialContent;
            response.headers.push(("Content-Range", range));
            response.body = Body::Bytes(bytes[first as usize..=last as usize].to_vec());
        }
        Ranges::Whole | Ranges::Parts(_) => {}
    }
    response
}
