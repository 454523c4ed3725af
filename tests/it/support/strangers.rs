//! Other users and other servers: squatters, and what the machine offers.
#![allow(unused_imports)]
use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A stranger's server: answers every request on a Unix socket or a TCP
/// address with `body` (forged credentials, or HTML), as `uid` if given.
/// It says `ready` once listening and is killed when dropped.
pub struct Squatter(Running);

const SQUATTER: &str = r#"
import os, socket, sys
kind, where, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
if kind == "unix":
    s = socket.socket(socket.AF_UNIX)
    s.bind(where)
else:
    host, port = where.rsplit(":", 1)
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host.strip("[]"), int(port)))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    except OSError:
        pass  # a client that refused us and hung up
    c.close()
"#;

/// Forged credential_process JSON, as a squatter would serve it.
pub const FORGED: &str = r#"{"Version": 1, "AccessKeyId": "AKIAEVIL", "SecretAccessKey": "evil", "SessionToken": "evil", "Expiration": "2099-01-01T00:00:00+00:00"}"#;

impl Squatter {
    /// Listens on `unix` socket path or `tcp` `host:port`.
    pub fn start(kind: &str, at: &str, body: &str, uid: Option<u32>) -> Squatter {
        Squatter::try_start(kind, at, body, uid)
            .unwrap_or_else(|_| panic!("the squatter did not start on {at}"))
    }

    /// The same; `Err` when it cannot listen there (the address is held).
    pub fn try_start(kind: &str, at: &str, body: &str, uid: Option<u32>) -> Result<Squatter, ()> {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("python3");
        cmd.args(["-c", SQUATTER, kind, at, body])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        let mut child = spawn(&mut cmd);
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        match ready.trim() {
            "ready" => Ok(Squatter(child)),
            _ => Err(()),
        }
    }
}

/// Whether this test may act as another user (uid 65534): only as root.
pub fn can_be_nobody() -> bool {
    let root = nix::unistd::geteuid().is_root();
    if !root {
        eprintln!("skipped: acting as another uid needs root (CI runs as root)");
    }
    root
}

/// Whether this machine has IPv6 loopback.
pub fn has_ipv6_loopback() -> bool {
    TcpListener::bind("[::1]:0").is_ok()
}

/// The uid the tests' stranger runs as.
pub const NOBODY: u32 = 65534;

const ASK: &str = r#"
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
data = b""
try:
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
    s.sendall(sys.argv[2].encode())
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except OSError:
    pass  # reset, or refused: what came before is the answer
sys.stdout.write(data.decode("latin-1"))
"#;

/// Sends `request` to `addr` as uid `NOBODY` and reads until the server
/// closes: the raw answer (empty when closed on without a byte).
pub fn http_as_nobody(addr: SocketAddr, request: &str) -> String {
    use std::os::unix::process::CommandExt;
    let out = run(Command::new("python3")
        .args(["-c", ASK, &addr.to_string(), request])
        .uid(NOBODY)
        .gid(NOBODY));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const FLOOD: &str = r#"
import socket, sys
held, answered = [], 0
for spec in sys.argv[1:]:
    where, count, request = spec.split("|", 2)
    host, port = where.rsplit(":", 1)
    for _ in range(int(count)):
        try:
            s = socket.create_connection((host, int(port)), timeout=5)
            s.sendall(request.encode())
            held.append(s)
        except OSError:
            pass
for s in held:
    try:
        s.settimeout(0.5)
        if s.recv(1):
            answered += 1
    except OSError:
        pass
print("ready", answered, flush=True)
sys.stdin.read()
"#;

/// Another uid's keep-alive connections, held open until dropped: each
/// `(addr, count, request)` opens `count` connections to `addr` and sends
/// `request` on each. `answered` is how many got a byte back.
pub struct Flood {
    _child: Running,
    pub answered: usize,
}

impl Flood {
    pub fn start(uid: u32, specs: &[(SocketAddr, usize, &str)]) -> Flood {
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("python3");
        cmd.args(["-c", FLOOD]);
        for (addr, count, request) in specs {
            cmd.arg(format!("{}:{}|{count}|{request}", addr.ip(), addr.port()));
        }
        let mut child = spawn(
            cmd.uid(uid)
                .gid(uid)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped()),
        );
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        let answered = ready
            .strip_prefix("ready ")
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("the flood did not start: {ready:?}"));
        Flood {
            _child: child,
            answered,
        }
    }
}

/// A shared temporary directory, like /tmp: anyone may create in it.
pub fn world_writable_tmp() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
    tmp
}

/// `s3-credentials exec BUCKET -d 15m --endpoint-url URL --`, with the test
/// bed's AWS environment in `home`: the command follows.
pub fn exec_command(moto: &Moto, bucket: &str, home: &Path) -> Command {
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home);
    cmd.args([
        "exec",
        bucket,
        "-d",
        "15m",
        "--endpoint-url",
        &moto.url(),
        "--",
    ]);
    cmd
}
