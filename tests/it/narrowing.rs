//! Asking for less, end to end: over HTTP (`?bucket=&prefix=&
//! access=` on every credential route) and through `s3-credentials-fetch
//! --bucket/--prefix/--read-only`. Widening is refused before any STS call
//! (a fake STS counts them); a narrowing is one STS call, then cached.
//! That radosgw holds a narrowed credential to what it asked is
//! `enforce::a_narrowed_credential_holds_only_what_it_asked_for`.

use crate::support::*;
use std::process::Command;

/// A server of scope `prod` (two buckets, read-write on `reports/`) whose
/// STS is `sts`, and its buckets (`exec_server` uses it too).
pub(crate) fn narrowed_server(
    moto: &Moto,
    sts: &FakeSts,
) -> (Server, String, String, tempfile::TempDir) {
    let (a, b) = (moto.bucket("narrow-a"), moto.bucket("narrow-b"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    std::fs::write(
        &config,
        format!(
            "default = \"prod\"\n[scope.prod]\nbuckets = [\"{a}\", \"{b}\"]\n\
             prefix = \"reports/\"\naccess = \"read-write\"\n"
        ),
    )
    .unwrap();
    let server = sts
        .server(moto, "")
        .arg("--config")
        .arg(config.to_str().unwrap())
        .run();
    (server, a, b, dir)
}

fn fetch(server: &Server, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::new(FETCH);
    aws_env(&mut cmd, server.home.path());
    run(cmd.arg("--socket").arg(server.socket()).args(args))
}

#[test]
fn every_widening_is_refused_with_no_sts_call_on_every_route() {
    let moto = Moto::shared();
    let sts = FakeSts::start(3600);
    let (server, a, _b, _dir) = narrowed_server(moto, &sts);
    let calls = sts.calls();
    let cases = [
        (
            "bucket=elsewhere",
            403,
            "elsewhere\\\" is not in this scope",
        ),
        (
            &format!("bucket={a}&bucket=elsewhere")[..],
            403,
            "not in this scope",
        ),
        ("prefix=rep", 403, "does not extend"),
        ("prefix=", 400, "prefix is empty"),
        ("prefix=drafts%2F", 403, "does not extend"),
        ("prefix=reports%2F..%2F..%2Fsecret", 403, "'..' segment"),
        ("prefix=reports%2F%2A", 403, "wildcard"),
        ("prefix=reports%2F%3F", 403, "wildcard"),
        ("prefix=reports%2F%252F", 403, "encoding"),
        (
            "prefix=reports%2F%24%7Baws%3Ausername%7D",
            403,
            "policy variable",
        ),
        ("prefix=reports%2F%00", 403, "control"),
        ("access=admin", 400, "none of read-write"),
        (
            "role=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fadmin",
            400,
            "unknown parameter",
        ),
        (
            "prefix=reports%2Fa&prefix=reports%2Fb",
            400,
            "one prefix at most",
        ),
    ];
    for route in ["/scope/prod", "/scope/prod/ecs", "/", "/ecs"] {
        for (query, status, says) in &cases {
            let (got, _, body) = server.get(&format!("{route}?{query}"));
            assert_eq!(got, *status, "{route}?{query}: {body}");
            assert!(body.contains(says), "{route}?{query}: {body}");
        }
    }
    assert_eq!(sts.calls(), calls, "a refused narrowing called STS");
    // The same through fetch: one line, nothing on stdout.
    let out = fetch(&server, &["--scope", "prod", "--bucket", "elsewhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("answered 403: Refused: bucket \"elsewhere\""),
        "{stderr}"
    );
    assert_eq!(sts.calls(), calls);
}

#[test]
fn a_narrowing_is_one_sts_call_then_cached_and_fetch_asks_the_same() {
    let moto = Moto::shared();
    let sts = FakeSts::start(3600);
    let (server, _a, b, _dir) = narrowed_server(moto, &sts);
    let (own, _) = key_and_life(&server.get("/scope/prod").2);
    let calls = sts.calls();
    let first = server.get("/scope/prod?prefix=reports%2F2026%2F&access=read-only");
    assert_eq!(first.0, 200, "{}", first.2);
    let (narrowed, _) = key_and_life(&first.2);
    assert_ne!(narrowed, own);
    for _ in 0..5 {
        let (_, _, again) = server.get("/scope/prod?access=read-only&prefix=reports%2F2026%2F");
        assert_eq!(key_and_life(&again).0, narrowed);
    }
    assert_eq!(sts.calls(), calls + 1);
    // fetch's flags ask for the same narrowing: the same cache entry.
    let out = fetch(
        &server,
        &[
            "--scope",
            "prod",
            "--prefix",
            "reports/2026/",
            "--read-only",
        ],
    );
    let body = expect_success(&out);
    assert_eq!(key_and_life(&body).0, narrowed);
    assert_eq!(sts.calls(), calls + 1);
    // Another narrowing is another entry; healthz counts them, no secret.
    let out = fetch(&server, &["--scope", "prod", "--bucket", &b]);
    assert_ne!(key_and_life(&expect_success(&out)).0, narrowed);
    assert_eq!(sts.calls(), calls + 2);
    let (_, _, health) = server.get("/healthz");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["scopes"]["prod"]["narrowed"]["count"], 2, "{health}");
    assert!(
        health["scopes"]["prod"]["narrowed"]["expires_in"]
            .as_u64()
            .unwrap()
            > 3000
    );
    assert!(!health.to_string().contains("fakesecret"));
    // The access log shows what was asked.
    assert!(server.wait_for_stderr(
        "GET /scope/prod?prefix=reports%2F2026%2F&access=read-only 200",
        std::time::Duration::from_secs(5)
    ));
}

#[test]
fn the_minted_policy_is_what_policy_prints_for_the_narrowed_tuple() {
    let moto = Moto::shared();
    let bucket = moto.bucket("narrowpolicy");
    let other = moto.bucket("narrowpolicy-other");
    let statement = r#"{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}"#;
    let server = Start::new(moto, &bucket)
        .arg(&other)
        .args(&["--prefix", "data/", "--statement", statement])
        .run();
    let (status, _, _) = server.get(&format!(
        "/?bucket={other}&prefix=data%2Fx%2F&access=write-only"
    ));
    assert_eq!(status, 200);
    let mut policy = Command::new(SERVER);
    aws_env(&mut policy, server.home.path());
    let pretty = expect_success(&run(policy.args([
        "policy",
        &other,
        "--prefix",
        "data/x/",
        "--write-only",
        "--statement",
        statement,
    ])));
    assert_sent_compact(moto, &pretty);
}

/// Asserts that `pretty` (what `s3-credentials policy` printed) was sent
/// to STS compact, byte for byte.
fn assert_sent_compact(moto: &Moto, pretty: &str) {
    let compact = serde_json::from_str::<serde_json::Value>(pretty)
        .unwrap()
        .to_string();
    assert!(
        sent_policies(moto).contains(&compact),
        "{compact} was not sent"
    );
}

/// Every AssumeRole `Policy` moto has recorded.
fn sent_policies(moto: &Moto) -> Vec<String> {
    use base64::Engine;
    let recording = std::fs::read_to_string(&moto.recording).unwrap_or_default();
    let mut policies = Vec::new();
    for line in recording.lines() {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let body = entry["body"].as_str().unwrap_or_default();
        let bytes = match entry["body_encoded"].as_bool() {
            Some(true) => base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap_or_default(),
            _ => body.as_bytes().to_vec(),
        };
        let form = form_urlencoded::parse(&bytes);
        policies.extend(
            form.filter(|(k, _)| k == "Policy")
                .map(|(_, v)| v.into_owned()),
        );
    }
    policies
}

#[test]
fn exec_narrows_a_named_scope_and_refuses_to_widen_it() {
    let moto = Moto::shared();
    let bucket = moto.bucket("execnarrow");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    std::fs::write(
        &config,
        format!("[scope.prod]\nbuckets = [\"{bucket}\"]\nprefix = \"reports/\"\n"),
    )
    .unwrap();
    let exec = |flags: &[&str]| {
        let mut cmd = Command::new(SERVER);
        aws_env(&mut cmd, dir.path());
        cmd.args([
            "exec",
            "--config",
            config.to_str().unwrap(),
            "--scope",
            "prod",
        ])
        .args(["-d", "15m", "--endpoint-url", &moto.url()])
        .args(flags)
        .args(["--", "true"]);
        run(&mut cmd)
    };
    expect_success(&exec(&["--prefix", "reports/2026/", "--read-only"]));
    let mut policy = Command::new(SERVER);
    aws_env(&mut policy, dir.path());
    let pretty = expect_success(&run(policy.args([
        "policy",
        &bucket,
        "--prefix",
        "reports/2026/",
        "--read-only",
    ])));
    assert_sent_compact(moto, &pretty);
    let out = exec(&["--prefix", "drafts/"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot narrow scope 'prod': prefix \"drafts/\" does not extend"),
        "{stderr}"
    );
}

/// A 63-character scope name (the longest), narrowed by `exec --config`
/// and by the server: both AssumeRoles are named `s3c.NAME.n` and the
/// narrowed policy's hash, cut to STS's 64 characters, the same name for
/// the same narrowing.
#[test]
fn a_narrowed_credentials_session_name_shows_the_narrowing_on_every_path() {
    let moto = Moto::shared();
    let bucket = moto.bucket("narrowname");
    let name = format!("audit-{}", "x".repeat(57));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    let text = format!("[scope.{name}]\nbuckets = [\"{bucket}\"]\nprefix = \"reports/\"\n");
    std::fs::write(&config, text).unwrap();
    let narrowed_names = |from: usize| -> Vec<String> {
        let names = moto.session_names();
        (names[from..].iter())
            .filter(|n| n.starts_with("s3c.audit-"))
            .cloned()
            .collect()
    };
    let before = moto.session_names().len();
    let mut exec = Command::new(SERVER);
    aws_env(&mut exec, dir.path());
    exec.args([
        "exec",
        "--config",
        config.to_str().unwrap(),
        "--scope",
        &name,
    ])
    .args(["-d", "15m", "--endpoint-url", &moto.url()])
    .args(["--prefix", "reports/2026/", "--", "true"]);
    expect_success(&run(&mut exec));
    let by_exec = narrowed_names(before);
    assert_eq!(by_exec.len(), 1, "{by_exec:?}");
    let session = &by_exec[0];
    assert!(session.len() <= 64, "{session} is over 64 characters");
    let tag = session.rsplit_once(".n").map(|(_, tag)| tag).unwrap_or("");
    assert!(
        tag.len() == 8 && tag.chars().all(|c| c.is_ascii_hexdigit()),
        "{session} does not show the narrowing"
    );
    // The server names the same narrowing the same.
    let server = Start::new(moto, "")
        .arg("--config")
        .arg(config.to_str().unwrap())
        .run();
    let before = moto.session_names().len();
    let path = format!("/scope/{name}?prefix=reports%2F2026%2F");
    assert_eq!(server.get(&path).0, 200);
    assert_eq!(narrowed_names(before), by_exec);
}
