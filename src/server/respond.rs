//! The shapes of an answer, shared by the app and IMDS: JSON (with
//! `Cache-Control: no-store`), text, the original's `{"error": ...}`, a
//! credential's body, and what each transport may hear of a failure. An
//! answer says why it refused, if it did; the app records it (nothing
//! here counts or logs).

use super::Transport;
use crate::body::python_json;
use crate::cache::Held;
use crate::narrow::Refused;
use crate::registry::NarrowFailure;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Response, StatusCode};

/// What a TCP client hears when there is no credential; the cause (which
/// may name a role, an account) goes to the log and the Unix socket only.
const UNAVAILABLE: &str = "credentials unavailable";

/// Which body a credential route answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `credential_process`'s.
    Process,
    /// The container provider's.
    Ecs,
}

/// Every answer's body: whole, in memory.
pub(super) type Body = Full<Bytes>;

/// A response, and the reason it refuses the caller (`host`, `browser`,
/// `proxy`, `token`, `scope`, `widen`, `malformed`, `limited`), which
/// `s3_credentials_refused_total` counts.
pub(super) struct Answer {
    pub(super) response: Response<Body>,
    pub(super) refused: Option<&'static str>,
    /// The session a credential answered came from, where it is not the
    /// scope's own (a narrowing's, a caller's), for the access line.
    pub(super) session: Option<String>,
}

impl Answer {
    /// `response`, refusing the caller for `reason`.
    pub(super) fn refused(reason: &'static str, response: Response<Body>) -> Answer {
        Answer {
            response,
            refused: Some(reason),
            session: None,
        }
    }
}

impl From<Response<Body>> for Answer {
    fn from(response: Response<Body>) -> Answer {
        Answer {
            response,
            refused: None,
            session: None,
        }
    }
}

/// A JSON answer that no cache may keep.
pub(super) fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A `text/plain` answer (IMDS speaks text).
pub(super) fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// `{"error": "..."}`, the original's error shape.
pub(super) fn error(status: StatusCode, message: &str) -> Response<Body> {
    json(
        status,
        Bytes::from(python_json(&serde_json::json!({"error": message}))),
    )
}

/// A narrowing refused: 403 for one that would widen (naming what), 400
/// for one that is malformed or of a scope that cannot narrow, 429 with
/// `Retry-After` (seconds) past the scope's budget of new mints.
pub(super) fn narrow_refusal(refused: NarrowFailure) -> Answer {
    let (status, reason, message) = match refused {
        NarrowFailure::Refused(Refused::Widens(why)) => {
            (StatusCode::FORBIDDEN, "widen", format!("Refused: {why}"))
        }
        NarrowFailure::Refused(Refused::Malformed(why)) => {
            (StatusCode::BAD_REQUEST, "malformed", why)
        }
        NarrowFailure::Limited(wait) => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many new narrowed credentials; ask again later",
            );
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
            return Answer::refused("limited", response);
        }
        NarrowFailure::Unsupported | NarrowFailure::Unavailable(_) => (
            StatusCode::BAD_REQUEST,
            "malformed",
            "This scope cannot be narrowed".to_owned(),
        ),
    };
    Answer::refused(reason, error(status, &message))
}

/// A credential's body in `format`.
pub(super) fn body(held: &Held, format: Format) -> Bytes {
    match format {
        Format::Process => held.process_json.clone(),
        Format::Ecs => held.ecs_json.clone(),
    }
}

/// The cause of a failure as this transport may hear it.
pub(super) fn cause(transport: Transport, why: &crate::Error) -> String {
    match transport {
        Transport::Tcp | Transport::Imds | Transport::Container | Transport::Gateway => {
            UNAVAILABLE.to_owned()
        }
        Transport::Unix => why.to_string(),
    }
}
