//! The real binaries, started the way a user (or systemd) would.
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

/// Environment for our binaries: moto's dummy keys, no IMDS, no user config
/// (empty config files in `home`, so the SDK has nothing to warn about).
pub fn aws_env(cmd: &mut Command, home: &Path) {
    for file in ["aws-config", "aws-credentials"] {
        let path = home.join(file);
        if !path.exists() {
            std::fs::write(path, "").unwrap();
        }
    }
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"));
}

/// A running `s3-credentials localserver`, stopped (SIGKILL) when dropped.
pub struct Server {
    pub child: Running,
    pub port: u16,
    pub bucket: String,
    pub home: tempfile::TempDir,
    /// Everything it has written to stderr so far.
    pub stderr: Arc<Mutex<Vec<String>>>,
    /// While set, nobody reads its stderr (a stalled pipe).
    pub stderr_paused: Arc<std::sync::atomic::AtomicBool>,
}

/// Options for starting a server; `args` are added after the defaults.
pub struct Start {
    /// Where AWS is (moto, radosgw).
    pub endpoint: String,
    pub bucket: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Variables to remove from its environment.
    pub unset: Vec<String>,
    /// Point AWS at moto with `--endpoint-url` (else the caller's env does).
    pub endpoint_flag: bool,
    /// Listeners to pass as systemd does (descriptors 3.., LISTEN_FDS).
    pub activation: Vec<std::os::fd::OwnedFd>,
    /// What to write to its standard input (else it gets none).
    pub stdin: Option<String>,
}

impl Start {
    pub fn new(moto: &Moto, bucket: &str) -> Start {
        Start::at(&moto.url(), bucket)
    }

    /// A server against any endpoint.
    pub fn at(endpoint: &str, bucket: &str) -> Start {
        Start {
            endpoint: endpoint.to_owned(),
            bucket: bucket.to_owned(),
            args: vec![],
            env: vec![],
            unset: vec![],
            endpoint_flag: true,
            activation: vec![],
            stdin: None,
        }
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_owned());
        self
    }

    pub fn unset(mut self, key: &str) -> Self {
        self.unset.push(key.to_owned());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Starts it with `--port 0` and waits for `Press Ctrl+C to stop`.
    pub fn run(self) -> Server {
        self.try_run()
            .unwrap_or_else(|lines| panic!("server did not start: {lines:#?}"))
    }

    /// Starts it; the stderr lines if it did not get ready.
    pub fn try_run(self) -> Result<Server, Vec<String>> {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = match self.activation.is_empty() {
            true => Command::new(SERVER),
            false => socket_activated(&self.activation),
        };
        aws_env(&mut cmd, home.path());
        cmd.arg("localserver");
        // No bucket: a server of `--config` scopes only.
        if !self.bucket.is_empty() {
            cmd.arg(&self.bucket);
        }
        cmd.args(["--port", "0"]);
        if !self.args.iter().any(|a| a == "--duration") {
            cmd.args(["--duration", "15m"]);
        }
        if self.endpoint_flag {
            cmd.args(["--endpoint-url", &self.endpoint]);
        }
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(match self.stdin {
                Some(_) => Stdio::piped(),
                None => Stdio::null(),
            })
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for key in &self.unset {
            cmd.env_remove(key);
        }
        let mut child = spawn(&mut cmd);
        if let (Some(text), Some(mut stdin)) = (&self.stdin, child.stdin.take()) {
            stdin.write_all(text.as_bytes()).unwrap(); // closed as it drops
        }
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        let paused = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pause = paused.clone();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            loop {
                while pause.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let Some(Ok(line)) = lines.next() else { break };
                // As text, or as the message of a JSON line.
                let ready = line == "Press Ctrl+C to stop"
                    || line.contains(r#""message":"Press Ctrl+C to stop""#);
                sink.lock().unwrap().push(line);
                if ready {
                    let _ = tx.send(());
                }
            }
        });
        let lines = || log.lock().unwrap().clone();
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            return Err(lines()); // killed as `child` drops
        }
        let port = lines()
            .iter()
            .find_map(|l| l.split("at http://").nth(1))
            .and_then(|rest| rest.split('/').next()?.rsplit_once(':'))
            .and_then(|(_, port)| port.parse().ok())
            .expect("the serving line names the port");
        Ok(Server {
            child,
            port,
            bucket: self.bucket,
            home,
            stderr: log,
            stderr_paused: paused,
        })
    }
}

/// A command that runs the server as systemd would on socket activation:
/// `fds` as descriptors 3.., LISTEN_FDS, and LISTEN_PID set to its own pid
/// (by a shell that then execs the server).
fn socket_activated(fds: &[std::os::fd::OwnedFd]) -> Command {
    use std::os::unix::process::CommandExt;
    let script = format!(
        "export LISTEN_PID=$$ LISTEN_FDS={}; exec \"$0\" \"$@\"",
        fds.len()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script).arg(SERVER);
    // Out of the way of 3.. first, so no dup2 below overwrites a source.
    let high: Vec<i32> = fds
        .iter()
        .map(|fd| nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(100)).unwrap())
        .collect();
    // SAFETY: only dup2, which is async-signal-safe, runs between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            for (i, fd) in high.iter().enumerate() {
                if nix::libc::dup2(*fd, 3 + i as i32) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// The default socket path (XDG_RUNTIME_DIR is the temp home).
    pub fn socket(&self) -> PathBuf {
        self.home
            .path()
            .join("s3-credentials")
            .join(format!("{}.sock", self.port))
    }

    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// `GET path` over TCP with the usual headers.
    pub fn get(&self, path: &str) -> Reply {
        http(
            self.addr(),
            &format!(
                "GET {path} HTTP/1.1\r\nHost: localhost:{}\r\n\r\n",
                self.port
            ),
        )
    }

    /// Sends SIGTERM and waits for the exit (10 s at most).
    pub fn terminate(&mut self) -> ExitStatus {
        signal(&self.child, nix::sys::signal::Signal::SIGTERM);
        wait_timeout(&mut self.child, Duration::from_secs(10)).expect("server exits on SIGTERM")
    }

    /// Waits until stderr has a line containing `needle`.
    pub fn wait_for_stderr(&self, needle: &str, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if self.stderr_lines().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}
