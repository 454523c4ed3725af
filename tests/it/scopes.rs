//! Several buckets and named scopes, end to end: the real binaries against
//! moto, with curl-like raw HTTP, `s3-credentials-fetch` and boto3.

use crate::support::*;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Writes `text` to `scopes.toml` in `dir`.
fn config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("scopes.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A server of `--config` scopes only (no bucket on the command line).
fn scoped(moto: &Moto, path: &Path) -> Server {
    Start::new(moto, "")
        .arg("--config")
        .arg(path.to_str().unwrap())
        .run()
}

fn key_of(reply: &Reply) -> String {
    assert_eq!(reply.0, 200, "{}", reply.2);
    key_and_life(&reply.2).0
}

/// Our `policy` for 2 and 3 buckets is byte for byte the original 0.17's,
/// in every mode, with and without a prefix and a statement.
#[test]
fn policy_for_several_buckets_matches_the_original() {
    let original = tool("s3-credentials");
    let home = tempfile::tempdir().unwrap();
    let extra = r#"{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}"#;
    for buckets in [&["b-one", "b-two"][..], &["b-one", "b-two", "b.three"]] {
        for mode in [&[][..], &["--read-only"], &["--write-only"]] {
            for more in [&[][..], &["--prefix", "reports/"], &["--statement", extra]] {
                let mut args = vec!["policy"];
                args.extend_from_slice(buckets);
                args.extend_from_slice(mode);
                args.extend_from_slice(more);
                let mut ours = Command::new(SERVER);
                aws_env(&mut ours, home.path());
                let ours = expect_success(&run(ours.args(&args)));
                let theirs = expect_success(&run(Command::new(&original).args(&args)));
                assert_eq!(ours, theirs, "{args:?}");
            }
        }
    }
}

#[test]
fn several_buckets_make_one_credential_and_the_startup_line_lists_them() {
    let moto = Moto::shared();
    let (a, b) = (moto.bucket("multi-a"), moto.bucket("multi-b"));
    let server = Start::new(moto, &a).arg(&b).arg("--read-only").run();
    let lines = server.stderr_lines();
    let expected = format!(
        "Serving read-only credentials for buckets '{a}', '{b}' at http://localhost:{}/",
        server.port
    );
    assert!(lines.contains(&expected), "{lines:#?}");
    key_of(&server.get("/"));
    // Every bucket is checked: one missing fails startup, naming it.
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    let out = run(cmd
        .args([
            "localserver",
            &a,
            "no-such-bucket-m",
            "-d",
            "15m",
            "-p",
            "0",
        ])
        .args(["--endpoint-url", &moto.url()]));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let says = format!(
        "Error: Bucket does not exist: no-such-bucket-m (asked S3 at {}",
        moto.url()
    );
    assert!(stderr.starts_with(&says), "{stderr}");
    assert!(
        stderr.ends_with("check the name, --endpoint-url and --region)\n"),
        "{stderr}"
    );
}

#[test]
fn a_config_serves_each_scope_its_own_credential() {
    let moto = Moto::shared();
    let (a, b) = (moto.bucket("scope-a"), moto.bucket("scope-b"));
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        &format!(
            "[scope.alpha]\nbuckets = [\"{a}\"]\naccess = \"read-only\"\n\n\
             [scope.beta]\nbuckets = [\"{b}\"]\nprefix = \"in/\"\nduration = \"1h\"\n"
        ),
    );
    let server = scoped(moto, &path);
    let lines = server.stderr_lines();
    let port = server.port;
    for line in [
        format!("Serving read-only credentials for bucket '{a}' at http://localhost:{port}/scope/alpha (duration: 900 seconds)"),
        format!("Serving read-write credentials for bucket '{b}' at http://localhost:{port}/scope/beta (duration: 3600 seconds)"),
    ] {
        assert!(lines.contains(&line), "{line}\n{lines:#?}");
    }
    let alpha = key_of(&server.get("/scope/alpha"));
    let beta = key_of(&server.get("/scope/beta"));
    assert_ne!(alpha, beta, "each scope has its own credential");
    assert_eq!(key_of(&server.get("/scope/alpha")), alpha, "and keeps it");
    let (status, _, body) = server.get("/");
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"error": "No default scope; ask /scope/NAME"}"#)
    );
    let (status, _, body) = server.get("/scope/gamma");
    assert_eq!(
        (status, body.as_str()),
        (404, r#"{"error": "No such scope"}"#)
    );
    let (status, _, health) = server.get("/healthz");
    assert_eq!(status, 200, "{health}");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(health["scopes"]["alpha"]["status"], "ok");
    assert!(health["scopes"]["beta"]["expires_in"].as_u64().unwrap() > 3000);

    // fetch --scope, over the socket and over TCP.
    for how in [
        &["--socket", server.socket().to_str().unwrap()][..],
        &["--port", &port.to_string()],
    ] {
        let mut fetch = Command::new(FETCH);
        aws_env(&mut fetch, server.home.path());
        let out = expect_success(&run(fetch.args(how).args(["--scope", "beta"])));
        assert_eq!(key_and_life(&out).0, beta, "{how:?}");
    }
    let mut fetch = Command::new(FETCH);
    aws_env(&mut fetch, server.home.path());
    let out = run(fetch.args(["--port", &port.to_string(), "--scope", "gamma"]));
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("404: No such scope; check --scope against"),
        "{said}"
    );
    // Without --scope, a server with no default says to give one.
    let mut fetch = Command::new(FETCH);
    aws_env(&mut fetch, server.home.path());
    let out = run(fetch.args(["--port", &port.to_string()]));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("; give --scope NAME"), "{said}");

    // boto3 through the scope's container endpoint.
    let uri = format!("http://127.0.0.1:{port}/scope/beta/ecs");
    let out = crate::guards::boto3_put(moto, &b, &uri, None);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "via /ecs");
}

