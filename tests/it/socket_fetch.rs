//! The per-user Unix socket and `s3-credentials-fetch`, end to end.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

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
    expect_success(&out);
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
        // The command it suggests starts a server where it asked.
        let suggested = format!("s3-credentials localserver BUCKET --duration 1h --port {port}");
        assert!(err.trim_end().ends_with(&suggested), "{err}");
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
    expect_success(&out);
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
    expect_success(&out);
    access_key(&out.stdout);
    assert!(server.wait_for_stderr("tcp GET / 200", Duration::from_secs(5)));
}

/// fetch's outcome: exit code, stdout, stderr.
fn fetch_as_root(env: &[(&str, &str)], args: &[&str]) -> (Option<i32>, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(FETCH);
    aws_env(&mut cmd, home.path());
    cmd.env_remove("XDG_RUNTIME_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run(cmd.args(args));
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_squatted_socket_directory_and_socket_are_refused() {
    if !can_be_nobody() {
        return;
    }
    let tmp = world_writable_tmp();
    let port = free_port();
    let me = nix::unistd::geteuid();
    // nobody makes our fallback directory first, and serves in it.
    let dir = tmp.path().join(format!("s3-credentials-{me}"));
    let socket = dir.join(format!("{port}.sock"));
    let mkdir = run(Command::new("sh")
        .args(["-c", "mkdir -m 755 \"$0\""])
        .arg(&dir)
        .uid(65534)
        .gid(65534));
    assert!(mkdir.status.success());
    let _squatter = Squatter::start("unix", socket.to_str().unwrap(), FORGED, Some(65534));
    let tmpdir = tmp.path().to_str().unwrap();
    let (code, stdout, stderr) =
        fetch_as_root(&[("TMPDIR", tmpdir)], &["--port", &port.to_string()]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "forged credentials printed: {stdout}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "s3-credentials-fetch: refusing {}: it is owned by uid 65534, not by you; \
             remove it, or pass --socket PATH or --url URL",
            dir.display()
        )
    );
    // Named directly, the socket is refused for who serves it.
    let (code, stdout, stderr) = fetch_as_root(&[], &["--socket", socket.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty());
    let expected = format!(
        "refusing {}: the server runs as uid 65534, not as you",
        socket.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    // Unless that uid is the one asked for.
    let (code, stdout, _) = fetch_as_root(
        &[],
        &[
            "--socket",
            socket.to_str().unwrap(),
            "--server-uid",
            "65534",
        ],
    );
    assert_eq!((code, stdout.contains("AKIAEVIL")), (Some(0), true));
}

#[test]
fn a_tcp_squatter_of_another_uid_is_refused_on_both_loopbacks() {
    if !can_be_nobody() {
        return;
    }
    let mut hosts = vec!["127.0.0.1"];
    if has_ipv6_loopback() {
        hosts.push("[::1]");
    }
    for host in hosts {
        let port = free_port();
        let _squatter = Squatter::start("tcp", &format!("{host}:{port}"), FORGED, Some(65534));
        let tmp = tempfile::tempdir().unwrap();
        let env = [("TMPDIR", tmp.path().to_str().unwrap())];
        let (code, stdout, stderr) = fetch_as_root(&env, &["--port", &port.to_string()]);
        assert_eq!(code, Some(1), "{host}: {stdout}{stderr}");
        assert!(stdout.is_empty(), "{host}: forged credentials printed");
        let expected =
            format!("refusing http://{host}:{port}/: port {port} is held by uid 65534, not by you");
        assert!(stderr.contains(&expected), "{host}: {stderr}");
    }
}

#[test]
fn a_same_uid_server_that_answers_html_is_refused() {
    let port = free_port();
    let _html = Squatter::start("tcp", &format!("127.0.0.1:{port}"), "<html>hi</html>", None);
    let url = format!("http://127.0.0.1:{port}/");
    let (code, stdout, stderr) = fetch_as_root(&[], &["--url", &url]);
    assert_eq!(code, Some(1));
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(&format!(
            "refusing {url}: its answer is not credentials: it is not JSON"
        )),
        "{stderr}"
    );
}

#[test]
fn what_others_put_at_the_socket_path_survives_our_shutdown() {
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    // A user's file put where our socket was.
    let path = dir.path().join("a.sock");
    let mut first = Start::new(moto, &moto.bucket("theirs"))
        .arg("--socket")
        .arg(path.to_str().unwrap())
        .run();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, "user data").unwrap();
    assert!(first.terminate().success());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "user data");

    // Another server that bound the path after ours lost it.
    let path = dir.path().join("b.sock");
    let mut old = Start::new(moto, &moto.bucket("old"))
        .arg("--socket")
        .arg(path.to_str().unwrap())
        .run();
    std::fs::remove_file(&path).unwrap();
    let new = Start::new(moto, &moto.bucket("new"))
        .arg("--socket")
        .arg(path.to_str().unwrap())
        .run();
    assert!(old.terminate().success());
    assert!(path.exists(), "the new server's socket is still there");
    assert!(curl_socket(&path).status.success());
    drop(new);
}

