//! What moto forgives and AWS refuses, through the strict relay
//! in front of moto (`tests/backends/strict/relay.py`), and the IMDS, exec
//! and endpoint details real clients trip on.

use crate::clients::imds_server;
use crate::support::*;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

/// An IMDSv2 token from `port`.
fn imds_token(port: u16) -> String {
    let put = format!(
        "PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         X-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n"
    );
    let (status, _, token) = http(SocketAddr::from(([127, 0, 0, 1], port)), &put);
    assert_eq!(status, 200);
    token
}

fn imds_get(port: u16, token: &str, path: &str) -> Reply {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-aws-ec2-metadata-token: {token}\r\n\r\n"
    );
    http(SocketAddr::from(([127, 0, 0, 1], port)), &request)
}

#[test]
fn imds_answers_both_slash_forms_a_doubled_slash_and_ec2s_instance_paths() {
    let moto = Moto::shared();
    let (server, port) = imds_server(moto, &moto.bucket("imdspaths"));
    let line = server
        .stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("IMDSv2: "))
        .unwrap();
    assert!(
        line.starts_with(&format!("IMDSv2: http://127.0.0.1:{port} (for")),
        "{line}"
    );
    let token = imds_token(port);
    // The AWS SDK for C++ (pyarrow, duckdb) asks without the slash.
    for path in [
        "/latest/meta-data/iam/security-credentials",
        "/latest/meta-data/iam/security-credentials/",
        "//latest/meta-data/iam/security-credentials/",
    ] {
        let (status, _, body) = imds_get(port, &token, path);
        assert_eq!((status, body.as_str()), (200, "s3-credentials"), "{path}");
    }
    // JS v2 and object_store, given an endpoint ending in `/`, double it.
    let (status, _, body) = imds_get(
        port,
        &token,
        "//latest/meta-data/iam/security-credentials/s3-credentials",
    );
    assert_eq!(status, 200);
    assert!(body.contains("\"AccessKeyId\""), "{body}");
    let put = "PUT //latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n\
               X-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n";
    assert_eq!(http(SocketAddr::from(([127, 0, 0, 1], port)), put).0, 200);
    // What tools read for their region and instance profile.
    let (_, _, info) = imds_get(port, &token, "/latest/meta-data/iam/info");
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["Code"], "Success");
    assert_eq!(
        info["InstanceProfileArn"],
        "arn:aws:iam::123456789012:instance-profile/s3-credentials"
    );
    let (_, _, region) = imds_get(port, &token, "/latest/meta-data/placement/region");
    assert_eq!(region, "us-east-1");
    let (_, _, zone) = imds_get(
        port,
        &token,
        "/latest/meta-data/placement/availability-zone",
    );
    assert_eq!(zone, "us-east-1a");
    let (_, _, doc) = imds_get(port, &token, "/latest/dynamic/instance-identity/document");
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(
        (doc["region"].as_str(), doc["accountId"].as_str()),
        (Some("us-east-1"), Some("123456789012"))
    );
    // Still no IMDSv1.
    assert_eq!(
        imds_get(port, "wrong", "/latest/meta-data/placement/region").0,
        401
    );
}

#[test]
fn a_non_ascii_prefix_is_escaped_as_the_original_and_sts_takes_it() {
    let original = tool("s3-credentials");
    let home = tempfile::tempdir().unwrap();
    for mode in [&[][..], &["--read-only"], &["--write-only"]] {
        let mut args = vec!["policy", "b-one", "b-two", "--prefix", "レポート/😀"];
        args.extend_from_slice(mode);
        let mut ours = Command::new(SERVER);
        aws_env(&mut ours, home.path());
        let ours = expect_success(&run(ours.args(&args)));
        let theirs = expect_success(&run(Command::new(&original).args(&args)));
        assert_eq!(ours, theirs, "{args:?}");
        assert!(ours.is_ascii() && ours.contains("\\u30ec\\u30dd\\u30fc\\u30c8/\\ud83d\\ude00"));
    }
    // The strict relay refuses a raw non-Latin-1 policy, as STS does.
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("unicode"))
        .args(&["--prefix", "レポート/"])
        .run();
    assert_eq!(server.get("/").0, 200);
}

