//! What the server tells of itself: `/healthz` (every scope's state) and
//! `/metrics` (Prometheus's text format). Neither carries a secret.

use super::respond::{cause, json, Body};
use super::Transport;
use crate::body::python_json;
use crate::registry::Table;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

/// Every scope's state; ok only when all are. The top-level `expires_in`
/// is the soonest. A caller that may not see every scope (`full` false: no
/// token, or another uid) hears the status alone.
pub(super) fn health(table: &Table, transport: Transport, full: bool) -> Response<Body> {
    let mut scopes = serde_json::Map::new();
    let mut soonest: Option<u64> = None;
    let mut failed: Option<crate::Error> = None;
    for (name, served) in &table.by_name {
        let mut state = match served.cache().expires_in() {
            Ok(left) => {
                let left = left.as_secs();
                soonest = Some(soonest.map_or(left, |s| s.min(left)));
                json!({"status": "ok", "expires_in": left})
            }
            Err(why) => {
                let state = json!({"status": "unavailable", "error": cause(transport, &why)});
                failed.get_or_insert(why);
                state
            }
        };
        if let (count @ 1.., soonest) = served.narrowed_summary() {
            let soonest = soonest.map(|d| d.as_secs());
            state["narrowed"] = json!({"count": count, "expires_in": soonest});
        }
        scopes.insert(name.clone(), state);
    }
    let (status, mut body) = match failed {
        None => (
            StatusCode::OK,
            json!({"status": "ok", "expires_in": soonest.unwrap_or(0)}),
        ),
        Some(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"status": "unavailable", "error": cause(transport, &why)}),
        ),
    };
    if !full {
        body = json!({"status": body["status"]});
    } else {
        body["scopes"] = Value::Object(scopes);
    }
    json(status, Bytes::from(python_json(&body)))
}

/// Every series, with each scope's time to expiry read now.
pub(super) fn metrics(table: &Table) -> Response<Body> {
    let expiries = table
        .by_name
        .iter()
        .map(|(name, served)| (name.clone(), served.cache().expires_in().ok()));
    let mut response = Response::new(Full::new(Bytes::from(crate::metrics::render(expiries))));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    response
}
