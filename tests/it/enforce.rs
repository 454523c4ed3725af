//! The scope, proven against a backend that enforces it: Ceph radosgw on
//! loopback (moto accepts any session policy). Each case starts the real
//! server and tries operations with two real clients, the AWS CLI with
//! `credential_process = s3-credentials-fetch` and boto3 through `/ecs`,
//! asserting what is allowed and what is refused.
//!
//! `scripts/test` installs radosgw; without it these tests fail, loudly.

use crate::support::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock, RwLock, RwLockReadGuard};

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
/// test process (run.sh waits on our stdin pipe, and stops it on any
/// exit). It reads its clock through libfaketime from `clock` ("+0" but in
/// the expiry test), so that test can move time forward instead of waiting
/// out a 15-minute session.
struct Rgw {
    _stdin: Mutex<ChildStdin>,
    _run: Mutex<Running>,
    clock: PathBuf,
    /// radosgw's ops log: one JSON line per request, with how it was
    /// authenticated (`"authentication_type":"STS"` and the role session).
    ops_log: PathBuf,
}

fn radosgw() -> &'static Rgw {
    static RGW: OnceLock<Rgw> = OnceLock::new();
    RGW.get_or_init(|| {
        let installed = try_run(Command::new("sh").args(["-c", "command -v radosgw"]));
        assert!(
            installed.is_ok_and(|o| o.status.success()),
            "radosgw is not installed; scripts/test installs it (apt-get install \
             --no-install-recommends ceph-mon ceph-osd radosgw ceph-common faketime, as root)"
        );
        let state = std::env::temp_dir().join(format!("s3c-radosgw-{}", std::process::id()));
        let clock = state.with_extension("clock");
        std::fs::write(&clock, "+0\n").unwrap();
        let wrapper: Vec<String> = faketime_env(&clock)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut child = spawn(
            Command::new(backend().join("run.sh"))
                .arg(&state)
                .env("RGW_WRAPPER", format!("env {}", wrapper.join(" ")))
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit()),
        );
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
        Rgw {
            _stdin: Mutex::new(stdin),
            _run: Mutex::new(child),
            clock,
            ops_log: state.join("log/ops.log"),
        }
    })
}

/// The environment that makes a process read its clock from `clock`.
fn faketime_env(clock: &Path) -> Vec<(String, String)> {
    let lib = ["x86_64-linux-gnu", "aarch64-linux-gnu"]
        .iter()
        .map(|arch| PathBuf::from(format!("/usr/lib/{arch}/faketime/libfaketime.so.1")))
        .find(|p| p.exists())
        .expect("libfaketime is installed (scripts/test installs the faketime package)");
    vec![
        ("LD_PRELOAD".into(), lib.display().to_string()),
        (
            "FAKETIME_TIMESTAMP_FILE".into(),
            clock.display().to_string(),
        ),
        ("FAKETIME_CACHE_DURATION".into(), "1".into()),
    ]
}

/// Ordinary tests share the clock; the expiry test moves it, alone.
static CLOCK: RwLock<()> = RwLock::new(());

/// Enters an ordinary test: None when the suite is skipped.
fn shared() -> Option<RwLockReadGuard<'static, ()>> {
    if skipped() {
        return None;
    }
    radosgw();
    Some(CLOCK.read().unwrap_or_else(|e| e.into_inner()))
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
    serve_with(bucket, flags, &[])
}

fn serve_with(
    bucket: &str,
    flags: &[&str],
    env: &[(String, String)],
) -> Result<Server, Vec<String>> {
    let mut start = Start::at(ENDPOINT, bucket)
        .arg("--role-arn")
        .arg(ROLE)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    for flag in flags {
        start = start.arg(flag);
    }
    for (k, v) in env {
        start = start.env(k, v);
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

    /// What ops.py and the AWS CLI report when it goes as it must.
    fn expected(&self) -> &'static str {
        match self.allowed {
            true => "allowed",
            false => "refused:AccessDenied",
        }
    }
}

