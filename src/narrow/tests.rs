//! Narrowing: the rules by example, and a property: whatever is asked,
//! the answer is a refusal or a grant inside the scope's. Inside is judged
//! by a small evaluator of this project's policy grammar (Allow/Deny,
//! Action and Resource globs, the `s3:prefix` condition), written apart
//! from the policy builder.

use super::*;
use crate::policy::Statement;
use proptest::prelude::*;
use serde_json::Value;

fn grant(buckets: &[&str], prefix: &str, access: Access) -> Grant {
    Grant {
        buckets: buckets.iter().map(|b| b.to_string()).collect(),
        access,
        prefix: prefix.into(),
        statements: vec![],
    }
}

fn ask(query: &str, scope: &Grant) -> Result<Grant, Refused> {
    Narrowing::from_query(query)?.apply(scope)
}

#[test]
fn fewer_buckets_a_deeper_prefix_and_a_weaker_mode_are_granted() {
    let scope = grant(&["a", "b"], "reports/", Access::ReadWrite);
    let narrowed = ask("bucket=b&prefix=reports%2F2026%2F&access=read-only", &scope).unwrap();
    assert_eq!(narrowed, grant(&["b"], "reports/2026/", Access::ReadOnly));
    // Buckets keep the scope's order, whatever the request's.
    assert_eq!(
        ask("bucket=b&bucket=a", &scope).unwrap().buckets,
        ["a", "b"]
    );
    assert_eq!(ask("", &scope).unwrap(), scope);
    let whole = grant(&["a"], "*", Access::WriteOnly);
    assert_eq!(
        ask("prefix=x/&access=write-only", &whole).unwrap().prefix,
        "x/"
    );
}

#[test]
fn everything_that_would_widen_is_refused_naming_it() {
    let scope = grant(&["a", "b"], "reports/", Access::ReadOnly);
    for (query, says) in [
        ("bucket=c", "bucket \"c\" is not in this scope"),
        ("prefix=rep", "does not extend"),
        ("prefix=other%2F", "does not extend"),
        ("prefix=reports%2F..%2Fsecret", "'..' segment"),
        ("prefix=reports%2F%2A", "wildcard"),
        ("prefix=reports%2Fa%3Fb", "wildcard"),
        ("prefix=reports%2F%2524%7Baws%3Ausername%7D", "encoding"),
        (
            "prefix=reports%2F%24%7Baws%3Ausername%7D",
            "policy variable",
        ),
        ("prefix=reports%2F%0A", "control"),
        ("access=read-write", "wider than this scope's read-only"),
        ("access=write-only", "wider than"),
    ] {
        match ask(query, &scope) {
            Err(Refused::Widens(why)) => assert!(why.contains(says), "{query}: {why}"),
            other => panic!("{query}: {other:?}"),
        }
    }
    let starred = grant(&["a"], "logs/*/2026/", Access::ReadOnly);
    assert!(matches!(
        ask("prefix=logs%2Fx%2F2026%2F", &starred),
        Err(Refused::Widens(_))
    ));
}

#[test]
fn malformed_requests_are_told_apart() {
    let scope = grant(&["a"], "*", Access::ReadWrite);
    for query in [
        "bucket=",
        "role=admin",
        "access=admin",
        "prefix=a&prefix=b",
        "access=read-only&access=read-only",
    ] {
        assert!(
            matches!(ask(query, &scope), Err(Refused::Malformed(_))),
            "{query}"
        );
    }
    let narrowing = Narrowing {
        buckets: vec!["a".into()],
        prefix: Some("r é/".into()),
        access: Some(Access::ReadOnly),
    };
    assert_eq!(
        Narrowing::from_query(&narrowing.to_query()).unwrap(),
        narrowing
    );
}

/// One S3 request: an action on a resource, with `s3:prefix` for a list.
#[derive(Debug, Clone)]
struct Request {
    action: &'static str,
    resource: String,
    list_prefix: Option<String>,
}

