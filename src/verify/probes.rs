//! The harmless requests `verify` makes with a scope's credential: which
//! ones the scope must refuse and which it must allow, and what came back.
//!
//! A get of a missing key proves nothing everywhere: AWS answers 403 to a
//! caller the policy refuses, but radosgw answers 404 before it looks at
//! the policy. So a get probe reads a key that exists: one `verify` writes
//! itself where the scope may write (write-only), or `--outside-key`.
//!
//! `verify` writes only keys it makes: a fresh random one each run, put
//! with `If-None-Match: *` (S3's conditional write: 412 if the key
//! exists; a backend without it answers 501 and gets a plain put of the
//! same fresh key), after a HEAD where the credential may read.

use crate::policy::{Access, Grant};
use aws_sdk_s3::error::ProvideErrorMetadata;

/// What one probe asks S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Request {
    /// `PutObject` of a new, empty object, by a credential that may read
    /// (deleted again if it was allowed).
    Put { bucket: String, key: String },
    /// `GetObject`.
    Get { bucket: String, key: String },
    /// `PutObject` of a new, empty object (which the scope allows) by a
    /// credential that may not read, then `GetObject` of it.
    PutThenGet { bucket: String, key: String },
    /// `ListObjectsV2` under a prefix.
    List { bucket: String, prefix: String },
    /// `HeadBucket`.
    Head { bucket: String },
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Put { bucket, key } => write!(f, "PutObject s3://{bucket}/{key}"),
            Request::Get { bucket, key } | Request::PutThenGet { bucket, key } => {
                write!(f, "GetObject s3://{bucket}/{key}")
            }
            Request::List { bucket, prefix } => write!(f, "ListObjectsV2 s3://{bucket}/{prefix}"),
            Request::Head { bucket } => write!(f, "HeadBucket s3://{bucket}"),
        }
    }
}

/// One probe: why, what, and whether the scope must allow it.
#[derive(Debug, Clone)]
pub(super) struct Probe {
    /// A stable name (`--json`'s `probe`), e.g. `put-read-only`.
    pub name: &'static str,
    pub request: Request,
    pub must_allow: bool,
}

/// What came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The request was authorized.
    Allowed,
    /// 403 AccessDenied.
    Refused,
    /// Neither was shown (a missing key's 404), and why.
    Unproven(String),
    /// Anything else, said.
    Failed(String),
}

/// The scope's prefix without the policy's trailing `*` (empty: the whole
/// bucket).
fn base(grant: &Grant) -> String {
    grant.prefix.trim_end_matches('*').to_owned()
}

/// The prefix one level up from `base` (`reports/2026/` -> `reports/`,
/// `reports/` -> the bucket's root).
fn parent(base: &str) -> String {
    let trimmed = base.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(at) => trimmed[..=at].to_owned(),
        None => String::new(),
    }
}

/// Where the probes reach beyond the scope.
pub(super) struct Outside<'a> {
    /// `--outside-bucket`.
    pub bucket: Option<&'a str>,
    /// `--outside-key`: an existing key outside the prefix.
    pub key: Option<&'a str>,
}

impl Outside<'_> {
    /// An "outside" that is inside the scope would be reported as not
    /// enforced by a backend that enforces it: refused here.
    pub(super) fn check(&self, grant: &Grant) -> Result<(), crate::Error> {
        if let Some(bucket) = self.bucket.filter(|b| grant.buckets.iter().any(|g| g == b)) {
            return Err(crate::Error::new(format!(
                "--outside-bucket {bucket} is one of the scope's own buckets: name one outside it"
            )));
        }
        let base = base(grant);
        if self.key.is_some() && base.is_empty() {
            return Err(crate::Error::new(
                "--outside-key: the scope has no prefix, so no key of its buckets is outside it",
            ));
        }
        if let Some(key) = self.key.filter(|k| grant.reaches_key(k)) {
            return Err(crate::Error::new(format!(
                "--outside-key {key} is inside the scope's prefix '{base}': name a key outside it"
            )));
        }
        Ok(())
    }
}

/// The probes for `grant`: what it must refuse and what it must allow;
/// `tag` makes the must-refuse write's key new.
pub(super) fn plan(grant: &Grant, outside: &Outside, tag: &str) -> Vec<Probe> {
    let bucket = &grant.buckets[0];
    let base = base(grant);
    let mut probes = Vec::new();
    let mut add = |name, request, must_allow| {
        probes.push(Probe {
            name,
            request,
            must_allow,
        })
    };
    let (b, key) = (
        bucket.clone(),
        format!("{base}.s3-credentials-verify-{tag}"),
    );
    match grant.access {
        Access::ReadOnly => add("put-read-only", Request::Put { bucket: b, key }, false),
        Access::WriteOnly => add(
            "get-write-only",
            Request::PutThenGet { bucket: b, key },
            false,
        ),
        Access::ReadWrite => {}
    }
    if !base.is_empty() {
        // What the policy's wildcards reach is no probe it must refuse.
        let key = outside.key.map_or_else(
            || format!(".s3-credentials-verify-outside-{tag}"),
            str::to_owned,
        );
        if !grant.reaches_key(&key) {
            let bucket = bucket.clone();
            add("get-outside-prefix", Request::Get { bucket, key }, false);
        }
        let prefix = parent(&base);
        if !grant.reaches_key(&prefix) {
            let bucket = bucket.clone();
            add("list-parent", Request::List { bucket, prefix }, false);
        }
    }
    if let Some(other) = outside.bucket.map(str::to_owned) {
        let head = Request::Head {
            bucket: other.clone(),
        };
        add("head-outside-bucket", head, false);
        let list = Request::List {
            bucket: other,
            prefix: String::new(),
        };
        add("list-outside-bucket", list, false);
    }
    if grant.access != Access::WriteOnly {
        let (bucket, prefix) = (bucket.clone(), base);
        add("list-inside-prefix", Request::List { bucket, prefix }, true);
    }
    probes
}

