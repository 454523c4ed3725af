//! The integration test bed: a real moto server on 127.0.0.1, the real
//! binaries started against it, and a raw HTTP client for exact requests.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const SERVER: &str = env!("CARGO_BIN_EXE_s3-credentials");
pub const FETCH: &str = env!("CARGO_BIN_EXE_s3-credentials-fetch");

/// A tool from the test venv (`scripts/test` makes it), else from PATH.
pub fn tool(name: &str) -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    if venv.exists() {
        venv
    } else {
        PathBuf::from(name)
    }
}

/// A name no other test in this run uses (buckets, files).
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A free TCP port on 127.0.0.1 (for programs that cannot take port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// moto's server on loopback, shared by the tests of one binary. It is
/// stopped when the test process exits: its wrapper shell waits on our
/// stdin pipe, which the kernel closes then.
pub struct Moto {
    pub port: u16,
    pub recording: PathBuf,
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// The shared instance, started on first use.
    pub fn shared() -> &'static Moto {
        static MOTO: OnceLock<Moto> = OnceLock::new();
        MOTO.get_or_init(Moto::start)
    }

    /// A new instance (for tests that stop and restart their backend).
    pub fn start() -> Moto {
        Moto::start_with(&[])
    }

    /// A new instance with more environment (libfaketime's, say).
    pub fn start_with(env: &[(String, String)]) -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let recording = dir.path().join("recording.jsonl");
        let port = free_port();
        let script =
            format!("\"$0\" -H 127.0.0.1 -p {port} & pid=$!; cat >/dev/null; kill $pid; wait $pid");
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg(tool("moto_server"))
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_ENABLE_RECORDING", "true")
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("moto_server runs (scripts/test installs it)");
        let stdin = child.stdin.take().unwrap();
        let ready = format!("Running on http://127.0.0.1:{port}");
        wait_for_line(
            child.stderr.take().unwrap(),
            &ready,
            Duration::from_secs(60),
        )
        .unwrap_or_else(|lines| panic!("moto did not start: {lines:?}"));
        Moto {
            port,
            recording,
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (moto takes unsigned requests) and returns its name.
    pub fn bucket(&self, prefix: &str) -> String {
        let name = unique(prefix);
        let (status, _, _) = http(
            ([127, 0, 0, 1], self.port).into(),
            &format!("PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n"),
        );
        assert_eq!(status, 200, "create bucket {name}");
        name
    }

    /// How many AssumeRole calls moto has received for `bucket`'s sessions
    /// (`RoleSessionName=s3.MODE.BUCKET`, form-encoded).
    pub fn assume_role_calls(&self, bucket: &str) -> usize {
        let session = format!(".{bucket}&");
        let text = std::fs::read_to_string(&self.recording).unwrap_or_default();
        text.lines()
            .map(decode_body)
            .filter(|body| body.contains("Action=AssumeRole") && body.contains(&session))
            .count()
    }
}

/// The request body of one recording line (moto stores it base64).
fn decode_body(line: &str) -> String {
    use base64::Engine;
    let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    let body = entry["body"].as_str().unwrap_or_default();
    if entry["body_encoded"].as_bool() == Some(true) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        body.to_owned()
    }
}

/// Reads lines until one contains `needle`; the lines read so far on
/// timeout or EOF. The rest of the stream is drained in the background.
fn wait_for_line<R: Read + Send + 'static>(
    stream: R,
    needle: &str,
    timeout: Duration,
) -> Result<Vec<String>, Vec<String>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let needle = needle.to_owned();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let found = line.contains(&needle);
            sink.lock().unwrap().push(line);
            if found {
                let _ = tx.send(());
            }
        }
    });
    let lines = || log.lock().unwrap().clone();
    rx.recv_timeout(timeout)
        .map(|()| lines())
        .map_err(|_| lines())
}

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

/// A running `s3-credentials localserver`.
pub struct Server {
    pub child: Child,
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
        }
    }

    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_owned());
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
        cmd.args(["localserver", &self.bucket, "--port", "0"]);
        if !self.args.iter().any(|a| a == "--duration") {
            cmd.args(["--duration", "15m"]);
        }
        if self.endpoint_flag {
            cmd.args(["--endpoint-url", &self.endpoint]);
        }
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for key in &self.unset {
            cmd.env_remove(key);
        }
        let mut child = cmd.spawn().unwrap();
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
                let ready = line == "Press Ctrl+C to stop";
                sink.lock().unwrap().push(line);
                if ready {
                    let _ = tx.send(());
                }
            }
        });
        let lines = || log.lock().unwrap().clone();
        if rx.recv_timeout(Duration::from_secs(30)).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(lines());
        }
        let port = lines()
            .iter()
            .find_map(|l| l.split("at http://").nth(1))
            .and_then(|rest| rest.rsplit_once(':'))
            .and_then(|(_, port)| port.trim_end_matches('/').parse().ok())
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, sig).unwrap();
}

pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let until = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > until {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Status, headers (lower-case names) and body.
pub type Reply = (u16, Vec<(String, String)>, String);

/// Sends one raw request (the caller writes every byte, Host included),
/// half-closes, and reads the whole answer.
pub fn http(addr: SocketAddr, request: &str) -> Reply {
    let raw = http_raw(addr, request.as_bytes());
    parse_response(&raw).unwrap_or_else(|| panic!("not an HTTP response: {raw:?}"))
}

/// Sends bytes, reads until the server closes or 10 s pass.
pub fn http_raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(request);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    String::from_utf8_lossy(&raw).into_owned()
}

/// Status, headers (lower-case names) and body of the first response.
pub fn parse_response(raw: &str) -> Option<Reply> {
    let (head, body) = raw.split_once("\r\n\r\n")?;
    let mut lines = head.lines();
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Some((status, headers, body.to_owned()))
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Runs a command to completion with a time limit.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null());
    cmd.output().unwrap()
}

/// A scriptable STS on loopback: answers `AssumeRole` with credentials that
/// live `lifetime_secs`, 503 while not `healthy`, and can be killed (its
/// port closed: connection refused) and restarted on the same port. S3
/// stays on moto (`AWS_ENDPOINT_URL_STS` points only STS here), and
/// `--role-arn` spares the IAM calls. Tests see expiry and renewal in seconds.
pub struct FakeSts {
    pub port: u16,
    pub calls: Arc<AtomicUsize>,
    pub healthy: Arc<std::sync::atomic::AtomicBool>,
    /// While set, requests are read and never answered: a stalled network.
    pub stalled: Arc<std::sync::atomic::AtomicBool>,
    /// The caller's ARN that GetCallerIdentity answers.
    pub caller_arn: Arc<Mutex<String>>,
    /// An error the named action (`*`: every action) gets while set:
    /// (action, status, code, message).
    pub refusal: Arc<Mutex<Option<Refusal>>>,
    pub lifetime_secs: Arc<std::sync::atomic::AtomicI64>,
    alive: Arc<std::sync::atomic::AtomicBool>,
    accepting: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl FakeSts {
    pub fn start(lifetime_secs: i64) -> FakeSts {
        let listener = listen_reusable(0);
        let sts = FakeSts {
            port: listener.local_addr().unwrap().port(),
            calls: Arc::default(),
            healthy: Arc::new(true.into()),
            stalled: Arc::default(),
            caller_arn: Arc::new(Mutex::new("arn:aws:iam::123456789012:user/test".into())),
            refusal: Arc::default(),
            lifetime_secs: Arc::new(lifetime_secs.into()),
            alive: Arc::new(true.into()),
            accepting: Mutex::new(None),
        };
        sts.accept_on(listener);
        sts
    }

    fn accept_on(&self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let (calls, healthy, lifetime, alive, stalled) = (
            self.calls.clone(),
            self.healthy.clone(),
            self.lifetime_secs.clone(),
            self.alive.clone(),
            self.stalled.clone(),
        );
        let (caller_arn, refusal) = (self.caller_arn.clone(), self.refusal.clone());
        let thread = std::thread::spawn(move || {
            while alive.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let sts = Answering {
                    calls: calls.clone(),
                    healthy: healthy.clone(),
                    lifetime: lifetime.clone(),
                    alive: alive.clone(),
                    stalled: stalled.clone(),
                    caller_arn: caller_arn.clone(),
                    refusal: refusal.clone(),
                };
                std::thread::spawn(move || {
                    let _ = answer_sts(stream, &sts);
                });
            }
        });
        *self.accepting.lock().unwrap() = Some(thread);
    }

    /// Closes the port and every open connection, as a dead process would.
    pub fn kill(&self) {
        self.alive.store(false, Ordering::SeqCst);
        if let Some(thread) = self.accepting.lock().unwrap().take() {
            thread.join().unwrap();
        }
    }