/// Five buckets with 36-character names: a policy over 2,048 characters.
fn big_buckets(moto: &Moto) -> Vec<String> {
    (0..5)
        .map(|i| moto.bucket(&format!("policy-size-check-bucket-{i}")))
        .collect()
}

#[test]
fn a_policy_over_stss_size_fails_before_sts_at_startup_and_at_reload() {
    let moto = Moto::shared();
    let buckets = big_buckets(moto);
    let calls_before = moto.signers("sts").len();
    let mut start = Start::new(moto, &buckets[0]);
    for bucket in &buckets[1..] {
        start = start.arg(bucket);
    }
    let lines = start.try_run().err().expect("refused");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert!(
        line.starts_with("Error: the session policy for 'policy-size"),
        "{line}"
    );
    assert!(
        line.contains("characters, over STS's limit of 2048"),
        "{line}"
    );
    assert!(
        line.contains("one scope per bucket") && line.contains("--role-arn"),
        "{line}"
    );
    // Checked before any AssumeRole: no AssumeRole reached the relay.
    let text = std::fs::read_to_string(&moto.signed).unwrap();
    let new: Vec<&str> = text.lines().skip(calls_before).collect();
    assert!(!new
        .iter()
        .any(|l| l.contains("\"AssumeRole\"") && l.contains(&buckets[0])));
    // At reload: the big scope is refused, the others stay.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s3.toml");
    std::fs::write(
        &path,
        format!("[scope.small]\nbuckets = [\"{}\"]\n", buckets[0]),
    )
    .unwrap();
    let server = Start::new(moto, "")
        .arg("--config")
        .arg(path.to_str().unwrap())
        .run();
    let list: Vec<String> = buckets.iter().map(|b| format!("\"{b}\"")).collect();
    std::fs::write(
        &path,
        format!(
            "[scope.small]\nbuckets = [\"{}\"]\n[scope.big]\nbuckets = [{}]\n",
            buckets[0],
            list.join(", ")
        ),
    )
    .unwrap();
    signal(&server.child, nix::sys::signal::Signal::SIGHUP);
    assert!(server.wait_for_stderr("scope 'big': the session policy", Duration::from_secs(10)));
    assert_eq!(server.get("/scope/small").0, 200);
    assert_eq!(server.get("/scope/big").0, 404);
}

#[test]
fn a_role_iam_has_not_made_assumable_yet_is_waited_for() {
    let moto = Moto::start_strict(&Strict {
        new_role_grace_secs: 3.0,
        ..Strict::default()
    });
    let bucket = moto.bucket("newrole");
    let started = std::time::Instant::now();
    let server = Start::new(&moto, &bucket).run();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "it did not wait"
    );
    let lines = server.stderr_lines();
    let waits: Vec<_> = lines
        .iter()
        .filter(|l| l.starts_with("Waiting for IAM"))
        .collect();
    assert_eq!(waits.len(), 1, "{lines:#?}");
    assert!(
        waits[0].contains("s3-credentials.AmazonS3FullAccess"),
        "{}",
        waits[0]
    );
    assert_eq!(server.get("/").0, 200);
    // A role it did not make is not waited for: AccessDenied is final.
    let denied = Start::new(&moto, &bucket)
        .args(&[
            "--role-arn",
            "arn:aws:iam::123456789012:role/s3-credentials.AmazonS3FullAccess",
        ])
        .try_run();
    assert!(denied.is_ok(), "the role is assumable by now");
}

