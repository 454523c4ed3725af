//! The harmless requests `verify` makes with a scope's credential: which
//! ones the scope must refuse and which it must allow, and what came back.
//!
//! A get of a missing key proves nothing everywhere: AWS answers 403 to a
//! caller the policy refuses, but radosgw answers 404 before it looks at
//! the policy. So a get probe reads a key that exists: one `verify` writes
//! itself where the scope may write (write-only), or `--outside-key`.

use crate::policy::{Access, Grant};
use aws_sdk_s3::error::ProvideErrorMetadata;

/// What one probe asks S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Request {
    /// `PutObject` of an empty object (deleted again if it was allowed).
    Put { bucket: String, key: String },
    /// `GetObject`.
    Get { bucket: String, key: String },
    /// `PutObject` (which the scope allows), then `GetObject` of it.
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
        // One fixed key, which each verify writes again: a write-only
        // credential cannot delete it.
        Access::WriteOnly => {
            let key = format!("{base}.s3-credentials-verify");
            add(
                "get-write-only",
                Request::PutThenGet { bucket: b, key },
                false,
            )
        }
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
    if let Some(other) = outside.bucket {
        add(
            "head-outside-bucket",
            Request::Head {
                bucket: other.to_owned(),
            },
            false,
        );
        let list = Request::List {
            bucket: other.to_owned(),
            prefix: String::new(),
        };
        add("list-outside-bucket", list, false);
    }
    if grant.access != Access::WriteOnly {
        add(
            "list-inside-prefix",
            Request::List {
                bucket: bucket.clone(),
                prefix: base,
            },
            true,
        );
    }
    probes
}

/// Sends `request`; a write that should have been refused and went
/// through is deleted again (the second value says how that went).
pub(super) async fn send(s3: &aws_sdk_s3::Client, request: &Request) -> (Outcome, Option<String>) {
    let outcome = match request {
        Request::Put { bucket, key } => judge(s3.put_object().bucket(bucket).key(key).send().await),
        Request::Get { bucket, key } => get(s3, bucket, key).await,
        Request::PutThenGet { bucket, key } => {
            match judge(s3.put_object().bucket(bucket).key(key).send().await) {
                Outcome::Allowed => get(s3, bucket, key).await,
                other => Outcome::Failed(format!("writing {key} first: {}", describe(&other))),
            }
        }
        Request::List { bucket, prefix } => {
            let listed = s3.list_objects_v2().bucket(bucket).prefix(prefix);
            judge(listed.send().await)
        }
        Request::Head { bucket } => judge(s3.head_bucket().bucket(bucket).send().await),
    };
    let outcome = match outcome {
        Outcome::Failed(code) if code == "NoSuchBucket" || code == "404" => Outcome::Failed(
            "NoSuchBucket: name a bucket that exists (--outside-bucket, or the scope's own)".into(),
        ),
        other => other,
    };
    let cleanup = match (request, &outcome) {
        (Request::Put { bucket, key } | Request::PutThenGet { bucket, key }, Outcome::Allowed) => {
            let deleted = s3.delete_object().bucket(bucket).key(key).send().await;
            Some(match deleted {
                Ok(_) => format!("deleted {key} again"),
                Err(e) => format!("could not delete {key} again: {}", code(&e)),
            })
        }
        _ => None,
    };
    (outcome, cleanup)
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
        (Some(404), _) => Outcome::Failed("404".into()),
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

    const NOWHERE: Outside = Outside {
        bucket: None,
        key: None,
    };

    #[test]
    fn each_scope_gets_the_probes_its_grammar_must_refuse_and_one_it_must_allow() {
        let names = |g: &Grant, outside: &Outside| {
            let probes = plan(g, outside, "t");
            probes
                .iter()
                .map(|p| (p.name, p.must_allow))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(&grant(Access::ReadOnly, "*"), &NOWHERE),
            [("put-read-only", false), ("list-inside-prefix", true)]
        );
        let outside = Outside {
            bucket: Some("other"),
            key: Some("hello.txt"),
        };
        assert_eq!(
            names(&grant(Access::WriteOnly, "reports/2026/"), &outside),
            [
                ("get-write-only", false),
                ("get-outside-prefix", false),
                ("list-parent", false),
                ("head-outside-bucket", false),
                ("list-outside-bucket", false),
            ]
        );
        let probes = plan(&grant(Access::WriteOnly, "reports/2026/"), &outside, "t");
        assert_eq!(
            probes[1].request,
            Request::Get {
                bucket: "main".into(),
                key: "hello.txt".into()
            }
        );
        let probes = plan(&grant(Access::ReadWrite, "reports/2026/*"), &NOWHERE, "t");
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

    #[test]
    fn an_outside_key_is_judged_with_the_policys_wildcards() {
        let key = |k: &'static str| Outside {
            bucket: None,
            key: Some(k),
        };
        for (prefix, inside) in [
            ("a*b/", "aXb/secret.txt"),
            ("a*b/", "a/b/c"),
            ("a?b/", "aXb/secret.txt"),
            ("reports/", "reports/2026/x"),
        ] {
            let err = key(inside).check(&grant(Access::ReadOnly, prefix));
            let err = err.expect_err(inside).to_string();
            assert!(err.contains("is inside the scope's prefix"), "{err}");
        }
        for (prefix, outside) in [
            ("a?b/", "aXYb/secret.txt"),
            ("a*b/", "ab"),
            ("reports/", "x"),
        ] {
            assert!(key(outside).check(&grant(Access::ReadOnly, prefix)).is_ok());
        }
    }

    #[test]
    fn no_probe_the_scope_must_refuse_is_one_its_wildcards_allow() {
        // `?*` reaches every key: no key outside it is made up, but a list
        // of the root (an empty prefix) is still refused.
        let probes = plan(&grant(Access::ReadOnly, "?*"), &NOWHERE, "t");
        let names: Vec<&str> = probes.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            ["put-read-only", "list-parent", "list-inside-prefix"]
        );
        // `*/` still has an outside: a key with no slash, the bucket's root.
        let probes = plan(&grant(Access::ReadOnly, "*/"), &NOWHERE, "t");
        let names: Vec<&str> = probes.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "put-read-only",
                "get-outside-prefix",
                "list-parent",
                "list-inside-prefix"
            ]
        );
    }
}
