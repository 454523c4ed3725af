//! Only your own programs: each attack another local user made
//! on TCP, IMDS, the files the server reads, its keys, its log and its
//! signals, end to end with a real second uid (`NOBODY`).

use crate::clients::imds_server;
use crate::support::*;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn get_request(port: u16) -> String {
    format!("GET / HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n")
}

fn token_put(port: u16) -> String {
    format!(
        "PUT /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         X-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n"
    )
}

fn imds_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The value of one sample in `/metrics` (0 when absent).
fn sample(server: &Server, series: &str) -> f64 {
    let (_, _, text) = server.get("/metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn another_uid_is_closed_on_over_tcp_and_imds_without_a_byte() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let (server, imds) = imds_server(moto, &moto.bucket("strangers"));
    let mut targets = vec![server.addr()];
    if has_ipv6_loopback() {
        targets.push(SocketAddr::from((
            std::net::Ipv6Addr::LOCALHOST,
            server.port,
        )));
    }
    for addr in targets {
        assert_eq!(
            http_as_nobody(addr, &get_request(server.port)),
            "",
            "{addr}"
        );
    }
    assert_eq!(http_as_nobody(imds_addr(imds), &token_put(imds)), "");
    // Our own programs are served as ever, and access lines name us.
    let (status, _, body) = server.get("/");
    assert_eq!(status, 200);
    assert!(body.contains("AccessKeyId"));
    let me = nix::unistd::geteuid().as_raw();
    assert!(server.wait_for_stderr("tcp GET / 200", Duration::from_secs(5)));
    let access = server.stderr_lines();
    let ours = access.iter().find(|l| l.contains("tcp GET / 200")).unwrap();
    assert!(ours.contains(&format!("peer_uid={me}")), "{ours}");
    // The refusals are counted by reason, and logged once, naming the uid.
    assert!(
        sample(
            &server,
            "s3_credentials_refused_total{transport=\"tcp\",reason=\"uid\"}"
        ) >= 1.0
    );
    assert!(
        sample(
            &server,
            "s3_credentials_refused_total{transport=\"imds\",reason=\"uid\"}"
        ) >= 1.0
    );
    let logged = server.stderr_lines();
    let refusals: Vec<_> = logged
        .iter()
        .filter(|l| l.contains("from uid 65534"))
        .collect();
    assert_eq!(refusals.len(), 1, "rate-limited to one line: {refusals:#?}");
    assert!(refusals[0].contains("--allow-uid 65534"), "{}", refusals[0]);
}

/// The uid check has no off switch: not the one the benchmarks once used
/// (`S3C_UID_CHECK=off`), nor any other setting in the environment.
#[test]
fn the_uid_check_cannot_be_turned_off_through_the_environment() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let mut start = Start::new(moto, &moto.bucket("nooff"));
    for (key, value) in [
        ("S3C_UID_CHECK", "off"),
        ("S3C_UID_CHECK", "0"),
        ("S3C_METRICS", "off"),
        ("S3C_ALLOW_UID", "65534"),
    ] {
        start = start.env(key, value);
    }
    let server = start.run();
    let said = server.stderr_lines().join("\n");
    assert!(!said.contains("not checked by uid"), "{said}");
    assert_eq!(http_as_nobody(server.addr(), &get_request(server.port)), "");
    assert_eq!(server.get("/").0, 200, "our own programs are served");
}

/// A server of two scopes from a file in `dir`: `a`, which uid 65534 may
/// fetch too, and `b`, the default, which it may not.
fn guest_server(moto: &Moto, dir: &Path, prefix: &str) -> Server {
    let (a, b) = (
        moto.bucket(&format!("{prefix}-a")),
        moto.bucket(&format!("{prefix}-b")),
    );
    let file = dir.join("scopes.toml");
    let text = format!(
        "default = \"b\"\n[scope.a]\nbuckets = [\"{a}\"]\nuids = [65534]\n\
         [scope.b]\nbuckets = [\"{b}\"]\n"
    );
    std::fs::write(&file, text).unwrap();
    Start::new(moto, "")
        .args(&["--config", file.to_str().unwrap()])
        .run()
}

