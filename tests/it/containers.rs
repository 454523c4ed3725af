//! Containers and remote shells: one token per scope, the
//! container endpoint on 169.254.170.2 (a network namespace plays the
//! container), `container-env`, and the Unix socket forwarded over ssh.

use crate::support::*;
use s3_credentials::server::{PER_ADDRESS, UNNAMED_CONTAINER_CONNECTIONS};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

/// Scopes `prod` (bucket `a`, `jobs/`, its own token), `other` (bucket `b`,
/// its own token) and `open` (bucket `b`, no token), in `dir`.
fn three_scopes(dir: &Path, a: &str, b: &str) -> std::path::PathBuf {
    let config = dir.join("scopes.toml");
    std::fs::write(
        &config,
        format!(
            "[scope.prod]\nbuckets = [\"{a}\"]\nprefix = \"jobs/\"\ntoken_file = \"prod.token\"\n\n\
             [scope.other]\nbuckets = [\"{b}\"]\ntoken_file = \"other.token\"\n\n\
             [scope.open]\nbuckets = [\"{b}\"]\n"
        ),
    )
    .unwrap();
    config
}

fn read_token(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{name}.token"))).unwrap()
}

fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> u16 {
    let auth = token.map_or(String::new(), |t| format!("Authorization: {t}\r\n"));
    let host = addr.to_string();
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"),
    )
    .0
}

