//! The per-user Unix socket and `s3-credentials-fetch`, end to end.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::*;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn fetch(home: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(FETCH);
    aws_env(&mut cmd, home);
    run(cmd.args(args))
}

fn curl_socket(socket: &Path) -> Output {
    run(Command::new("curl")
        .args(["-sS", "--unix-socket"])
        .arg(socket)
        .arg("http://localhost/"))
}

fn access_key(body: &[u8]) -> String {
    let value: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)));
    value["AccessKeyId"].as_str().unwrap().to_owned()
}

#[test]
fn the_socket_is_private_and_serves_the_same_json_as_tcp() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("sock")).run();
    let socket = server.socket();
    assert_eq!(mode(socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&socket), 0o600);
    let over_socket = curl_socket(&socket);
    assert!(over_socket.status.success());
    let (_, _, over_tcp) = server.get("/");
    assert_eq!(String::from_utf8(over_socket.stdout).unwrap(), over_tcp);
    assert!(server.wait_for_stderr("unix GET / 200", Duration::from_secs(5)));
}

#[test]
fn aws_cli_with_fetch_as_credential_process_and_no_arguments() {
    let moto = Moto::shared();
    let bucket = moto.bucket("fetchcli");
    // The default socket of port 8094 in the CLI's XDG_RUNTIME_DIR (a temp
    // dir), so that `s3-credentials-fetch` with no arguments finds this
    // server without this test taking TCP port 8094 from the machine.
    let cli = AwsCli::new(FETCH, &moto.url());
    let socket = cli.home().join("s3-credentials/8094.sock");
    s3_credentials::socket::ensure_private_dir(socket.parent().unwrap()).unwrap();
    let server = Start::new(moto, &bucket)
        .arg("--socket")
        .arg(socket.to_str().unwrap())
        .run();
    cli.copy_and_list(&bucket, "data.txt");
    // It went over the socket, not TCP.
    assert!(server.wait_for_stderr("unix GET / 200", Duration::from_secs(5)));
    assert!(!server.stderr_lines().iter().any(|l| l.contains("tcp GET")));
}

#[test]
fn fetch_reaches_the_server_by_port_socket_and_url() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("fetchways")).run();
    let port = server.port.to_string();
    let key = access_key(&server.get("/").2.into_bytes());
    let socket = server.socket();
    let url = server.url();
    let ways: [&[&str]; 3] = [
        &["--port", &port],
        &["--socket", socket.to_str().unwrap()],
        &["--url", &url],
    ];
    for args in ways {
        let out = fetch(server.home.path(), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty());
        assert_eq!(access_key(&out.stdout), key, "{args:?}");
    }
    assert!(server.wait_for_stderr("tcp GET / 200", Duration::from_secs(5)));
}

#[test]
fn fetch_falls_back_to_tcp_when_there_is_no_socket() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("fallback"))
        .arg("--no-socket")
        .run();
    assert!(!server.socket().exists());
    let out = fetch(server.home.path(), &["--port", &server.port.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    access_key(&out.stdout);
    assert!(server.wait_for_stderr("tcp GET / 200", Duration::from_secs(5)));
}

#[test]
fn fetch_with_no_server_fails_cleanly() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    for args in [
        vec!["--port", &port],
        vec!["--url", &format!("http://127.0.0.1:{port}/")],
    ] {
        let out = fetch(home.path(), &args);
        assert_eq!(out.status.code(), Some(1));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("s3-credentials localserver"), "{err}");
    }
}

#[test]
fn fetch_gives_up_on_a_server_that_never_answers() {
    let home = tempfile::tempdir().unwrap();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let out = fetch(home.path(), &["--url", &url, "--timeout", "0.5"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("did not answer within 0.5s"), "{err}");
}

#[test]
fn fetch_usage_errors_exit_2() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["--timeout", "-1"][..],
        &["--url", "http://x/", "--socket", "/tmp/x"],
        &["--port", "nope"],
    ] {
        let out = fetch(home.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
    }
    let out = fetch(home.path(), &["--url", "ftp://x/"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be an http:// URL"));
}

#[test]
fn a_stale_socket_is_replaced_and_a_live_one_refused() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "a stale socket file is left behind");
    let path_arg = path.to_str().unwrap();
    let mut first = Start::new(moto, &moto.bucket("stale"))
        .arg("--socket")
        .arg(path_arg)
        .run();
    assert!(curl_socket(&path).status.success());

    let second = Start::new(moto, &moto.bucket("stale2"))
        .arg("--socket")
        .arg(path_arg)
        .try_run()
        .err()
        .expect("a second server on a live socket fails");
    assert_eq!(
        second,
        [format!(
            "Error: another localserver is already serving on {}",
            path.display()
        )]
    );
    assert!(first.terminate().success());
    assert!(!path.exists(), "SIGTERM removes the socket");
}

