//! Clients beyond `credential_process`: `s3-credentials-fetch --format`
//! evaluated by real shells, end to end against moto with the AWS CLI.

use crate::support::*;
use s3_credentials::body::Export;
use std::path::Path;
use std::process::Command;

/// A shell command line with the AWS CLI's environment: no keys, the
/// server's endpoint for the CLI's S3 calls.
fn shell(program: &str, script: &str, home: &Path) -> std::process::Output {
    let mut cmd = Command::new(program);
    aws_env(&mut cmd, home);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env(
            "PATH",
            format!(
                "{}:{}",
                tool("aws").parent().unwrap().display(),
                std::env::var("PATH").unwrap()
            ),
        )
        .args(["-c", script]);
    run(&mut cmd)
}

#[test]
fn export_formats_evaluate_in_real_shells_and_reach_s3() {
    let moto = Moto::shared();
    let bucket = moto.bucket("formats");
    let server = Start::new(moto, &bucket).run();
    let key = key_and_life(&server.get("/").2).0;
    let fetch = format!("{FETCH} --port {}", server.port);
    let ls = format!("aws s3 ls s3://{bucket} --endpoint-url {}", moto.url());
    let home = server.home.path();
    let bash = shell(
        "bash",
        &format!("eval \"$({fetch} --format env)\" && {ls} && printf '%s %s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_CREDENTIAL_EXPIRATION\""),
        home,
    );
    let out = expect_success(&bash);
    assert!(out.contains(&key), "{out}");
    assert!(
        out.trim_end().ends_with("+00:00"),
        "the expiration too: {out}"
    );
    // Not exported: set in the shell, not in a child's environment.
    let no_export = shell(
        "bash",
        &format!("eval \"$({fetch} --format env-no-export)\"; echo \"$AWS_ACCESS_KEY_ID\"; printenv AWS_ACCESS_KEY_ID || echo unexported"),
        home,
    );
    assert_eq!(expect_success(&no_export), format!("{key}\nunexported\n"));
    let fish = shell(
        "fish",
        &format!("{fetch} --format fish | source; and {ls}; and echo $AWS_ACCESS_KEY_ID"),
        home,
    );
    assert!(expect_success(&fish).contains(&key));
    let mut pwsh = Command::new("sh");
    if run(pwsh.args(["-c", "command -v pwsh"])).status.success() {
        let ps = shell(
            "pwsh",
            &format!("{fetch} --format powershell | Out-String | Invoke-Expression; {ls}; $Env:AWS_ACCESS_KEY_ID"),
            home,
        );
        assert!(expect_success(&ps).contains(&key));
    } else {
        eprintln!("NOT RUN: pwsh is not installed (not packaged in Debian; see docs/GUIDE.md)");
    }
    let mut bad = Command::new(FETCH);
    aws_env(&mut bad, home);
    let out = run(bad.args(["--format", "yaml"]));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("[possible values: process, env, env-no-export, fish, powershell]"),
        "{err}"
    );
}

/// Values that are not plain are quoted so that the shell sets them as
/// they are and runs nothing.
#[test]
fn hostile_values_are_quoted_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    let canary = dir.path().join("ran");
    let hostile = format!(
        "a'b\"c$(touch {0})`touch {0}`\\d;e $HOME {{x}} *",
        canary.display()
    );
    let body = serde_json::json!({
        "Version": 1,
        "AccessKeyId": "AKIAPLAIN",
        "SecretAccessKey": hostile,
        "SessionToken": "tok+/=",
        "Expiration": "2026-11-23T22:00:00+00:00",
    })
    .to_string();
    for (program, format, print) in [
        (
            "bash",
            Export::Env,
            "printf '%s' \"$AWS_SECRET_ACCESS_KEY\"",
        ),
        (
            "sh",
            Export::EnvNoExport,
            "printf '%s' \"$AWS_SECRET_ACCESS_KEY\"",
        ),
        ("fish", Export::Fish, "printf '%s' $AWS_SECRET_ACCESS_KEY"),
    ] {
        let lines = String::from_utf8(format.render(body.as_bytes()).unwrap()).unwrap();
        let out = run(Command::new(program).args(["-c", &format!("{lines}{print}")]));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            hostile,
            "{program}: {lines}"
        );
        assert!(!canary.exists(), "{program} ran a command: {lines}");
    }
    let plain = String::from_utf8(Export::Env.render(body.as_bytes()).unwrap()).unwrap();
    assert!(
        plain.starts_with("export AWS_ACCESS_KEY_ID=AKIAPLAIN\n"),
        "{plain}"
    );
    assert!(
        plain.contains("export AWS_SESSION_TOKEN=tok+/=\n"),
        "the awscli's line: {plain}"
    );
    let control = body.replace("AKIAPLAIN", "AKIA\\nrm");
    assert!(Export::Env.render(control.as_bytes()).is_err());
}