#[test]
fn a_scope_token_opens_that_scope_alone_and_the_server_token_opens_all() {
    use std::os::unix::fs::PermissionsExt;
    let moto = Moto::shared();
    let (a, b) = (moto.bucket("tok-a"), moto.bucket("tok-b"));
    let dir = tempfile::tempdir().unwrap();
    let config = three_scopes(dir.path(), &a, &b);
    // Without --auth-token-file: scopes without a token stay open over TCP.
    let server = Start::new(moto, "")
        .args(&["--config", config.to_str().unwrap()])
        .run();
    for name in ["prod", "other"] {
        let mode = std::fs::metadata(dir.path().join(format!("{name}.token")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}.token was made 0600");
        assert!(server
            .stderr_lines()
            .iter()
            .any(|l| l.contains(&format!("{name}.token with a new random token"))));
    }
    let (prod, other) = (
        read_token(dir.path(), "prod"),
        read_token(dir.path(), "other"),
    );
    let at = server.addr();
    assert_eq!(get(at, "/scope/prod", Some(&prod)), 200);
    assert_eq!(get(at, "/scope/prod/ecs", Some(&prod)), 200);
    // Without a token, prod is as unknown as a scope that does not exist:
    // the same answer, so its name is not learnt (a token that opens
    // something else hears 401, as every request with a wrong token).
    let bare = |path: &str| {
        let request = format!("GET {path} HTTP/1.1\r\nHost: {at}\r\nConnection: close\r\n\r\n");
        let (status, _, body) = http(at, &request);
        (status, body)
    };
    assert_eq!(bare("/scope/prod"), bare("/scope/no-such-scope"));
    assert_eq!(bare("/scope/prod").0, 404);
    assert_eq!(get(at, "/scope/prod", Some(&other)), 401);
    assert_eq!(get(at, "/scope/other", Some(&prod)), 401);
    assert_eq!(get(at, "/scope/open", None), 200);
    // prod's token is for prod alone: not the open scope, not /metrics.
    assert_eq!(get(at, "/scope/open", Some(&prod)), 401);
    assert_eq!(get(at, "/metrics", Some(&prod)), 401);
    let request = format!(
        "GET /healthz HTTP/1.1\r\nHost: {at}\r\nAuthorization: {prod}\r\nConnection: close\r\n\r\n"
    );
    let (status, _, health) = http(at, &request);
    assert_eq!((status, health.as_str()), (200, "{\"status\": \"ok\"}"));
    // The socket is the owner's: every scope, no token.
    let mut fetch = Command::new(FETCH);
    aws_env(&mut fetch, server.home.path());
    let out = run(fetch
        .arg("--socket")
        .arg(server.socket())
        .args(["--scope", "prod"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(server);

    // With --auth-token-file: that token opens every scope and /metrics;
    // a scope's token still opens its own alone, and / not at all.
    let global = dir.path().join("server.token");
    let server = Start::new(moto, "")
        .args(&[
            "--config",
            config.to_str().unwrap(),
            "--auth-token-file",
            global.to_str().unwrap(),
        ])
        .run();
    let global = std::fs::read_to_string(&global).unwrap();
    let at = server.addr();
    for path in ["/scope/prod", "/scope/other", "/scope/open", "/metrics"] {
        assert_eq!(get(at, path, Some(&global)), 200, "{path}");
    }
    assert_eq!(get(at, "/scope/open", None), 401);
    assert_eq!(get(at, "/scope/prod", Some(&prod)), 200);
    assert_eq!(get(at, "/scope/open", Some(&prod)), 401);

    // Checked as the global one: a token file others can read is refused.
    std::fs::set_permissions(
        dir.path().join("other.token"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let refused = Start::new(moto, "")
        .args(&["--config", config.to_str().unwrap()])
        .try_run()
        .err()
        .expect("refused");
    let said = refused.join("\n");
    assert!(
        said.contains("scope 'other' token_file") && said.contains("chmod 600"),
        "{said}"
    );
}

#[test]
fn a_reload_reads_each_scopes_token_again() {
    let moto = Moto::shared();
    let (a, b) = (moto.bucket("tokr-a"), moto.bucket("tokr-b"));
    let dir = tempfile::tempdir().unwrap();
    let config = three_scopes(dir.path(), &a, &b);
    let server = Start::new(moto, "")
        .args(&["--config", config.to_str().unwrap()])
        .run();
    let old = read_token(dir.path(), "prod");
    let new = "a-new-token-for-prod-0123456789";
    std::fs::write(dir.path().join("prod.token"), new).unwrap();
    signal(&server.child, nix::sys::signal::Signal::SIGHUP);
    assert!(server.wait_for_stderr("reloaded", std::time::Duration::from_secs(10)));
    assert_eq!(get(server.addr(), "/scope/prod", Some(new)), 200);
    assert_eq!(
        get(server.addr(), "/scope/prod", Some(&old)),
        404,
        "as unknown as no scope"
    );
}

#[test]
fn a_container_endpoint_on_an_address_no_interface_has_says_how_to_add_it() {
    let moto = Moto::shared();
    let bucket = moto.bucket("ctr-missing");
    let refused = Start::new(moto, &bucket)
        .args(&["--container-endpoint", "169.254.170.99:0"])
        .try_run()
        .err()
        .expect("refused");
    let said = refused.join("\n");
    assert!(
        said.contains("169.254.170.99 is on no interface")
            && said.contains("ip addr add 169.254.170.99/32 dev lo"),
        "{said}"
    );
    let out = run(Command::new(SERVER).args([
        "localserver",
        "b",
        "-d",
        "1h",
        "--container-endpoint",
        "nowhere",
    ]));
    assert_eq!(out.status.code(), Some(2));
}

const BOTO3: &str = r#"
import sys, boto3
bucket, key = sys.argv[1], sys.argv[2]
s3 = boto3.client("s3")
s3.put_object(Bucket=bucket, Key=key, Body=b"from boto3")
listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="jobs/").get("Contents", [])]
print(key in listed, s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode())
"#;

#[test]
fn a_network_namespace_reaches_its_scope_through_the_container_endpoint() {
    let Some(netns) = Netns::create() else {
        return;
    };
    let moto = Moto::shared();
    let (a, b) = (moto.bucket("ctr-a"), moto.bucket("ctr-b"));
    let dir = tempfile::tempdir().unwrap();
    let config = three_scopes(dir.path(), &a, &b);
    let server = Start::new(moto, "")
        .args(&[
            "--config",
            config.to_str().unwrap(),
            "--container-endpoint",
            "0",
        ])
        .run();
    let port = container_port(&server);
    let endpoint = SocketAddr::from((CONTAINER_HOST, port));
    let s3 = netns.forward_to(SocketAddr::from(([127, 0, 0, 1], moto.port)));
    // What a user pastes: container-env's output, plus S3's address.
    let mut env = container_client_env(&server, "prod", &dir.path().join("home"));
    assert_eq!(
        env[0],
        (
            "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
            format!("http://{endpoint}/scope/prod/ecs")
        )
    );
    let s3_url = format!("http://{s3}");
    env.push(("AWS_ENDPOINT_URL".into(), s3_url.clone()));
    let python = tool("python3");
    let aws = tool("aws");
    let js = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/js_v3.mjs");
    let clients = |env: &[(String, String)]| {
        let boto3 = run(netns.command(env, python.to_str().unwrap()).args([
            "-c",
            BOTO3,
            &a,
            "jobs/boto3.txt",
        ]));
        // Put, list and get, as a user would type them.
        let script = "echo from-cli | \"$0\" s3 cp - \"s3://$1/jobs/cli.txt\" && \
                      \"$0\" s3 ls \"s3://$1/jobs/\" && \"$0\" s3 cp \"s3://$1/jobs/cli.txt\" -";
        let mut cli = netns.command(env, "sh");
        cli.args(["-c", script, aws.to_str().unwrap(), &a]);
        let cli = run(&mut cli);
        let node = run(netns.command(env, "node").arg(&js).args([
            &s3_url,
            &a,
            "jobs/js.txt",
            "from js v3",
        ]));
        [("boto3", boto3), ("aws cli", cli), ("js v3", node)]
    };
    // A stranger on the host opens 16 connections from each of eight
    // loopback addresses and holds them: the kernel names its uid, so
    // every one is closed at accept, and the container gets through.
    let hog = can_be_nobody().then(|| Hog::start(endpoint, 16, 8));
    let ran = clients(&env);
    for (client, out) in &ran {
        assert!(
            out.status.success(),
            "{client}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    if let Some(mut hog) = hog {
        assert_eq!(hog.held(), 0, "the stranger's connections left open");
    }
    // Peers the kernel cannot name (the namespace) share by address: 16
    // of 20 are held open, and the clients below still get through.
    let mut netns_hog = Hog::run(
        netns.command(&[], "python3"),
        endpoint,
        PER_ADDRESS + 4,
        &[],
    );
    assert_eq!(netns_hog.held(), PER_ADDRESS, "one address's share");
    // Twenty containers holding their shares take 96 of 128 together:
    // the rest stays for peers the kernel names, the owner among them.
    let sources: Vec<String> = netns.sources(20).iter().map(|a| a.to_string()).collect();
    drop(netns_hog);
    let mut crowd = Hog::run(
        netns.command(&[], "python3"),
        endpoint,
        PER_ADDRESS,
        &sources,
    );
    assert_eq!(crowd.held(), UNNAMED_CONTAINER_CONNECTIONS);
    let token = read_token(dir.path(), "prod");
    assert_eq!(
        get(endpoint, "/scope/prod/ecs", Some(&token)),
        200,
        "the owner"
    );
    drop(crowd);
    let said = String::from_utf8_lossy(&ran[1].1.stdout).into_owned();
    assert!(
        said.contains("cli.txt") && said.ends_with("from-cli\n"),
        "aws cli: {said}"
    );
    let objects = moto_keys(moto, &a);
    assert!(
        objects.contains(&"jobs/boto3.txt".to_owned())
            && objects.contains(&"jobs/js.txt".to_owned()),
        "{objects:?}"
    );

    // Another scope's token, or none: 401, and every client fails.
    let other = read_token(dir.path(), "other");
    for token in [Some(other.as_str()), None] {
        let mut wrong = env.clone();
        wrong.retain(|(k, _)| k != "AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if let Some(token) = token {
            wrong.push(("AWS_CONTAINER_AUTHORIZATION_TOKEN".into(), token.into()));
        }
        for (client, out) in clients(&wrong) {
            assert!(
                !out.status.success(),
                "{client} got credentials with {token:?}"
            );
        }
        let curl = run(netns
            .command(&[], "curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .args(token.map(|t| format!("-HAuthorization: {t}")))
            .arg(format!("http://{endpoint}/scope/prod/ecs")));
        assert_eq!(String::from_utf8_lossy(&curl.stdout), "401");
    }
    // From the namespace, the open scope and / are closed too: no token, no
    // access, not even the health status.
    for path in ["/scope/open/ecs", "/ecs", "/metrics", "/healthz"] {
        assert_eq!(get(endpoint, path, None), 401, "{path}");
    }
    // On the host, another uid: closed on without a byte, as on TCP.
    if can_be_nobody() {
        let answer = http_as_nobody(
            endpoint,
            &format!(
                "GET /scope/prod/ecs HTTP/1.1\r\nHost: {endpoint}\r\nConnection: close\r\n\r\n"
            ),
        );
        assert_eq!(answer, "");
    }
    // The other formats carry the same variables.
    let compose = container_env(&server, "prod", "compose");
    assert!(
        compose.starts_with("environment:\n  AWS_CONTAINER_CREDENTIALS_FULL_URI: \"http://"),
        "{compose}"
    );
    let shell = container_env(&server, "prod", "env");
    assert!(
        shell.contains(&format!(
            "export AWS_CONTAINER_CREDENTIALS_FULL_URI='http://{endpoint}/scope/prod/ecs'"
        )),
        "{shell}"
    );
    // A scope without a token of its own has nothing to give a container.
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, server.home.path());
    let out = run(cmd
        .args(["container-env", "--scope", "open", "--socket"])
        .arg(server.socket()));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("add token_file = \"open.token\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The keys in `bucket`, as moto holds them.
fn moto_keys(moto: &Moto, bucket: &str) -> Vec<String> {
    let out = expect_success(&run(Command::new(tool("python3")).args([
        "-c",
        "import sys, boto3; s3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', \
         aws_access_key_id='testing', aws_secret_access_key='testing'); \
         print('\\n'.join(o['Key'] for o in s3.list_objects_v2(Bucket=sys.argv[2]).get('Contents', [])))",
        &moto.url(),
        bucket,
    ])));
    out.lines().map(str::to_owned).collect()
}

#[test]
fn a_unix_socket_forwarded_over_ssh_serves_the_remote_side_and_no_stranger_there() {
    use std::os::unix::fs::MetadataExt;
    let Some(sshd) = Sshd::start() else {
        return;
    };
    let moto = Moto::shared();
    let bucket = moto.bucket("ssh-fwd");
    let server = Start::new(moto, &bucket).run();
    let remote = sshd.remote_dir().join("s3-credentials.sock");
    let forward = format!("{}:{}", remote.display(), server.socket().display());
    let _session = spawn(
        sshd.ssh(&["-N", "-o", "StreamLocalBindUnlink=yes", "-R", &forward])
            .stdin(std::process::Stdio::null()),
    );
    // ssh says nothing once the remote socket is there: wait for the file.
    polled(
        "ssh's remote socket",
        std::time::Duration::from_secs(10),
        || remote.exists().then_some(()),
    );
    // The remote side's socket is the remote user's (sshd's), 0600.
    let meta = std::fs::metadata(&remote).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o600));

    // There, credential_process = s3-credentials-fetch --socket REMOTE works.
    let home = tempfile::tempdir().unwrap();
    let mut fetch = Command::new(FETCH);
    aws_env(&mut fetch, home.path());
    let body = expect_success(&run(fetch.arg("--socket").arg(&remote)));
    assert!(body.contains("\"AccessKeyId\""), "{body}");
    std::fs::write(
        home.path().join("aws-config"),
        format!(
            "[profile remote]\nregion = us-east-1\ncredential_process = {FETCH} --socket {}\n",
            remote.display()
        ),
    )
    .unwrap();
    let mut cli = Command::new(tool("aws"));
    aws_env(&mut cli, home.path());
    cli.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .args([
            "--profile",
            "remote",
            "--endpoint-url",
            &moto.url(),
            "s3api",
            "list-objects-v2",
            "--bucket",
            &bucket,
        ]);
    let out = run(&mut cli);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // fetch's server check runs there too: a socket not served as the
    // uid it wants is refused.
    let mut fetch = Command::new(FETCH);
    aws_env(&mut fetch, home.path());
    let out = run(fetch
        .arg("--socket")
        .arg(&remote)
        .args(["--server-uid", "1234"]));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the server runs as uid 0, not as uid 1234"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A stranger on the remote side cannot connect to it.
    if can_be_nobody() {
        use std::os::unix::process::CommandExt;
        let out = run(Command::new("python3")
            .args([
                "-c",
                "import socket, sys\ns = socket.socket(socket.AF_UNIX)\n\
                 try:\n    s.connect(sys.argv[1]); print('connected')\n\
                 except OSError as e:\n    print(e.errno)",
            ])
            .arg(&remote)
            .uid(NOBODY)
            .gid(NOBODY));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "13", "EACCES");
    }
}

/// Another uid holding idle connections open to `addr` (a request head
/// never finished), and how many the server left open of those it tried;
/// killed when dropped.
struct Hog {
    _child: Running,
    said: std::io::Lines<std::io::BufReader<std::process::ChildStdout>>,
}

const HOG: &str = r#"
import socket, sys, time
host, port, each = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sources = [s for s in sys.argv[4].split(",") if s] or [None]
held = []
for source in sources:
    for _ in range(each):
        at = (source, 0) if source else None
        try:
            s = socket.create_connection((host, port), timeout=5, source_address=at)
        except OSError:
            continue
        try:
            s.sendall(b"GET /scope/prod/ecs HTTP/1.1\r\n")
        except OSError:
            pass
        held.append(s)
time.sleep(0.5)
still_open = 0
for s in held:
    s.setblocking(False)
    try:
        s.recv(1)  # an answer (503) or the end: the server let it go
    except BlockingIOError:
        still_open += 1
    except OSError:
        pass
print(still_open, flush=True)
time.sleep(60)
"#;

impl Hog {
    /// `each` connections from each of `sources` loopback addresses
    /// (127.0.0.2 on), as uid `NOBODY`.
    fn start(addr: SocketAddr, each: usize, sources: usize) -> Hog {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("python3");
        cmd.uid(NOBODY).gid(NOBODY);
        let from: Vec<String> = (2..2 + sources).map(|n| format!("127.0.0.{n}")).collect();
        Hog::run(cmd, addr, each, &from)
    }

    /// `each` connections from each of `from` (none: `cmd`'s own address;
    /// `cmd` runs python3).
    fn run(mut cmd: Command, addr: SocketAddr, each: usize, from: &[String]) -> Hog {
        use std::io::BufRead;
        let mut child = spawn(
            cmd.args(["-c", HOG])
                .args([
                    addr.ip().to_string(),
                    addr.port().to_string(),
                    each.to_string(),
                    from.join(","),
                ])
                .stdout(std::process::Stdio::piped()),
        );
        let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        Hog {
            _child: child,
            said: lines,
        }
    }

    /// How many of its connections the server left open.
    fn held(&mut self) -> usize {
        let line = self.said.next().expect("the hog's count").unwrap();
        line.trim().parse().unwrap()
    }
}

#[test]
fn a_scope_token_that_is_the_servers_or_another_scopes_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let moto = Moto::shared();
    let (a, b) = (moto.bucket("tokd-a"), moto.bucket("tokd-b"));
    let dir = tempfile::tempdir().unwrap();
    let config = three_scopes(dir.path(), &a, &b);
    let global = dir.path().join("server.token");
    std::fs::write(&global, "the-servers-own-token-0123456789").unwrap();
    std::fs::set_permissions(&global, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::copy(&global, dir.path().join("prod.token")).unwrap();
    let args = [
        "--config",
        config.to_str().unwrap(),
        "--auth-token-file",
        global.to_str().unwrap(),
    ];
    let said = Start::new(moto, "")
        .args(&args)
        .try_run()
        .err()
        .expect("refused")
        .join("\n");
    assert!(
        said.contains("scope 'prod' token_file")
            && said.contains("holds the --auth-token-file token"),
        "{said}"
    );
    std::fs::remove_file(dir.path().join("prod.token")).unwrap();
    let server = Start::new(moto, "").args(&args).run();
    // A reload that makes two scopes share a token is refused, and the old
    // tokens keep working.
    let (other, prod) = (
        read_token(dir.path(), "other"),
        read_token(dir.path(), "prod"),
    );
    std::fs::write(dir.path().join("prod.token"), &other).unwrap();
    signal(&server.child, nix::sys::signal::Signal::SIGHUP);
    assert!(server.wait_for_stderr("reload failed", std::time::Duration::from_secs(10)));
    let lines = server.stderr_lines();
    let line = lines.iter().find(|l| l.contains("reload failed")).unwrap();
    assert!(
        line.contains("scopes 'other' and 'prod' have the same token"),
        "{line}"
    );
    assert_eq!(get(server.addr(), "/scope/prod", Some(&prod)), 200);
    assert_eq!(get(server.addr(), "/scope/other", Some(&other)), 200);
}

#[test]
fn container_env_takes_only_an_absolute_token_path_in_one_line() {
    for bad in ["relative/token", "/run/x\nAWS_ACCESS_KEY_ID=evil", ""] {
        let out = run(Command::new(SERVER).args([
            "container-env",
            "--scope",
            "p",
            "--token-file-at",
            bad,
        ]));
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(out.stdout.is_empty(), "{bad:?}: nothing for an env file");
    }
}

#[test]
fn a_container_endpoint_no_token_opens_says_so_at_startup() {
    let moto = Moto::shared();
    let bucket = moto.bucket("ctr-unopened");
    let warning = "the container endpoint refuses every request (401)";
    let server = Start::new(moto, &bucket)
        .args(&["--container-endpoint", "127.0.0.1:0"])
        .run();
    assert!(server.stderr_lines().iter().any(|l| l.contains(warning)));
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("server.token");
    let server = Start::new(moto, &bucket)
        .args(&[
            "--container-endpoint",
            "127.0.0.1:0",
            "--auth-token-file",
            token.to_str().unwrap(),
        ])
        .run();
    assert!(!server.stderr_lines().iter().any(|l| l.contains(warning)));
    let port = container_port_at(&server, "127.0.0.1");
    let token = std::fs::read_to_string(&token).unwrap();
    assert_eq!(
        get(
            SocketAddr::from(([127, 0, 0, 1], port)),
            "/scope/default/ecs",
            Some(&token)
        ),
        200
    );
}