/// Sends SIGHUP and waits for the line that says the reload was refused.
fn reload_refused(server: &Server) {
    signal(&server.child, nix::sys::signal::Signal::SIGHUP);
    assert!(server.wait_for_stderr("reload failed", Duration::from_secs(10)));
}

#[test]
fn allow_uid_serves_that_uid_and_a_scopes_uids_get_that_scope_alone() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("allowed"))
        .args(&["--allow-uid", "65534"])
        .run();
    let answer = http_as_nobody(server.addr(), &get_request(server.port));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    let dir = tempfile::tempdir().unwrap();
    let server = guest_server(moto, dir.path(), "guest");
    let ask = |path: &str| {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let raw = http_as_nobody(server.addr(), &request);
        parse_response(&raw).unwrap_or_else(|| panic!("{path}: {raw:?}"))
    };
    assert_eq!(ask("/scope/a").0, 200);
    let (status, _, body) = ask("/scope/b");
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"error": "No such scope"}"#)
    );
    assert_eq!(ask("/").0, 404);
    assert_eq!(ask("/metrics").0, 403);
    assert_eq!(ask("/healthz").2, r#"{"status": "ok"}"#);
    // We still get every scope.
    assert_eq!(server.get("/scope/b").0, 200);
    assert!(server.get("/healthz").2.contains("\"scopes\""));
}

#[test]
fn another_uids_connections_cannot_starve_ours_on_tcp_or_imds() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let (server, imds) = imds_server(moto, &moto.bucket("starve"));
    let keep_alive = get_request(server.port);
    let put = token_put(imds);
    let flood = Flood::start(
        NOBODY,
        &[
            (server.addr(), 600, &keep_alive),
            (imds_addr(imds), 100, &put),
        ],
    );
    assert_eq!(flood.answered, 0, "another uid was answered");
    let (status, _, _) = server.get("/");
    assert_eq!(status, 200);
    assert!(http(imds_addr(imds), &put).0 == 200);
    // Our own TCP connections do not use up IMDS's budget either.
    let mut ours = Vec::new();
    for _ in 0..512 {
        let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
        stream.write_all(keep_alive.as_bytes()).unwrap();
        ours.push(stream);
    }
    assert_eq!(http(imds_addr(imds), &put).0, 200);
    drop(flood);
}

/// A config file holding one scope for `bucket`, mode `mode`, in `dir`.
fn config_file(dir: &Path, bucket: &str, mode: u32) -> PathBuf {
    let path = dir.join("s3.toml");
    std::fs::write(&path, format!("[scope.prod]\nbuckets = [\"{bucket}\"]\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn refused_at_startup(moto: &Moto, args: &[&str]) -> Vec<String> {
    let started = Instant::now();
    let lines = Start::new(moto, "")
        .args(args)
        .try_run()
        .err()
        .expect("refused at startup");
    assert!(started.elapsed() < Duration::from_secs(10));
    lines
}

#[test]
fn a_config_others_can_write_is_refused_at_startup_and_on_reload() {
    let moto = Moto::shared();
    let bucket = moto.bucket("strict");
    let shared = tempfile::tempdir().unwrap();
    let bad = config_file(shared.path(), &bucket, 0o666);
    let lines = refused_at_startup(moto, &["--config", bad.to_str().unwrap()]);
    let expected = format!(
        "Error: cannot read --config {0}: {0} is writable by others (mode 0666); run chmod go-w {0}",
        bad.display()
    );
    assert_eq!(lines, [expected]);
    // A directory others may write, and a symlink to it, are refused too.
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mine = tempfile::tempdir().unwrap();
    let link = mine.path().join("link.toml");
    std::os::unix::fs::symlink(&bad, &link).unwrap();
    let lines = refused_at_startup(moto, &["--config", link.to_str().unwrap()]);
    assert!(
        lines[0].contains("its directory") && lines[0].contains("chmod go-w"),
        "{lines:?}"
    );

    // The attack: a good file at startup, made writable and widened before a HUP.
    let good = config_file(mine.path(), &bucket, 0o644);
    let mut server = Start::new(moto, "")
        .arg("--config")
        .arg(good.to_str().unwrap())
        .run();
    assert_eq!(server.get("/scope/prod").0, 200);
    std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o666)).unwrap();
    let evil = format!(
        "[scope.prod]\nbuckets = [\"{bucket}\"]\n[scope.evil]\nbuckets = [\"{bucket}\"]\n\
         statements = [{{Effect = \"Allow\", Action = \"s3:*\", Resource = \"*\"}}]\n"
    );
    std::fs::write(&good, evil).unwrap();
    reload_refused(&server);
    assert_eq!(server.get("/scope/evil").0, 404);
    assert_eq!(server.get("/scope/prod").0, 200);
    assert!(server.terminate().success());
}

