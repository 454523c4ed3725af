//! `exec --server`: a child's credential taken from a running
//! localserver over its Unix socket, narrowed as asked, renewed before each
//! expires, with no AWS keys in exec's environment or the child's.

use crate::support::*;
use std::process::Command;

/// `s3-credentials exec --server --socket S ARGS -- COMMAND`, with no AWS
/// keys, profile or config anywhere in its environment.
fn exec_server(server: &Server, moto: &Moto, args: &[&str], command: &[&str]) -> Command {
    let mut cmd = Command::new(SERVER);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", server.home.path())
        .env("XDG_RUNTIME_DIR", server.home.path())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", moto.url())
        .args(["exec", "--server", "--socket"])
        .arg(server.socket())
        .args(args)
        .arg("--")
        .args(command);
    cmd
}

/// `s3_credentials_narrowed_total{scope="prod",event}`.
fn narrowed(server: &Server, event: &str) -> usize {
    let (_, _, metrics) = server.get("/metrics");
    let series = format!("s3_credentials_narrowed_total{{scope=\"prod\",event=\"{event}\"}}");
    metrics
        .lines()
        .find(|l| l.starts_with(&series))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0)
}

/// The fake STS's credentials live 20 seconds; the child runs 30 and keeps
/// working on the credentials exec keeps asking the server for.
#[test]
fn an_exec_server_child_outlives_its_credentials_holding_no_aws_keys() {
    let moto = Moto::shared();
    let sts = FakeSts::start(20);
    let (server, a, _b, _dir) = crate::narrowing::narrowed_server(moto, &sts);
    let script = r#"
import os, sys, time, boto3
secret_free = [k for k in os.environ if k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")]
s3 = boto3.client("s3")
keys = set()
for i in range(30):
    s3.put_object(Bucket=sys.argv[1], Key=f"reports/2026/k{i}", Body=b"x")
    keys.add(s3._request_signer._credentials.get_frozen_credentials().access_key)
    time.sleep(1)
print(",".join(sorted(keys)), ",".join(secret_free))
"#;
    let py = tool("python3");
    let mut cmd = exec_server(
        &server,
        moto,
        &[
            "--scope",
            "prod",
            "--bucket",
            &a,
            "--prefix",
            "reports/2026/",
        ],
        &[py.to_str().unwrap(), "-c", script, &a],
    );
    let out = expect_success(&run(&mut cmd));
    let (keys, named) = out.trim().split_once(' ').unwrap_or((out.trim(), ""));
    let keys: Vec<&str> = keys.split(',').collect();
    assert!(
        keys.len() >= 2,
        "the child used {keys:?} in 30 s of 20-second credentials"
    );
    // The fake STS's keys, never the server's own ("testing").
    assert!(keys.iter().all(|k| k.starts_with("ASIAFAKE")), "{keys:?}");
    assert_eq!(named, "", "the child saw key variables");
    // Narrowed by the server: one entry, made once, then asked again
    // (and renewed, being used) as exec re-asked before each expiry.
    assert_eq!(narrowed(&server, "mint"), 1);
    assert!(
        narrowed(&server, "hit") >= 2,
        "{}",
        narrowed(&server, "hit")
    );
}

#[test]
fn exec_server_fails_before_the_child_when_no_server_or_a_widening_answers() {
    let moto = Moto::shared();
    let sts = FakeSts::start(3600);
    let (server, _a, _b, dir) = crate::narrowing::narrowed_server(moto, &sts);
    let marker = dir.path().join("ran");
    let touch = ["touch", marker.to_str().unwrap()];
    // Nobody on the socket.
    let nowhere = dir.path().join("nowhere.sock");
    let mut cmd = Command::new(SERVER);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .args(["exec", "--server", "--socket"])
        .arg(&nowhere)
        .arg("--")
        .args(touch);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no localserver is running on") && stderr.contains("nowhere.sock"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A widening: the server's 403 reason, and no child.
    let calls = sts.calls();
    let out = run(&mut exec_server(
        &server,
        moto,
        &["--scope", "prod", "--bucket", "elsewhere"],
        &touch,
    ));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("answered 403") && stderr.contains("not in this scope"),
        "{stderr}"
    );
    assert_eq!(sts.calls(), calls);
    assert!(!marker.exists(), "the child ran");
}
