//! `s3-credentials localserver` and `policy`, end to end: the real binary
//! against moto, checked with raw HTTP, curl and the AWS CLI.

use crate::support::*;
use serde_json::Value;
use std::process::Command;

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn startup_prints_the_originals_lines() {
    let moto = Moto::shared();
    let bucket = moto.bucket("startup");
    let server = Start::new(moto, &bucket).arg("--read-only").run();
    let lines = server.stderr_lines();
    let expected = [
        "Generating initial credentials...".to_owned(),
        format!(
            "Serving read-only credentials for bucket '{bucket}' at http://localhost:{}/",
            server.port
        ),
        "Duration: 900 seconds".to_owned(),
        format!("Unix socket: {}", server.socket().display()),
        "Press Ctrl+C to stop".to_owned(),
    ];
    assert_eq!(lines, expected);
}

#[test]
fn get_serves_credential_process_json() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("get")).run();
    let (status, headers, body) = server.get("/");
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    assert_eq!(header(&headers, "cache-control"), Some("no-store"));
    assert!(header(&headers, "access-control-allow-origin").is_none());
    let value = json(&body);
    assert_eq!(
        json_keys(&body),
        [
            "Version",
            "AccessKeyId",
            "SecretAccessKey",
            "SessionToken",
            "Expiration"
        ]
    );
    assert_eq!(value["Version"], 1);
    assert!(
        body.starts_with("{\n  \"Version\": 1,\n  \"AccessKeyId\": \""),
        "{body}"
    );
    let expiration = value["Expiration"].as_str().unwrap();
    let (date, rest) = expiration.split_once('T').unwrap();
    assert_eq!(date.len(), 10, "{expiration}");
    assert!(rest.ends_with("+00:00"), "{expiration}");
    let at =
        time::OffsetDateTime::parse(expiration, &time::format_description::well_known::Rfc3339)
            .unwrap();
    let left = at - time::OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::minutes(14) && left <= time::Duration::minutes(15),
        "{left}"
    );
}

#[test]
fn head_404_and_405() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("routes")).run();
    let head = http(
        server.addr(),
        &format!("HEAD / HTTP/1.1\r\nHost: localhost:{}\r\n\r\n", server.port),
    );
    assert_eq!(head.0, 200);
    assert_eq!(header(&head.1, "content-type"), Some("application/json"));
    assert_eq!(header(&head.1, "cache-control"), Some("no-store"));
    assert!(
        header(&head.1, "content-length")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            > 100
    );
    assert_eq!(head.2, "", "HEAD has no body");

    let (status, _, body) = server.get("/nope");
    assert_eq!((status, body.as_str()), (404, r#"{"error": "Not found"}"#));

    let post = http(
        server.addr(),
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(post.0, 405);
    assert_eq!(header(&post.1, "allow"), Some("GET, HEAD"));
    assert!(!post.2.contains("SecretAccessKey"));
}

#[test]
fn curl_gets_the_same_credential_and_the_access_log_has_no_secret() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("curl")).run();
    let out = run(Command::new("curl").args(["-sS", "-i", &server.url()]));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let (status, _, body) = parse_response(&text).unwrap();
    assert_eq!(status, 200);
    let value = json(&body);
    let (_, _, again) = server.get("/");
    assert_eq!(json(&again)["AccessKeyId"], value["AccessKeyId"]);
    assert!(server.wait_for_stderr("tcp GET / 200", std::time::Duration::from_secs(5)));
    let log = server.stderr_lines().join("\n");
    for secret in ["SecretAccessKey", "SessionToken"] {
        assert!(
            !log.contains(value[secret].as_str().unwrap()),
            "{secret} in log"
        );
    }
}

#[test]
fn quiet_silences_the_access_log() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("quiet")).arg("--quiet").run();
    for _ in 0..3 {
        assert_eq!(server.get("/").0, 200);
    }
    assert_eq!(server.get("/x").0, 404);
    assert_eq!(
        server.stderr_lines().last().unwrap(),
        "Press Ctrl+C to stop"
    );
}