#[test]
fn a_symlinked_config_is_followed_only_to_a_file_that_passes() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let theirs = config_file(dir.path(), &moto.bucket("theirs"), 0o644);
    nix::unistd::chown(&theirs, Some(NOBODY.into()), Some(NOBODY.into())).unwrap();
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&theirs, &link).unwrap();
    let lines = refused_at_startup(moto, &["--config", link.to_str().unwrap()]);
    assert!(
        lines[0].contains("is owned by uid 65534, not by you or root"),
        "{lines:?}"
    );
    // Ours, through a link (a dotfile manager's), is fine.
    nix::unistd::chown(&theirs, Some(0.into()), Some(0.into())).unwrap();
    let server = Start::new(moto, "")
        .arg("--config")
        .arg(link.to_str().unwrap())
        .run();
    assert_eq!(server.get("/scope/prod").0, 200);
}

#[test]
fn fifos_devices_and_huge_files_are_refused_at_once() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    let huge = dir.path().join("huge.toml");
    let mut text = "# padding\n".repeat(120_000);
    text.push_str("[scope.a]\nbuckets = [\"x\"]\n");
    std::fs::write(&huge, text).unwrap();
    let bucket = moto.bucket("files");
    let cases: [(&[&str], &str); 5] = [
        (&["-a", "/dev/zero"], "/dev/zero: it is not a regular file"),
        (&["-a", fifo.to_str().unwrap()], "it is not a regular file"),
        (
            &["--config", fifo.to_str().unwrap()],
            "it is not a regular file",
        ),
        (&["--config", "/dev/zero"], "it is not a regular file"),
        (
            &["--config", huge.to_str().unwrap()],
            "larger than 1024 KiB",
        ),
    ];
    for (args, expected) in cases {
        let with_bucket = args[0] == "-a";
        let start = Start::new(moto, if with_bucket { &bucket } else { "" }).args(args);
        let started = Instant::now();
        let lines = start.try_run().err().expect("refused");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{args:?} took long"
        );
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with("Error: ") && lines[0].contains(expected),
            "{lines:?}"
        );
    }
}

/// Whether a thread of `pid` is blocked in `read(0, ...)`, by
/// `/proc/PID/task/*/syscall` (x86_64's `read` is 0, aarch64's 63).
fn waiting_on_stdin(pid: u32) -> bool {
    let read = if cfg!(target_arch = "aarch64") {
        "63"
    } else {
        "0"
    };
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        let call = std::fs::read_to_string(task.path().join("syscall")).unwrap_or_default();
        call.starts_with(&format!("{read} 0x0 "))
    })
}