/// Runs the tries with boto3 (all in one process) and the AWS CLI (one
/// process each); both must match. Returns the observed matrix rows.
fn check(case: &str, server: &Server, tries: &[Try]) -> Vec<String> {
    check_with(case, server, tries, &[])
}

/// `check`, with `env` added to every client's environment.
fn check_with(case: &str, server: &Server, tries: &[Try], env: &[(String, String)]) -> Vec<String> {
    check_scope(case, server, None, tries, env)
}

/// `check_with`, asking for the named `scope` (`/scope/NAME/ecs`, `fetch
/// --scope NAME`) instead of the default one.
fn check_scope(
    case: &str,
    server: &Server,
    scope: Option<&str>,
    tries: &[Try],
    env: &[(String, String)],
) -> Vec<String> {
    let asked = Asked {
        scope,
        query: "",
        flags: "",
    };
    check_asked(case, server, &asked, tries, env)
}

/// What a client asks for: a scope, narrowed by `query` (boto3's
/// `/scope/NAME/ecs?QUERY`) and by `flags` (fetch's, for the AWS CLI).
struct Asked<'a> {
    scope: Option<&'a str>,
    query: &'a str,
    flags: &'a str,
}

/// `check_scope` for any `Asked`.
fn check_asked(
    case: &str,
    server: &Server,
    asked: &Asked,
    tries: &[Try],
    env: &[(String, String)],
) -> Vec<String> {
    let route = asked
        .scope
        .map_or(String::new(), |name| format!("/scope/{name}"));
    let query = match asked.query {
        "" => String::new(),
        query => format!("?{query}"),
    };
    let ecs = format!("http://127.0.0.1:{}{route}/ecs{query}", server.port);
    let mut boto3_env = env.to_vec();
    boto3_env.push(("AWS_CONTAINER_CREDENTIALS_FULL_URI".into(), ecs));
    let boto3 = boto3_outcomes(tries, &boto3_env);
    // The same operations from a child of `exec --server`, which asks the
    // server's socket for the same scope and narrowing.
    let exec = asked
        .scope
        .map(|_| exec_server_outcomes(server, asked, tries));
    let mut rows = Vec::new();
    for (i, attempt) in tries.iter().enumerate() {
        let cli = aws_cli_outcome(server, asked, attempt, i, env);
        let name = attempt.name();
        let expected = attempt.expected();
        assert_eq!(boto3[&name], expected, "{case}: boto3 {name}");
        assert_eq!(cli, expected, "{case}: aws cli {name}");
        if let Some(exec) = &exec {
            assert_eq!(exec[&name], expected, "{case}: exec --server {name}");
        }
        rows.push(format!("{case:<28} {name:<32} {expected}"));
    }
    rows
}

/// Asserts that each of `tries` came out in `outcomes` (ops.py's) as it
/// must; the matrix's rows for `case`.
fn expect_outcomes(case: &str, tries: &[Try], outcomes: &BTreeMap<String, String>) -> Vec<String> {
    let mut rows = Vec::new();
    for attempt in tries {
        let (name, expected) = (attempt.name(), attempt.expected());
        assert_eq!(outcomes[&name], expected, "{case}: {name}");
        rows.push(format!("{case:<28} {name:<32} {expected}"));
    }
    rows
}

/// `tries` as ops.py takes them: `[[name, op, bucket, arg], ...]`.
fn ops_json(tries: &[Try]) -> String {
    let ops: Vec<serde_json::Value> = tries
        .iter()
        .map(|t| {
            let op = format!("{:?}", t.op).to_lowercase();
            serde_json::json!([t.name(), op, t.bucket, t.arg])
        })
        .collect();
    serde_json::Value::from(ops).to_string()
}

