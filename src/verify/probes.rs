//! The harmless requests `verify` makes with a scope's credential: which
//! ones the scope must refuse and which it must allow, and what came back.

use crate::policy::{Access, Grant};
use aws_sdk_s3::error::ProvideErrorMetadata;

/// What one probe asks S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Request {
    /// `PutObject` of an empty object (deleted again if it was allowed).
    Put { bucket: String, key: String },
    /// `GetObject` of a key that does not exist (a 404 means allowed).
    Get { bucket: String, key: String },
    /// `ListObjectsV2` under a prefix.
    List { bucket: String, prefix: String },
    /// `HeadBucket`.
    Head { bucket: String },
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Put { bucket, key } => write!(f, "PutObject s3://{bucket}/{key}"),
            Request::Get { bucket, key } => write!(f, "GetObject s3://{bucket}/{key}"),
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
    /// The request was authorized (a 404 for a missing key included).
    Allowed,
    /// 403 AccessDenied.
    Refused,
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

/// The probes for `grant`: what it must refuse and what it must allow;
/// `tag` makes the probe keys (`.s3-credentials-verify-TAG`) new.
pub(super) fn plan(grant: &Grant, outside: Option<&str>, tag: &str) -> Vec<Probe> {
    let bucket = grant.buckets[0].clone();
    let base = base(grant);
    let inside = format!("{base}.s3-credentials-verify-{tag}");
    let mut probes = Vec::new();
    let mut add = |name, request, must_allow| {
        probes.push(Probe {
            name,
            request,
            must_allow,
        })
    };
    match grant.access {
        Access::ReadOnly => add(
            "put-read-only",
            Request::Put {
                bucket: bucket.clone(),
                key: inside.clone(),
            },
            false,
        ),
        Access::WriteOnly => add(
            "get-write-only",
            Request::Get {
                bucket: bucket.clone(),
                key: inside.clone(),
            },
            false,
        ),
        Access::ReadWrite => {}
    }
    if !base.is_empty() {
        let key = format!(".s3-credentials-verify-outside-{tag}");
        add(
            "get-outside-prefix",
            Request::Get {
                bucket: bucket.clone(),
                key,
            },
            false,
        );
        add(
            "list-parent",
            Request::List {
                bucket: bucket.clone(),
                prefix: parent(&base),
            },
            false,
        );
    }
    if let Some(other) = outside {
        add(
            "head-outside-bucket",
            Request::Head {
                bucket: other.to_owned(),
            },
            false,
        );
        add(
            "list-outside-bucket",
            Request::List {
                bucket: other.to_owned(),
                prefix: String::new(),
            },
            false,
        );
    }
    if grant.access != Access::WriteOnly {
        add(
            "list-inside-prefix",
            Request::List {
                bucket,
                prefix: base,
            },
            true,
        );
    }
    probes
}

/// Sends `request`; a write that went through is deleted again (the
/// outcome says if that failed too).
pub(super) async fn send(s3: &aws_sdk_s3::Client, request: &Request) -> (Outcome, Option<String>) {
    let outcome = match request {
        Request::Put { bucket, key } => judge(s3.put_object().bucket(bucket).key(key).send().await),
        Request::Get { bucket, key } => judge(s3.get_object().bucket(bucket).key(key).send().await),
        Request::List { bucket, prefix } => {
            let listed = s3.list_objects_v2().bucket(bucket).prefix(prefix);
            judge(listed.send().await)
        }
        Request::Head { bucket } => judge(s3.head_bucket().bucket(bucket).send().await),
    };
    let outcome = match (request, outcome) {
        // A missing key passed authorization: S3 says so only to a reader.
        (Request::Get { .. }, Outcome::Failed(code)) if code == "NoSuchKey" || code == "404" => {
            Outcome::Allowed
        }
        (_, Outcome::Failed(code)) if code == "NoSuchBucket" || code == "404" => Outcome::Failed(
            "NoSuchBucket: name a bucket that exists (--outside-bucket, or the scope's own)".into(),
        ),
        (_, other) => other,
    };
    let cleanup = match (request, &outcome) {
        (Request::Put { bucket, key }, Outcome::Allowed) => Some(
            match s3.delete_object().bucket(bucket).key(key).send().await {
                Ok(_) => format!("deleted {key} again"),
                Err(e) => format!("could not delete {key} again: {}", code(&e)),
            },
        ),
        _ => None,
    };
    (outcome, cleanup)
}

/// Allowed, refused (403), or why neither (a 404 is `Failed("404")` or
/// its code: for a get, NoSuchKey passed authorization, since S3 says it
/// only to a caller who may read there; for a bucket, it is missing).
fn judge<T, E>(
    result: Result<T, aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Outcome
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let err = match result {
        Ok(_) => return Outcome::Allowed,
        Err(e) => e,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    match (status, code(&err).as_str()) {
        (_, "AccessDenied") | (Some(403), _) => Outcome::Refused,
        (_, "NoSuchKey") => Outcome::Failed("NoSuchKey".into()),
        (Some(404), _) => Outcome::Failed("404".into()),
        (_, code) => Outcome::Failed(code.to_owned()),
    }
}

fn code<E>(err: &aws_sdk_s3::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match err.code() {
        Some(code) => code.to_owned(),
        None => crate::error::chain(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(access: Access, prefix: &str) -> Grant {
        Grant {
            buckets: vec!["main".into()],
            access,
            prefix: prefix.into(),
            statements: vec![],
        }
    }

    #[test]
    fn each_scope_gets_the_probes_its_grammar_must_refuse_and_one_it_must_allow() {
        let names = |g: &Grant, outside| {
            plan(g, outside, "t")
                .iter()
                .map(|p| (p.name, p.must_allow))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&grant(Access::ReadOnly, "*"), None),
            [("put-read-only", false), ("list-inside-prefix", true)]
        );
        assert_eq!(
            names(&grant(Access::WriteOnly, "reports/2026/"), Some("other")),
            [
                ("get-write-only", false),
                ("get-outside-prefix", false),
                ("list-parent", false),
                ("head-outside-bucket", false),
                ("list-outside-bucket", false),
            ]
        );
        let probes = plan(&grant(Access::ReadWrite, "reports/2026/*"), None, "t");
        assert_eq!(
            probes[1].request,
            Request::List {
                bucket: "main".into(),
                prefix: "reports/".into()
            }
        );
        assert_eq!(
            probes[2].request,
            Request::List {
                bucket: "main".into(),
                prefix: "reports/2026/".into()
            }
        );
        assert_eq!(parent("reports/"), "");
    }
}
