//! Who signed a gateway request, and whether its grant allows it, judged
//! from the path before anything is forwarded: s3s verifies the SigV4
//! signature with the secret `Auth` finds, then `Access::check` finds the
//! local credential, its session token, its scope (still served, by the
//! same issuer), the operation (on the allowlist) and what the path needs.
//! What only the typed request tells (a copy's source, a list's prefix,
//! the keys of a DeleteObjects) is judged by `forward`, on the very values
//! it forwards, with [`Allowed::need`].

use super::ops::{Needs, Op};
use super::record::Ticket;
use crate::local::{Issued, KeyBook, Lookup};
use crate::policy::Action;
use crate::registry::Registry;
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::path::S3Path;
use s3s::{s3_error, S3Error, S3ErrorCode, S3Result};
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Finds the secret a request was signed with: a local credential's.
pub(super) struct Auth(pub(super) Arc<KeyBook>);

#[async_trait::async_trait]
impl S3Auth for Auth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.lookup(access_key) {
            Lookup::Valid(issued) => Ok(SecretKey::from(issued.secret.as_str())),
            Lookup::Expired => Err(s3_error!(ExpiredToken, "The provided token has expired.")),
            Lookup::Unknown => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided is not a local credential of this \
                 server: fetch one from it"
            )),
        }
    }
}

/// What a request may do, once checked: its credential and its scope's
/// forwarding, in the request's extensions for `forward`.
#[derive(Clone)]
pub(super) struct Allowed {
    pub(super) issued: Arc<Issued>,
    pub(super) proxy: Arc<s3s_aws::Proxy>,
}

impl Allowed {
    /// Refuses unless the grant allows `action` on `bucket` (and `key`: an
    /// object's, or a list's prefix), naming the rule.
    pub(super) fn need(&self, action: Action, bucket: &str, key: Option<&str>) -> S3Result<()> {
        if let Some((key, why)) = key.and_then(|k| Some((k, odd_key(k)?))) {
            return Err(denied(format!(
                "the key {key:?} {why}; the gateway refuses it"
            )));
        }
        if self.issued.grant.allows(action, bucket, key) {
            return Ok(());
        }
        let grant = &self.issued.grant;
        let what = match key {
            Some(key) => format!("{bucket}/{key}"),
            None => bucket.to_owned(),
        };
        Err(denied(format!(
            "scope '{}' ({} {}, prefix {}) does not allow {} on {what}",
            self.issued.scope,
            grant.access,
            grant.buckets.join(","),
            grant.key_pattern(),
            action.iam_name(),
        )))
    }
}

/// Why a key is refused whatever the grant, if it is: a form that some
/// store or proxy on the way may read as another key (a `.` or `..`
/// segment, an empty one), or a control character.
fn odd_key(key: &str) -> Option<&'static str> {
    if key.split('/').any(|s| s == "." || s == "..") {
        return Some("has a '.' or '..' segment");
    }
    if key.contains("//") {
        return Some("has an empty segment ('//')");
    }
    if key.chars().any(char::is_control) {
        return Some("has a control character");
    }
    None
}

pub(super) fn denied(message: String) -> S3Error {
    S3Error::with_message(S3ErrorCode::AccessDenied, message)
}

/// The gateway's checks before anything is read or forwarded.
pub(super) struct Access {
    pub(super) book: Arc<KeyBook>,
    pub(super) registry: Arc<Registry>,
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let ticket = cx.extensions_mut().get::<Arc<Ticket>>().cloned();
        if let Some(ticket) = &ticket {
            ticket.noted(cx.s3_op().name(), cx.s3_path());
        }
        let decided = self.decide(cx, ticket.as_deref());
        match (decided, ticket) {
            (Ok(allowed), _) => {
                cx.extensions_mut().insert(allowed);
                Ok(())
            }
            (Err(e), Some(ticket)) => {
                ticket.refused(&e);
                Err(e)
            }
            (Err(e), None) => Err(e),
        }
    }
}

impl Access {
    /// What the request may do, or why not: its signing (`signing`), its
    /// local credential and session token, its scope (still served by the
    /// credential's issuer), the allowlist, and what its path needs.
    fn decide(&self, cx: &S3AccessContext<'_>, ticket: Option<&Ticket>) -> S3Result<Allowed> {
        let Some(credentials) = cx.credentials() else {
            return Err(denied(
                "sign the request with a local credential of this server (SigV4); \
                 anonymous and SigV2 requests are refused"
                    .into(),
            ));
        };
        signing(cx)?;
        let Lookup::Valid(issued) = self.book.lookup(&credentials.access_key) else {
            return Err(s3_error!(ExpiredToken, "The provided token has expired."));
        };
        // An attributed caller's calls go out in its own session, if its
        // entry still holds it.
        let via = match issued.via.as_ref().map(std::sync::Weak::upgrade) {
            Some(None) => return Err(let_go()),
            Some(via) => via,
            None => None,
        };
        if let Some(ticket) = ticket {
            ticket.scoped(&issued.scope, via.as_ref().map(|via| via.session()));
        }
        check_token(cx, &issued)?;
        let table = self.registry.current();
        let served = table.by_name.get(&issued.scope);
        let upstream = (served.and_then(|served| served.upstream()))
            .filter(|upstream| upstream.issuer == issued.issuer);
        let (Some(served), Some(upstream)) = (served, upstream) else {
            return Err(s3_error!(
                ExpiredToken,
                "The scope that issued this local credential is no longer served: fetch \
                 a new one"
            ));
        };
        if let Some(via) = &via {
            served.used_by_gateway(via.session());
        }
        let proxy = via.as_ref().map_or(&upstream.proxy, |via| via.proxy());
        let allowed = Allowed {
            proxy: proxy.clone(),
            issued,
        };
        let name = cx.s3_op().name();
        let Some(op) = Op::named(name) else {
            return Err(denied(format!(
                "{name} is not an operation the gateway allows (it allows {})",
                Op::allowlist()
            )));
        };
        by_path(&allowed, op, cx.s3_path())?;
        Ok(allowed)
    }
}

