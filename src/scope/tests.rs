use super::*;
use crate::policy::Access;

fn cli() -> CommandLine {
    CommandLine {
        grant: None,
        duration: Some("1h".parse().unwrap()),
        role_arn: None,
        serve: Serve::Direct,
        attribute: false,
    }
}

fn parse(text: &str) -> Result<Scopes, String> {
    Scopes::parse(text, &cli()).map_err(|e| e.to_string())
}

const TWO: &str = r#"
default = "prod"
duration = "2h"

[scope.prod]
buckets = ["prod-data", "prod-logs"]
access = "read-only"

[scope.scratch]
buckets = ["scratch"]
prefix = "me/"
duration = 900
role_arn = "arn:aws:iam::123456789012:role/r"
statements = [{Effect = "Deny", Action = "s3:DeleteObject", Resource = "*"}]
"#;

#[test]
fn a_file_declares_scopes_with_fallbacks() {
    let scopes = parse(TWO).unwrap();
    assert_eq!(scopes.default.as_deref(), Some("prod"));
    let prod = &scopes.by_name["prod"];
    assert_eq!(prod.grant.buckets, ["prod-data", "prod-logs"]);
    assert_eq!(prod.grant.access, Access::ReadOnly);
    assert_eq!(prod.grant.prefix, "*");
    assert_eq!(prod.duration.secs(), 7200);
    assert_eq!(prod.role_arn, None);
    assert_eq!(prod.session_name, "s3c.prod");
    let scratch = &scopes.by_name["scratch"];
    assert_eq!(scratch.grant.access, Access::ReadWrite);
    assert_eq!(scratch.grant.prefix, "me/");
    assert_eq!(scratch.duration.secs(), 900);
    assert_eq!(
        scratch.role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/r")
    );
    let policy = scratch.grant.policy_compact();
    assert!(
        policy.ends_with(r#"{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#),
        "{policy}"
    );
}

#[test]
fn the_command_line_buckets_are_the_default_scope() {
    let mut with_buckets = cli();
    with_buckets.grant = Some(Grant {
        buckets: vec!["cli-bucket".into()],
        access: Access::WriteOnly,
        prefix: "*".into(),
        statements: vec![],
    });
    let text = "[scope.other]\nbuckets = [\"b1\"]\n";
    let scopes = Scopes::parse(text, &with_buckets).unwrap();
    assert_eq!(scopes.default.as_deref(), Some(DEFAULT_SCOPE));
    let default = scopes.default_scope().unwrap();
    assert_eq!(default.session_name, "s3.write-only.cli-bucket");
    assert_eq!(scopes.by_name.len(), 2);
    let err = Scopes::parse(
        "default = \"other\"\n[scope.other]\nbuckets = [\"b1\"]",
        &with_buckets,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with("1: default: the buckets on the command line"),
        "{err}"
    );
    let err = Scopes::parse("[scope.default]\nbuckets = [\"b1\"]", &with_buckets).unwrap_err();
    assert_eq!((err.line, err.key.as_str()), (1, "scope.default"));
}

#[test]
fn without_a_default_scope_there_is_none() {
    let scopes = parse("[scope.a]\nbuckets = [\"b1\"]").unwrap();
    assert_eq!(scopes.default, None);
    assert!(scopes.default_scope().is_none());
}

#[test]
fn errors_name_the_line_and_the_key() {
    for (text, expected) in [
        (
            "[scope.a]\nbuckets = [\"b1\"]\naccess = \"rw\"",
            "3: scope.a.access: unknown variant `rw`",
        ),
        (
            "[scope.a]\nbuckets = []",
            "2: scope.a.buckets: list at least one bucket",
        ),
        (
            "[scope.a]\nbuckets = [\"b/1\"]",
            "2: scope.a.buckets[0]: a bucket name is",
        ),
        (
            "[scope.a]\nbuckets = [\"b1\"]\nacess = 1",
            "3: scope.a.acess: unknown field `acess`",
        ),
        (
            "\n[scope.Bad]\nbuckets = [\"b1\"]",
            "2: scope.Bad: a scope name is",
        ),
        (
            "[scope.a]\nbuckets = \"b1\"",
            "2: scope.a.buckets: invalid type: string",
        ),
        (
            "[scope.a]\nbuckets = [\"b1\"]\nduration = \"5m\"",
            "3: scope.a.duration: Duration must be between",
        ),
        (
            "duration = \"1x\"\n[scope.a]\nbuckets = [\"b1\"]",
            "1: duration: Duration must be of form",
        ),
        (
            "default = \"b\"\n[scope.a]\nbuckets = [\"b1\"]",
            "1: default: no scope is named 'b'",
        ),
        (
            "[scope.a]\nbuckets = [\"b1\"]\nrole_arn = \"r\"",
            "3: scope.a.role_arn: a role ARN starts with arn:",
        ),
        (
            "[scope.a]\nbuckets = [\"b1\"]\nstatements = [{Effect = \"Allow\"}]",
            "3: scope.a.statements[0]: Statement JSON missing required keys: Action, Resource",
        ),
        ("[scope.a]\nbuckets = [\"b1\"", "2: "),
        ("", "declares no scope"),
    ] {
        let err = parse(text).unwrap_err();
        assert!(
            err.starts_with(expected)
                || (expected.starts_with("declares") && err.contains(expected)),
            "{text:?}:\n{err}"
        );
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn a_scope_without_any_duration_is_refused() {
    let mut no_duration = cli();
    no_duration.duration = None;
    let err = Scopes::parse("\n[scope.a]\nbuckets = [\"b1\"]", &no_duration).unwrap_err();
    assert_eq!((err.line, err.key.as_str()), (2, "scope.a.duration"));
    let ok = Scopes::parse(
        "duration = \"15m\"\n[scope.a]\nbuckets = [\"b1\"]",
        &no_duration,
    );
    assert_eq!(ok.unwrap().by_name["a"].duration.secs(), 900);
}

#[test]
fn load_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scopes.toml");
    std::fs::write(&path, "[scope.a]\nbuckets = 1\n").unwrap();
    let err = Scopes::load(&path, &cli()).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}:2: scope.a.buckets: invalid type: integer `1`, expected a sequence",
            path.display()
        )
    );
    let missing = Scopes::load(&dir.path().join("nope.toml"), &cli()).unwrap_err();
    assert!(missing.to_string().starts_with("cannot read "), "{missing}");
}