/// boto3's outcomes, with credentials from what `env` says (the container
/// endpoint, or fixed keys).
fn boto3_outcomes(tries: &[Try], env: &[(String, String)]) -> BTreeMap<String, String> {
    boto3_outcomes_at(ENDPOINT, tries, env)
}

/// `boto3_outcomes` against the S3 endpoint at `s3` (a gateway, say).
fn boto3_outcomes_at(
    s3: &str,
    tries: &[Try],
    env: &[(String, String)],
) -> BTreeMap<String, String> {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tool("python3"));
    aws_env(&mut cmd, home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .arg(backend().join("ops.py"))
        .args([s3, &ops_json(tries)]);
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "ops.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// ops.py's outcomes as the child of `exec --server --socket S --scope
/// NAME FLAGS`, which has no AWS keys of its own.
fn exec_server_outcomes(server: &Server, asked: &Asked, tries: &[Try]) -> BTreeMap<String, String> {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["exec", "--server", "--socket"])
        .arg(server.socket())
        .args(["--scope", asked.scope.unwrap_or_default()])
        .args(asked.flags.split_whitespace())
        .arg("--")
        .arg(tool("python3"))
        .arg(backend().join("ops.py"))
        .args([ENDPOINT, &ops_json(tries)]);
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "exec --server ops.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn aws_cli_outcome(
    server: &Server,
    asked: &Asked,
    attempt: &Try,
    i: usize,
    env: &[(String, String)],
) -> String {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("config");
    let scope = asked
        .scope
        .map_or(String::new(), |name| format!(" --scope {name}"));
    let scope = format!("{scope} {}", asked.flags);
    std::fs::write(
        &config,
        format!(
            "[profile scoped]\nregion = us-east-1\ncredential_process = {FETCH} --socket {}{scope}\n",
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
        .envs(env.iter().map(|(k, v)| (k, v)))
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
    let Some(_clock) = shared() else {
        return;
    };
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
    let Some(_clock) = shared() else {
        return;
    };
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
    let Some(_clock) = shared() else {
        return;
    };
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
fn each_scope_of_one_server_is_held_to_its_own_prefix_and_buckets() {
    let Some(_clock) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    std::fs::write(
        &config,
        "[scope.reports]\nbuckets = [\"main\"]\nprefix = \"reports/\"\naccess = \"read-only\"\n\n\
         [scope.drafts]\nbuckets = [\"main\"]\nprefix = \"drafts/\"\n\n\
         [scope.both]\nbuckets = [\"main\", \"other\"]\naccess = \"read-only\"\n",
    )
    .unwrap();
    let server = serve("", &["--config", config.to_str().unwrap()]).unwrap();
    let mut rows = check_scope(
        "scope reports (read-only reports/)",
        &server,
        Some("reports"),
        &[
            t(Get, "main", "reports/r1.txt", true),
            t(List, "main", "reports/", true),
            t(Put, "main", "reports/x.txt", false),
            t(Get, "main", "hello.txt", false),
            t(Put, "main", "drafts/from-reports.txt", false),
            t(List, "main", "drafts/", false),
        ],
        &[],
    );
    rows.extend(check_scope(
        "scope drafts (read-write drafts/)",
        &server,
        Some("drafts"),
        &[
            t(Put, "main", "drafts/d.txt", true),
            t(Get, "main", "drafts/d.txt", true),
            t(List, "main", "drafts/", true),
            t(Delete, "main", "drafts/d.txt", true),
            t(Get, "main", "reports/r1.txt", false),
            t(List, "main", "reports/", false),
            t(Put, "main", "reports/from-drafts.txt", false),
            t(Get, "other", "secret.txt", false),
        ],
        &[],
    ));
    rows.extend(check_scope(
        "scope both (read-only main, other)",
        &server,
        Some("both"),
        &[
            t(Get, "main", "hello.txt", true),
            t(Get, "other", "secret.txt", true),
            t(List, "other", "", true),
            t(Put, "other", "both.txt", false),
        ],
        &[],
    ));
    print_matrix(&rows);
}

#[test]
fn a_prefix_keeps_each_mode_inside_it() {
    let Some(_clock) = shared() else {
        return;
    };
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
    let Some(_clock) = shared() else {
        return;
    };
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
    let Some(_clock) = shared() else {
        return;
    };
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

/// Moves radosgw's (and the test's processes') clock; back to "+0" on drop,
/// so a failing assertion leaves the shared clock as it found it.
struct ClockShift<'a>(&'a Path);

impl ClockShift<'_> {
    fn to(&self, offset: &str) {
        std::fs::write(self.0, format!("{offset}\n")).unwrap();
    }

    /// Moves the clock `minutes` ahead of real time, and waits until
    /// radosgw's `Date` header shows it (libfaketime caches the offset for
    /// a second), so radosgw never mints by the old clock.
    fn ahead(&self, minutes: i64) {
        self.to(&format!("+{minutes}m"));
        let ahead = time::Duration::minutes(minutes) - time::Duration::seconds(30);
        polled("radosgw to see the new time", || {
            let (_, headers, _) = http(
                ([127, 0, 0, 1], 7480).into(),
                "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
            );
            let date = header(&headers, "date")?.to_owned();
            let date =
                time::OffsetDateTime::parse(&date, &time::format_description::well_known::Rfc2822)
                    .ok()?;
            (date - time::OffsetDateTime::now_utc() >= ahead).then_some(())
        });
    }
}

impl Drop for ClockShift<'_> {
    fn drop(&mut self) {
        self.to("+0");
        // libfaketime caches the offset for a second: wait until radosgw
        // takes an unfaked client's signature again before others run.
        polled("radosgw's clock to come back", || {
            let env = vec![
                ("AWS_ACCESS_KEY_ID".to_owned(), ACCESS_KEY.to_owned()),
                ("AWS_SECRET_ACCESS_KEY".to_owned(), SECRET_KEY.to_owned()),
            ];
            let outcome = boto3_outcomes(&[t(List, "main", "", true)], &env);
            (outcome["list main/"] == "allowed").then_some(())
        });
    }
}

fn fixed_keys(body: &str) -> Vec<(String, String)> {
    let c: serde_json::Value = serde_json::from_str(body).unwrap();
    [
        ("AWS_ACCESS_KEY_ID", "AccessKeyId"),
        ("AWS_SECRET_ACCESS_KEY", "SecretAccessKey"),
        ("AWS_SESSION_TOKEN", "SessionToken"),
    ]
    .into_iter()
    .map(|(var, key)| (var.to_owned(), c[key].as_str().unwrap().to_owned()))
    .collect()
}

/// What boto3 gets for one GET with the credential in `body`.
fn get_with(body: &str, clock: &[(String, String)]) -> String {
    let mut env = fixed_keys(body);
    env.extend_from_slice(clock);
    boto3_outcomes(&[t(Get, "main", "hello.txt", true)], &env)["get main/hello.txt"].clone()
}

fn polled<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// A credential used after its expiry is refused by radosgw, while the
/// server has already renewed, so a client that re-fetches keeps working.
/// Time moves by libfaketime (radosgw, the server and the clients all read
/// one clock file) instead of waiting out a 15-minute session.
#[test]
fn an_expired_credential_is_refused_and_a_refetching_client_keeps_working() {
    if skipped() {
        return;
    }
    let rgw = radosgw();
    let _alone = CLOCK.write().unwrap_or_else(|e| e.into_inner());
    let clock = ClockShift(&rgw.clock);
    let faked = faketime_env(&rgw.clock);
    let server = serve_with("main", &["--read-only"], &faked).unwrap();
    let first = server.get("/").2;
    assert_eq!(get_with(&first, &faked), "allowed");
    let first_key = fixed_keys(&first)[0].1.clone();

    // 8 minutes on: past the renewal point of a 15-minute credential
    // (15 - 7.5 - 0.5), short of its expiry. The next request sees that by
    // the wall clock and renews on the spot.
    clock.ahead(8);
    let second = polled("the server to renew", || {
        let (_, _, body) = server.get("/");
        (fixed_keys(&body)[0].1 != first_key).then_some(body)
    });
    assert_eq!(get_with(&first, &faked), "allowed", "not expired yet");

    // 16 minutes on: the first credential has expired.
    clock.ahead(16);
    let refused = polled("radosgw to see the expiry", || {
        let outcome = get_with(&first, &faked);
        (outcome != "allowed").then_some(outcome)
    });
    assert_eq!(refused, "refused:AccessDenied");
    assert_eq!(get_with(&second, &faked), "allowed");
    // Real clients re-fetch (AWS CLI via s3-credentials-fetch, boto3 via
    // /ecs) and keep working.
    print_matrix(&check_with(
        "expiry: after 16 minutes",
        &server,
        &[
            t(Get, "main", "hello.txt", true),
            t(Put, "main", "expiry.txt", false),
        ],
        &faked,
    ));
    drop(clock);
}

#[test]
fn an_exec_child_holds_only_its_scope() {
    let Some(_clock) = shared() else {
        return;
    };
    let tries = [
        t(Get, "main", "hello.txt", true),
        t(List, "main", "", true),
        t(Put, "main", "exec/new.txt", false),
        t(Get, "other", "secret.txt", false),
    ];
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .args([
            "exec",
            "main",
            "--read-only",
            "-d",
            "15m",
            "--role-arn",
            ROLE,
        ])
        .args(["--endpoint-url", ENDPOINT, "--"])
        .arg(tool("python3"))
        .arg(backend().join("ops.py"))
        .args([ENDPOINT, &ops_json(&tries)]);
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcomes: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    print_matrix(&expect_outcomes(
        "exec --read-only (boto3)",
        &tries,
        &outcomes,
    ));
}

#[test]
fn a_narrowed_credential_holds_only_what_it_asked_for() {
    let Some(_clock) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    std::fs::write(
        &config,
        "[scope.wide]\nbuckets = [\"main\"]\n\n[scope.pair]\nbuckets = [\"main\", \"other\"]\naccess = \"read-only\"\n",
    )
    .unwrap();
    let server = serve("", &["--config", config.to_str().unwrap()]).unwrap();
    let whole = Asked {
        scope: Some("wide"),
        query: "",
        flags: "",
    };
    let mut rows = check_asked(
        "scope wide (read-write main)",
        &server,
        &whole,
        &[
            t(Put, "main", "reports/2026/a.txt", true),
            t(Put, "main", "reports/2025/b.txt", true),
        ],
        &[],
    );
    let narrowed = Asked {
        scope: Some("wide"),
        query: "prefix=reports%2F2026%2F&access=read-only",
        flags: "--prefix reports/2026/ --read-only",
    };
    rows.extend(check_asked(
        "wide, narrowed to read-only reports/2026/",
        &server,
        &narrowed,
        &[
            t(Get, "main", "reports/2026/a.txt", true),
            t(List, "main", "reports/2026/", true),
            t(Put, "main", "reports/2026/x.txt", false),
            t(Get, "main", "reports/2025/b.txt", false),
            t(List, "main", "reports/", false),
            t(Get, "main", "hello.txt", false),
        ],
        &[],
    ));
    let one = Asked {
        scope: Some("pair"),
        query: "bucket=main",
        flags: "--bucket main",
    };
    rows.extend(check_asked(
        "pair, narrowed to bucket main",
        &server,
        &one,
        &[
            t(Get, "main", "hello.txt", true),
            t(Get, "other", "secret.txt", false),
            t(List, "other", "", false),
        ],
        &[],
    ));
    print_matrix(&rows);
}

/// A network namespace playing a container reaches radosgw through the
/// container endpoint with what `container-env` printed for its scope, and
/// holds that scope alone.
#[test]
fn a_container_holds_only_its_scope() {
    let Some(_clock) = shared() else {
        return;
    };
    let Some(netns) = Netns::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    std::fs::write(
        &config,
        "[scope.box]\nbuckets = [\"main\"]\naccess = \"read-only\"\ntoken_file = \"box.token\"\n",
    )
    .unwrap();
    let flags = [
        "--config",
        config.to_str().unwrap(),
        "--container-endpoint",
        "0",
    ];
    let server = serve("", &flags).unwrap();
    let radosgw: std::net::SocketAddr = ENDPOINT.trim_start_matches("http://").parse().unwrap();
    let s3 = format!("http://{}", netns.forward_to(radosgw));
    let env = container_client_env(&server, "box", &dir.path().join("home"));
    let tries = [
        t(Get, "main", "hello.txt", true),
        t(List, "main", "", true),
        t(Put, "main", "container/new.txt", false),
        t(Get, "other", "secret.txt", false),
        t(List, "other", "", false),
    ];
    let python = tool("python3");
    let mut cmd = netns.command(&env, python.to_str().unwrap());
    cmd.arg(backend().join("ops.py"))
        .args([&s3, &ops_json(&tries)]);
    let out = run(&mut cmd);
    assert!(
        out.status.success(),
        "ops.py in the namespace: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcomes: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).unwrap();
    print_matrix(&expect_outcomes(
        "container (box, read-only)",
        &tries,
        &outcomes,
    ));
}

/// `verify` on radosgw, which enforces session policies: every probe comes
/// out as expected, exit 0, for read-only, write-only and prefix scopes,
/// and for a narrowed credential.
#[test]
fn verify_proves_each_scope_on_radosgw() {
    let Some(_clock) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    std::fs::write(
        &config,
        "[scope.ro]\nbuckets = [\"main\"]\naccess = \"read-only\"\n\n\
         [scope.wo]\nbuckets = [\"main\"]\naccess = \"write-only\"\n\n\
         [scope.pre]\nbuckets = [\"main\"]\nprefix = \"reports/2026/\"\n",
    )
    .unwrap();
    let server = serve("", &["--config", config.to_str().unwrap()]).unwrap();
    let mut rows = Vec::new();
    for (scope, narrowing) in [("ro", ""), ("wo", ""), ("pre", ""), ("pre", "--read-only")] {
        let mut cmd = Command::new(SERVER);
        aws_env(&mut cmd, server.home.path());
        cmd.args([
            "verify",
            "--scope",
            scope,
            "--outside-bucket",
            "other",
            "--endpoint-url",
            ENDPOINT,
            "--socket",
        ])
        .arg(server.socket())
        .args(narrowing.split_whitespace());
        // An existing key outside the prefix, for the scope that has one.
        if scope == "pre" {
            cmd.args(["--outside-key", "hello.txt"]);
        }
        let out = run(&mut cmd);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "verify {scope} {narrowing}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains(&format!("scope {scope} is enforced here")),
            "{text}"
        );
        let probes: Vec<&str> = text.lines().filter(|l| l.contains(" (")).collect();
        assert!(probes.len() >= 3, "{text}");
        assert!(
            probes
                .iter()
                .all(|l| l.starts_with("refused as expected")
                    || l.starts_with("allowed as expected")),
            "{text}"
        );
        rows.extend(
            probes
                .iter()
                .map(|l| format!("verify {scope:<4} {narrowing:<12} {l}")),
        );
    }
    print_matrix(&rows);
}

/// A scope served through the gateway on radosgw, two layers: the gateway
/// holds its local credential to the prefix (what it refuses is its own
/// AccessDenied, with an access line that says so), and what it forwards
/// is signed with the scope's STS credential, which radosgw holds to the
/// session policy; `verify` over the socket says both and exits 0.
#[test]
fn the_gateway_on_radosgw_holds_a_prefix_with_two_layers() {
    let Some(_clock) = shared() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    std::fs::write(
        &config,
        "[scope.gw]\nbuckets = [\"main\"]\nprefix = \"reports/\"\nserve = \"gateway\"\n",
    )
    .unwrap();
    let server = serve(
        "",
        &["--config", config.to_str().unwrap(), "--gateway", "0"],
    )
    .unwrap();
    let lines = server.stderr_lines();
    let gateway = lines
        .iter()
        .find_map(|l| {
            Some(
                l.strip_prefix("S3 gateway: ")?
                    .split(' ')
                    .next()?
                    .to_owned(),
            )
        })
        .expect("the gateway's startup line");
    let ecs = format!("http://127.0.0.1:{}/scope/gw/ecs", server.port);
    let served: serde_json::Value =
        serde_json::from_str(&server.get("/scope/gw").2).expect("a credential");
    assert!(served["AccessKeyId"].as_str().unwrap().starts_with("S3CL"));
    let tries = [
        t(Get, "main", "reports/r1.txt", true),
        t(List, "main", "reports/", true),
        t(Put, "main", "reports/gw.txt", true),
        t(Get, "main", "reports/gw.txt", true),
        t(Delete, "main", "reports/gw.txt", true),
        t(Get, "main", "hello.txt", false),
        t(Put, "main", "outside-gw.txt", false),
        t(Delete, "main", "hello.txt", false),
        t(List, "main", "", false),
        t(Get, "other", "secret.txt", false),
        t(List, "other", "", false),
    ];
    let env = [("AWS_CONTAINER_CREDENTIALS_FULL_URI".to_owned(), ecs)];
    let outcomes = boto3_outcomes_at(&gateway, &tries, &env);
    let mut rows = expect_outcomes("gateway gw (reports/)", &tries, &outcomes);
    // Each refusal was the gateway's own, never forwarded.
    let refused = tries.iter().filter(|t| !t.allowed).count();
    let lines = server.stderr_lines();
    let access: Vec<&String> = lines.iter().filter(|l| l.contains("gateway gw ")).collect();
    let by_gateway = access
        .iter()
        .filter(|l| l.contains(" 403 ") && l.contains("refused=grant"));
    assert_eq!(by_gateway.count(), refused, "{access:#?}");
    assert_eq!(
        access.len(),
        tries.len(),
        "one access line a call: {access:#?}"
    );
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, server.home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args(["verify", "--scope", "gw", "--outside-bucket", "other"])
        .args(["--outside-key", "hello.txt", "--socket"])
        .arg(server.socket());
    let out = run(&mut cmd);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict = format!(
        "scope gw is enforced here, by the gateway at {gateway}, which signs upstream with the \
         scope's STS credential (whether S3 enforces that too is not probed here"
    );
    assert!(text.contains(&verdict), "{text}");
    rows.extend(text.lines().map(|l| format!("verify gw {l}")));
    print_matrix(&rows);
    // The second layer, in radosgw's own ops log: what the gateway
    // forwarded (the Rust SDK's user agent, not boto3's) came with the
    // scope's STS session credential; what it refused never arrived.
    let ops = |needle: &str| -> Vec<serde_json::Value> {
        let log = std::fs::read_to_string(&radosgw().ops_log).unwrap_or_default();
        let entries = log.lines().filter(|l| l.contains(needle));
        entries
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    };
    let forwarded = polled("radosgw's ops log", || {
        let entries = ops("/main/reports/gw.txt");
        (entries.len() >= 3).then_some(entries)
    });
    for entry in &forwarded {
        assert_eq!(entry["authentication_type"], "STS", "{entry}");
        assert_eq!(entry["sts_info"]["role_session"], "s3c.gw", "{entry}");
        assert!(
            entry["user_agent"]
                .as_str()
                .unwrap()
                .contains("aws-sdk-rust"),
            "{entry}"
        );
    }
    assert!(
        ops("outside-gw.txt").is_empty(),
        "a refused call reached radosgw"
    );
}
