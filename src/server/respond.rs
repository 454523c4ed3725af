//! The shapes of an answer, shared by the app and IMDS: JSON (with
//! `Cache-Control: no-store`), text, and the original's `{"error": ...}`.

use crate::body::python_json;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Response, StatusCode};

/// Every answer's body: whole, in memory.
pub(super) type Body = Full<Bytes>;

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
