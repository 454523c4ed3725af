//! The scope, proven against a backend that enforces it: Ceph radosgw on
//! loopback (moto accepts any session policy). Each case starts the real
//! server and tries operations with two real clients, the AWS CLI with
//! `credential_process = s3-credentials-fetch` and boto3 through `/ecs`,
//! asserting what is allowed and what is refused.
//!
//! `scripts/test` installs radosgw; without it these tests fail, loudly.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use support::*;

const ENDPOINT: &str = "http://127.0.0.1:7480";
const ACCESS_KEY: &str = "CIACCESSKEY0000000001";
const SECRET_KEY: &str = "cisecret0000000000000000000000000000000";
const ROLE: &str = "arn:aws:iam:::role/s3c";
/// The role's MaxSessionDuration.
const ROLE_MAX_SECS: u32 = 3600;

fn backend() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/backends/radosgw")
}

/// The shared radosgw, started and set up on first use, stopped with the
/// test process (run.sh waits on our stdin pipe).
fn radosgw() -> &'static Mutex<ChildStdin> {
    static RGW: OnceLock<Mutex<ChildStdin>> = OnceLock::new();
    RGW.get_or_init(|| {
        let installed = Command::new("sh")
            .args(["-c", "command -v radosgw"])
            .output();
        assert!(
            installed.is_ok_and(|o| o.status.success()),
            "radosgw is not installed; scripts/test installs it (apt-get install \
             --no-install-recommends ceph-mon ceph-osd radosgw ceph-common, as root)"
        );
        let state = std::env::temp_dir().join(format!("s3c-radosgw-{}", std::process::id()));
        let mut child = Command::new(backend().join("run.sh"))
            .arg(&state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert_eq!(first.trim(), "READY", "radosgw did not start (see stderr)");
        let setup = run(Command::new(tool("python3"))
            .arg(backend().join("setup.py"))
            .args([ENDPOINT, "s3c", &ROLE_MAX_SECS.to_string()]));
        assert!(
            setup.status.success(),
            "setup: {}",
            String::from_utf8_lossy(&setup.stderr)
        );
        let stdin = child.stdin.take().unwrap();
        std::mem::forget(child); // reaped by init; it stops when stdin closes
        Mutex::new(stdin)
    })
}

/// Whether the caller chose to skip this suite (S3C_SKIP_RADOSGW=1).
fn skipped() -> bool {
    let skip = std::env::var_os("S3C_SKIP_RADOSGW").is_some();
    if skip {
        eprintln!("SKIPPED: S3C_SKIP_RADOSGW is set; scope is not proven in this run");
    }
    skip
}

fn serve(bucket: &str, flags: &[&str]) -> Result<Server, Vec<String>> {
    radosgw();
    let mut start = Start::at(ENDPOINT, bucket)
        .arg("--role-arn")
        .arg(ROLE)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    for flag in flags {
        start = start.arg(flag);
    }
    start.try_run()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Get,
    List,
    Put,
    Delete,
}

/// One operation to try: what, where, and whether it must be allowed.
struct Try {
    op: Op,
    bucket: &'static str,
    arg: String,
    allowed: bool,
}

fn t(op: Op, bucket: &'static str, arg: &str, allowed: bool) -> Try {
    Try {
        op,
        bucket,
        arg: arg.to_owned(),
        allowed,
    }
}

impl Try {
    fn name(&self) -> String {
        format!("{:?} {}/{}", self.op, self.bucket, self.arg).to_lowercase()
    }
}

/// Runs the tries with boto3 (all in one process) and the AWS CLI (one
/// process each); both must match. Returns the observed matrix rows.
fn check(case: &str, server: &Server, tries: &[Try]) -> Vec<String> {
    let boto3 = boto3_outcomes(server, tries);
    let mut rows = Vec::new();
    for (i, attempt) in tries.iter().enumerate() {
        let cli = aws_cli_outcome(server, attempt, i);
        let name = attempt.name();
        let expected = if attempt.allowed {
            "allowed"
        } else {
            "refused:AccessDenied"
        };
        assert_eq!(boto3[&name], expected, "{case}: boto3 {name}");
        assert_eq!(cli, expected, "{case}: aws cli {name}");
        rows.push(format!("{case:<28} {name:<32} {expected}"));
    }
    rows
}

fn boto3_outcomes(server: &Server, tries: &[Try]) -> BTreeMap<String, String> {
    let ops: Vec<serde_json::Value> = tries
        .iter()
        .map(|t| {
            let op = format!("{:?}", t.op).to_lowercase();
            serde_json::json!([t.name(), op, t.bucket, t.arg])
        })
        .collect();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tool("python3"));
    aws_env(&mut cmd, home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("http://127.0.0.1:{}/ecs", server.port),
        )
        .arg(backend().join("ops.py"))
        .args([ENDPOINT, &serde_json::Value::from(ops).to_string()]);
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "ops.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn aws_cli_outcome(server: &Server, attempt: &Try, i: usize) -> String {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    std::fs::write(
        &config,
        format!(
            "[profile scoped]\nregion = us-east-1\ncredential_process = {FETCH} --socket {}\n",
            server.socket().display()
        ),
    )
    .unwrap();
    let body = home.path().join("body.txt");
    std::fs::write(&body, format!("written by the aws cli {i}")).unwrap();
    let out_file = home.path().join("out");
    let mut cmd = Command::new(tool("aws"));
    aws_env(&mut cmd, home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        // --debug logs the response body: the CLI's own error message
        // handler crashes on radosgw's errors, which carry no Message.
        .args([
            "--debug",
            "--profile",
            "scoped",
            "--endpoint-url",
            ENDPOINT,
            "s3api",
        ]);
    let b = attempt.bucket;
    let a = attempt.arg.as_str();
    match attempt.op {
        Op::Get => cmd
            .args(["get-object", "--bucket", b, "--key", a])
            .arg(&out_file),
        Op::List => cmd.args(["list-objects-v2", "--bucket", b, "--prefix", a]),
        Op::Put => cmd
            .args(["put-object", "--bucket", b, "--key", a, "--body"])
            .arg(&body),
        Op::Delete => cmd.args(["delete-object", "--bucket", b, "--key", a]),
    };
    let out = run(&mut cmd);
    let err = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        "allowed".into()
    } else if err.contains("<Code>AccessDenied</Code>") {
        "refused:AccessDenied".into()
    } else {
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        panic!(
            "aws cli {}: neither allowed nor denied: {tail:?}",
            attempt.name()
        )
    }
}