#[test]
fn auth_on_a_silent_stdin_stops_on_sigterm_and_reads_at_most_64_kib() {
    let moto = Moto::shared();
    let bucket = moto.bucket("stdin");
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    cmd.args([
        "localserver",
        &bucket,
        "-d",
        "15m",
        "--port",
        "0",
        "-a",
        "-",
    ])
    .args(["--endpoint-url", &moto.url()])
    .stdin(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = spawn(&mut cmd);
    let _stdin = child.stdin.take(); // held open, never written
    polled("a read of stdin", Duration::from_secs(10), || {
        waiting_on_stdin(child.id()).then_some(())
    });
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_timeout(&mut child, Duration::from_secs(2)).expect("stopped within 2 s");
    assert!(status.success(), "{status}");
    // 100 KiB on stdin: refused, not read to the end.
    let big = "x".repeat(100 * 1024);
    let lines = Start::new(moto, &bucket)
        .args(&["-a", "-"])
        .stdin(&big)
        .try_run()
        .err()
        .unwrap();
    assert!(lines[0].contains("larger than 64 KiB"), "{lines:?}");
}

#[test]
fn a_control_character_in_a_key_is_one_line_naming_its_source_not_a_panic() {
    let moto = Moto::shared();
    let bucket = moto.bucket("badkey");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("keys.json");
    std::fs::write(
        &json,
        "{\"AccessKeyId\": \"AKIA\\u0000X\", \"SecretAccessKey\": \"sekrit\"}",
    )
    .unwrap();
    let ini = dir.path().join("keys.ini");
    std::fs::write(
        &ini,
        "[default]\naws_access_key_id = AKIAX\naws_secret_access_key = se\x1bkrit\n",
    )
    .unwrap();
    let cases: [(Vec<&str>, &str); 4] = [
        (
            vec!["--access-key", "AKIA\nX", "--secret-key", "sekrit"],
            "--access-key holds a character",
        ),
        (
            vec![
                "--access-key",
                "AKIAX",
                "--secret-key",
                "sek\nrit",
                "--session-token",
                "t",
            ],
            "--secret-key holds",
        ),
        (
            vec!["-a", json.to_str().unwrap()],
            "the AccessKeyId in --auth",
        ),
        (
            vec!["-a", ini.to_str().unwrap()],
            "the SecretAccessKey in --auth",
        ),
    ];
    for (args, expected) in cases {
        for command in ["localserver", "exec"] {
            let home = tempfile::tempdir().unwrap();
            let mut cmd = Command::new(SERVER);
            aws_env(&mut cmd, home.path());
            cmd.args([command, &bucket, "-d", "15m", "--endpoint-url", &moto.url()])
                .args(&args);
            if command == "exec" {
                cmd.args(["--", "true"]);
            } else {
                cmd.args(["--port", "0"]);
            }
            let out = run(&mut cmd);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{command} {args:?}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(stderr.contains(expected), "{command}: {stderr}");
            assert!(
                !stderr.contains("sek") && !stderr.contains("panicked"),
                "{stderr}"
            );
        }
    }
    // Keys from the environment, which the SDK reads itself.
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    cmd.env("AWS_ACCESS_KEY_ID", "AKIA\x01X").args([
        "localserver",
        &bucket,
        "-d",
        "15m",
        "--port",
        "0",
        "--endpoint-url",
        &moto.url(),
    ]);
    let out = run(&mut cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("access key id found"), "{stderr}");
}

#[test]
fn config_text_cannot_forge_log_lines_at_startup_or_on_reload() {
    let moto = Moto::shared();
    let bucket = moto.bucket("forge");
    let dir = tempfile::tempdir().unwrap();
    let forged = "[scope.a]\nbuckets = [\"BUCKET\"]\n\
                  \"x\\u001b[31mRED\\nFAKE 2026-01-01 00:00:00  INFO tcp GET / 200 1us\" = 1\n"
        .replace("BUCKET", &bucket);
    let path = dir.path().join("s3.toml");
    std::fs::write(&path, &forged).unwrap();
    let lines = refused_at_startup(moto, &["--config", path.to_str().unwrap()]);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("x\\x1b[31mRED\\nFAKE"), "{lines:?}");
    assert!(!lines[0].contains('\x1b'));
    // On reload, through the text log.
    std::fs::write(&path, format!("[scope.a]\nbuckets = [\"{bucket}\"]\n")).unwrap();
    let server = Start::new(moto, "")
        .arg("--config")
        .arg(path.to_str().unwrap())
        .run();
    std::fs::write(&path, &forged).unwrap();
    reload_refused(&server);
    let lines = server.stderr_lines();
    assert!(
        !lines
            .iter()
            .any(|l| l.starts_with("FAKE") || l.contains('\x1b')),
        "{lines:#?}"
    );
}

