//! IMDSv2 (DESIGN.md §12): EC2's instance metadata token and the two
//! credential paths, for tools that read only that. Served on its own
//! loopback port; a GET without a valid, unexpired token is refused, so
//! IMDSv1 is not served. The TCP guards run first (a forwarded request,
//! `X-Forwarded-For`, is refused as EC2 refuses it).

use super::app::{text, Body};
use crate::cache::Held;
use crate::registry::Table;
use crate::token;
use hyper::header::{HeaderValue, ALLOW};
use hyper::{Method, Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::Mutex;
use time::OffsetDateTime;

/// The one role name the listing answers; its credential is the default
/// scope's.
pub const ROLE: &str = "s3-credentials";
const TOKEN_PATH: &str = "/latest/api/token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";
const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// EC2's longest token life.
const MAX_TTL_SECS: u32 = 21_600;
/// Tokens held at once; the soonest to expire makes room for a new one.
const MAX_TOKENS: usize = 1024;

/// The tokens handed out, with when each expires (wall clock).
#[derive(Default)]
pub(super) struct Tokens(Mutex<HashMap<String, OffsetDateTime>>);

impl Tokens {
    fn issue(&self, ttl: u32) -> Result<String, crate::Error> {
        let (_, text) = token::random()?;
        let now = OffsetDateTime::now_utc();
        let mut tokens = self.0.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, expires| *expires > now);
        if tokens.len() >= MAX_TOKENS {
            let soonest = tokens
                .iter()
                .min_by_key(|(_, e)| **e)
                .map(|(t, _)| t.clone());
            tokens.remove(&soonest.unwrap_or_default());
        }
        tokens.insert(text.clone(), now + time::Duration::seconds(ttl.into()));
        Ok(text)
    }

    fn valid(&self, given: Option<&HeaderValue>) -> bool {
        let Some(given) = given.and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let tokens = self.0.lock().unwrap_or_else(|e| e.into_inner());
        tokens
            .get(given)
            .is_some_and(|expires| *expires > OffsetDateTime::now_utc())
    }
}

/// Answers one IMDS request (the TCP guards have passed); `default_ok`:
/// whether the caller may fetch the default scope.
pub(super) async fn respond<B>(
    tokens: &Tokens,
    table: &Table,
    default_ok: bool,
    req: &Request<B>,
) -> Response<Body> {
    let path = req.uri().path();
    match (req.method(), path) {
        (&Method::PUT, TOKEN_PATH) => issue(tokens, req),
        (_, TOKEN_PATH) => not_allowed("PUT"),
        (&Method::GET | &Method::HEAD, _) if !tokens.valid(req.headers().get(TOKEN_HEADER)) => {
            text(StatusCode::UNAUTHORIZED, "Unauthorized")
        }
        (&Method::GET | &Method::HEAD, CREDENTIALS_PATH) => text(StatusCode::OK, ROLE),
        (&Method::GET | &Method::HEAD, _) if path.strip_prefix(CREDENTIALS_PATH) == Some(ROLE) => {
            match default_ok {
                true => credential(table).await,
                false => text(StatusCode::NOT_FOUND, "Not Found"),
            }
        }
        (&Method::GET | &Method::HEAD, _) => text(StatusCode::NOT_FOUND, "Not Found"),
        _ => not_allowed("GET, HEAD, PUT"),
    }
}

/// `PUT /latest/api/token`: a TTL of 1..=21600 seconds, echoed.
fn issue<B>(tokens: &Tokens, req: &Request<B>) -> Response<Body> {
    let ttl = req
        .headers()
        .get(TTL_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|ttl| (1..=MAX_TTL_SECS).contains(ttl));
    let Some(ttl) = ttl else {
        return text(
            StatusCode::BAD_REQUEST,
            "X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600",
        );
    };
    match tokens.issue(ttl) {
        Ok(token) => {
            let mut response = text(StatusCode::OK, &token);
            response
                .headers_mut()
                .insert(TTL_HEADER, HeaderValue::from(ttl));
            response
        }
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// The default scope's credential, in IMDS's document.
async fn credential(table: &Table) -> Response<Body> {
    let Some(cache) = table.default_cache() else {
        return text(StatusCode::NOT_FOUND, "Not Found");
    };
    match cache.get().await {
        Ok(held) => imds_body(&held),
        Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "credentials unavailable"),
    }
}

fn imds_body(held: &Held) -> Response<Body> {
    let mut response = Response::new(Body::new(held.imds_json.clone()));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

fn not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_past_its_ttl_is_refused() {
        let tokens = Tokens::default();
        let token = tokens.issue(60).unwrap();
        assert!(tokens.valid(Some(&HeaderValue::from_str(&token).unwrap())));
        // Its expiry, a second ago (as after a suspend or a long TTL's end).
        tokens.0.lock().unwrap().insert(
            token.clone(),
            OffsetDateTime::now_utc() - time::Duration::seconds(1),
        );
        assert!(!tokens.valid(Some(&HeaderValue::from_str(&token).unwrap())));
        assert!(!tokens.valid(None));
    }

    #[test]
    fn the_token_store_is_bounded() {
        let tokens = Tokens::default();
        for _ in 0..MAX_TOKENS + 10 {
            tokens.issue(21_600).unwrap();
        }
        assert_eq!(tokens.0.lock().unwrap().len(), MAX_TOKENS);
    }
}
