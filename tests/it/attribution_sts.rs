//! What AWS sees of an attributed AssumeRole (`SourceIdentity`, session
//! tags), as the strict relay judges it: refused, in AWS's words, when the
//! role's trust policy does not allow `sts:SetSourceIdentity` or
//! `sts:TagSession`; recorded when it does; the role the server makes
//! allows both, and doctor reads a role's trust policy as the relay does.

use crate::support::*;
use serde_json::{json, Value};
use std::process::Command;

/// A role in moto trusting the account's root for `actions`; its ARN.
fn role_trusting(moto: &Moto, name: &str, actions: Value) -> String {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": actions}]});
    let script = "import sys, boto3\n\
        iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1', \
        aws_access_key_id='testing', aws_secret_access_key='testing')\n\
        try:\n    iam.delete_role(RoleName=sys.argv[2])\nexcept Exception:\n    pass\n\
        print(iam.create_role(RoleName=sys.argv[2], AssumeRolePolicyDocument=sys.argv[3])['Role']['Arn'])";
    let out = run(Command::new(tool("python3")).args([
        "-c",
        script,
        &moto.url(),
        name,
        &trust.to_string(),
    ]));
    expect_success(&out).trim().to_owned()
}

/// Each of `calls` (`{"RoleArn", "RoleSessionName", and optionally
/// "SourceIdentity", "Tags"}`) sent as boto3's AssumeRole through the
/// relay: `"ok"`, or `CODE: message`.
fn assume_roles(moto: &Moto, calls: &[Value]) -> Vec<String> {
    let script = "import json, sys, boto3, botocore\n\
        sts = boto3.client('sts', endpoint_url=sys.argv[1], region_name='us-east-1', \
        aws_access_key_id='testing', aws_secret_access_key='testing')\n\
        for call in json.loads(sys.argv[2]):\n\
        \x20   try:\n\
        \x20       sts.assume_role(**call)\n\
        \x20       print('ok')\n\
        \x20   except botocore.exceptions.ClientError as e:\n\
        \x20       print(e.response['Error']['Code'] + ': ' + e.response['Error']['Message'])";
    let calls = Value::from(calls.to_vec()).to_string();
    let out = run(Command::new(tool("python3")).args(["-c", script, &moto.url(), &calls]));
    expect_success(&out).lines().map(str::to_owned).collect()
}

/// An attributed AssumeRole of `role` under `session`: with a
/// SourceIdentity, the tags, or both.
fn call(role: &str, session: &str, identity: bool, tags: bool) -> Value {
    let mut call = json!({"RoleArn": role, "RoleSessionName": session});
    if identity {
        call["SourceIdentity"] = "alice@laptop".into();
    }
    if tags {
        call["Tags"] = json!([{"Key": "s3c-user", "Value": "alice"},
            {"Key": "s3c-program", "Value": "python3"}]);
    }
    call
}

fn refused(action: &str, role: &str) -> String {
    format!(
        "AccessDenied: User: arn:aws:iam::123456789012:user/test is not authorized to \
         perform: {action} on resource: {role}"
    )
}

#[test]
fn the_relay_refuses_attribution_a_trust_policy_does_not_allow_in_aws_words() {
    let moto = Moto::shared();
    let bare = role_trusting(moto, "attr-bare", json!("sts:AssumeRole"));
    let tags_only = role_trusting(
        moto,
        "attr-tags",
        json!(["sts:AssumeRole", "sts:TagSession"]),
    );
    let all = role_trusting(moto, "attr-all", json!("sts:*"));
    let session = unique("attr");
    let said = assume_roles(
        moto,
        &[
            call(&bare, &session, false, false),
            call(&bare, &session, true, true),
            call(&bare, &session, false, true),
            call(&tags_only, &session, true, true),
            call(&tags_only, &session, false, true),
            call(&all, &session, true, true),
        ],
    );
    assert_eq!(
        said,
        [
            "ok".to_owned(),
            refused("sts:SetSourceIdentity", &bare),
            refused("sts:TagSession", &bare),
            refused("sts:SetSourceIdentity", &tags_only),
            "ok".to_owned(),
            "ok".to_owned(),
        ]
    );
    let seen: Vec<AssumeRoleSeen> = (moto.assume_roles_seen().into_iter())
        .filter(|s| s.session_name == session)
        .collect();
    let refusals: Vec<Option<&str>> = seen.iter().map(|s| s.refused.as_deref()).collect();
    let denied = Some("AccessDenied");
    assert_eq!(refusals, [None, denied, denied, denied, None, None]);
    let last = seen.last().unwrap();
    assert_eq!(last.source_identity.as_deref(), Some("alice@laptop"));
    let tags = [("s3c-user", "alice"), ("s3c-program", "python3")];
    assert_eq!(last.tags, tags.map(|(k, v)| (k.to_owned(), v.to_owned())));
    assert_eq!(
        (seen[0].source_identity.clone(), seen[0].tags.len()),
        (None, 0)
    );
}

