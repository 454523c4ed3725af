//! IMDSv2: EC2's instance metadata token and the two
//! credential paths, for tools that read only that. Served on its own
//! loopback port; a GET without a valid, unexpired token is refused, so
//! IMDSv1 is not served. The TCP guards run first (a forwarded request,
//! `X-Forwarded-For`, is refused as EC2 refuses it).

use super::respond::{text, Body};
use crate::cache::Held;
use crate::token;
use hyper::header::{HeaderValue, ALLOW};
use hyper::{Method, Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use time::OffsetDateTime;

/// The one role name the listing answers; its credential is the default
/// scope's.
pub const ROLE: &str = "s3-credentials";
const TOKEN_PATH: &str = "/latest/api/token";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";
const INFO_PATH: &str = "/latest/meta-data/iam/info";
const REGION_PATH: &str = "/latest/meta-data/placement/region";
const ZONE_PATH: &str = "/latest/meta-data/placement/availability-zone";
const IDENTITY_PATH: &str = "/latest/dynamic/instance-identity/document";

/// What IMDS tells of the "instance" besides credentials: the region in
/// use and the account, as tools read them for their region and profile.
#[derive(Debug, Clone)]
pub(crate) struct Instance {
    /// The AWS region in use (`us-east-1` when none is configured).
    pub region: String,
    /// The account (GetCallerIdentity's), or twelve zeros when unknown.
    pub account: String,
}

impl Default for Instance {
    fn default() -> Instance {
        Instance {
            region: "us-east-1".into(),
            account: "000000000000".into(),
        }
    }
}
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

/// The default scope's credential as the caller may have it, with the
/// session it came from where that is the caller's own; `None`: none it
/// may fetch; `Err`: none just now.
pub(super) type Credential = Option<(Result<Arc<Held>, ()>, Option<String>)>;

/// Answers one IMDS request (the TCP guards have passed), with the session
/// its credential came from; `credential` is awaited only on the
/// credential's path. Paths are EC2's, with or without the listing's
/// trailing slash, and a leading `//` (what clients make of an endpoint
/// that ends in `/`) is `/`.
pub(super) async fn respond<B>(
    tokens: &Tokens,
    instance: &Instance,
    credential: impl std::future::Future<Output = Credential>,
    req: &Request<B>,
) -> (Response<Body>, Option<String>) {
    let raw = req.uri().path();
    let path = format!("/{}", raw.trim_start_matches('/'));
    let path = path.as_str();
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    let token = req.headers().get(TOKEN_HEADER);
    if path.strip_prefix(CREDENTIALS_PATH) == Some(ROLE) && tokens.valid(token) && read {
        return match credential.await {
            Some((Ok(held), session)) => (imds_body(&held), session),
            Some((Err(()), _)) => (unavailable(), None),
            None => (text(StatusCode::NOT_FOUND, "Not Found"), None),
        };
    }
    let response = match path {
        TOKEN_PATH if req.method() == Method::PUT => issue(tokens, req),
        TOKEN_PATH => not_allowed("PUT"),
        _ if !read => not_allowed("GET, HEAD, PUT"),
        _ if !tokens.valid(token) => text(StatusCode::UNAUTHORIZED, "Unauthorized"),
        _ if path.trim_end_matches('/') == CREDENTIALS_PATH.trim_end_matches('/') => {
            text(StatusCode::OK, ROLE)
        }
        INFO_PATH => document(crate::body::render_imds_info(
            &instance.account,
            ROLE,
            OffsetDateTime::now_utc(),
        )),
        REGION_PATH => text(StatusCode::OK, &instance.region),
        ZONE_PATH => text(StatusCode::OK, &format!("{}a", instance.region)),
        IDENTITY_PATH => document(crate::body::render_instance_identity(
            &instance.account,
            &instance.region,
        )),
        _ => text(StatusCode::NOT_FOUND, "Not Found"),
    };
    (response, None)
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

fn unavailable() -> Response<Body> {
    text(StatusCode::SERVICE_UNAVAILABLE, "credentials unavailable")
}

fn imds_body(held: &Held) -> Response<Body> {
    document(held.imds_json.clone())
}

/// A JSON document as EC2 serves it: `text/plain`.
fn document(json: bytes::Bytes) -> Response<Body> {
    let mut response = Response::new(Body::new(json));
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