    /// Listens again on the same port.
    pub fn restart(&self) {
        self.alive.store(true, Ordering::SeqCst);
        self.accept_on(listen_reusable(self.port));
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::SeqCst);
    }

    /// Server arguments that send STS here, S3 to moto, and skip IAM.
    pub fn server(&self, moto: &Moto, bucket: &str) -> Start {
        let mut start = Start::new(moto, bucket)
            .arg("--role-arn")
            .arg("arn:aws:iam::123456789012:role/test")
            .env("AWS_ENDPOINT_URL", &moto.url())
            .env("AWS_ENDPOINT_URL_STS", &self.url());
        start.endpoint_flag = false;
        start
    }
}

/// A listener on 127.0.0.1:port with SO_REUSEADDR, so a restart can take
/// the port back while old connections sit in TIME_WAIT.
fn listen_reusable(port: u16) -> TcpListener {
    use nix::sys::socket::{self, sockopt, AddressFamily, Backlog, SockFlag, SockType, SockaddrIn};
    let fd = socket::socket(
        AddressFamily::Inet,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .unwrap();
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true).unwrap();
    let addr = SockaddrIn::new(127, 0, 0, 1, port);
    use std::os::fd::AsRawFd;
    socket::bind(fd.as_raw_fd(), &addr).unwrap();
    socket::listen(&fd, Backlog::new(128).unwrap()).unwrap();
    TcpListener::from(fd)
}

/// What one connection of the fake STS shares with the test.
struct Answering {
    calls: Arc<AtomicUsize>,
    healthy: Arc<std::sync::atomic::AtomicBool>,
    lifetime: Arc<std::sync::atomic::AtomicI64>,
    alive: Arc<std::sync::atomic::AtomicBool>,
    stalled: Arc<std::sync::atomic::AtomicBool>,
    caller_arn: Arc<Mutex<String>>,
    refusal: Arc<Mutex<Option<Refusal>>>,
}

/// What the fake STS answers instead: (action, status, code, message).
pub type Refusal = (String, u16, String, String);

fn answer_sts(stream: TcpStream, sts: &Answering) -> std::io::Result<()> {
    let Answering {
        calls,
        healthy,
        lifetime,
        alive,
        stalled,
        caller_arn,
        refusal,
    } = sts;
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_millis(20)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    loop {
        let mut length = 0;
        let mut line = String::new();
        // Idle between requests: wake up now and then to die with the port.
        loop {
            match reader.read_line(&mut line) {
                Ok(0) => return Ok(()),
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(e),
            }
            if !alive.load(Ordering::SeqCst) {
                return Ok(());
            }
        }
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        while stalled.load(Ordering::SeqCst) && alive.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let request = String::from_utf8_lossy(&body);
        let refused =
            refusal.lock().unwrap().clone().filter(|(action, ..)| {
                action == "*" || request.contains(&format!("Action={action}&"))
            });
        let (status, xml) = if let Some((_, code_status, code, message)) = refused {
            calls.fetch_add(1, Ordering::SeqCst);
            (
                format!("{code_status} Refused"),
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
                 <Message>{message}</Message></Error><RequestId>no</RequestId></ErrorResponse>"
                ),
            )
        } else if request.contains("Action=GetCallerIdentity") {
            let arn = caller_arn.lock().unwrap().clone();
            (
                "200 OK".to_owned(),
                format!(
                "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <GetCallerIdentityResult><Arn>{arn}</Arn><UserId>AIDAFAKE</UserId>\
                 <Account>123456789012</Account></GetCallerIdentityResult>\
                 <ResponseMetadata><RequestId>who</RequestId></ResponseMetadata>\
                 </GetCallerIdentityResponse>"
            ),
            )
        } else {
            answer_assume_role(calls, healthy, lifetime)
        };
        let mut out = reader.get_ref();
        write!(
            out,
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{xml}",
            xml.len()
        )?;
        stream.set_read_timeout(Some(Duration::from_millis(20)))?;
    }
}

/// AssumeRole's answer: credentials, or 503 while STS is "down".
fn answer_assume_role(
    calls: &AtomicUsize,
    healthy: &std::sync::atomic::AtomicBool,
    lifetime: &std::sync::atomic::AtomicI64,
) -> (String, String) {
    {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        let (status, xml) = if healthy.load(Ordering::SeqCst) {
            let expires = time::OffsetDateTime::now_utc()
                + time::Duration::seconds(lifetime.load(Ordering::SeqCst));
            let expires = expires
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap();
            ("200 OK", format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
                 <AssumeRoleResult><Credentials><AccessKeyId>ASIAFAKE{n}</AccessKeyId>\
                 <SecretAccessKey>fakesecret{n}</SecretAccessKey><SessionToken>faketoken{n}</SessionToken>\
                 <Expiration>{expires}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROAFAKE:s</AssumedRoleId>\
                 <Arn>arn:aws:sts::123456789012:assumed-role/test/s</Arn></AssumedRoleUser>\
                 </AssumeRoleResult><ResponseMetadata><RequestId>r{n}</RequestId></ResponseMetadata>\
                 </AssumeRoleResponse>"
            ))
        } else {
            (
                "503 Service Unavailable",
                "<ErrorResponse><Error><Type>Receiver</Type>\
              <Code>ServiceUnavailable</Code><Message>fake STS is down</Message></Error>\
              <RequestId>down</RequestId></ErrorResponse>"
                    .to_owned(),
            )
        };
        (status.to_owned(), xml)
    }
}

