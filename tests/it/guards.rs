//! `/ecs`, `/healthz`, the auth token, and the TCP guards, end to end:
//! boto3 through the container endpoint, hostile requests by hand.

use crate::support::*;
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BOTO3_PUT: &str = r#"
import boto3, sys
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
s3.put_object(Bucket=sys.argv[2], Key="from-boto3.txt", Body=b"via /ecs")
print(s3.get_object(Bucket=sys.argv[2], Key="from-boto3.txt")["Body"].read().decode())
"#;

/// Runs the boto3 script with container credentials from `uri`.
pub(crate) fn boto3_put(
    moto: &Moto,
    bucket: &str,
    uri: &str,
    token_file: Option<&Path>,
) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tool("python3"));
    aws_env(&mut cmd, home.path());
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri)
        .args(["-c", BOTO3_PUT, &moto.url(), bucket]);
    if let Some(file) = token_file {
        cmd.env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file);
    }
    run(&mut cmd)
}

fn token_file(dir: &Path, token: &str, mode: u32) -> std::path::PathBuf {
    let path = dir.join("token");
    std::fs::write(&path, token).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

fn request(server: &Server, extra_headers: &str) -> Reply {
    http(
        server.addr(),
        &format!("GET / HTTP/1.1\r\n{extra_headers}\r\n"),
    )
}

#[test]
fn boto3_reads_the_container_endpoint() {
    let moto = Moto::shared();
    let bucket = moto.bucket("ecs");
    let server = Start::new(moto, &bucket).run();
    let out = boto3_put(
        moto,
        &bucket,
        &format!("http://127.0.0.1:{}/ecs", server.port),
        None,
    );
    expect_success(&out);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "via /ecs");
    assert!(server.wait_for_stderr("tcp GET /ecs 200", Duration::from_secs(5)));

    let (status, _, body) = server.get("/ecs");
    assert_eq!(status, 200);
    let ecs: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json_keys(&body),
        ["AccessKeyId", "SecretAccessKey", "Token", "Expiration"]
    );
    assert!(ecs["Expiration"].as_str().unwrap().ends_with('Z'));
    let process: serde_json::Value = serde_json::from_str(&server.get("/").2).unwrap();
    assert_eq!(
        ecs["AccessKeyId"], process["AccessKeyId"],
        "the same credential"
    );
    assert_eq!(ecs["Token"], process["SessionToken"]);
}

#[test]
fn the_auth_token_guards_tcp_but_not_health_or_the_socket() {
    let moto = Moto::shared();
    let bucket = moto.bucket("token");
    let dir = tempfile::tempdir().unwrap();
    let token = "tok-3f9a7c1e-5b2d8e41";
    let file = token_file(dir.path(), &format!("{token}\n"), 0o600);
    let server = Start::new(moto, &bucket)
        .arg("--auth-token-file")
        .arg(file.to_str().unwrap())
        .run();

    // boto3 sends the file's token (it strips nothing: ours has no newline).
    let bare = token_file(tempfile::tempdir().unwrap().keep().as_path(), token, 0o600);
    let uri = format!("http://127.0.0.1:{}/ecs", server.port);
    let out = boto3_put(moto, &bucket, &uri, Some(&bare));
    expect_success(&out);

    for headers in [
        "",
        "Authorization: wrong\r\n",
        &format!("Authorization: {token}x\r\n"),
    ] {
        let (status, _, body) = request(&server, &format!("Host: localhost\r\n{headers}"));
        assert_eq!(status, 401, "{headers:?}");
        assert!(!body.contains("AccessKeyId"), "{body}");
    }
    let wrong = boto3_put(
        moto,
        &bucket,
        &uri,
        Some(&token_file(dir.path(), "nope", 0o600)),
    );
    assert!(!wrong.status.success());

    let (status, _, _) = request(
        &server,
        &format!("Host: localhost\r\nAuthorization: {token}\r\n"),
    );
    assert_eq!(status, 200);
    assert_eq!(server.get("/healthz").0, 200, "health needs no token");
    let socket = run(Command::new("curl")
        .args(["-sS", "--unix-socket"])
        .arg(server.socket())
        .arg("http://localhost/"));
    assert!(String::from_utf8_lossy(&socket.stdout).contains("AccessKeyId"));
    assert!(
        !server.stderr_lines().join("\n").contains(token),
        "the token is never logged"
    );
}

