//! Request to response, with no sockets: method check, target parsing, file
//! resolution and the `--autoindex` policy.

use crate::config::Autoindex;
use crate::fs::{self, Resolved, Root};
use crate::listing;
use crate::mime;
use crate::request::{Method, Request};
use crate::response::{Body, Response};
use crate::status::Status;
use crate::target::Target;

/// Everything needed to answer requests for one document root.
#[derive(Debug)]
pub struct Site {
    pub root: Root,
    pub autoindex: Autoindex,
}

impl Site {
    /// Answers one request. HEAD is answered exactly like GET; the body is
    /// dropped when the response is written.
    pub fn handle(&self, request: &Request) -> Response {
        if let Method::Other(_) = request.method {
            return Response::error(Status::MethodNotAllowed);
        }
        let Ok(target) = Target::parse(&request.target) else {
            return Response::error(Status::BadRequest);
        };
        match fs::resolve(&self.root, &target) {
            Ok(Resolved::File { file, meta, name }) => {
                let mut response = Response {
                    status: Status::Ok,
                    headers: vec![("Content-Type", mime::content_type(&name).to_owned())],
                    body: Body::File {
                        file,
                        len: meta.len(),
                    },
                };
                add_last_modified(&mut response, &meta);
                response
            }
            Ok(Resolved::DirectoryWithoutSlash) => {
                Response::redirect(format!("{}/{}", target.encoded_path(), target.query))
            }
            Ok(Resolved::DirectoryWithoutIndex { dir, meta }) => match self.autoindex {
                Autoindex::Off => Response::error(Status::NotFound),
                Autoindex::Forbid => Response::error(Status::Forbidden),
                Autoindex::On => match listing::render(&dir, &target.encoded_path()) {
                    Ok(page) => {
                        let mut response = Response::bytes(Status::Ok, "text/html", page);
                        add_last_modified(&mut response, &meta);
                        response
                    }
                    Err(err) => Response::error(fs::status_for(&err)),
                },
            },
            Err(status) => Response::error(status),
        }
    }
}

fn add_last_modified(response: &mut Response, meta: &std::fs::Metadata) {
    if let Ok(modified) = meta.modified() {
        let value = crate::date::format_system_time(modified);
        response.headers.push(("Last-Modified", value));
    }
}