/// `*` any run, `?` any one character: IAM's glob.
#[test]
fn a_narrowed_session_name_shows_the_narrowing_within_stss_characters_and_length() {
    // FNV-1a's own test vector: the hash does not change between builds.
    assert_eq!(session_name("prod", "a"), "s3c.prod.ne40c292c");
    assert_ne!(session_name("prod", "b"), session_name("prod", "a"));
    let longest = "x".repeat(63);
    let name = session_name(&longest, "{}");
    assert_eq!(name.len(), 64);
    assert!(name.starts_with("s3c.xxx"), "{name}");
    assert!(name.ends_with(&session_name("prod", "{}")[8..]), "{name}");
    let odd = session_name("a b/é", "{}");
    assert!(odd.starts_with("s3c.a-b--."), "{odd}");
    assert!(
        (odd.chars()).all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)),
        "{odd}"
    );
}

#[test]
fn a_callers_session_name_names_one_caller_alone() {
    let name = |user: &str, program: &str, narrowed: Option<&str>| {
        let caller = crate::credential::Caller {
            user: user.into(),
            program: program.into(),
        };
        caller_session_name("prod", &caller, narrowed)
    };
    assert_eq!(
        name("alice", "python3.11", None),
        "s3c.prod.alice.python3.11"
    );
    let narrowed = name("alice", "curl", Some("{}"));
    assert!(narrowed.starts_with("s3c.prod.alice.curl.n"), "{narrowed}");
    // Names that would meet once sanitised, or split at another dot.
    let apart = [
        name("alice", "pr og", None),
        name("alice", "pr-og", None),
        name("a.b", "c", None),
        name("a", "b.c", None),
    ];
    for (i, one) in apart.iter().enumerate() {
        assert!(one.len() <= 64, "{one}");
        for other in &apart[i + 1..] {
            assert_ne!(one, other);
        }
    }
    assert_eq!(apart[1], "s3c.prod.alice.pr-og");
    let long = name("alice", &"x".repeat(100), None);
    assert_eq!(long.len(), 64, "{long}");
}

fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(&p, &t)
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

fn matches(statement: &Value, request: &Request) -> bool {
    let action = strings(&statement["Action"])
        .iter()
        .any(|a| glob(a, request.action));
    let resource = strings(&statement["Resource"])
        .iter()
        .any(|r| glob(r, &request.resource));
    let condition = match statement.get("Condition") {
        None => true,
        Some(condition) => {
            let wanted = strings(&condition["StringLike"]["s3:prefix"]);
            request
                .list_prefix
                .as_ref()
                .is_some_and(|p| wanted.iter().any(|w| glob(w, p)))
        }
    };
    action && resource && condition
}

/// Allowed: some Allow statement matches and no Deny does.
fn allowed(policy: &str, request: &Request) -> bool {
    let policy: Value = serde_json::from_str(policy).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let any =
        |effect: &str| (statements.iter()).any(|s| s["Effect"] == effect && matches(s, request));
    any("Allow") && !any("Deny")
}

fn requests() -> Vec<Request> {
    let mut all = Vec::new();
    let keys = [
        "", "r/", "r/x", "r/x/y", "r/xz", "q/a", "logs/1", "r/../q", "a*b",
    ];
    for bucket in ["a", "b", "c", "d"] {
        for key in keys {
            for action in [
                "s3:GetObject",
                "s3:PutObject",
                "s3:DeleteObject",
                "s3:GetObjectTagging",
            ] {
                all.push(Request {
                    action,
                    resource: format!("arn:aws:s3:::{bucket}/{key}"),
                    list_prefix: None,
                });
            }
            all.push(Request {
                action: "s3:ListBucket",
                resource: format!("arn:aws:s3:::{bucket}"),
                list_prefix: Some(key.to_owned()),
            });
        }
        all.push(Request {
            action: "s3:GetBucketLocation",
            resource: format!("arn:aws:s3:::{bucket}"),
            list_prefix: None,
        });
    }
    all
}

fn access() -> impl Strategy<Value = Access> {
    prop_oneof![
        Just(Access::ReadWrite),
        Just(Access::ReadOnly),
        Just(Access::WriteOnly)
    ]
}