#[test]
fn a_token_file_others_can_read_is_refused() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), "secret-token-0123456789", 0o644);
    let err = Start::new(moto, &moto.bucket("tokenmode"))
        .arg("--auth-token-file")
        .arg(file.to_str().unwrap())
        .try_run()
        .err()
        .unwrap();
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].contains("group or others have access to it (mode 0644)"),
        "{err:?}"
    );
    assert!(!err[0].contains("secret-token"));
}

#[test]
fn dns_rebinding_and_browsers_are_refused() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("rebind")).run();
    let port = server.port;
    for host in [
        "evil.example",
        &format!("evil.example:{port}"),
        "localhost.evil.example",
    ] {
        let (status, headers, body) = request(&server, &format!("Host: {host}\r\n"));
        assert_eq!(status, 403, "{host}");
        assert!(
            !body.contains("AccessKeyId") && !body.contains("Secret"),
            "{body}"
        );
        assert!(header(&headers, "access-control-allow-origin").is_none());
    }
    let (status, headers, body) = request(
        &server,
        "Host: localhost\r\nOrigin: http://evil.example\r\n",
    );
    assert_eq!(status, 403);
    assert!(!body.contains("AccessKeyId"));
    assert!(headers
        .iter()
        .all(|(k, _)| !k.starts_with("access-control")));
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(
            request(&server, &format!("Host: {host}\r\n")).0,
            200,
            "{host}"
        );
    }
}