#[test]
fn another_users_connection_gets_no_credentials() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: dropping to another uid needs root (CI runs as root)");
        return;
    }
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("peer")).run();
    let socket = server.socket();
    // Loosen every mode on the way, as a careless admin might.
    for path in [server.home.path(), socket.parent().unwrap(), &socket] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    use std::os::unix::process::CommandExt;
    let out = run(Command::new("curl")
        .args(["-sS", "--max-time", "5", "--unix-socket"])
        .arg(&socket)
        .arg("http://localhost/")
        .uid(65534)
        .gid(65534));
    let body = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "nobody got an answer: {body}");
    assert!(
        !body.contains("AccessKeyId") && !body.contains("SecretAccessKey"),
        "{body}"
    );
    assert!(server.wait_for_stderr("refused a Unix socket connection", Duration::from_secs(5)));
    // The owner still gets through.
    assert!(curl_socket(&socket).status.success());
}

#[test]
fn a_socket_directory_open_to_others_is_refused() {
    let moto = Moto::shared();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("s3-credentials");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home.path());
    let out = run(cmd.args([
        "localserver",
        "b",
        "-d",
        "1h",
        "-p",
        "0",
        "--endpoint-url",
        &moto.url(),
    ]));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("Error: refusing socket directory"), "{err}");
    assert!(err.contains("0755"), "{err}");
}

#[test]
fn without_xdg_runtime_dir_the_socket_falls_back_to_a_private_temp_dir() {
    let moto = Moto::shared();
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().to_str().unwrap();
    let server = Start::new(moto, &moto.bucket("noxdg"))
        .unset("XDG_RUNTIME_DIR")
        .env("TMPDIR", tmp_path)
        .run();
    let uid = nix::unistd::geteuid();
    let socket = tmp
        .path()
        .join(format!("s3-credentials-{uid}/{}.sock", server.port));
    let announced = format!("Unix socket: {}", socket.display());
    assert!(
        server.stderr_lines().contains(&announced),
        "{:?}",
        server.stderr_lines()
    );
    assert_eq!(mode(socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&socket), 0o600);
    // fetch, in the same environment, finds it by port alone.
    let mut cmd = Command::new(FETCH);
    aws_env(&mut cmd, server.home.path());
    cmd.env_remove("XDG_RUNTIME_DIR").env("TMPDIR", tmp_path);
    let out = run(cmd.args(["--port", &server.port.to_string()]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    access_key(&out.stdout);
    assert!(server.wait_for_stderr("unix GET / 200", Duration::from_secs(5)));
}

#[test]
fn socket_activation_serves_what_systemd_passed() {
    use std::os::fd::OwnedFd;
    let moto = Moto::shared();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = tcp.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("activated.sock");
    let unix = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let mut start = Start::new(moto, &moto.bucket("activated"));
    start.activation = vec![OwnedFd::from(tcp), OwnedFd::from(unix)];
    let mut server = start.run();
    assert_eq!(server.port, port, "serves the passed TCP socket");
    let announced = format!("Unix socket: {}", path.display());
    assert!(
        server.stderr_lines().contains(&announced),
        "{:?}",
        server.stderr_lines()
    );
    let (status, _, over_tcp) = server.get("/");
    assert_eq!(status, 200);
    let over_socket = curl_socket(&path);
    assert_eq!(
        access_key(&over_socket.stdout),
        access_key(over_tcp.as_bytes())
    );
    assert!(server.terminate().success());
    assert!(
        path.exists(),
        "systemd's socket file is systemd's to remove"
    );
}

#[test]
fn socket_activation_without_a_tcp_socket_is_refused() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    let unix = std::os::unix::net::UnixListener::bind(dir.path().join("only.sock")).unwrap();
    let mut start = Start::new(moto, &moto.bucket("notcp"));
    start.activation = vec![std::os::fd::OwnedFd::from(unix)];
    let lines = start.try_run().err().expect("startup fails");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("Error: socket activation passed no TCP socket"),
        "{lines:?}"
    );
}

#[test]
fn fetch_goes_past_a_stale_default_socket_to_tcp() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("stale"))
        .arg("--no-socket")
        .run();
    // What a killed server leaves: a socket file nobody listens on.
    let dir = server.home.path().join("s3-credentials");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    drop(std::os::unix::net::UnixListener::bind(server.socket()).unwrap());
    assert!(server.socket().exists());
    let out = fetch(server.home.path(), &["--port", &server.port.to_string()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    access_key(&out.stdout);
    assert!(server.wait_for_stderr("tcp GET / 200", Duration::from_secs(5)));
}
