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

/// moto's server on loopback, shared by the tests of one binary, behind
/// the strict relay (`tests/backends/strict/relay.py`): every request goes
/// through it, so what AWS refuses and moto forgives is refused here too,
/// and each request's signing key id is recorded. Both are stopped when
/// the test process exits: their wrapper shell waits on our stdin pipe,
/// which the kernel closes then, and stops them on its way out, however it
/// goes (the SIGTERM `spawn` arranges included); an instance dropped
/// earlier is killed with its process group.
pub struct Moto {
    /// The relay's port: what clients and servers are pointed at.
    pub port: u16,
    /// moto's own port, behind the relay.
    pub moto_port: u16,
    pub recording: PathBuf,
    /// The relay's record: one JSON line per request.
    pub signed: PathBuf,
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Running>,
    _dir: tempfile::TempDir,
}

/// How strict the relay is beyond what AWS documents for every account.
#[derive(Default, Clone)]
pub struct Strict {
    /// AssumeRole of a role made less than this many seconds ago is
    /// AccessDenied, as on AWS right after CreateRole.
    pub new_role_grace_secs: f64,
    /// Access key ids that are an account's root user.
    pub root_keys: Vec<String>,
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
        Moto::launch(env, &Strict::default())
    }

    /// A new instance whose relay is stricter still.
    pub fn start_strict(strict: &Strict) -> Moto {
        Moto::launch(&[], strict)
    }

    fn launch(env: &[(String, String)], strict: &Strict) -> Moto {
        let dir = tempfile::tempdir().unwrap();
        let recording = dir.path().join("recording.jsonl");
        let signed = dir.path().join("signed.jsonl");
        let port = free_port();
        let relay = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/backends/strict/relay.py");
        let mut relay_args = format!("--new-role-grace {}", strict.new_role_grace_secs);
        for key in &strict.root_keys {
            relay_args.push_str(&format!(" --root-key {key}"));
        }
        let script = format!(
            "\"$0\" -H 127.0.0.1 -p {port} & moto=$!; \"$1\" \"$2\" http://127.0.0.1:{port} \"$3\" \
             {relay_args} & relay=$!; trap 'trap \"\" TERM HUP; kill $moto $relay; wait $moto $relay' EXIT; \
             trap 'trap \"\" TERM HUP; exit 143' TERM HUP; cat >/dev/null"
        );
        let mut child = spawn(
            Command::new("sh")
                .arg("-c")
                .arg(script)
                .arg(tool("moto_server"))
                .arg(tool("python3"))
                .arg(&relay)
                .arg(&signed)
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .env("MOTO_ENABLE_RECORDING", "true")
                .env("MOTO_RECORDER_FILEPATH", &recording)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        let stdin = child.stdin.take().unwrap();
        let lines = wait_for_lines(
            child.stderr.take().unwrap(),
            &[
                &format!("Running on http://127.0.0.1:{port}"),
                "relay ready on ",
            ],
            Duration::from_secs(60),
        )
        .unwrap_or_else(|lines| panic!("moto and its relay did not start: {lines:?}"));
        let relay_port = lines
            .iter()
            .find_map(|l| l.split("relay ready on ").nth(1)?.trim().parse().ok())
            .expect("the relay's port");
        Moto {
            port: relay_port,
            moto_port: port,
            recording,
            signed,
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
            _dir: dir,
        }
    }

    /// The access key ids that signed requests to `service` (`s3`, `sts`,
    /// `iam`) so far, as the relay recorded them (unsigned ones left out).
    pub fn signers(&self, service: &str) -> Vec<String> {
        let text = std::fs::read_to_string(&self.signed).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["service"] == service)
            .filter_map(|r| r["akid"].as_str().map(str::to_owned))
            .collect()
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

    /// Every AssumeRole `RoleSessionName` moto has recorded, oldest first.
    pub fn session_names(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.recording).unwrap_or_default();
        let bodies = text.lines().map(decode_body);
        let assume_roles = bodies.filter(|body| body.contains("Action=AssumeRole"));
        assume_roles
            .flat_map(|body| {
                form_urlencoded::parse(body.as_bytes())
                    .filter(|(k, _)| k == "RoleSessionName")
                    .map(|(_, v)| v.into_owned())
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Each S3 call the relay forwarded, as CloudTrail names it: method,
    /// path, and the `RoleSessionName` of the session whose key signed it
    /// (joined by the AccessKeyId each AssumeRole issued; `None`: a key no
    /// AssumeRole issued, moto's own say).
    pub fn s3_calls(&self) -> Vec<(String, String, Option<String>)> {
        let text = std::fs::read_to_string(&self.signed).unwrap_or_default();
        let records: Vec<serde_json::Value> = (text.lines())
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        let session_of = |akid: &serde_json::Value| {
            (records.iter())
                .find(|r| r["action"] == "AssumeRole" && !akid.is_null() && r["issued"] == *akid)
                .and_then(|r| r["session_name"].as_str().map(str::to_owned))
        };
        (records.iter())
            .filter(|r| r["service"] == "s3" && r["refused"].is_null())
            .map(|r| {
                let field = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                (field("method"), field("path"), session_of(&r["akid"]))
            })
            .collect()
    }

    /// Every AssumeRole the relay saw, oldest first, refused ones too:
    /// what AWS would record of each (CloudTrail's `sourceIdentity` and
    /// session tags).
    pub fn assume_roles_seen(&self) -> Vec<AssumeRoleSeen> {
        let text = std::fs::read_to_string(&self.signed).unwrap_or_default();
        let text_of = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["action"] == "AssumeRole")
            .map(|r| AssumeRoleSeen {
                session_name: text_of(&r["session_name"]).unwrap_or_default(),
                source_identity: text_of(&r["source_identity"]),
                tags: (r["tags"].as_object().into_iter().flatten())
                    .map(|(k, v)| (k.clone(), text_of(v).unwrap_or_default()))
                    .collect(),
                refused: text_of(&r["refused"]),
            })
            .collect()
    }
}

/// One AssumeRole as the strict relay recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssumeRoleSeen {
    /// Its `RoleSessionName`.
    pub session_name: String,
    /// Its `SourceIdentity`, if it had one.
    pub source_identity: Option<String>,
    /// Its session tags, key and value, in the request's order.
    pub tags: Vec<(String, String)>,
    /// The error code the relay refused it with (`None`: forwarded).
    pub refused: Option<String>,
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

/// Reads lines until each of `needles` has been seen; the lines read so
/// far on timeout or EOF. The rest of the stream is drained in the
/// background.
pub fn wait_for_lines<R: Read + Send + 'static>(
    stream: R,
    needles: &[&str],
    timeout: Duration,
) -> Result<Vec<String>, Vec<String>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let mut missing: Vec<String> = needles.iter().map(|n| n.to_string()).collect();
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let before = missing.len();
            missing.retain(|needle| !line.contains(needle.as_str()));
            sink.lock().unwrap().push(line);
            if missing.is_empty() && before > 0 {
                let _ = tx.send(());
            }
        }
    });
    let lines = || log.lock().unwrap().clone();
    rx.recv_timeout(timeout)
        .map(|()| lines())
        .map_err(|_| lines())
}
