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