/// `s3-credentials exec ARGS -- COMMAND` against moto, in `home`.
fn exec(moto: &Moto, home: &Path, args: &[&str], command: &[&str]) -> Command {
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home);
    cmd.arg("exec")
        .args(args)
        .args(["--endpoint-url", &moto.url(), "--"])
        .args(command);
    cmd
}

#[test]
fn exec_gives_the_child_the_scoped_credential_and_nothing_else() {
    let moto = Moto::shared();
    let bucket = moto.bucket("exec");
    let home = tempfile::tempdir().unwrap();
    // Everything an SDK would pick before the container endpoint.
    std::fs::write(
        home.path().join("aws-credentials"),
        "[default]\naws_access_key_id = AKIAOTHERDEFAULT\naws_secret_access_key = other\n",
    )
    .unwrap();
    std::fs::write(
        home.path().join("aws-config"),
        "[profile other]\naws_access_key_id = AKIAOTHERPROFILE\naws_secret_access_key = other\n",
    )
    .unwrap();
    let mut cmd = exec(
        moto,
        home.path(),
        &[&bucket, "-d", "15m", "--read-only"],
        &[
            tool("aws").to_str().unwrap(),
            "sts",
            "get-caller-identity",
            "--output",
            "text",
            "--query",
            "Arn",
        ],
    );
    // The server's own keys come from the ambient environment (moto's).
    cmd.env("AWS_PROFILE", "other")
        .env("AWS_SESSION_TOKEN", "ambient");
    let out = expect_success(&run(&mut cmd));
    assert_eq!(
        out.trim(),
        format!("arn:aws:sts::123456789012:assumed-role/s3-credentials.AmazonS3FullAccess/s3.read-only.{bucket}")
    );
    // What else the child sees: the endpoint and token, region kept.
    let out = expect_success(&run(&mut exec(
        moto,
        home.path(),
        &[&bucket, "-d", "15m"],
        &["sh", "-c", "env | grep ^AWS_ | sort"],
    )));
    assert!(
        out.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:"),
        "{out}"
    );
    assert!(out.contains("AWS_REGION=us-east-1"), "{out}");
    assert!(
        out.contains(&format!("AWS_ENDPOINT_URL={}", moto.url())),
        "{out}"
    );
    for gone in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE="] {
        assert!(!out.contains(gone), "{gone} reached the child: {out}");
    }
}

