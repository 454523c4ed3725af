//! moto's server on loopback: start, buckets, and its call recording.
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