#[test]
fn ipv6_loopback_is_served() {
    if !has_ipv6_loopback() {
        eprintln!("skipped: this machine has no ::1");
        return;
    }
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("v6default")).run();
    let v6: SocketAddr = format!("[::1]:{}", server.port).parse().unwrap();
    assert_eq!(http(v6, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n").0, 200);

    let server = Start::new(moto, &moto.bucket("v6host"))
        .arg("--host")
        .arg("::1")
        .run();
    let lines = server.stderr_lines();
    assert!(
        lines[1].ends_with(&format!("at http://[::1]:{}/", server.port)),
        "{lines:?}"
    );
    let out =
        run(Command::new("curl").args(["-sS", "-g", &format!("http://[::1]:{}/", server.port)]));
    assert!(String::from_utf8_lossy(&out.stdout).contains("AccessKeyId"));
    assert!(
        TcpStream::connect(server.addr()).is_err(),
        "::1 only, not 127.0.0.1"
    );
}

/// Everything a confused or hostile client might send, then a normal GET.
#[test]
fn bad_input_never_crashes_or_stalls_the_server() {
    let moto = Moto::shared();
    let mut server = Start::new(moto, &moto.bucket("battery")).run();
    let addr = server.addr();

    // 200 connections that never finish their headers (slowloris).
    let slow: Vec<TcpStream> = (0..200)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();

    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let raw = http_raw(addr, &garbage);
    assert!(
        raw.is_empty() || raw.starts_with("HTTP/1.1 400"),
        "{raw:.80}"
    );

    let huge = format!(
        "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let raw = http_raw(addr, huge.as_bytes());
    assert!(
        raw.is_empty() || raw.starts_with("HTTP/1.1 431"),
        "{raw:.80}"
    );

    let path = "%41".repeat(5 * 1024 / 3);
    let (status, _, _) = http(
        addr,
        &format!("GET /{path} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    );
    assert_eq!(status, 404);

    let (status, _, _) = http(addr, "BREW / HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(status, 405);

    let (status, _, body) = http(addr, "GET / HTTP/1.0\r\n\r\n");
    assert_eq!(status, 200);
    assert!(body.contains("AccessKeyId"));

    let pipelined = http_raw(
        addr,
        b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /nope HTTP/1.1\r\nHost: localhost\r\n\r\nGET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    let statuses: Vec<&str> = pipelined
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| &pipelined[i + 9..i + 12])
        .collect();
    assert_eq!(statuses, ["200", "404", "200"], "{pipelined:.300}");

    // With all that still open, a normal client is answered promptly.
    let started = Instant::now();
    assert_eq!(server.get("/").0, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(server.child.try_wait().unwrap().is_none(), "still running");
    drop(slow);
    let log = server.stderr_lines().join("\n");
    assert!(
        !log.contains("aaaaaaaaaaaaaaaa"),
        "a client's junk is not logged whole"
    );
    assert!(server.terminate().success());
}

#[test]
fn health_is_503_once_the_credential_expired_with_sts_down() {
    let moto = Moto::shared();
    let sts = FakeSts::start(3);
    let server = sts.server(moto, &moto.bucket("health")).run();
    // 3 s credentials for a 15 m session: the server suspects the clock.
    assert!(server.wait_for_stderr("is this machine's clock right?", Duration::from_secs(5)));
    let (status, _, body) = server.get("/healthz");
    assert_eq!(status, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    assert!(
        health["expires_in"].as_u64().unwrap() <= 3,
        "{body} {} {:?}",
        sts.calls(),
        server.stderr_lines()
    );
    assert!(!body.contains("fakesecret") && !body.contains("ASIA"));

    sts.set_healthy(false);
    let (status, body) = polled("/healthz to say 503", Duration::from_secs(10), || {
        let (status, _, body) = server.get("/healthz");
        (status == 503).then_some((status, body))
    });
    assert_eq!(status, 503, "{body}");
    // Over TCP the cause (which may name a role or an account) is not told.
    assert_eq!(
        body,
        r#"{"status": "unavailable", "error": "credentials unavailable", "scopes": {"default": {"status": "unavailable", "error": "credentials unavailable"}}}"#
    );
    let (status, _, body) = server.get("/");
    assert_eq!(status, 503);
    assert_eq!(
        body,
        r#"{"error": "No valid credentials: credentials unavailable"}"#
    );
    // The uid-checked socket may hear it, once the renewer's failed call
    // has come back (on a loaded machine the credential may expire first).
    polled(
        "the socket to hear the cause",
        Duration::from_secs(10),
        || {
            let over_socket = run(Command::new("curl")
                .args(["-sS", "--unix-socket"])
                .arg(server.socket())
                .arg("http://localhost/healthz"));
            String::from_utf8_lossy(&over_socket.stdout)
                .contains("fake STS is down")
                .then_some(())
        },
    );

    // STS back: the server recovers by itself.
    sts.set_healthy(true);
    polled("recovery", Duration::from_secs(40), || {
        (server.get("/healthz").0 == 200).then_some(())
    });
    assert_eq!(server.get("/").0, 200);
}

#[test]
fn connections_beyond_the_cap_are_refused_cleanly() {
    use std::io::Read;
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("cap")).arg("--quiet").run();
    let cap = s3_credentials::server::MAX_CONNECTIONS;
    let mut idle: Vec<TcpStream> = (0..cap + 10)
        .map(|_| TcpStream::connect(server.addr()).unwrap())
        .collect();
    // Which ten are refused depends on which connection tasks take a
    // place first (each asks the kernel for its peer on its own): watch
    // them all until ten answers are in, then a moment more for an eleventh.
    let mut answers = vec![Vec::new(); idle.len()];
    let refused = |answers: &[Vec<u8>]| {
        let is_503 = |a: &Vec<u8>| {
            let text = String::from_utf8_lossy(a);
            text.starts_with("HTTP/1.1 503") && text.contains("Too many connections")
        };
        answers.iter().filter(|a| is_503(a)).count()
    };
    for stream in &idle {
        stream.set_nonblocking(true).unwrap();
    }
    let until = Instant::now() + Duration::from_secs(5);
    let mut settled = None;
    while Instant::now() < until
        && settled.is_none_or(|at: Instant| at.elapsed() < Duration::from_millis(300))
    {
        for (stream, answer) in idle.iter_mut().zip(answers.iter_mut()) {
            let mut buf = [0u8; 512];
            if let Ok(n @ 1..) = stream.read(&mut buf) {
                answer.extend_from_slice(&buf[..n]);
            }
        }
        if settled.is_none() && refused(&answers) >= 10 {
            settled = Some(Instant::now());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(refused(&answers), 10);
    drop(idle);
    // Once they are gone, clients are served again.
    polled("clients served again", Duration::from_secs(10), || {
        (server.get("/healthz").0 == 200).then_some(())
    });
}

#[test]
fn proxies_relays_and_forged_targets_are_refused() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("hygiene")).run();
    let addr = server.addr();
    for (request, status) in [
        (
            "GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n",
            400,
        ),
        (
            "GET / HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n",
            403,
        ),
        (
            "GET / HTTP/1.1\r\nHost: localhost\r\nForwarded: for=10.0.0.1\r\n\r\n",
            403,
        ),
        (
            "GET / HTTP/1.1\r\nHost: localhost\r\nVia: 1.1 proxy\r\n\r\n",
            403,
        ),
        (
            "GET / HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-Host: a\r\n\r\n",
            403,
        ),
        (
            "GET / HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: cross-site\r\n\r\n",
            403,
        ),
        (
            "GET http://evil.example/ HTTP/1.1\r\nHost: localhost\r\n\r\n",
            403,
        ),
        (
            "CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n",
            405,
        ),
    ] {
        let (got, _, body) = http(addr, request);
        assert_eq!(got, status, "{request:?}: {body}");
        assert!(!body.contains("AccessKeyId"), "{request:?}");
    }
    // What a person's own tools send still works.
    for request in [
        "GET / HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: none\r\n\r\n",
        "GET http://127.0.0.1/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ] {
        assert_eq!(http(addr, request).0, 200, "{request:?}");
    }
    // An HTTP/2 preface (prior knowledge) gets a clean 400 and a log line.
    let raw = http_raw(addr, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assert!(
        raw.is_empty() || raw.starts_with("HTTP/1.1 400"),
        "{raw:.80}"
    );
    assert!(server.wait_for_stderr("tcp - - 400 malformed request", Duration::from_secs(5)));
    assert_eq!(server.get("/healthz").0, 200);
}

#[test]
fn token_files_others_can_touch_or_that_are_links_are_refused() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let token = "0123456789abcdef-token";
    let start = |file: &Path| {
        Start::new(moto, "never-reached")
            .arg("--auth-token-file")
            .arg(file.to_str().unwrap())
            .try_run()
            .err()
            .expect("refused at startup")
    };
    for mode in [0o622, 0o640] {
        let lines = start(&token_file(dir.path(), token, mode));
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains(&format!("(mode {mode:04o})")),
            "{lines:?}"
        );
        assert!(!lines[0].contains(token));
    }
    // A link is followed only to a file that passes the same checks.
    let real = token_file(dir.path(), token, 0o640);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let lines = start(&link);
    assert!(lines[0].contains("(mode 0640)"), "{lines:?}");
}

#[test]
fn a_missing_token_file_is_made_and_then_required() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let server = Start::new(moto, &moto.bucket("newtoken"))
        .arg("--auth-token-file")
        .arg(file.to_str().unwrap())
        .run();
    let announced = format!("Created {} with a new random token", file.display());
    assert!(
        server
            .stderr_lines()
            .iter()
            .any(|l| l.starts_with(&announced)),
        "{:?}",
        server.stderr_lines()
    );
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let token = std::fs::read_to_string(&file).unwrap();
    assert_eq!(token.len(), 64);
    assert_eq!(request(&server, "Host: localhost\r\n").0, 401);
    let with = format!("Host: localhost\r\nAuthorization: {token}\r\n");
    assert_eq!(request(&server, &with).0, 200);
    assert!(!server.stderr_lines().join("\n").contains(&token));
}

/// A TCP connection whose receive buffer is tiny, so a server writing to a
/// client that never reads fills it at once.
fn never_reading(addr: std::net::SocketAddr) -> TcpStream {
    use nix::sys::socket::{self, sockopt, SockaddrIn};
    let fd = ipv4_stream();
    socket::setsockopt(&fd, sockopt::RcvBuf, &2048).unwrap();
    let std::net::SocketAddr::V4(v4) = addr else {
        unreachable!()
    };
    use std::os::fd::AsRawFd;
    socket::connect(fd.as_raw_fd(), &SockaddrIn::from(v4)).unwrap();
    TcpStream::from(fd)
}

#[test]
fn clients_that_never_read_cannot_starve_the_socket_or_hold_tcp() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("noread"))
        .arg("--quiet")
        .run();
    let requests = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".repeat(100);
    let hogs: Vec<TcpStream> = (0..600)
        .map(|_| {
            let mut hog = never_reading(server.addr());
            let _ = hog.write_all(requests.as_bytes());
            hog
        })
        .collect();
    // The socket has its own budget: answered at once.
    let asked = Instant::now();
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "5", "--unix-socket"])
        .arg(server.socket())
        .arg("http://localhost/healthz"));
    expect_success(&out);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "{:?}",
        asked.elapsed()
    );
    // The stalled connections are cut within 10 s (a write that makes no
    // progress, or hyper's header timeout on the next pipelined request),
    // and TCP serves again.
    let answered = polled("TCP to serve again", Duration::from_secs(30), || {
        let mut probe = TcpStream::connect(server.addr()).ok()?;
        probe.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut answer = String::new();
        let _ = std::io::Read::read_to_string(&mut probe, &mut answer);
        answer.starts_with("HTTP/1.1 200").then_some(answer)
    });
    assert!(answered.contains("expires_in"));
    drop(hogs);
}