#[test]
fn exec_exits_as_its_child_does_and_fails_before_starting_it() {
    let moto = Moto::shared();
    let bucket = moto.bucket("execexit");
    let home = tempfile::tempdir().unwrap();
    let status = |command: &[&str]| {
        run(&mut exec(
            moto,
            home.path(),
            &[&bucket, "-d", "15m"],
            command,
        ))
        .status
        .code()
    };
    assert_eq!(status(&["sh", "-c", "exit 7"]), Some(7));
    assert_eq!(status(&["sh", "-c", "kill -TERM $$"]), Some(143));
    let out = run(&mut exec(
        moto,
        home.path(),
        &[&bucket, "-d", "15m"],
        &["no-such-command-s3c"],
    ));
    assert_eq!(out.status.code(), Some(127));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: cannot run no-such-command-s3c: command not found\n"
    );
    // A missing bucket fails before the child starts.
    let canary = home.path().join("ran");
    let out = run(&mut exec(
        moto,
        home.path(),
        &["no-such-bucket-exec", "-d", "15m"],
        &["touch", canary.to_str().unwrap()],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Bucket does not exist"));
    assert!(!canary.exists());
    // Without `--`: a usage error.
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    assert_eq!(
        run(cmd.args(["exec", &bucket, "-d", "15m", "true"]))
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn exec_forwards_signals_to_its_child() {
    use std::io::BufRead;
    let moto = Moto::shared();
    let bucket = moto.bucket("execsig");
    let home = tempfile::tempdir().unwrap();
    let mut cmd = exec(
        moto,
        home.path(),
        &[&bucket, "-d", "15m"],
        &[
            "sh",
            "-c",
            "trap 'exit 42' TERM; echo ready; sleep 30 & wait",
        ],
    );
    let mut child = spawn(cmd.stdout(std::process::Stdio::piped()));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "ready\n");
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_timeout(&mut child, std::time::Duration::from_secs(10)).expect("exec exits");
    assert_eq!(status.code(), Some(42), "the child's trap ran");
}

/// A child that outlives several credentials keeps working: its SDK
/// renews them through the endpoint (the fake STS's live 20 seconds).
#[test]
fn an_exec_child_outlives_its_credentials() {
    let moto = Moto::shared();
    let bucket = moto.bucket("execlong");
    let sts = FakeSts::start(20);
    let home = tempfile::tempdir().unwrap();
    let script = r#"
import sys, time, boto3
s3 = boto3.client("s3")
keys = set()
for i in range(30):
    s3.put_object(Bucket=sys.argv[1], Key=f"k{i}", Body=b"x")
    keys.add(s3._request_signer._credentials.get_frozen_credentials().access_key)
    time.sleep(1)
print(len(keys))
"#;
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    cmd.env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_ENDPOINT_URL_STS", sts.url())
        .args([
            "exec",
            &bucket,
            "-d",
            "15m",
            "--role-arn",
            "arn:aws:iam::123456789012:role/test",
            "--",
        ])
        .args([tool("python3").to_str().unwrap(), "-c", script, &bucket]);
    let out = expect_success(&run(&mut cmd));
    let keys: usize = out.trim().parse().unwrap();
    assert!(
        keys >= 2,
        "the child used {keys} credentials in 30 s of 20-second ones"
    );
    assert!(sts.calls() >= 3, "{} STS calls", sts.calls());
}

/// A server with `--imds-port 0`, and the IMDS port it printed.
pub(crate) fn imds_server(moto: &Moto, bucket: &str) -> (Server, u16) {
    let server = Start::new(moto, bucket).args(&["--imds-port", "0"]).run();
    let line = server
        .stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("IMDSv2: http://127.0.0.1:"))
        .expect("the IMDS line");
    let port = line["IMDSv2: http://127.0.0.1:".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (server, port)
}

/// An environment where only IMDS (at `port`) gives credentials.
fn imds_only(cmd: &mut Command, home: &Path, port: u16) {
    aws_env(cmd, home);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{port}/"),
        );
}

#[test]
fn boto3_and_the_aws_cli_read_imdsv2() {
    let moto = Moto::shared();
    let bucket = moto.bucket("imds");
    let (server, port) = imds_server(moto, &bucket);
    let key = key_and_life(&server.get("/").2).0;
    let home = tempfile::tempdir().unwrap();
    let script = r#"
import sys, boto3
session = boto3.Session()
creds = session.get_credentials()
s3 = session.client("s3", endpoint_url=sys.argv[1])
s3.put_object(Bucket=sys.argv[2], Key="imds.txt", Body=b"via imds")
print(creds.method, creds.get_frozen_credentials().access_key)
"#;
    let mut boto3 = Command::new(tool("python3"));
    imds_only(&mut boto3, home.path(), port);
    let out = expect_success(&run(boto3.args(["-c", script, &moto.url(), &bucket])));
    assert_eq!(out.trim(), format!("iam-role {key}"));
    let mut cli = Command::new(tool("aws"));
    imds_only(&mut cli, home.path(), port);
    let out = expect_success(&run(cli.args([
        "sts",
        "get-caller-identity",
        "--region",
        "us-east-1",
        "--endpoint-url",
        &moto.url(),
        "--output",
        "text",
        "--query",
        "Arn",
    ])));
    assert!(
        out.trim().ends_with(&format!("/s3.read-write.{bucket}")),
        "{out}"
    );
    // Over the IMDS port, a request relayed by a proxy is refused.
    let (status, _, _) = http(
        ([127, 0, 0, 1], port).into(),
        "PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nX-Forwarded-For: 10.1.1.1\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(status, 403);
}

/// aws-config's own IMDS provider, the strictest client (it refuses a
/// token answer without the TTL header).
#[test]
fn the_rust_sdks_imds_provider_reads_it() {
    use aws_credential_types::provider::ProvideCredentials;
    let moto = Moto::shared();
    let (server, port) = imds_server(moto, &moto.bucket("imdsrust"));
    let key = key_and_life(&server.get("/").2).0;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let credentials = runtime.block_on(async {
        let client = aws_config::imds::Client::builder()
            .endpoint(format!("http://127.0.0.1:{port}/"))
            .unwrap()
            .build();
        aws_config::imds::credentials::ImdsCredentialsProvider::builder()
            .imds_client(client)
            .build()
            .provide_credentials()
            .await
    });
    let credentials = credentials.expect("credentials through IMDS");
    assert_eq!(credentials.access_key_id(), key);
    assert!(credentials.expiry().is_some());
}

#[test]
fn exec_serves_a_named_scope_from_a_config_file() {
    let moto = Moto::shared();
    let (a, b) = (moto.bucket("execcfg-a"), moto.bucket("execcfg-b"));
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("scopes.toml");
    std::fs::write(
        &config,
        format!(
            "duration = \"15m\"\ndefault = \"first\"\n[scope.first]\nbuckets = [\"{a}\"]\n\
             [scope.second]\nbuckets = [\"{b}\"]\naccess = \"read-only\"\n"
        ),
    )
    .unwrap();
    let arn = |args: &[&str]| {
        let mut all = vec!["--config", config.to_str().unwrap()];
        all.extend_from_slice(args);
        let aws = tool("aws");
        let command = [
            aws.to_str().unwrap(),
            "sts",
            "get-caller-identity",
            "--output",
            "text",
            "--query",
            "Arn",
        ];
        expect_success(&run(&mut exec(moto, home.path(), &all, &command)))
    };
    assert!(arn(&["--scope", "second"]).trim().ends_with("/s3c.second"));
    assert!(
        arn(&[]).trim().ends_with("/s3c.first"),
        "the file's default"
    );
    let out = run(&mut exec(
        moto,
        home.path(),
        &["--config", config.to_str().unwrap(), "--scope", "third"],
        &["true"],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: no scope is named 'third' in the config file\n"
    );
}

/// The attack: a server guarded by a token file also serving IMDS would
/// hand any local user, with no token, what the token guards. Refused.
#[test]
fn imds_cannot_bypass_the_auth_token() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    let token = home.path().join("token");
    let out = run(cmd
        .args([
            "localserver",
            "b",
            "-d",
            "1h",
            "--imds-port",
            "0",
            "--auth-token-file",
        ])
        .arg(&token));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--imds-port") && err.contains("cannot be used with"),
        "{err}"
    );
    assert!(!token.exists(), "refused before anything was made");
}