#[test]
fn aws_cli_with_curl_as_credential_process_copies_and_lists() {
    let moto = Moto::shared();
    let bucket = moto.bucket("cli");
    let server = Start::new(moto, &bucket).run();
    let cli = AwsCli::new(&format!("curl -s {}", server.url()), &moto.url());
    cli.copy_and_list(&bucket, "hello.txt");
    assert!(server.wait_for_stderr("tcp GET / 200", std::time::Duration::from_secs(5)));
}

#[test]
fn a_thousand_concurrent_first_requests_make_one_assume_role_call() {
    let moto = Moto::shared();
    let bucket = moto.bucket("flight");
    let server = Start::new(moto, &bucket).arg("--quiet").run();
    let addr = server.addr();
    let threads: Vec<_> = (0..250)
        .map(|_| {
            std::thread::spawn(move || {
                (0..4)
                    .map(|_| {
                        let (status, _, body) =
                            http(addr, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
                        assert_eq!(status, 200);
                        json(&body)["AccessKeyId"].as_str().unwrap().to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut keys = std::collections::BTreeSet::new();
    for thread in threads {
        keys.extend(thread.join().unwrap());
    }
    assert_eq!(keys.len(), 1, "every client got the same credential");
    assert_eq!(moto.assume_role_calls(&bucket), 1);
}

#[test]
fn sigterm_shuts_down_cleanly() {
    let moto = Moto::shared();
    let mut server = Start::new(moto, &moto.bucket("term")).run();
    let socket = server.socket();
    assert!(socket.exists());
    assert_eq!(server.get("/healthz").0, 200);
    let status = server.terminate();
    assert!(status.success(), "{status}");
    assert!(server.wait_for_stderr("Shutting down server...", std::time::Duration::from_secs(2)));
    // The access log is buffered, but nothing is lost and the order holds.
    let lines = server.stderr_lines();
    let logged = lines
        .iter()
        .position(|l| l.contains("tcp GET /healthz 200"));
    let shutdown = lines.iter().position(|l| l == "Shutting down server...");
    assert!(logged.is_some() && logged < shutdown, "{lines:?}");
    assert!(!socket.exists(), "the socket is removed");
}

#[test]
fn sigint_shuts_down_cleanly() {
    let moto = Moto::shared();
    let mut server = Start::new(moto, &moto.bucket("int")).run();
    signal(&server.child, nix::sys::signal::Signal::SIGINT);
    let status = wait_timeout(&mut server.child, std::time::Duration::from_secs(10)).unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(
        server.stderr_lines().last().unwrap(),
        "Shutting down server..."
    );
}

fn s3c(args: &[&str], home: &std::path::Path) -> std::process::Output {
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home);
    run(cmd.args(args))
}

#[test]
fn startup_errors_are_one_line_and_exit_1() {
    let moto = Moto::shared();
    let home = tempfile::tempdir().unwrap();
    let url = moto.url();
    let missing = s3c(
        &[
            "localserver",
            "no-such-bucket-x",
            "-d",
            "15m",
            "-p",
            "0",
            "--endpoint-url",
            &url,
        ],
        home.path(),
    );
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.starts_with("Error: Bucket does not exist: no-such-bucket-x (asked S3 at ")
            && stderr.ends_with("check the name, --endpoint-url and --region)\n"),
        "{stderr}"
    );

    let bucket = moto.bucket("errors");
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY");
    let out = run(cmd.args([
        "localserver",
        &bucket,
        "-d",
        "1h",
        "-p",
        "0",
        "--endpoint-url",
        &url,
    ]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("Error: no AWS credentials found"), "{err}");
    assert!(err.contains("--profile"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn a_busy_port_fails_fast_and_names_the_port() {
    let moto = Moto::shared();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let home = tempfile::tempdir().unwrap();
    // No AWS call is made: the bucket does not even exist.
    let out = s3c(
        &[
            "localserver",
            "whatever",
            "-d",
            "1h",
            "-p",
            &port,
            "--endpoint-url",
            &moto.url(),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("port {port} is already in use")),
        "{err}"
    );
    assert!(err.contains("--port"), "{err}");
}

#[test]
fn usage_errors_exit_2_with_the_originals_messages() {
    let home = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["localserver", "b", "-d", "10"],
            "Duration must be between 15 minutes and 12 hours",
        ),
        (
            &["localserver", "b", "-d", "13h"],
            "Duration must be between 15 minutes and 12 hours",
        ),
        (
            &["localserver", "b", "-d", "1d"],
            "Duration must be of form 3600s or 15m or 2h",
        ),
        (&["localserver", "b"], "e.g. --duration 1h (15m to 12h)"),
        (
            &[
                "localserver",
                "b",
                "-d",
                "1h",
                "--read-only",
                "--write-only",
            ],
            "cannot be used with",
        ),
        (
            &["policy", "b", "--statement", "{nope"],
            "Invalid JSON string",
        ),
        (
            &["policy", "b", "--statement", "[]"],
            "JSON must be an object",
        ),
        (
            &["policy", "b", "--statement", r#"{"Effect": "Allow"}"#],
            "Statement JSON missing required keys: Action, Resource",
        ),
        (
            &["localserver", "b", "-d", "1h", "--port", "70000"],
            "70000",
        ),
        (&["frobnicate"], "unrecognized subcommand"),
    ];
    for (args, message) in cases {
        let out = s3c(args, home.path());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
}

/// Our `policy` output is byte for byte the original 0.17's.
#[test]
fn policy_matches_the_original_tool() {
    let original = tool("s3-credentials");
    let home = tempfile::tempdir().unwrap();
    let extra = r#"{"Effect": "Allow", "Action": "textract:*", "Resource": "*"}"#;
    let flag_sets: &[&[&str]] = &[
        &[],
        &["--read-only"],
        &["--write-only"],
        &["--prefix", "reports/"],
        &["--prefix", "reports/*"],
        &["--read-only", "--prefix", "a/b"],
        &["--write-only", "--prefix", "logs/"],
        &["--statement", extra],
        &[
            "--read-only",
            "--prefix",
            "x/",
            "--statement",
            extra,
            "--statement",
            extra,
        ],
    ];
    for flags in flag_sets {
        let mut args = vec!["policy", "my-bucket"];
        args.extend_from_slice(flags);
        let ours = s3c(&args, home.path());
        let theirs = run(Command::new(&original).args(&args));
        assert!(theirs.status.success(), "original {args:?}: {theirs:?}");
        assert!(ours.status.success(), "ours {args:?}: {ours:?}");
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&theirs.stdout),
            "{args:?}"
        );
    }
}

#[test]
fn policy_survives_a_closed_stdout() {
    // `| head -c 1`: the reader goes away; no panic, no error.
    let out = run(Command::new("sh")
        .arg("-c")
        .arg(format!("'{SERVER}' policy b --statement '{{\"Effect\":\"Allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}' | head -c 1")));
    assert!(out.status.success());
    assert_eq!(out.stdout, b"{");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn rust_log_raises_verbosity_without_secrets() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("rustlog"))
        .env("RUST_LOG", "s3_credentials=debug,access=off")
        .run();
    let (_, _, body) = server.get("/");
    let value = json(&body);
    let lines = server.stderr_lines();
    let minted = lines
        .iter()
        .find(|l| l.contains("minted a credential"))
        .expect("debug line");
    assert!(
        minted.contains(value["AccessKeyId"].as_str().unwrap()),
        "{minted}"
    );
    let log = lines.join("\n");
    assert!(!log.contains(value["SecretAccessKey"].as_str().unwrap()));
    assert!(!log.contains(value["SessionToken"].as_str().unwrap()));
    assert!(!log.contains("GET /"), "access=off silences the access log");
}

#[test]
fn a_closed_terminal_or_sigquit_shuts_down_cleanly() {
    use nix::sys::signal::Signal;
    let moto = Moto::shared();
    for sig in [Signal::SIGHUP, Signal::SIGQUIT] {
        let mut server = Start::new(moto, &moto.bucket("hup")).run();
        let socket = server.socket();
        assert!(socket.exists());
        signal(&server.child, sig);
        let status = wait_timeout(&mut server.child, std::time::Duration::from_secs(10)).unwrap();
        assert_eq!(status.code(), Some(0), "{sig}: {status}");
        assert!(!socket.exists(), "{sig}: the socket is removed");
        assert_eq!(
            server.stderr_lines().last().unwrap(),
            "Shutting down server...",
            "{sig}"
        );
    }
}

#[test]
fn a_second_sigint_exits_at_once_while_a_slow_client_holds_the_drain() {
    use std::io::Write;
    use std::time::{Duration, Instant};
    let moto = Moto::shared();
    let mut server = Start::new(moto, &moto.bucket("twice")).run();
    let socket = server.socket();
    // Half a request: the drain waits for the rest (hyper's header timeout).
    let mut slow = std::net::TcpStream::connect(server.addr()).unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: loc").unwrap();
    // Ready when the server has read those bytes off its end.
    let client_port = slow.local_addr().unwrap().port();
    polled("the server to read", Duration::from_secs(5), || {
        (unread_by_server(server.port, client_port) == Some(0)).then_some(())
    });
    signal(&server.child, nix::sys::signal::Signal::SIGINT);
    assert!(server.wait_for_stderr("Shutting down server...", Duration::from_secs(5)));
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the drain waits"
    );
    let second = Instant::now();
    signal(&server.child, nix::sys::signal::Signal::SIGINT);
    let status = wait_timeout(&mut server.child, Duration::from_secs(2)).expect("exits at once");
    assert!(second.elapsed() < Duration::from_secs(1));
    assert_eq!(status.code(), Some(130), "128 + SIGINT");
    assert!(!socket.exists(), "the socket is removed");
}

/// The bytes waiting in the server's receive queue on the loopback TCP
/// connection from `client_port` to `server_port` (from /proc/net/tcp).
fn unread_by_server(server_port: u16, client_port: u16) -> Option<u32> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let port = |addr: &str| u16::from_str_radix(addr.rsplit(':').next()?, 16).ok();
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let ours = port(fields.get(1)?)? == server_port && port(fields.get(2)?)? == client_port;
        let queues = fields.get(4)?.split_once(':')?;
        ours.then(|| u32::from_str_radix(queues.1, 16).ok())?
    })
}

/// Starts a server against `sts` (S3 on moto) and returns its one stderr
/// line, having checked that it failed with exit 1, cleanly.
fn refused_at_startup(start: Start) -> String {
    let mut lines = start.try_run().err().expect("startup fails");
    // The original's progress line may come first; then one line says why.
    lines.retain(|l| l != "Generating initial credentials...");
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = lines[0].clone();
    assert!(line.starts_with("Error: "), "{line}");
    for debug in [
        "{ source:",
        "Some(",
        "ServiceError",
        "DispatchFailure",
        "panicked",
    ] {
        assert!(!line.contains(debug), "{line}");
    }
    line
}

fn refuse(sts: &FakeSts, action: &str, status: u16, code: &str, message: &str) {
    *sts.refusal.lock().unwrap() = Some((action.into(), status, code.into(), message.into()));
}

#[test]
fn keys_aws_refuses_say_what_is_wrong() {
    let moto = Moto::shared();
    let sts = FakeSts::start(900);
    let bucket = moto.bucket("keys");
    for (code, message, says) in [
        (
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
            "the AWS access key in use does not exist",
        ),
        (
            "ExpiredToken",
            "The security token included in the request is expired",
            "the AWS credentials in use have expired",
        ),
    ] {
        refuse(&sts, "*", 403, code, message);
        let line = refused_at_startup(sts.server(moto, &bucket));
        assert!(line.contains(code) && line.contains(says), "{line}");
    }
}

#[test]
fn a_role_the_caller_may_not_assume_names_the_permission() {
    let moto = Moto::shared();
    let sts = FakeSts::start(900);
    refuse(
        &sts,
        "AssumeRole",
        403,
        "AccessDenied",
        "User: arn:aws:iam::123456789012:user/test is not authorized to perform: sts:AssumeRole",
    );
    let line = refused_at_startup(sts.server(moto, &moto.bucket("deny")));
    assert!(
        line.contains("AssumeRole of arn:aws:iam::123456789012:role/test failed: AccessDenied"),
        "{line}"
    );
    assert!(line.contains("it needs sts:AssumeRole on it"), "{line}");
}

#[test]
fn sts_refusing_the_session_policy_says_what_to_change() {
    // STS's codes, parsed by the SDK into AssumeRole's modeled errors.
    let moto = Moto::shared();
    let sts = FakeSts::start(900);
    let bucket = moto.bucket("refusedpolicy");
    for (code, message, says) in [
        (
            "MalformedPolicyDocument",
            "Syntax errors in policy.",
            "STS refused the session policy: check the --statement values",
        ),
        (
            "PackedPolicyTooLarge",
            "Serialized policy too large: 112% of the allowed size.",
            "the session policy is too large for STS once packed",
        ),
    ] {
        refuse(&sts, "AssumeRole", 400, code, message);
        let line = refused_at_startup(sts.server(moto, &bucket));
        let failed = format!(
            "AssumeRole of arn:aws:iam::123456789012:role/test failed: {code}: {message}; {says}"
        );
        assert!(line.starts_with(&format!("Error: {failed}")), "{line}");
    }
}

#[test]
fn role_chaining_is_caught_before_asking_for_more_than_an_hour() {
    let moto = Moto::shared();
    let sts = FakeSts::start(900);
    let sso = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/alice";
    *sts.caller_arn.lock().unwrap() = sso.into();
    let line = refused_at_startup(
        sts.server(moto, &moto.bucket("chain"))
            .arg("--duration")
            .arg("2h"),
    );
    assert!(
        line.contains(sso) && line.contains("use --duration 1h or less"),
        "{line}"
    );
    assert_eq!(sts.calls(), 0, "no AssumeRole was tried");
    // An hour is allowed.
    let server = sts
        .server(moto, &moto.bucket("chain"))
        .arg("--duration")
        .arg("1h")
        .run();
    assert_eq!(server.get("/").0, 200);
}

#[test]
fn an_unreachable_endpoint_is_one_line_naming_it() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let line = refused_at_startup(Start::at(&closed, "my-bucket"));
    assert_eq!(
        line,
        format!("Error: could not reach STS at {closed} (connection refused)")
    );
}

#[test]
fn bad_input_is_refused_before_any_aws_call() {
    let home = tempfile::tempdir().unwrap();
    for (args, flag) in [
        (&["localserver", "", "-d", "1h"][..], "[BUCKETS]"),
        (&["policy", ""], "<BUCKETS>"),
        (
            &[
                "localserver",
                "b",
                "-d",
                "1h",
                "--endpoint-url",
                "127.0.0.1:5055",
            ],
            "--endpoint-url",
        ),
        (
            &["localserver", "b", "-d", "1h", "--endpoint-url", ""],
            "--endpoint-url",
        ),
        (
            &["localserver", "b", "-d", "1h", "--endpoint-url", "ftp://x"],
            "--endpoint-url",
        ),
        (&["localserver", "b", "-d", "1h", "--host", ""], "--host"),
        (
            &["localserver", "b", "-d", "1h", "--host", "[::1"],
            "--host",
        ),
        (
            &["localserver", "b", "-d", "1h", "--region", "moon"],
            "--region",
        ),
    ] {
        let out = s3c(args, home.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_runtime_dir_that_is_gone_falls_back_where_fetch_looks() {
    let moto = Moto::shared();
    let tmp = tempfile::tempdir().unwrap();
    let gone = tmp.path().join("run-user-gone");
    let server = Start::new(moto, &moto.bucket("gone"))
        .env("XDG_RUNTIME_DIR", gone.to_str().unwrap())
        .env("TMPDIR", tmp.path().to_str().unwrap())
        .run();
    let warned = format!(
        "XDG_RUNTIME_DIR names {}, which does not exist",
        gone.display()
    );
    assert!(server.wait_for_stderr(&warned, std::time::Duration::from_secs(2)));
    let mut cmd = Command::new(FETCH);
    aws_env(&mut cmd, server.home.path());
    cmd.env("XDG_RUNTIME_DIR", &gone).env("TMPDIR", tmp.path());
    let out = run(cmd.args(["--port", &server.port.to_string()]));
    expect_success(&out);
    assert!(server.wait_for_stderr("unix GET / 200", std::time::Duration::from_secs(5)));
}

/// `scripts/demo -p 0 --quiet` with the built binaries, once its server
/// says it is ready: the demo (its process group: the script, moto and the
/// server), the server's port, and the lines said so far.
pub(crate) fn demo(home: &std::path::Path) -> (Running, u16, Vec<String>) {
    use std::io::BufRead;
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/demo");
    let bin = std::path::Path::new(SERVER).parent().unwrap();
    let mut demo = spawn(
        Command::new(script)
            .args(["-p", "0", "--quiet"])
            .env("S3C_BIN", bin)
            .env("HOME", home)
            .env("XDG_RUNTIME_DIR", home)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped()),
    );
    let mut port = None;
    let mut seen = Vec::new();
    for line in std::io::BufReader::new(demo.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("at http://localhost:").nth(1) {
            port = rest.trim_end_matches('/').parse::<u16>().ok();
        }
        let ready = line == "Press Ctrl+C to stop";
        seen.push(line);
        if ready {
            break;
        }
    }
    let port = port.unwrap_or_else(|| panic!("no serving line: {seen:?}"));
    (demo, port, seen)
}

#[test]
fn the_demo_starts_serves_and_stops_on_ctrl_c() {
    use std::time::Duration;
    let home = tempfile::tempdir().unwrap();
    let (mut demo, port, seen) = demo(home.path());
    assert!(seen.iter().any(|l| l.contains("demo-bucket")), "{seen:?}");
    let (status, _, body) = http(
        ([127, 0, 0, 1], port).into(),
        "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    );
    assert_eq!(status, 200);
    assert!(body.contains("AccessKeyId"));
    // Ctrl+C: the terminal signals the whole foreground job.
    demo.signal_group(nix::sys::signal::Signal::SIGINT);
    let status = wait_timeout(&mut demo, Duration::from_secs(15)).expect("the demo stops");
    assert!(status.success(), "{status}");
    // It stopped moto and the server itself, before anything was killed.
    assert_eq!(live_members(demo.group()), Vec::<i32>::new());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server stopped"
    );
}

/// A server with the AWS environment removed: only the original's key
/// options give it credentials.
fn keyless(moto: &Moto, bucket: &str) -> Start {
    Start::new(moto, bucket)
        .unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY")
        .unset("AWS_REGION")
}

#[test]
fn the_originals_key_options_start_the_server_without_an_aws_environment() {
    let moto = Moto::shared();
    let bucket = moto.bucket("keys");
    // Nothing at all: the server says it has no credentials.
    let lines = keyless(moto, &bucket)
        .try_run()
        .err()
        .expect("no credentials");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Error: ") && l.contains("credentials")),
        "{lines:#?}"
    );

    let by_flags = keyless(moto, &bucket)
        .args(&["--access-key", "AKIAFLAGS", "--secret-key", "flagsecret"])
        .run();
    let served = by_flags.get("/").2;
    key_and_life(&served);

    // GET / is itself a valid --auth file: chain a second server on it.
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("auth.json");
    std::fs::write(&json, &served).unwrap();
    let ini = dir.path().join("auth.ini");
    std::fs::write(
        &ini,
        "[other]\nregion = us-east-1\n[creds]\naws_access_key_id = AKIAINI\naws_secret_access_key = inisecret\n",
    )
    .unwrap();
    for start in [
        keyless(moto, &bucket).args(&["--auth", json.to_str().unwrap()]),
        keyless(moto, &bucket).args(&["-a", ini.to_str().unwrap()]),
        keyless(moto, &bucket).args(&["-a", "-"]).stdin(&served),
    ] {
        let args = start.args.clone();
        let server = start.run();
        let (status, _, body) = server.get("/");
        assert_eq!(status, 200, "{args:?}: {body}");
        key_and_life(&body);
    }
}

#[test]
fn key_option_mistakes_get_the_originals_error_or_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let auth = home.path().join("auth.json");
    std::fs::write(
        &auth,
        r#"{"AccessKeyId": "A", "SecretAccessKey": "sekrit"}"#,
    )
    .unwrap();
    let auth = auth.to_str().unwrap();
    let out = s3c(
        &[
            "localserver",
            "b",
            "-d",
            "1h",
            "-a",
            auth,
            "--access-key",
            "A",
            "--secret-key",
            "S",
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: --auth cannot be used with --access-key, --secret-key or --session-token\n"
    );
    for args in [
        &["--profile", "p", "--access-key", "A", "--secret-key", "S"][..],
        &["--profile", "p", "-a", auth],
        &["--access-key", "A"],
        &["--secret-key", "S"],
    ] {
        let mut all = vec!["localserver", "b", "-d", "1h"];
        all.extend_from_slice(args);
        let out = s3c(&all, home.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(!String::from_utf8_lossy(&out.stderr).contains("sekrit"));
    }
    // A file without keys: one line that names the file and quotes nothing.
    std::fs::write(home.path().join("empty.ini"), "[x]\nsecret = sekrit\n").unwrap();
    let empty = home.path().join("empty.ini");
    let out = s3c(
        &[
            "localserver",
            "b",
            "-d",
            "1h",
            "-a",
            empty.to_str().unwrap(),
        ],
        home.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "Error: --auth {}: no credentials found",
            empty.display()
        )),
        "{err}"
    );
    assert!(!err.contains("sekrit") && err.lines().count() == 1, "{err}");
}

#[test]
fn idle_exit_stops_after_the_idle_time_and_not_during_traffic() {
    let moto = Moto::shared();
    let mut server = Start::new(moto, &moto.bucket("idle"))
        .args(&["--idle-exit", "2"])
        .run();
    // Traffic every half second for 4 s, twice the idle time: it stays.
    for _ in 0..8 {
        assert_eq!(server.get("/healthz").0, 200);
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "exited during traffic"
    );
    // Then nothing: it stops on its own, cleanly.
    let status = wait_timeout(&mut server.child, std::time::Duration::from_secs(10))
        .expect("exits once idle");
    assert_eq!(status.code(), Some(0));
    let lines = server.stderr_lines();
    let tail: Vec<&str> = lines.iter().rev().take(2).map(String::as_str).collect();
    assert_eq!(
        tail,
        ["Shutting down server...", "No request for 2 seconds"]
    );
}

#[test]
fn json_logs_are_one_object_per_line_startup_lines_included() {
    let moto = Moto::shared();
    let bucket = moto.bucket("jsonlog");
    let mut server = Start::new(moto, &bucket)
        .args(&["--log-format", "json"])
        .run();
    assert_eq!(server.get("/").0, 200);
    let stream = std::os::unix::net::UnixStream::connect(server.socket()).unwrap();
    assert_eq!(KeepAlive::new(stream).get("/").unwrap().0, 200);
    assert!(server.wait_for_stderr("unix GET / 200", std::time::Duration::from_secs(5)));
    assert!(server.terminate().success());
    let lines = server.stderr_lines();
    let objects: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for object in &objects {
        for key in ["timestamp", "level", "message"] {
            assert!(object.get(key).is_some(), "no {key}: {object}");
        }
    }
    let messages: Vec<&str> = objects
        .iter()
        .map(|o| o["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages[0], "Generating initial credentials...");
    assert!(messages.contains(
        &format!(
            "Serving read-write credentials for bucket '{bucket}' at http://localhost:{}/",
            server.port
        )
        .as_str()
    ));
    assert_eq!(messages.last(), Some(&"Shutting down server..."));
    let unix = objects
        .iter()
        .find(|o| o["message"].as_str().unwrap().starts_with("unix GET / 200"))
        .unwrap();
    assert_eq!(unix["peer_pid"], std::process::id());
    assert_eq!(unix["target"], "access");
    let text = lines.join("\n");
    assert!(!text.contains("SecretAccessKey") && !text.contains("SessionToken"));
}

/// Each stderr line as the JSON object it must be.
fn json_lines(lines: &[String]) -> Vec<Value> {
    lines.iter().map(|l| json(l)).collect()
}

/// The `cause` of the first JSON line that has one, and that line.
fn with_cause(objects: &[Value]) -> (&Value, String) {
    let line = (objects.iter())
        .find(|o| o.get("cause").is_some())
        .unwrap_or_else(|| panic!("no line with a cause: {objects:#?}"));
    (line, line["cause"].as_str().unwrap().to_owned())
}

#[test]
fn at_debug_a_startup_failure_logs_its_whole_chain() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let lines = Start::at(&closed, "my-bucket")
        .args(&["--log-format", "json"])
        .env("RUST_LOG", "s3_credentials=debug")
        .env("AWS_SECRET_ACCESS_KEY", "sekrit-never-logged")
        .try_run()
        .err()
        .expect("startup fails");
    let objects = json_lines(&lines);
    let (line, cause) = with_cause(&objects);
    assert_eq!(line["level"], "DEBUG", "{line}");
    // The line users see, then every cause under it, from the SDK's down.
    let said = format!("could not reach STS at {closed} (connection refused)");
    assert!(
        cause.starts_with(&format!("{said}: dispatch failure: io error: ")),
        "{cause}"
    );
    assert!(
        cause.ends_with("Connection refused (os error 111)"),
        "{cause}"
    );
    let last = objects.last().unwrap();
    assert_eq!(last["message"], format!("Error: {said}"), "{last}");
    assert!(!lines.join("\n").contains("sekrit"));
}

#[test]
fn at_debug_a_renewal_failure_logs_its_whole_chain() {
    let moto = Moto::shared();
    let sts = FakeSts::start(6);
    let server = sts
        .server(moto, &moto.bucket("renewchain"))
        .args(&["--log-format", "json", "--quiet"])
        .env("RUST_LOG", "s3_credentials=debug")
        .run();
    let (_, _, body) = server.get("/");
    let served = json(&body);
    let denied = "User: arn:aws:iam::123456789012:user/test is not authorized";
    refuse(&sts, "AssumeRole", 403, "AccessDenied", denied);
    let wait = std::time::Duration::from_secs(20);
    assert!(server.wait_for_stderr("renewing credentials failed", wait));
    assert!(server.wait_for_stderr("\"cause\"", wait));
    let lines = server.stderr_lines();
    let objects = json_lines(&lines);
    let (line, cause) = with_cause(&objects);
    assert_eq!(line["level"], "DEBUG", "{line}");
    let said =
        format!("AssumeRole of arn:aws:iam::123456789012:role/test failed: AccessDenied: {denied}");
    assert!(cause.starts_with(&said), "{cause}");
    assert!(cause.contains(": service error: "), "{cause}");
    let log = lines.join("\n");
    for secret in ["SecretAccessKey", "SessionToken"] {
        assert!(!log.contains(served[secret].as_str().unwrap()), "{secret}");
    }
}