fn scope_strategy() -> impl Strategy<Value = Grant> {
    let buckets = proptest::sample::subsequence(vec!["a", "b", "c"], 1..=3);
    let prefix = prop_oneof![
        Just("*"),
        Just("r/"),
        Just("r/x"),
        Just("logs"),
        Just("r/*/y")
    ];
    (buckets, prefix, access(), any::<bool>()).prop_map(|(buckets, prefix, access, deny)| {
        let mut scope = grant(&buckets, prefix, access);
        if deny {
            let statement = r#"{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}"#;
            scope
                .statements
                .push(statement.parse::<Statement>().unwrap());
        }
        scope
    })
}

fn narrowing_strategy() -> impl Strategy<Value = Narrowing> {
    let buckets = proptest::sample::subsequence(vec!["a", "b", "c", "d"], 0..=2);
    let prefix = prop_oneof![
        Just(None),
        proptest::sample::select(vec![
            "r/", "r/x", "r/x/", "r/xz", "q/", "", "r/../q", "r*", "logs/1", "a*b"
        ])
        .prop_map(|p| Some(p.to_owned())),
        "[a-z/.*?%$]{0,6}".prop_map(Some),
    ];
    (buckets, prefix, proptest::option::of(access())).prop_map(|(buckets, prefix, access)| {
        Narrowing {
            buckets: buckets.into_iter().map(str::to_owned).collect(),
            prefix,
            access,
        }
    })
}

proptest! {
    #[test]
    fn a_grant_is_never_wider_than_its_scope(scope in scope_strategy(), asked in narrowing_strategy()) {
        let Ok(narrowed) = asked.apply(&scope) else { return Ok(()) };
        let (wide, narrow) = (scope.policy_compact(), narrowed.policy_compact());
        for request in requests() {
            prop_assert!(
                !allowed(&narrow, &request) || allowed(&wide, &request),
                "{request:?} allowed by {narrow} but not by {wide}"
            );
        }
    }
}

/// The gateway's question, as `Grant::allows` is asked it: the action,
/// the bucket, and the key (or a list's prefix), from a request.
fn gateway_asks(grant: &Grant, request: &Request) -> bool {
    use crate::policy::Action as A;
    let action = match request.action {
        "s3:GetObject" => A::GetObject,
        "s3:PutObject" => A::PutObject,
        "s3:DeleteObject" => A::DeleteObject,
        "s3:ListBucket" => A::ListBucket,
        "s3:GetBucketLocation" => A::GetBucketLocation,
        "s3:AbortMultipartUpload" => A::AbortMultipartUpload,
        // Not an action the gateway forwards alone (GetObjectTagging).
        _ => return false,
    };
    let path = request.resource.trim_start_matches("arn:aws:s3:::");
    let (bucket, key) = match path.split_once('/') {
        Some((bucket, key)) => (bucket, Some(key)),
        None => (path, request.list_prefix.as_deref()),
    };
    grant.allows(action, bucket, key)
}

proptest! {
    #[test]
    fn the_gateway_decides_as_the_session_policy_allows(
        scope in scope_strategy(),
        asked in narrowing_strategy(),
    ) {
        // A scope served through the gateway has no extra statements.
        let scope = Grant { statements: vec![], ..scope };
        let grants = [Some(scope.clone()), asked.apply(&scope).ok()];
        for grant in grants.into_iter().flatten() {
            let policy = grant.policy_compact();
            let mut all = requests();
            all.push(Request {
                action: "s3:AbortMultipartUpload",
                resource: "arn:aws:s3:::a/r/x".into(),
                list_prefix: None,
            });
            all.push(Request {
                action: "s3:ListBucket",
                resource: "arn:aws:s3:::a".into(),
                list_prefix: None,
            });
            for request in all.iter().filter(|r| r.action != "s3:GetObjectTagging") {
                prop_assert_eq!(
                    gateway_asks(&grant, request),
                    allowed(&policy, request),
                    "{:?} under {}", request, policy
                );
            }
        }
    }
}