#[test]
fn what_the_gateway_cannot_serve_is_refused_and_attribution_through_it_is_not() {
    for (text, expected) in [
        (
            "[scope.a]\nbuckets = [\"b1\"]\nupstream = \"keys\"",
            "3: scope.a.upstream: the upstream is the gateway's: add serve = \"gateway\"",
        ),
        (
            "[scope.a]\nbuckets = [\"b1\"]\nserve = \"gateway\"\n\
             statements = [{Effect = \"Deny\", Action = \"s3:*\", Resource = \"*\"}]",
            "3: scope.a.statements: the gateway cannot enforce extra statements",
        ),
        (
            "[scope.a]\nbuckets = [\"b1\"]\nserve = \"gateway\"\nupstream = \"keys\"\n\
             role_arn = \"arn:aws:iam::123456789012:role/r\"",
            "3: scope.a.role_arn: upstream = \"keys\" assumes no role",
        ),
        (
            "[scope.a]\nbuckets = [\"b1\"]\nserve = \"gateway\"\nupstream = \"keys\"\n\
             attribute = \"caller\"",
            "3: scope.a.attribute: attribute = \"caller\" names each caller's STS session",
        ),
    ] {
        let err = parse(text).unwrap_err();
        assert!(err.starts_with(expected), "{text:?}:\n{err}");
    }
    let text = "[scope.a]\nbuckets = [\"b1\"]\nserve = \"gateway\"\nattribute = \"caller\"";
    let scope = &parse(text).unwrap().by_name["a"];
    assert!(scope.attribute);
    assert_eq!(scope.serve, Serve::Gateway(Upstream::Sts));
}
