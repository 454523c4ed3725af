//! The S3 gateway end to end, attacks first: real clients (the AWS CLI,
//! boto3, curl) holding nothing but a local credential and the gateway's
//! address, against moto behind the strict relay, with scopes whose
//! `upstream = "keys"` makes the gateway the only layer that enforces
//! them. What a refused call left in the store is checked with moto's own
//! keys, directly. One moto and one server serve every test here but the
//! ones that reload or stop theirs.

mod bypass;
mod clients;
mod credentials;
mod fields;
mod signing;
mod tools;

use crate::support::*;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The shared bed: moto behind the relay, and a server whose gateway
/// serves `up` (read-write, `team/` of `bucket`), `wo` (write-only, `drop/`
/// of `bucket`) and `side` (all of `other`).
pub(super) struct Bed {
    pub moto: Moto,
    pub server: Server,
    /// The gateway's port.
    pub gw: u16,
    pub bucket: String,
    pub other: String,
    _dir: tempfile::TempDir,
}

/// A local credential as the server hands it out.
pub(super) struct Cred {
    pub id: String,
    pub secret: String,
    pub token: String,
}

/// The config of the shared bed's scopes, for `bucket` and `other`.
pub(super) fn scopes(bucket: &str, other: &str) -> String {
    format!(
        "duration = \"15m\"\n\
         [scope.up]\nbuckets = [\"{bucket}\"]\nprefix = \"team/\"\nserve = \"gateway\"\nupstream = \"keys\"\n\
         [scope.wo]\nbuckets = [\"{bucket}\"]\nprefix = \"drop/\"\naccess = \"write-only\"\n\
         serve = \"gateway\"\nupstream = \"keys\"\n\
         [scope.side]\nbuckets = [\"{other}\"]\nserve = \"gateway\"\nupstream = \"keys\"\n"
    )
}

/// Starts a server of the scopes in `config` (a file in `dir`) with a
/// gateway; the server and the gateway's port.
pub(super) fn gateway_server(moto: &Moto, dir: &Path, config: &str) -> (Server, u16) {
    let path = dir.join("scopes.toml");
    std::fs::write(&path, config).unwrap();
    let server = Start::new(moto, "")
        .args(&["--config", path.to_str().unwrap()])
        .args(&["--gateway", "0", "--no-socket"])
        .run();
    let gw = gateway_port(&server);
    (server, gw)
}