/// Sends `request`; what it wrote is deleted again where the credential
/// may (the second value says how that went).
pub(super) async fn send(s3: &aws_sdk_s3::Client, request: &Request) -> (Outcome, Option<String>) {
    let (outcome, wrote) = match request {
        Request::Put { bucket, key } => {
            let outcome = put_new(s3, bucket, key, true).await;
            let wrote = outcome == Outcome::Allowed;
            (outcome, wrote)
        }
        Request::Get { bucket, key } => (get(s3, bucket, key).await, false),
        Request::PutThenGet { bucket, key } => match put_new(s3, bucket, key, false).await {
            Outcome::Allowed => (get(s3, bucket, key).await, true),
            other => {
                let why = format!("writing {key} first: {}", describe(&other));
                (Outcome::Failed(why), false)
            }
        },
        Request::List { bucket, prefix } => {
            let listed = s3.list_objects_v2().bucket(bucket).prefix(prefix);
            (judge(listed.send().await), false)
        }
        Request::Head { bucket } => (judge(s3.head_bucket().bucket(bucket).send().await), false),
    };
    let outcome = match outcome {
        Outcome::Failed(code) if code == "NoSuchBucket" || code == "404" => Outcome::Failed(
            "NoSuchBucket: name a bucket that exists (--outside-bucket, or the scope's own)".into(),
        ),
        other => other,
    };
    let cleanup = match (request, wrote) {
        (Request::Put { bucket, key } | Request::PutThenGet { bucket, key }, true) => {
            Some(delete(s3, bucket, key).await)
        }
        _ => None,
    };
    (outcome, cleanup)
}

/// A put of `key` only if no object is there: a HEAD first where the
/// credential may read, then `If-None-Match: *` (see the module's doc).
async fn put_new(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, may_read: bool) -> Outcome {
    let exists = || {
        Outcome::Failed(format!(
            "{key} exists, and verify writes only keys it makes"
        ))
    };
    if may_read
        && s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    {
        return exists();
    }
    let put = || s3.put_object().bucket(bucket).key(key);
    match judge(put().if_none_match("*").send().await) {
        Outcome::Failed(code) if code == "PreconditionFailed" || code == "412" => exists(),
        Outcome::Failed(code) if code == "NotImplemented" || code == "501" => {
            judge(put().send().await)
        }
        other => other,
    }
}

/// Deletes what `verify` wrote; what came of it, said.
async fn delete(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    match judge(s3.delete_object().bucket(bucket).key(key).send().await) {
        Outcome::Allowed => format!("deleted {key} again"),
        Outcome::Refused => format!("left {key}: this credential may not delete it"),
        other => format!("could not delete {key} again: {}", describe(&other)),
    }
}

/// A get: a missing key's 404 shows neither (see the module's doc).
async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Outcome {
    match judge(s3.get_object().bucket(bucket).key(key).send().await) {
        Outcome::Failed(code) if code == "NoSuchKey" || code == "404" => {
            Outcome::Unproven(format!(
                "{key} does not exist, and some backends (radosgw) say so before they check the \
             policy: name an existing key outside the prefix with --outside-key KEY"
            ))
        }
        other => other,
    }
}

fn describe(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Allowed => "allowed".into(),
        Outcome::Refused => "refused".into(),
        Outcome::Unproven(why) | Outcome::Failed(why) => why.clone(),
    }
}

/// Allowed, refused (403), or the error code (`404` for a bare 404).
fn judge<T, E>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Outcome
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let err = match result {
        Ok(_) => return Outcome::Allowed,
        Err(e) => e,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    match (status, code(&err).as_str()) {
        (_, "AccessDenied") | (Some(403), _) => Outcome::Refused,
        (_, "NoSuchKey") => Outcome::Failed("NoSuchKey".into()),
        (Some(status @ (404 | 412 | 501)), _) => Outcome::Failed(status.to_string()),
        (_, code) => Outcome::Failed(code.to_owned()),
    }
}

fn code<E>(err: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some(code) => code.to_owned(),
        None => crate::error::chain(err),
    }
}

#[cfg(test)]
mod tests;
