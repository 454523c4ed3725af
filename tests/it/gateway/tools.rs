//! The commands around a scope served through the gateway: `exec
//! --server` gives its child the gateway as its S3 endpoint (and `exec`
//! alone refuses such a scope), `verify` proves the gateway alone holds an
//! `upstream = "keys"` scope, and `doctor` checks a gateway profile end to
//! end.

use super::{bed, gateway_port, scopes};
use crate::support::*;
use std::process::Command;

/// A server of the bed's scopes with its Unix socket (the owner's routes
/// `exec --server` and `verify` ask), and its gateway's port.
fn with_socket(dir: &std::path::Path) -> (Server, u16) {
    let bed = bed();
    let path = dir.join("scopes.toml");
    std::fs::write(&path, scopes(&bed.bucket, &bed.other)).unwrap();
    let server = Start::new(&bed.moto, "")
        .args(&["--config", path.to_str().unwrap(), "--gateway", "0"])
        .run();
    let gw = gateway_port(&server);
    (server, gw)
}

#[test]
fn exec_server_points_its_child_at_the_gateway_and_exec_alone_refuses_such_a_scope() {
    let bed = bed();
    let dir = tempfile::tempdir().unwrap();
    let (server, gw) = with_socket(dir.path());
    let key = format!("team/{}/exec.txt", unique("x"));
    let script = format!(
        "echo \"$AWS_ENDPOINT_URL_S3\"; echo via-exec | aws s3 cp - s3://{}/{key} && \
         aws s3 cp s3://{}/{key} -",
        bed.bucket, bed.bucket
    );
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    let path = format!(
        "{}:{}",
        tool("aws").parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("PATH", path)
        .args(["exec", "--server", "--socket"])
        .arg(server.socket())
        .args(["--scope", "up", "--", "sh", "-c", &script]);
    let said = expect_success(&run(&mut cmd));
    assert_eq!(said, format!("http://127.0.0.1:{gw}\nvia-exec\n"));
    // Alone, exec would mint local credentials no gateway takes.
    let mut alone = Command::new(SERVER);
    aws_env(&mut alone, home.path());
    let config = dir.path().join("scopes.toml");
    alone.args([
        "exec",
        "--config",
        config.to_str().unwrap(),
        "--scope",
        "up",
        "--",
        "true",
    ]);
    let out = run(&mut alone);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("scope 'up' is served through the gateway, which exec does not run"),
        "{stderr}"
    );
}

#[test]
fn verify_proves_the_gateway_alone_holds_an_upstream_keys_scope() {
    let bed = bed();
    let dir = tempfile::tempdir().unwrap();
    let (server, gw) = with_socket(dir.path());
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["verify", "--socket"])
        .arg(server.socket())
        .args(["--scope", "up", "--outside-bucket", &bed.other]);
    let said = expect_success(&run(&mut cmd));
    let verdict = format!(
        "scope up is enforced here, by the gateway at http://127.0.0.1:{gw} alone \
         (upstream = \"keys\"): every request it must refuse was refused"
    );
    assert!(said.trim_end().ends_with(&verdict), "{said}");
    assert!(!said.contains("ALLOWED"), "{said}");
}

/// doctor's line for profile `gw` of `config`, with the bed's server asked.
fn doctor_says(config: &str) -> String {
    let bed = bed();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    std::fs::write(home.path().join("aws-config"), config).unwrap();
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["doctor", "--profile", "gw", "--port"])
        .arg(bed.server.port.to_string());
    let out = run(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (stdout.lines())
        .find(|l| l.contains("profile gw:"))
        .unwrap_or_else(|| panic!("no profile line: {stdout}"))
        .to_owned()
}

#[test]
fn doctor_checks_a_gateway_profile_end_to_end() {
    let bed = bed();
    let fetch = format!(
        "{FETCH} --url http://127.0.0.1:{}/scope/up",
        bed.server.port
    );
    let profile = format!("[profile gw]\ncredential_process = {fetch}\n");
    let to_aws = doctor_says(&profile);
    assert!(to_aws.starts_with("FAIL  profile gw: "), "{to_aws}");
    assert!(
        to_aws.contains("answers with a local credential") && to_aws.contains("services = gateway"),
        "{to_aws}"
    );
    let services = |url: &str| {
        format!("{profile}services = gw\n\n[services gw]\ns3 =\n  endpoint_url = {url}\n")
    };
    let gateway = format!("http://127.0.0.1:{}", bed.gw);
    let through = doctor_says(&services(&gateway));
    let taken = format!("answers with a local credential, and the gateway at {gateway} takes it");
    assert!(
        through.starts_with("ok    profile gw: ") && through.ends_with(&taken),
        "{through}"
    );
    // Straight to the store, which never issued the local credential.
    let elsewhere = doctor_says(&services(&bed.moto.url()));
    assert!(
        elsewhere.starts_with("FAIL  profile gw: ")
            && elsewhere.contains("takes any signature, so it is not the gateway that issued it"),
        "{elsewhere}"
    );
}