#[test]
fn a_stop_wins_over_a_stalled_reload_and_a_stalled_startup() {
    let moto = Moto::shared();
    let sts = FakeSts::start(3600);
    let (a, b) = (moto.bucket("stall-a"), moto.bucket("stall-b"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s3.toml");
    std::fs::write(&path, format!("[scope.a]\nbuckets = [\"{a}\"]\n")).unwrap();
    let mut server = sts
        .server(moto, "")
        .arg("--config")
        .arg(path.to_str().unwrap())
        .run();
    sts.stalled.store(true, std::sync::atomic::Ordering::SeqCst);
    let calls = sts.received();
    std::fs::write(
        &path,
        format!("[scope.a]\nbuckets = [\"{a}\"]\n[scope.b]\nbuckets = [\"{b}\"]\n"),
    )
    .unwrap();
    signal(&server.child, nix::sys::signal::Signal::SIGHUP);
    polled("the reload's AssumeRole", Duration::from_secs(10), || {
        (sts.received() > calls).then_some(())
    });
    let asked = Instant::now();
    signal(&server.child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_timeout(&mut server.child, Duration::from_secs(5)).expect("stopped");
    assert!(
        status.success() && asked.elapsed() < Duration::from_secs(2),
        "{:?}",
        asked.elapsed()
    );

    // Startup, with its first AssumeRole stalled.
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    cmd.args([
        "localserver",
        &a,
        "-d",
        "15m",
        "--port",
        "0",
        "--role-arn",
        "arn:aws:iam::123456789012:role/test",
    ])
    .env("AWS_ENDPOINT_URL", moto.url())
    .env("AWS_ENDPOINT_URL_STS", sts.url())
    .stdin(Stdio::null())
    .stderr(Stdio::null());
    let calls = sts.received();
    let mut child = spawn(&mut cmd);
    polled("startup's first call", Duration::from_secs(10), || {
        (sts.received() > calls).then_some(())
    });
    let asked = Instant::now();
    signal(&child, nix::sys::signal::Signal::SIGTERM);
    let status = wait_timeout(&mut child, Duration::from_secs(5)).expect("stopped");
    assert!(
        status.success() && asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
}

#[test]
fn proxy_headers_are_refused_on_tcp_and_imds_saying_what_to_do() {
    let moto = Moto::shared();
    let (server, imds) = imds_server(moto, &moto.bucket("proxied"));
    for header in [
        "X-Real-IP: 10.0.0.1",
        "True-Client-IP: 10.0.0.1",
        "CF-Connecting-IP: 10.0.0.1",
        "X-Forwarded-Proto: https",
    ] {
        let request = format!("GET / HTTP/1.1\r\nHost: localhost\r\n{header}\r\n\r\n");
        let (status, _, body) = http(server.addr(), &request);
        assert_eq!(status, 403, "{header}");
        assert!(body.contains("NO_PROXY=127.0.0.1,localhost,::1"), "{body}");
        let put = token_put(imds).replace("Content-Length", &format!("{header}\r\nContent-Length"));
        assert_eq!(http(imds_addr(imds), &put).0, 403, "IMDS {header}");
    }
}

#[test]
fn healthz_without_the_token_names_no_scope() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let server = Start::new(moto, &moto.bucket("health"))
        .arg("--auth-token-file")
        .arg(token.to_str().unwrap())
        .run();
    let (status, _, body) = server.get("/healthz");
    assert_eq!((status, body.as_str()), (200, r#"{"status": "ok"}"#));
    let secret = std::fs::read_to_string(&token).unwrap();
    let request =
        format!("GET /healthz HTTP/1.1\r\nHost: localhost\r\nAuthorization: {secret}\r\n\r\n");
    let (_, _, body) = http(server.addr(), &request);
    assert!(
        body.contains("\"expires_in\"") && body.contains("\"scopes\""),
        "{body}"
    );
}

const CHILD: &str = r#"
import os, signal, sys, time
out = sys.argv[1]
def got(n, _):
    open(out, "a").write(signal.Signals(n).name + "\n")
    if n == signal.SIGTERM:
        sys.exit(0)
for s in (signal.SIGQUIT, signal.SIGTERM):
    signal.signal(s, got)
open(out + ".env", "w").write("\n".join(sorted(os.environ)))
open(out + ".ready", "w").write("ready")
while True:
    time.sleep(0.05)
"#;

#[test]
fn exec_hides_every_key_variable_forwards_quit_and_its_child_dies_with_it() {
    let moto = Moto::shared();
    let bucket = moto.bucket("execsig");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("signals");
    let home = tempfile::tempdir().unwrap();
    let mut cmd = exec_command(moto, &bucket, home.path());
    cmd.env("AWS_ACCESS_KEY", "AKIAJAVA")
        .env("AWS_SECRET_KEY", "javasecret")
        .env("AWS_CREDENTIAL_PROFILES_FILE", "/etc/passwd")
        .args(["python3", "-c", CHILD, out.to_str().unwrap()])
        .stdin(Stdio::null());
    let mut exec = spawn(&mut cmd);
    let ready = PathBuf::from(format!("{}.ready", out.display()));
    polled("the child", Duration::from_secs(20), || {
        ready.exists().then_some(())
    });
    let env = std::fs::read_to_string(format!("{}.env", out.display())).unwrap();
    for gone in [
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "AWS_CREDENTIAL_PROFILES_FILE",
        "AWS_ACCESS_KEY_ID",
    ] {
        assert!(!env.lines().any(|l| l == gone), "{gone} reached the child");
    }
    signal(&exec, nix::sys::signal::Signal::SIGQUIT);
    polled("SIGQUIT passed on", Duration::from_secs(5), || {
        std::fs::read_to_string(&out)
            .ok()
            .filter(|t| t.contains("SIGQUIT"))
    });
    assert!(exec.try_wait().unwrap().is_none(), "exec died of SIGQUIT");
    // SIGKILL cannot be passed on: the kernel tells the child instead.
    signal(&exec, nix::sys::signal::Signal::SIGKILL);
    let _ = exec.wait();
    polled(
        "the child told of exec's death",
        Duration::from_secs(5),
        || {
            std::fs::read_to_string(&out)
                .ok()
                .filter(|t| t.contains("SIGTERM"))
        },
    );
}

#[test]
fn execs_child_cannot_read_execs_own_keys_from_proc() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let bucket = moto.bucket("execproc");
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut cmd = exec_command(moto, &bucket, home.path());
    cmd.env("TMPDIR", home.path())
        .args([
            "sh",
            "-c",
            "cat /proc/$PPID/environ | tr '\\0' '\\n' | grep AWS_SECRET; echo done",
        ])
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(Stdio::null());
    let out = run(&mut cmd);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("done"), "{stdout}{stderr}");
    assert!(
        !stdout.contains("AWS_SECRET_ACCESS_KEY="),
        "the child read exec's keys: {stdout}"
    );
    assert!(stderr.contains("Permission denied"), "{stderr}");
}

#[test]
fn a_symlink_anywhere_on_the_path_that_another_user_owns_is_refused() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let shared = world_writable_tmp();
    let mine = tempfile::tempdir().unwrap();
    let file = config_file(mine.path(), &moto.bucket("midlink"), 0o644);
    // nobody points a directory link of theirs at our directory.
    let link = shared.path().join("conf");
    let made = run(Command::new("ln")
        .arg("-s")
        .arg(mine.path())
        .arg(&link)
        .uid(NOBODY)
        .gid(NOBODY));
    assert!(made.status.success());
    let through = link.join(file.file_name().unwrap());
    let lines = refused_at_startup(moto, &["--config", through.to_str().unwrap()]);
    let expected = format!("the symlink {} is owned by uid 65534", link.display());
    assert!(lines[0].contains(&expected), "{lines:?}");
}

#[test]
fn control_characters_in_arguments_are_escaped_in_usage_errors() {
    let home = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 3] = [
        &["localserver", "my\x1b[31mbucket", "-d", "15m"],
        &["localserver", "b", "-d", "1\x1b]0;pwned\x07h"],
        &[
            "localserver",
            "b",
            "-d",
            "15m",
            "--region",
            "x\nError: forged line",
        ],
    ];
    for args in cases {
        let mut cmd = Command::new(SERVER);
        aws_env(&mut cmd, home.path());
        let out = run(cmd.args(args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            !stderr.contains('\x1b') && !stderr.contains('\x07'),
            "{stderr:?}"
        );
        assert!(
            !stderr.lines().any(|l| l.starts_with("Error: forged")),
            "{stderr}"
        );
    }
    let out = run(Command::new(FETCH).args(["--url", "http://x\n\x1b[2J"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
}

/// The red team's setup: `default = "secret"` with a token of its own, and
/// `--imds-port`, which any local caller reaches without a token. Refused
/// at startup; a reload that makes it so is refused and changes nothing.
#[test]
fn imds_with_a_default_scope_that_has_its_own_token_is_refused_at_startup_and_on_reload() {
    let moto = Moto::shared();
    let bucket = moto.bucket("imdstok");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scopes.toml");
    let with_token = format!(
        "default = \"secret\"\n[scope.secret]\nbuckets = [\"{bucket}\"]\n\
         token_file = \"secret.token\"\n"
    );
    std::fs::write(&file, &with_token).unwrap();
    let config = file.to_str().unwrap();
    let lines = refused_at_startup(moto, &["--config", config, "--imds-port", "0"]);
    assert_eq!(
        lines.last().map(String::as_str),
        Some(
            "Error: --imds-port cannot serve the default scope 'secret': it has a token_file, \
             and IMDS clients send no token; make another scope the default, or drop --imds-port"
        ),
        "{lines:?}"
    );
    // Without the token, the server starts; a reload adding it is refused.
    let open = format!("default = \"secret\"\n[scope.secret]\nbuckets = [\"{bucket}\"]\n");
    std::fs::write(&file, open).unwrap();
    let mut server = Start::new(moto, "")
        .args(&["--config", config, "--imds-port", "0"])
        .run();
    std::fs::write(&file, &with_token).unwrap();
    reload_refused(&server);
    assert!(
        !dir.path().join("secret.token").exists(),
        "no token was made"
    );
    assert!(server.terminate().success());
}

/// A guest uid (a scope's `uids`) holding 512 connections, TCP's whole
/// budget, gets its share (`PER_GUEST`) and no more: the owner is still
/// served.
#[test]
fn a_guest_uid_cannot_starve_the_owner_of_tcp() {
    if !can_be_nobody() {
        return;
    }
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let server = guest_server(moto, dir.path(), "share");
    let keep_alive = format!(
        "GET /scope/a HTTP/1.1\r\nHost: localhost:{}\r\n\r\n",
        server.port
    );
    // Each of the 512 is answered: 200 on its share, 503 past it.
    let flood = Flood::start(NOBODY, &[(server.addr(), 512, &keep_alive)]);
    assert_eq!(flood.answered, 512);
    for _ in 0..20 {
        assert_eq!(server.get("/").0, 200, "the owner is served");
    }
    drop(flood);
}
