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
/// It says `ready` once listening and stops when dropped.
pub struct Squatter(Child);

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
        use std::os::unix::process::CommandExt;
        let mut cmd = Command::new("python3");
        cmd.args(["-c", SQUATTER, kind, at, body])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(uid) = uid {
            cmd.uid(uid).gid(uid);
        }
        let mut child = cmd.spawn().unwrap();
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "the squatter did not start on {at}");
        Squatter(child)
    }
}

impl Drop for Squatter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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