/// A local credential whose caller's session was let go: its entry was
/// the least recently used past the bound (docs/GUIDE.md, "Attribution").
fn let_go() -> S3Error {
    s3_error!(
        ExpiredToken,
        "This local credential's session was let go (more callers than the bound): fetch \
         a new one"
    )
}

/// Why a request signed with SigV2 is refused, if it is one (s3s verifies
/// SigV2 too; AWS has refused it for new buckets since 2020).
fn sigv2(cx: &S3AccessContext<'_>) -> Option<&'static str> {
    let header = cx.headers().get("authorization");
    let v2_header = header.is_some_and(|v| v.as_bytes().starts_with(b"AWS "));
    let v2_query = query_param(cx, "AWSAccessKeyId").is_some();
    (v2_header || v2_query).then_some("SigV2 is refused: sign with SigV4 (every current SDK does)")
}

/// What S3 refuses of a request's signing however it verifies: SigV2, a
/// presigned URL for over a week, an `x-amz-*` header left unsigned.
fn signing(cx: &S3AccessContext<'_>) -> S3Result<()> {
    if let Some(why) = sigv2(cx) {
        return Err(denied(why.into()));
    }
    if presigned_for_too_long(cx) {
        return Err(s3_error!(
            AuthorizationQueryParametersError,
            "X-Amz-Expires must be less than a week (in seconds) that is 604800"
        ));
    }
    match unsigned_amz_header(cx) {
        Some(name) => Err(denied(format!(
            "There were headers present in the request which were not signed: {name}"
        ))),
        None => Ok(()),
    }
}

/// Whether a presigned URL asks to live longer than S3 allows (seven days,
/// 604,800 seconds: S3 API Reference, "Authenticating Requests: Using
/// Query Parameters"), which S3 refuses whatever the signature.
fn presigned_for_too_long(cx: &S3AccessContext<'_>) -> bool {
    query_param(cx, "X-Amz-Expires")
        .is_some_and(|v| v.parse::<u64>().map_or(true, |secs| secs > 604_800))
}

/// The first value of the query parameter `name`, decoded.
fn query_param(cx: &S3AccessContext<'_>, name: &str) -> Option<String> {
    let query = cx.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// An `x-amz-*` header the signature does not cover, if there is one. S3
/// refuses those (AWS S3 API Reference, "Authenticating Requests: Using
/// the Authorization Header" and "... Query Parameters"): without this, a
/// presigned PUT could be turned into a copy (`x-amz-copy-source`), or be
/// given an ACL, by whoever holds the URL.
fn unsigned_amz_header(cx: &S3AccessContext<'_>) -> Option<String> {
    let from_header = (cx.headers().get("authorization"))
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("SignedHeaders=").nth(1))
        .map(|rest| rest.split(',').next().unwrap_or_default().to_owned());
    let from_query = || query_param(cx, "X-Amz-SignedHeaders");
    let signed = from_header.or_else(from_query)?;
    let signed: Vec<&str> = signed.split(';').map(str::trim).collect();
    (cx.headers().keys())
        .map(|name| name.as_str())
        .find(|name| name.starts_with("x-amz-") && !signed.contains(name))
        .map(str::to_owned)
}

/// The session token sent (`X-Amz-Security-Token`, a header or a
/// presigned URL's parameter) must be the credential's own.
fn check_token(cx: &S3AccessContext<'_>, issued: &Issued) -> S3Result<()> {
    let header = cx
        .headers()
        .get("x-amz-security-token")
        .map(|v| v.as_bytes());
    let query = query_param(cx, "X-Amz-Security-Token");
    let sent = header.map(<[u8]>::to_vec).or(query.map(String::into_bytes));
    match sent {
        Some(sent) if bool::from(sent.ct_eq(issued.token.as_bytes())) => Ok(()),
        _ => Err(s3_error!(
            InvalidToken,
            "The provided token is malformed or otherwise invalid: send the local \
             credential's own session token"
        )),
    }
}

/// What the operation needs of the path's bucket and key.
fn by_path(allowed: &Allowed, op: Op, path: &S3Path) -> S3Result<()> {
    let (bucket, key) = match path {
        S3Path::Root => (None, None),
        S3Path::Bucket { bucket } => (Some(&**bucket), None),
        S3Path::Object { bucket, key } => (Some(&**bucket), Some(&**key)),
    };
    let unclear = || {
        denied(format!(
            "{op:?} needs a bucket and key the gateway can tell"
        ))
    };
    match (op.needs(), bucket, key) {
        (Needs::Nothing, None, None) => Ok(()),
        (Needs::Object(action), Some(bucket), Some(key)) => allowed.need(action, bucket, Some(key)),
        (Needs::Bucket(action), Some(bucket), None) => allowed.need(action, bucket, None),
        (Needs::BucketThenTyped, Some(bucket), None)
            if allowed.issued.grant.buckets.iter().any(|b| b == bucket) =>
        {
            Ok(())
        }
        (Needs::BucketThenTyped, Some(bucket), None) => Err(denied(format!(
            "scope '{}' does not reach bucket {bucket}",
            allowed.issued.scope
        ))),
        _ => Err(unclear()),
    }
}