/// The gateway's port, from `server`'s startup line.
pub(super) fn gateway_port(server: &Server) -> u16 {
    (server.stderr_lines().iter())
        .find_map(|l| {
            l.split("S3 gateway: http://127.0.0.1:")
                .nth(1)?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no gateway line: {:#?}", server.stderr_lines()))
}

/// The shared bed, started on first use.
pub(super) fn bed() -> &'static Bed {
    static BED: OnceLock<Bed> = OnceLock::new();
    BED.get_or_init(|| {
        let moto = Moto::start_strict(&Strict::default());
        let (bucket, other) = (moto.bucket("gwb"), moto.bucket("gwo"));
        let dir = tempfile::tempdir().unwrap();
        let (server, gw) = gateway_server(&moto, dir.path(), &scopes(&bucket, &other));
        Bed {
            moto,
            server,
            gw,
            bucket,
            other,
            _dir: dir,
        }
    })
}

impl Bed {
    /// A local credential served at `path` (`/scope/NAME`, maybe with a
    /// narrowing).
    pub fn cred(&self, path: &str) -> Cred {
        cred_from(&self.server, path)
    }

    /// Runs [`PRELUDE`] + `script` as a client of the gateway holding `cred`
    /// only; the JSON it printed. Its arguments: the scope's bucket, the
    /// other bucket, then `args`.
    pub fn client(&self, cred: &Cred, script: &str, args: &[&str]) -> serde_json::Value {
        self.client_at(self.gw, cred, script, args)
    }

    /// [`Bed::client`] of the gateway on port `gw` (another server's).
    pub fn client_at(
        &self,
        gw: u16,
        cred: &Cred,
        script: &str,
        args: &[&str],
    ) -> serde_json::Value {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(tool("python3"));
        client_env(&mut cmd, home.path(), cred, gw);
        python(cmd, script, &[&self.bucket, &self.other], args)
    }

    /// The same with moto's own keys, straight to moto (through the relay):
    /// what is really in the store.
    pub fn owner(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let home = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(tool("python3"));
        aws_env(&mut cmd, home.path());
        cmd.env("AWS_ENDPOINT_URL_S3", self.moto.url());
        python(cmd, script, &[&self.bucket, &self.other], args)
    }

    /// The server's access lines for the gateway so far.
    pub fn access_lines(&self) -> Vec<String> {
        (self.server.stderr_lines().into_iter())
            .filter(|l| l.contains(" gateway "))
            .collect()
    }
}

/// A local credential from `server` at `path`.
pub(super) fn cred_from(server: &Server, path: &str) -> Cred {
    let (status, _, body) = server.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let field = |k: &str| v[k].as_str().unwrap().to_owned();
    let cred = Cred {
        id: field("AccessKeyId"),
        secret: field("SecretAccessKey"),
        token: field("SessionToken"),
    };
    assert!(
        cred.id.starts_with("S3CL"),
        "a local credential: {}",
        cred.id
    );
    cred
}

/// A client's whole environment: the local credential, the gateway as its
/// S3 endpoint, and nothing of the server's (asserted: no `testing` key).
pub(super) fn client_env(cmd: &mut Command, home: &Path, cred: &Cred, gw: u16) {
    for file in ["aws-config", "aws-credentials"] {
        std::fs::write(home.join(file), "").unwrap();
    }
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_ACCESS_KEY_ID", &cred.id)
        .env("AWS_SECRET_ACCESS_KEY", &cred.secret)
        .env("AWS_SESSION_TOKEN", &cred.token)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env("AWS_ENDPOINT_URL_S3", format!("http://127.0.0.1:{gw}"));
    for (key, value) in cmd.get_envs() {
        let value = value.map(|v| v.to_string_lossy().into_owned());
        assert!(
            !value.as_deref().unwrap_or("").contains("testing"),
            "{key:?} carries the server's key"
        );
    }
}

/// Runs `prelude + script` with `fixed` then `args` as its arguments; the
/// JSON of its last line of output.
fn python(mut cmd: Command, script: &str, fixed: &[&str], args: &[&str]) -> serde_json::Value {
    let source = format!("{PRELUDE}\n{script}\nprint(json.dumps(out))\n");
    let out = run(cmd.arg("-c").arg(source).args(fixed).args(args));
    let stdout = expect_success(&out);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// What every client script starts with: `s3` (boto3, SigV4, path style,
/// no retries), `B` and `O` (the buckets), `ARGS`, `out` (printed as JSON
/// at the end), `code` (a call's outcome: `ok` or `Code: Message`),
/// `sigv4` (signs headers by hand with hmac) and `raw` (a request so
/// signed with the environment's credential, sent with any Host).
const PRELUDE: &str = r#"
import datetime, json, os, sys, time, hashlib, hmac, urllib.parse, urllib.request, urllib.error
import boto3, botocore
from botocore.config import Config
URL = os.environ["AWS_ENDPOINT_URL_S3"]
PORT = URL.rsplit(":", 1)[1]
B, O, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]
CFG = Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1})
s3 = boto3.client("s3", config=CFG)
out = {}
def code(f, **kw):
    try:
        f(**kw)
        return "ok"
    except botocore.exceptions.ClientError as e:
        err = e.response["Error"]
        return "%s: %s" % (err.get("Code"), err.get("Message", ""))
def H(b): return hashlib.sha256(b).hexdigest()
def mac(k, m): return hmac.new(k, m.encode(), hashlib.sha256).digest()
def send(method, path, body, headers):
    r = urllib.request.Request(URL + path, data=body or None, method=method, headers=headers)
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
def sigv4(method, path, headers, payload_hash):
    """Adds SigV4 to headers (host among them), by hand as the AWS docs say:
    the canonical URI is the path decoded, as s3s decodes it. The key."""
    env = os.environ
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    scope = "%s/us-east-1/s3/aws4_request" % date[:8]
    k = mac(mac(mac(mac(("AWS4" + env["AWS_SECRET_ACCESS_KEY"]).encode(), date[:8]), "us-east-1"), "s3"), "aws4_request")
    headers.update({"x-amz-content-sha256": payload_hash, "x-amz-date": date, "x-amz-security-token": env["AWS_SESSION_TOKEN"]})
    names = ";".join(sorted(headers))
    canonical = "\n".join([method, urllib.parse.unquote(path), ""] + ["%s:%s" % (h, headers[h]) for h in sorted(headers)]
                          + ["", names, payload_hash])
    to_sign = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (date, scope, H(canonical.encode()))
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        env["AWS_ACCESS_KEY_ID"], scope, names, sig)
    return k, date, scope, sig
def raw(method, host, path, body=b""):
    headers = {"host": host}
    sigv4(method, path, headers, H(body))
    return send(method, path, body, headers)
def body(key, bucket=None):
    try:
        return s3.get_object(Bucket=bucket or B, Key=key)["Body"].read().decode()
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
"#;

/// Polls `check` every 20 ms until it holds or `timeout` passes.
pub(super) fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < until {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}