#[test]
fn the_command_line_buckets_are_the_default_beside_the_files_scopes() {
    let moto = Moto::shared();
    let (a, b) = (moto.bucket("cli-default"), moto.bucket("cli-named"));
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), &format!("[scope.named]\nbuckets = [\"{b}\"]\n"));
    let server = Start::new(moto, &a)
        .args(&["--config", path.to_str().unwrap()])
        .run();
    let default = key_of(&server.get("/"));
    assert_eq!(key_of(&server.get("/scope/default")), default);
    assert_ne!(key_of(&server.get("/scope/named")), default);
}

#[test]
fn a_broken_config_fails_startup_naming_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        "[scope.a]\nbuckets = [\"b1\"]\naccess = \"rw\"\n",
    );
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, dir.path());
    // No AWS endpoint at all: the file is read before anything else.
    let out = run(cmd.args(["localserver", "--config", path.to_str().unwrap()]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Error: {}:3: scope.a.access: unknown variant `rw`, expected one of `read-write`, \
             `read-only`, `write-only`\n",
            path.display()
        )
    );
    // Neither buckets nor a file: a usage error.
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, dir.path());
    assert_eq!(
        run(cmd.args(["localserver", "-d", "1h"])).status.code(),
        Some(2)
    );
}

/// Asks `GET path` over one kept-alive connection after another until
/// `stop`; counts answers, and every one that is not a 200.
fn hammer(
    port: u16,
    path: &'static str,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(usize, Vec<String>)> {
    std::thread::spawn(move || {
        let (mut answered, mut bad) = (0, Vec::new());
        while !stop.load(Ordering::SeqCst) {
            let stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let mut conn = KeepAlive::new(stream);
            for _ in 0..50 {
                match conn.get(path) {
                    Ok((200, _)) => answered += 1,
                    Ok((status, body)) => bad.push(format!("{status} {body}")),
                    Err(e) => bad.push(e.to_string()),
                }
            }
        }
        (answered, bad)
    })
}

#[test]
fn sighup_adds_and_drops_scopes_while_requests_keep_flowing() {
    let moto = Moto::shared();
    let (a, b, c) = (
        moto.bucket("hup-a"),
        moto.bucket("hup-b"),
        moto.bucket("hup-c"),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = config(
        dir.path(),
        &format!("[scope.alpha]\nbuckets = [\"{a}\"]\n[scope.beta]\nbuckets = [\"{b}\"]\n"),
    );
    let mut server = Start::new(moto, "")
        .args(&["--config", path.to_str().unwrap(), "--quiet"])
        .run();
    let alpha = key_of(&server.get("/scope/alpha"));
    let stop = Arc::new(AtomicBool::new(false));
    let load = hammer(server.port, "/scope/alpha", stop.clone());

    config(
        dir.path(),
        &format!("[scope.alpha]\nbuckets = [\"{a}\"]\n[scope.gamma]\nbuckets = [\"{c}\"]\naccess = \"write-only\"\n"),
    );
    signal(&server.child, Signal::SIGHUP);
    assert!(
        server.wait_for_stderr("serving scopes 'alpha', 'gamma'", Duration::from_secs(20)),
        "{:#?}",
        server.stderr_lines()
    );
    key_of(&server.get("/scope/gamma"));
    assert_eq!(server.get("/scope/beta").0, 404, "beta is dropped");
    assert_eq!(
        key_of(&server.get("/scope/alpha")),
        alpha,
        "unchanged: same credential"
    );

    config(dir.path(), "[scope.alpha]\nbuckets = [\"x\"\n");
    signal(&server.child, Signal::SIGHUP);
    assert!(
        server.wait_for_stderr(
            "reload failed, still serving the old scopes",
            Duration::from_secs(20)
        ),
        "{:#?}",
        server.stderr_lines()
    );
    let failed = server
        .stderr_lines()
        .into_iter()
        .find(|l| l.contains("reload failed"))
        .unwrap();
    assert!(
        failed.contains(&format!("{}:2:", path.display())),
        "{failed}"
    );
    key_of(&server.get("/scope/gamma"));
    assert_eq!(key_of(&server.get("/scope/alpha")), alpha);

    stop.store(true, Ordering::SeqCst);
    let (answered, bad) = load.join().unwrap();
    assert!(
        bad.is_empty(),
        "{} bad answers: {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    assert!(answered > 0);
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "HUP did not stop it"
    );
}
