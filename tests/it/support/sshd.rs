//! sshd on loopback, playing a remote host: its own host key,
//! config and authorized key in a temporary directory, logging to stderr,
//! and an `ssh` client for it. The remote user is root (this machine's
//! tests run as root); `NOBODY` plays a stranger there.

use super::{run, spawn, Running};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A running sshd and the key that logs in to it, killed when dropped.
pub struct Sshd {
    _child: Running,
    pub port: u16,
    dir: tempfile::TempDir,
}

fn keygen(path: &Path) {
    let out = run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Sshd {
    /// Starts sshd on 127.0.0.1 (a free port), or `None` (said) where it
    /// cannot run: not root, or no sshd.
    pub fn start() -> Option<Sshd> {
        let sshd = Path::new("/usr/sbin/sshd");
        if !nix::unistd::geteuid().is_root() || !sshd.exists() {
            eprintln!("skipped: sshd on loopback needs root and openssh-server (scripts/test installs it)");
            return None;
        }
        // Its privilege separation directory.
        std::fs::create_dir_all("/run/sshd").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        let port = crate::support::free_port();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\nPort {port}\nHostKey {0}/host_key\n\
                 AuthorizedKeysFile {0}/authorized_keys\nPidFile {0}/sshd.pid\n\
                 PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
                 AllowStreamLocalForwarding yes\nStreamLocalBindUnlink yes\n",
                d.display()
            ),
        )
        .unwrap();
        let mut child = spawn(
            Command::new(sshd)
                .args(["-D", "-e", "-f"])
                .arg(d.join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let ready = format!("Server listening on 127.0.0.1 port {port}");
        let mut said = Vec::new();
        for line in lines.by_ref() {
            let line = line.unwrap_or_default();
            if line.contains(&ready) {
                break;
            }
            said.push(line);
            if said.len() > 50 {
                panic!("sshd did not start: {said:#?}");
            }
        }
        // Keep reading, so sshd never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Some(Sshd {
            _child: child,
            port,
            dir,
        })
    }

    /// `ssh root@127.0.0.1 -p PORT` with our key, batch mode, no known
    /// hosts, and `args` (forwardings, then the remote command).
    pub fn ssh(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.args(["-F", "/dev/null", "-i"])
            .arg(self.dir.path().join("client_key"))
            .args([
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ExitOnForwardFailure=yes",
                "-p",
                &self.port.to_string(),
            ])
            .args(args)
            .arg("root@127.0.0.1");
        cmd
    }

    /// A directory for the remote side's sockets: 0755, so that a
    /// socket's own mode is what keeps a stranger out.
    pub fn remote_dir(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let dir = self.dir.path().join("remote");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }
}