#[test]
fn a_child_of_a_socket_activated_server_inherits_no_listener() {
    use std::os::fd::OwnedFd;
    let moto = Moto::shared();
    let dir = tempfile::tempdir().unwrap();
    // The server's own credentials come from a credential_process that
    // reports what it inherited.
    let report = dir.path().join("report");
    let probe = dir.path().join("probe.sh");
    std::fs::write(
        &probe,
        format!(
            "{{ ls -l /proc/$$/fd; env | grep '^LISTEN_'; }} > '{}' 2>&1\n\
             echo '{{\"Version\": 1, \"AccessKeyId\": \"testing\", \"SecretAccessKey\": \"testing\"}}'\n",
            report.display()
        ),
    )
    .unwrap();
    let config = dir.path().join("aws-config");
    std::fs::write(
        &config,
        format!("[profile p]\ncredential_process = sh {}\n", probe.display()),
    )
    .unwrap();
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unix = std::os::unix::net::UnixListener::bind(dir.path().join("a.sock")).unwrap();
    let mut start = Start::new(moto, &moto.bucket("child"))
        .arg("--profile")
        .arg("p")
        .env("AWS_CONFIG_FILE", config.to_str().unwrap())
        .unset("AWS_ACCESS_KEY_ID")
        .unset("AWS_SECRET_ACCESS_KEY");
    start.activation = vec![OwnedFd::from(tcp), OwnedFd::from(unix)];
    let server = start.run();
    assert_eq!(server.get("/healthz").0, 200);
    let seen = std::fs::read_to_string(&report).expect("the credential_process ran");
    assert!(seen.contains("pipe:"), "{seen}"); // it did list its descriptors
    assert!(!seen.contains("socket:"), "inherited a socket: {seen}");
    assert!(!seen.contains("LISTEN_"), "inherited LISTEN_*: {seen}");
}

/// Who fetched: a Unix-socket access line names the peer's uid, pid and
/// program (here, this test process).
#[test]
fn a_socket_access_line_names_the_peer() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("who")).run();
    let stream = std::os::unix::net::UnixStream::connect(server.socket()).unwrap();
    let mut conn = KeepAlive::new(stream);
    assert_eq!(conn.get("/").unwrap().0, 200);
    let expected = "unix GET / 200 ";
    // The program is quoted, as a path may hold spaces.
    let named = format!(
        "peer_uid={} peer_pid={} peer_exe={:?}",
        nix::unistd::geteuid().as_raw(),
        std::process::id(),
        std::fs::read_link("/proc/self/exe")
            .unwrap()
            .display()
            .to_string()
    );
    assert!(
        server.wait_for_stderr(&named, std::time::Duration::from_secs(5)),
        "{:#?}",
        server.stderr_lines()
    );
    let line = server
        .stderr_lines()
        .into_iter()
        .find(|l| l.contains(&named))
        .unwrap();
    assert!(line.contains(expected), "{line}");
    // TCP lines name the peer's uid (the kernel's socket table has no pid).
    server.get("/");
    assert!(server.wait_for_stderr("tcp GET / 200", std::time::Duration::from_secs(5)));
    let tcp = server
        .stderr_lines()
        .into_iter()
        .find(|l| l.contains("tcp GET / 200"))
        .unwrap();
    let me = nix::unistd::geteuid().as_raw();
    assert!(tcp.contains(&format!("peer_uid={me}")), "{tcp}");
    assert!(
        !tcp.contains("peer_pid") && !tcp.contains("peer_exe"),
        "{tcp}"
    );
}

/// The container endpoint's socket passed by systemd (a `.socket` unit
/// with `ListenStream=ADDR:PORT`) is served as the container endpoint, and
/// stays held while the server is down: another uid cannot bind it then
/// and harvest the tokens containers send.
#[test]
fn socket_activation_keeps_the_container_endpoint_held_across_a_restart() {
    use std::os::fd::OwnedFd;
    let moto = Moto::shared();
    let bucket = moto.bucket("keptport");
    let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let container = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let addr = container.local_addr().unwrap();
    let start = |tcp: &std::net::TcpListener, container: &std::net::TcpListener| {
        let mut start = Start::new(moto, &bucket).args(&[
            "--no-socket",
            "--container-endpoint",
            &addr.to_string(),
        ]);
        start.activation = vec![
            OwnedFd::from(tcp.try_clone().unwrap()),
            OwnedFd::from(container.try_clone().unwrap()),
        ];
        start.run()
    };
    let mut server = start(&tcp, &container);
    let said = server.stderr_lines().join("\n");
    assert!(
        said.contains(&format!("Container endpoint: http://{addr}/")),
        "{said}"
    );
    assert_eq!(server.get("/").0, 200, "TCP serves the other socket");
    let asked = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let (status, _, _) = http(addr, &asked);
    assert_eq!(status, 401, "the container endpoint wants a token");
    assert!(server.terminate().success());
    // Down: the port is still systemd's (here, this test's), not a squatter's.
    if can_be_nobody() {
        let squat = Squatter::try_start("tcp", &addr.to_string(), "{}", Some(65534));
        assert!(
            squat.is_err(),
            "another uid bound {addr} while the server was down"
        );
    }
    let mut again = start(&tcp, &container);
    assert_eq!(http(addr, &asked).0, 401);
    assert!(again.terminate().success());
}
