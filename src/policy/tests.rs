use super::*;

fn scope(access: Access, prefix: &str) -> Grant {
    Grant {
        buckets: vec!["b".into()],
        access,
        prefix: prefix.into(),
        statements: vec![],
    }
}

#[test]
fn statement_validation_uses_the_original_messages() {
    assert_eq!("{".parse::<Statement>().unwrap_err(), "Invalid JSON string");
    assert_eq!(
        "[1]".parse::<Statement>().unwrap_err(),
        "JSON must be an object"
    );
    assert_eq!(
        r#"{"Effect": "Allow"}"#.parse::<Statement>().unwrap_err(),
        "Statement JSON missing required keys: Action, Resource"
    );
    assert!(r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#
        .parse::<Statement>()
        .is_ok());
}

#[test]
fn compact_policy_has_no_whitespace() {
    let p = scope(Access::ReadOnly, "a b/").policy_compact();
    assert!(
        !p.contains(": ") && !p.contains(", ") && !p.contains('\n'),
        "{p}"
    );
    assert!(
        p.starts_with(r#"{"Version":"2012-10-17","Statement":["#),
        "{p}"
    );
}

#[test]
fn prefix_conditions_list_but_not_location() {
    let p = scope(Access::ReadOnly, "reports/").policy();
    let st = p["Statement"].as_array().unwrap();
    assert_eq!(st[0]["Action"], json!(["s3:GetBucketLocation"]));
    assert!(st[0].get("Condition").is_none());
    assert_eq!(
        st[1]["Condition"]["StringLike"]["s3:prefix"],
        json!(["reports/*"])
    );
    assert_eq!(st[2]["Resource"], json!(["arn:aws:s3:::b/reports/*"]));
}

#[test]
fn extra_statements_come_last_verbatim() {
    let mut s = scope(Access::WriteOnly, "*");
    let extra: Statement = r#"{"Resource":"*","Effect":"Deny","Action":"s3:*","Sid":"x"}"#
        .parse()
        .unwrap();
    s.statements.push(extra);
    let p = s.policy_compact();
    assert!(
        p.ends_with(r#"{"Resource":"*","Effect":"Deny","Action":"s3:*","Sid":"x"}]}"#),
        "{p}"
    );
}

#[test]
fn iam_wildcards_match_as_iam_matches_them() {
    for (pattern, text, matches) in [
        ("a*b/*", "aXb/secret.txt", true),
        ("a*b/*", "a/b/c/b/d", true),
        ("a?b/*", "aXb/x", true),
        ("a?b/*", "ab/x", false),
        ("a?b/*", "aXYb/x", false),
        ("*", "", true),
        ("**", "anything/at/all", true),
        ("", "", true),
        ("", "a", false),
        ("reports/*", "reports/", true),
        ("reports/*", "report", false),
        ("*/*", "a/b", true),
        ("*/*", "ab", false),
        ("A*", "a", false),
        ("?", "é", true),
        ("??", "é", false),
        ("a*b*c", "aXbYbZc", true),
        ("a*b*c", "aXbYbZ", false),
        ("a.b", "aXb", false),
        ("a*", "a*", true),
    ] {
        assert_eq!(iam_matches(pattern, text), matches, "{pattern} {text}");
    }
    let grant = scope(Access::ReadOnly, "a*b/");
    assert_eq!(grant.key_pattern(), "a*b/*");
    assert!(grant.reaches_key("aXb/secret.txt") && !grant.reaches_key("a/secret.txt"));
}

#[test]
fn session_name_is_sanitised_and_bounded() {
    let mut s = scope(Access::ReadOnly, "*");
    assert_eq!(s.session_name(), "s3.read-only.b");
    s.buckets = vec![format!("my:bucket/{}", "x".repeat(100))];
    let name = s.session_name();
    assert_eq!(name.len(), 64);
    assert!(name.starts_with("s3.read-only.my-bucket-xxx"), "{name}");
}