/// A keep-alive HTTP/1.1 client over any stream: many requests, one
/// connection, each response read exactly by its Content-Length.
pub struct KeepAlive<S> {
    reader: BufReader<S>,
}

impl<S: Read + Write> KeepAlive<S> {
    pub fn new(stream: S) -> KeepAlive<S> {
        KeepAlive {
            reader: BufReader::new(stream),
        }
    }

    /// `GET path`; an error if the connection broke or the answer was cut.
    pub fn get(&mut self, path: &str) -> std::io::Result<(u16, String)> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let mut length = None;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().ok();
                }
            }
        }
        let mut body = vec![0; length.ok_or(std::io::ErrorKind::InvalidData)?];
        self.reader.read_exact(&mut body)?;
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// A served credential: its key and how long it had left when served.
pub fn key_and_life(body: &str) -> (String, time::Duration) {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    let expiration = time::OffsetDateTime::parse(
        value["Expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    (
        value["AccessKeyId"].as_str().unwrap().to_owned(),
        expiration - time::OffsetDateTime::now_utc(),
    )
}

/// The AWS CLI with one profile, `p`, whose credentials come only from
/// `credential_process`, pointed at `endpoint`.
pub struct AwsCli {
    home: tempfile::TempDir,
    endpoint: String,
}

impl AwsCli {
    pub fn new(credential_process: &str, endpoint: &str) -> AwsCli {
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("aws-config"),
            format!("[profile p]\nregion = us-east-1\ncredential_process = {credential_process}\n"),
        )
        .unwrap();
        AwsCli {
            home,
            endpoint: endpoint.to_owned(),
        }
    }

    /// Its HOME and XDG_RUNTIME_DIR.
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// `aws ARGS --profile p --endpoint-url ENDPOINT`: its stdout, or a
    /// panic with its stderr.
    pub fn run(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(tool("aws"));
        aws_env(&mut cmd, self.home.path());
        cmd.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .args(args)
            .args(["--profile", "p", "--endpoint-url", &self.endpoint]);
        let out = run(&mut cmd);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "aws {args:?}: {err}");
        String::from_utf8(out.stdout).unwrap()
    }

    /// `aws s3 cp` of a new file to `s3://bucket/key`, then `aws s3 ls`
    /// must show it.
    pub fn copy_and_list(&self, bucket: &str, key: &str) {
        let file = self.home.path().join("upload.txt");
        std::fs::write(&file, "uploaded by the aws cli").unwrap();
        let target = format!("s3://{bucket}/{key}");
        self.run(&["s3", "cp", file.to_str().unwrap(), &target]);
        let listing = self.run(&["s3", "ls", &format!("s3://{bucket}/")]);
        assert!(listing.contains(key), "{listing}");
    }
}

/// The keys of a JSON object, in order.
pub fn json_keys(body: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(body).unwrap();
    value.as_object().unwrap().keys().cloned().collect()
}

/// Calls `probe` every 50 ms until it gives a value; panics after `limit`.
pub fn polled<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return found;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The environment that makes a process read its wall clock from `clock`
/// (libfaketime, re-read on every call) while its monotonic clock stays
/// real: what a suspended laptop's processes see.
pub fn faketime_env(clock: &Path) -> Vec<(String, String)> {
    let lib = ["x86_64-linux-gnu", "aarch64-linux-gnu"]
        .iter()
        .map(|arch| PathBuf::from(format!("/usr/lib/{arch}/faketime/libfaketime.so.1")))
        .find(|p| p.exists())
        .expect("libfaketime is installed (scripts/test installs the faketime package)");
    [
        ("LD_PRELOAD", lib.display().to_string()),
        ("FAKETIME_TIMESTAMP_FILE", clock.display().to_string()),
        ("FAKETIME_NO_CACHE", "1".into()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

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