fn print_matrix(rows: &[String]) {
    // Visible with --nocapture; the closing note quotes it.
    println!("{}", rows.join("\n"));
}

use Op::*;

#[test]
fn read_write_reaches_its_bucket_only() {
    if skipped() {
        return;
    }
    let server = serve("main", &[]).unwrap();
    print_matrix(&check(
        "read-write",
        &server,
        &[
            t(Get, "main", "hello.txt", true),
            t(List, "main", "", true),
            t(Put, "main", "rw/new.txt", true),
            t(Delete, "main", "rw/new.txt", true),
            t(Get, "other", "secret.txt", false),
            t(Put, "other", "rw.txt", false),
            t(List, "other", "", false),
        ],
    ));
}

#[test]
fn read_only_cannot_write_or_delete() {
    if skipped() {
        return;
    }
    let server = serve("main", &["--read-only"]).unwrap();
    print_matrix(&check(
        "read-only",
        &server,
        &[
            t(Get, "main", "hello.txt", true),
            t(List, "main", "", true),
            t(Put, "main", "ro/new.txt", false),
            t(Delete, "main", "hello.txt", false),
            t(Get, "other", "secret.txt", false),
        ],
    ));
}

#[test]
fn write_only_cannot_read_or_list() {
    if skipped() {
        return;
    }
    let server = serve("main", &["--write-only"]).unwrap();
    print_matrix(&check(
        "write-only",
        &server,
        &[
            t(Put, "main", "wo/new.txt", true),
            t(Get, "main", "hello.txt", false),
            t(List, "main", "", false),
            t(Delete, "main", "hello.txt", false),
            t(Put, "other", "wo.txt", false),
        ],
    ));
}

#[test]
fn a_prefix_keeps_each_mode_inside_it() {
    if skipped() {
        return;
    }
    let server = serve("main", &["--prefix", "reports/"]).unwrap();
    let mut rows = check(
        "read-write --prefix reports/",
        &server,
        &[
            t(Get, "main", "reports/r1.txt", true),
            t(List, "main", "reports/", true),
            t(Put, "main", "reports/rw.txt", true),
            t(Delete, "main", "reports/rw.txt", true),
            t(Get, "main", "hello.txt", false),
            t(Put, "main", "outside.txt", false),
            t(Delete, "main", "hello.txt", false),
            t(List, "main", "", false),
        ],
    );
    drop(server);
    let server = serve("main", &["--read-only", "--prefix", "reports/"]).unwrap();
    rows.extend(check(
        "read-only --prefix reports/",
        &server,
        &[
            t(Get, "main", "reports/r1.txt", true),
            t(List, "main", "reports/", true),
            t(Put, "main", "reports/ro.txt", false),
            t(Get, "main", "hello.txt", false),
            t(List, "main", "", false),
        ],
    ));
    drop(server);
    let server = serve("main", &["--write-only", "--prefix", "reports/"]).unwrap();
    rows.extend(check(
        "write-only --prefix reports/",
        &server,
        &[
            t(Put, "main", "reports/wo.txt", true),
            t(Put, "main", "outside-wo.txt", false),
            t(Get, "main", "reports/r1.txt", false),
            t(List, "main", "reports/", false),
        ],
    ));
    print_matrix(&rows);
}

#[test]
fn a_statement_beyond_s3_does_not_widen_s3() {
    if skipped() {
        return;
    }
    // radosgw parses iam: actions (not sns: or sts:) in session policies.
    let extra = r#"{"Effect":"Allow","Action":["iam:ListRoles","iam:GetRole"],"Resource":"*"}"#;
    let server = serve("main", &["--read-only", "--statement", extra]).unwrap();
    print_matrix(&check(
        "read-only --statement iam:*",
        &server,
        &[
            t(Get, "main", "hello.txt", true),
            t(Put, "main", "stmt/new.txt", false),
            t(Delete, "main", "hello.txt", false),
            t(Get, "other", "secret.txt", false),
        ],
    ));
}

#[test]
fn a_duration_beyond_the_roles_maximum_fails_clearly() {
    if skipped() {
        return;
    }
    let started = std::time::Instant::now();
    let lines = serve("main", &["--duration", "2h"])
        .err()
        .expect("startup fails");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "no hang"
    );
    let error = lines.last().unwrap();
    assert!(
        error.starts_with(&format!("Error: AssumeRole of {ROLE} failed")),
        "{lines:?}"
    );
    assert!(
        error.contains("--duration 7200s may be longer than the role's MaxSessionDuration"),
        "{error}"
    );
    assert!(!error.contains("panicked") && !error.contains(SECRET_KEY));
    // Within the role's limit, the same server starts.
    assert!(serve("main", &["--duration", "1h"]).is_ok());
}
