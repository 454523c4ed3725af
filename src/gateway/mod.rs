//! The S3 gateway (docs/DESIGN.md, "The gateway"): a local S3 endpoint
//! for the scopes served through it, so that their real credential never
//! leaves the server. Each request goes:
//!
//! 1. s3s parses it (path-style, or `BUCKET.localhost` virtual-host style)
//!    and verifies its SigV4 signature (header, presigned query, signed
//!    chunks, unsigned payload or trailer) with the local secret `Auth`
//!    finds in the key book;
//! 2. `access` finds the local credential's scope (still served by the
//!    same issuer), checks the session token and the allowlist, and what
//!    the path needs of the grant;
//! 3. `forward` checks what the typed request adds (a copy's source, a
//!    list's prefix, each key of a DeleteObjects) and forwards through the
//!    scope's `s3s_aws::Proxy`, signed with the real credential;
//! 4. `record` writes one access line and counts the call, once the
//!    answer's body has gone.
//!
//! `host` reads the Host header; `whole` holds an upload's body back until
//! its signing is verified to the end.
//!
//! Who may connect at all is the server's accept loop's job, as on every
//! transport (the peer's uid on loopback).

mod access;
mod fields;
mod forward;
mod host;
mod ops;
mod record;
mod uploads;
mod whole;

use crate::local::KeyBook;
use crate::peer::Peer;
use crate::registry::Registry;
use hyper::body::Incoming;
use hyper::{Request, Response};
use record::{CountOut, Counted, Ticket};
use s3s::service::{S3Service, S3ServiceBuilder};
use std::sync::Arc;
use std::time::Instant;

/// S3's message for a signature that does not match (AWS S3 API
/// reference, "Error responses"), where s3s says the code alone.
const SIGNATURE_MESSAGE: &str = "The request signature we calculated does not match the \
    signature you provided. Check your key and signing method.";

/// The error s3s answers without a message: what S3 says is added. Only a
/// 403's small body, which s3s made whole, is read.
async fn worded(response: Response<s3s::Body>) -> Response<s3s::Body> {
    const BARE: &[u8] = b"<Code>SignatureDoesNotMatch</Code></Error>";
    if response.status() != hyper::StatusCode::FORBIDDEN {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(collected) = http_body_util::BodyExt::collect(body).await else {
        return Response::from_parts(parts, s3s::Body::empty());
    };
    let bytes = collected.to_bytes();
    let Some(at) = bytes.windows(BARE.len()).position(|w| w == BARE) else {
        return Response::from_parts(parts, s3s::Body::from(bytes));
    };
    let message = format!("<Message>{SIGNATURE_MESSAGE}</Message></Error>");
    let head = &bytes[..at + BARE.len() - "</Error>".len()];
    let worded: bytes::Bytes = [head, message.as_bytes()].concat().into();
    // The length s3s wrote is the bare body's.
    parts
        .headers
        .insert(hyper::header::CONTENT_LENGTH, worded.len().into());
    Response::from_parts(parts, s3s::Body::from(worded))
}

/// The answer's body: s3s's, counted.
pub(crate) type Body = CountOut<s3s::Body>;

/// The gateway's service, shared by its connections.
pub(crate) struct Gateway {
    service: S3Service,
    /// Where it listens, if it does: on loopback, and for containers.
    addrs: [Option<std::net::SocketAddr>; 2],
}

impl Gateway {
    /// A gateway at `addrs` (loopback's, the containers') for the local
    /// credentials in `book`, whose scopes it finds in `registry` on every
    /// request (a removed scope's end then).
    pub(crate) fn new(
        book: Arc<KeyBook>,
        registry: Arc<Registry>,
        addrs: [Option<std::net::SocketAddr>; 2],
    ) -> Gateway {
        let mut builder = S3ServiceBuilder::new(forward::Forward::default());
        builder.set_auth(access::Auth(book.clone()));
        builder.set_access(access::Access { book, registry });
        builder.set_host(host::Loopback);
        Gateway {
            service: builder.build(),
            addrs,
        }
    }

    /// Its URL, for clients' `AWS_ENDPOINT_URL_S3`, if it listens.
    pub(crate) fn url(&self) -> Option<String> {
        self.addrs[0].map(|addr| format!("http://{addr}"))
    }

    /// Its URL for containers, if it listens for them.
    pub(crate) fn container_url(&self) -> Option<String> {
        self.addrs[1].map(|addr| format!("http://{addr}"))
    }

    /// Answers one request from `peer` (the connection's, when known).
    pub(crate) async fn handle(
        &self,
        peer: Option<Arc<Peer>>,
        req: Request<Incoming>,
    ) -> Response<Body> {
        let started = Instant::now();
        let ticket = Arc::new(Ticket::default());
        let has_body = !http_body::Body::is_end_stream(req.body());
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ticket.clone());
        let body = Counted {
            body,
            count: ticket.bytes_in.clone(),
        };
        let req = Request::from_parts(parts, s3s::Body::http_body(body));
        let response = match self.service.call(req).await {
            Ok(response) => response,
            Err(e) => {
                tracing::error!("the gateway failed to answer: {e:?}");
                let mut response = Response::new(s3s::Body::empty());
                *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        };
        let mut response = worded(response).await;
        let status = response.status().as_u16();
        if has_body && status >= 400 {
            // Refused before its body was read (botocore waits for a `100
            // Continue` that never comes): the connection cannot be
            // reused, and a client reuses it unless told (RFC 9112, 9.6).
            response.headers_mut().insert(
                hyper::header::CONNECTION,
                hyper::header::HeaderValue::from_static("close"),
            );
        }
        response.map(|body| CountOut {
            body: Counted {
                body,
                count: Arc::default(),
            },
            ticket,
            peer,
            status,
            started,
        })
    }
}