#[test]
fn the_relay_refuses_an_identity_or_a_tag_sts_would_not_take() {
    let moto = Moto::shared();
    let all = role_trusting(moto, "attr-all-values", json!("sts:*"));
    let session = unique("attr-bad");
    let mut spaced = call(&all, &session, true, false);
    spaced["SourceIdentity"] = "al ice@laptop".into();
    let mut starred = call(&all, &session, false, true);
    starred["Tags"][1]["Value"] = "my*tool".into();
    let mut letters = call(&all, &session, false, true);
    letters["Tags"][1]["Value"] = "Jos\u{e9} \u{a0}/=+-@.:_ \u{661}".into();
    let said = assume_roles(moto, &[spaced, starred, letters]);
    assert!(said[0].starts_with("ValidationError:") && said[0].contains("sourceIdentity"));
    assert!(said[1].starts_with("ValidationError:") && said[1].contains("tags.2.member.value"));
    assert_eq!(said[2], "ok");
}

#[test]
fn the_role_the_server_makes_allows_attribution_and_doctor_reads_trust_as_the_relay_does() {
    let moto = Moto::start();
    let bucket = moto.bucket("attr-default");
    let server = Start::new(&moto, &bucket).run();
    let made = "arn:aws:iam::123456789012:role/s3-credentials.AmazonS3FullAccess";
    let session = unique("attr-made");
    assert_eq!(
        assume_roles(&moto, &[call(made, &session, true, true)]),
        ["ok"]
    );
    drop(server);
    let bare = role_trusting(&moto, "attr-doctor-bare", json!("sts:AssumeRole"));
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("scopes.toml");
    std::fs::write(
        &config,
        format!(
            "[scope.made]\nbuckets = [\"{bucket}\"]\nduration = \"1h\"\nattribute = \"caller\"\n\n\
             [scope.bare]\nbuckets = [\"{bucket}\"]\nduration = \"1h\"\nattribute = \"caller\"\n\
             role_arn = \"{bare}\"\n\n\
             [scope.plain]\nbuckets = [\"{bucket}\"]\nduration = \"1h\"\nrole_arn = \"{bare}\"\n"
        ),
    )
    .unwrap();
    let url = moto.url();
    let args = ["--config", config.to_str().unwrap()];
    let (_, report) = crate::doctor::doctor(home.path(), &[("AWS_ENDPOINT_URL", &url)], &[], &args);
    let trust =
        |scope: &str| crate::doctor::named(&report, &format!("scope {scope}: trust policy"));
    assert_eq!(trust("made")[0].0, "ok", "{report}");
    let (status, said) = &trust("bare")[0];
    assert_eq!(status, "fail", "{report}");
    assert!(
        said.starts_with(
            "role attr-doctor-bare's trust policy does not allow sts:SetSourceIdentity or \
             sts:TagSession: the role's trust policy must allow"
        ) && said.contains("add \"Action\": [\"sts:AssumeRole\", \"sts:SetSourceIdentity\""),
        "{said}"
    );
    assert!(
        trust("plain").is_empty(),
        "a scope that does not attribute: {report}"
    );
    // The relay, as AWS, refuses what doctor failed.
    let said = assume_roles(&moto, &[call(&bare, &session, true, true)]);
    assert_eq!(said, [refused("sts:SetSourceIdentity", &bare)]);
}

#[test]
fn a_role_without_attributions_actions_is_one_line_at_startup() {
    let moto = Moto::start_strict(&Strict::default());
    let bucket = moto.bucket("attr-bare");
    let bare = role_trusting(&moto, "attr-startup-bare", json!("sts:AssumeRole"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    // Served directly, and through the gateway (whose callers' sessions
    // are attributed the same way).
    for (serve, flags) in [
        ("", &[][..]),
        ("serve = \"gateway\"\n", &["--gateway", "0"][..]),
    ] {
        let text = format!(
            "[scope.bare]\nbuckets = [\"{bucket}\"]\nduration = \"1h\"\nattribute = \"caller\"\n\
             role_arn = \"{bare}\"\n{serve}"
        );
        std::fs::write(&config, text).unwrap();
        let lines = Start::new(&moto, "")
            .args(&["--config", config.to_str().unwrap()])
            .args(flags)
            .try_run()
            .err()
            .expect("the server refuses to start");
        let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("Error: ")).collect();
        assert_eq!(errors.len(), 1, "{lines:#?}");
        assert!(
            errors[0].starts_with("Error: scope 'bare': ")
                && errors[0].contains("the role's trust policy must allow sts:SetSourceIdentity and sts:TagSession for attribute = \"caller\""),
            "{serve}: {lines:#?}"
        );
    }
}