#[test]
fn root_keys_fail_before_any_iam_call() {
    let moto = Moto::start_strict(&Strict {
        root_keys: vec!["AKIAROOTROOTROOT0000".into()],
        ..Strict::default()
    });
    let bucket = moto.bucket("root");
    let lines = Start::new(&moto, &bucket)
        .env("AWS_ACCESS_KEY_ID", "AKIAROOTROOTROOT0000")
        .try_run()
        .err()
        .expect("refused");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains("root user's keys of AWS account 123456789012"),
        "{lines:?}"
    );
    assert!(lines[0].contains("an IAM user's keys, a role") && lines[0].contains("SSO"));
    assert!(moto.signers("iam").is_empty(), "an IAM call was made");
}

#[test]
fn endpoints_from_the_environment_are_addressed_by_path_as_the_flag_is() {
    let moto = Moto::shared();
    let bucket = moto.bucket("envendpoint");
    let url = format!("http://localhost:{}", moto.port);
    let mut start = Start::new(moto, &bucket)
        .env("AWS_ENDPOINT_URL_S3", &url)
        .env("AWS_ENDPOINT_URL_STS", &url)
        .env("AWS_ENDPOINT_URL_IAM", &url);
    start.endpoint_flag = false;
    let server = start.run();
    assert_eq!(server.get("/").0, 200);
}

#[test]
fn auth_with_any_key_option_is_the_originals_error() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let auth = dir.path().join("keys.json");
    std::fs::write(
        &auth,
        r#"{"AccessKeyId": "A", "SecretAccessKey": "sekrit"}"#,
    )
    .unwrap();
    for keys in [
        &["--access-key", "K"][..],
        &["--secret-key", "S"],
        &["--session-token", "T"],
    ] {
        let mut cmd = Command::new(SERVER);
        aws_env(&mut cmd, dir.path());
        cmd.args(["localserver", &moto.bucket("authkeys"), "-d", "1h", "-a"])
            .arg(&auth)
            .args(keys);
        let out = run(&mut cmd);
        assert_eq!(out.status.code(), Some(1), "{keys:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "Error: --auth cannot be used with --access-key, --secret-key or --session-token\n"
        );
    }
}

const CHILD_TOKEN: &str = r#"
import os, stat, sys
path = os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]
token = open(path).read()
assert token == os.environ["AWS_CONTAINER_AUTHORIZATION_TOKEN"], "file and variable differ"
assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, oct(os.stat(path).st_mode)
assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
print(path)
"#;

#[test]
fn exec_gives_the_token_as_a_variable_and_as_a_private_file_removed_after() {
    let moto = Moto::shared();
    let bucket = moto.bucket("exectokenfile");
    let home = tempfile::tempdir().unwrap();
    let mut cmd = exec_command(moto, &bucket, home.path());
    cmd.args(["python3", "-c", CHILD_TOKEN])
        .stdin(Stdio::null());
    let path = expect_success(&run(&mut cmd));
    let path = std::path::Path::new(path.trim());
    assert!(path.is_absolute(), "{path:?}");
    assert!(
        !path.exists() && !path.parent().unwrap().exists(),
        "left behind"
    );
}

const BOTO3_LIST: &str = r#"
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.put_object(Bucket=sys.argv[2], Key="signed.txt", Body=b"x")
print(s3.get_credentials().access_key if hasattr(s3, "get_credentials") else
      boto3.Session().get_credentials().access_key)
"#;

#[test]
fn the_relay_records_that_a_client_signed_with_the_served_key() {
    let moto = Moto::shared();
    let bucket = moto.bucket("signedwith");
    let server = Start::new(moto, &bucket).run();
    let (served, _) = key_and_life(&server.get("/").2);
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tool("python3"));
    aws_env(&mut cmd, home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("http://127.0.0.1:{}/ecs", server.port),
        )
        .args(["-c", BOTO3_LIST, &moto.url(), &bucket]);
    let used = expect_success(&run(&mut cmd));
    assert_eq!(used.trim(), served);
    assert!(
        moto.signers("s3").contains(&served),
        "no S3 request signed with the served key"
    );
}
