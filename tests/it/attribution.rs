//! Attribution end to end (`--attribute`, `attribute = "caller"`): real
//! programs of one user get a session each, named for them in what STS is
//! sent (moto's record) and in the access line; the same program twice
//! shares one; a narrowing of an attributed scope is attributed too; a
//! guest uid gets its own; 200 program names stay within the bound; and
//! through the gateway, each caller's S3 calls go out in its own session.

use crate::support::*;
use std::process::Command;
use std::time::Duration;

/// This test process's user's name, as the server names a caller.
fn user() -> String {
    let uid = nix::unistd::getuid();
    let found = nix::unistd::User::from_uid(uid).ok().flatten();
    found.map_or_else(|| uid.to_string(), |u| u.name)
}

/// The file name of the program `name` (the test venv's, else PATH's)
/// resolves to (what `/proc/PID/exe` names once it runs).
fn program(name: &str) -> String {
    let venv = Some(tool(name)).filter(|path| path.is_absolute());
    let path = std::fs::canonicalize(venv.unwrap_or_else(|| on_path(name))).unwrap();
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// Where the program `name` is on PATH.
fn on_path(name: &str) -> std::path::PathBuf {
    (std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("{name} on PATH"))
}

/// The AccessKeyId `GET url` answers, fetched by `program` (curl or python3).
fn key_by(program: &str, url: &str) -> String {
    key_and_life(&fetched_by(program, url)).0
}

/// The body `GET url` answers, fetched by `program` (curl or python3).
fn fetched_by(program: &str, url: &str) -> String {
    let out = match program {
        "curl" => run(Command::new("curl").args(["-s", "--max-time", "10", url])),
        _ => run(Command::new(tool("python3")).args([
            "-c",
            "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())",
            url,
        ])),
    };
    expect_success(&out)
}

/// The sessions the access lines named so far, waiting for `at_least`.
fn sessions(server: &Server, at_least: usize) -> Vec<String> {
    polled(
        "access lines naming sessions",
        Duration::from_secs(10),
        || {
            let named: Vec<String> = (server.stderr_lines().iter())
                .filter_map(|l| {
                    l.split("session=\"")
                        .nth(1)?
                        .split('"')
                        .next()
                        .map(str::to_owned)
                })
                .collect();
            (named.len() >= at_least).then_some(named)
        },
    )
}

#[test]
fn curl_and_python_of_one_user_get_a_session_each_and_a_program_twice_shares_one() {
    let moto = Moto::shared();
    let bucket = moto.bucket("attr");
    let server = Start::new(moto, &bucket).args(&["--attribute"]).run();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let (first, again) = (key_by("curl", &url), key_by("curl", &url));
    let python = key_by("python3", &url);
    assert_eq!(first, again, "the same program twice: one session");
    assert_ne!(first, python, "another program: its own session");
    let user = user();
    let curl_session = format!("s3c.default.{user}.curl");
    let python_session = format!("s3c.default.{user}.{}", program("python3"));
    let named = sessions(&server, 3);
    assert_eq!(
        named,
        [
            curl_session.clone(),
            curl_session.clone(),
            python_session.clone()
        ],
        "{named:?}"
    );
    let sent = moto.session_names();
    for session in [&curl_session, &python_session] {
        let times = sent.iter().filter(|s| *s == session).count();
        assert_eq!(times, 1, "{session} minted once: {sent:?}");
    }
    // Narrowed, and still the caller's.
    let narrowed = key_by("curl", &format!("{url}?prefix=reports/"));
    assert_ne!(narrowed, first);
    let named = sessions(&server, 4);
    assert!(
        named[3].starts_with(&format!("{curl_session}.n")),
        "{named:?}"
    );
}

#[test]
fn a_guest_uid_gets_its_own_session() {
    if !can_be_nobody() {
        eprintln!("NOT RUN: needs root to act as uid 65534");
        return;
    }
    let moto = Moto::shared();
    let bucket = moto.bucket("attrguest");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("scopes.toml");
    let text = format!(
        "duration = \"15m\"\n[scope.shared]\nbuckets = [\"{bucket}\"]\nuids = [65534]\nattribute = \"caller\"\n"
    );
    std::fs::write(&config, text).unwrap();
    let server = Start::new(moto, "")
        .args(&["--config", config.to_str().unwrap()])
        .run();
    let ours = key_by(
        "python3",
        &format!("http://127.0.0.1:{}/scope/shared", server.port),
    );
    let request = "GET /scope/shared HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    let theirs = http_as_nobody(server.addr(), request);
    assert!(theirs.starts_with("HTTP/1.1 200"), "{theirs}");
    assert!(!theirs.contains(&ours), "the guest's session is not ours");
    let guest = nix::unistd::User::from_uid(65534.into()).ok().flatten();
    let guest = guest.map_or("65534".to_owned(), |u| u.name);
    let named = sessions(&server, 2);
    let expected = format!("s3c.shared.{guest}.{}", program("python3"));
    assert_eq!(named[1], expected, "{named:?}");
}

#[test]
fn two_hundred_program_names_stay_within_the_bound() {
    let moto = Moto::shared();
    let bucket = moto.bucket("attrmany");
    let server = Start::new(moto, &bucket).args(&["--attribute"]).run();
    let url = format!("http://127.0.0.1:{}/", server.port);
    let dir = tempfile::tempdir().unwrap();
    let curl = on_path("curl");
    let (mut served, mut limited) = (0, 0);
    for i in 0..200 {
        let named = dir.path().join(format!("agent-{i:03}"));
        std::fs::copy(&curl, &named).unwrap();
        let out =
            run(Command::new(&named).args(["-s", "-o", "/dev/null", "-w", "%{http_code}", &url]));
        match expect_success(&out).as_str() {
            "200" => served += 1,
            "429" => limited += 1,
            other => panic!("agent-{i:03}: {other}"),
        }
    }
    assert!(
        served >= 10 && served + limited == 200,
        "{served} served, {limited} limited"
    );
    let (_, _, health) = server.get("/healthz");
    let health: serde_json::Value = serde_json::from_str(&health).unwrap();
    let count = health["scopes"]["default"]["narrowed"]["count"]
        .as_u64()
        .unwrap_or(0);
    assert!(count <= 64 && count as usize <= served, "{health}");
    let minted = (moto.session_names().iter())
        .filter(|s| s.starts_with(&format!("s3c.default.{}.agent-", user())))
        .count();
    assert_eq!(minted, served, "one AssumeRole per served program");
}

/// Puts `key` into `bucket` through the gateway on port `gw` with boto3,
/// holding `body`'s local credential only.
fn put_through(gw: u16, body: &str, bucket: &str, key: &str) {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let field = |k: &str| v[k].as_str().unwrap().to_owned();
    let cred = crate::gateway::Cred {
        id: field("AccessKeyId"),
        secret: field("SecretAccessKey"),
        token: field("SessionToken"),
    };
    assert!(cred.id.starts_with("S3CL"), "a local credential: {body}");
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(tool("python3"));
    crate::gateway::client_env(&mut cmd, home.path(), &cred, gw);
    let script = "import boto3, sys\n\
        from botocore.config import Config\n\
        s3 = boto3.client('s3', config=Config(s3={'addressing_style': 'path'}))\n\
        s3.put_object(Bucket=sys.argv[1], Key=sys.argv[2], Body=b'hi')\n";
    expect_success(&run(cmd.args(["-c", script, bucket, key])));
}

#[test]
fn through_the_gateway_each_callers_s3_calls_go_out_in_its_own_session() {
    let moto = Moto::shared();
    let bucket = moto.bucket("attrgw");
    let server = Start::new(moto, &bucket)
        .args(&["--attribute", "--gateway", "0", "--no-socket"])
        .run();
    let gw = crate::gateway::gateway_port(&server);
    let url = format!("http://127.0.0.1:{}/", server.port);
    put_through(gw, &fetched_by("curl", &url), &bucket, "by-curl");
    put_through(gw, &fetched_by("python3", &url), &bucket, "by-python");
    let narrowed = fetched_by("curl", &format!("{url}?prefix=reports/"));
    put_through(gw, &narrowed, &bucket, "reports/narrowed");
    let user = user();
    let curl_session = format!("s3c.default.{user}.curl");
    let python_session = format!("s3c.default.{user}.{}", program("python3"));
    // What CloudTrail would name each PutObject by: the session whose key
    // signed it upstream.
    let calls = moto.s3_calls();
    let session_of = |key: &str| {
        let path = format!("/{bucket}/{key}");
        let put = calls.iter().find(|(m, p, _)| m == "PUT" && *p == path);
        put.unwrap_or_else(|| panic!("no PUT of {path}: {calls:?}"))
            .2
            .clone()
    };
    assert_eq!(
        session_of("by-curl").as_deref(),
        Some(curl_session.as_str())
    );
    assert_eq!(
        session_of("by-python").as_deref(),
        Some(python_session.as_str())
    );
    let narrowed_session = session_of("reports/narrowed").unwrap_or_default();
    assert!(
        narrowed_session.starts_with(&format!("{curl_session}.n")),
        "narrowed, and still curl's: {narrowed_session}"
    );
    // The gateway's access lines name the session each call went out in.
    for (key, session) in [("by-curl", &curl_session), ("by-python", &python_session)] {
        let named = format!("session=\"{session}\"");
        let line = |l: &String| l.contains(" gateway ") && l.contains(key) && l.contains(&named);
        polled(&named, Duration::from_secs(10), || {
            server.stderr_lines().iter().any(line).then_some(())
        });
    }
}

#[test]
fn rclone_running_fetch_through_sh_c_is_named_rclone() {
    let moto = Moto::shared();
    let bucket = moto.bucket("attrrclone");
    let server = Start::new(moto, &bucket).args(&["--attribute"]).run();
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".aws")).unwrap();
    // The Go SDK (v1) reads credential_process from the credentials file
    // and runs it with `sh -c`.
    let process = format!("{FETCH} --port {}", server.port);
    let credentials = format!("[default]\ncredential_process = {process}\n");
    std::fs::write(home.path().join(".aws/credentials"), credentials).unwrap();
    let out = run(Command::new("rclone")
        .args(["lsf", &format!("m:{bucket}")])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("RCLONE_CONFIG_M_TYPE", "s3")
        .env("RCLONE_CONFIG_M_PROVIDER", "Other")
        .env("RCLONE_CONFIG_M_ENV_AUTH", "true")
        .env("RCLONE_CONFIG_M_ENDPOINT", moto.url())
        .env("RCLONE_CONFIG_M_FORCE_PATH_STYLE", "true"));
    expect_success(&out);
    let named = sessions(&server, 1);
    let rclone = program("rclone");
    assert_eq!(
        named[0],
        format!("s3c.default.{}.{rclone}", user()),
        "{named:?}"
    );
}

/// The credential IMDS at `port` gives curl, as `/` would give it (the
/// `Token` field named `SessionToken`).
fn imds_by_curl(port: u16) -> String {
    let base = format!("http://127.0.0.1:{port}/latest");
    let token = run(Command::new("curl").args(["-s", "-X", "PUT", "-H"]).args([
        "x-aws-ec2-metadata-token-ttl-seconds: 60",
        &format!("{base}/api/token"),
    ]));
    let header = format!("x-aws-ec2-metadata-token: {}", expect_success(&token));
    let url = format!("{base}/meta-data/iam/security-credentials/s3-credentials");
    let out = run(Command::new("curl").args(["-s", "-H", &header, &url]));
    let mut v: serde_json::Value = serde_json::from_str(&expect_success(&out)).unwrap();
    v["SessionToken"] = v["Token"].clone();
    v.to_string()
}

#[test]
fn imds_gives_each_caller_its_own_session_too() {
    let moto = Moto::shared();
    let bucket = moto.bucket("attrimds");
    let curl_session = format!("s3c.default.{}.curl", user());
    for gateway in [false, true] {
        let mut start = Start::new(moto, &bucket).args(&["--attribute", "--imds-port", "0"]);
        if gateway {
            start = start.args(&["--gateway", "0"]);
        }
        let server = start.run();
        let imds = server.stderr_lines().iter().find_map(|l| {
            l.strip_prefix("IMDSv2: http://127.0.0.1:")?
                .split(' ')
                .next()?
                .parse::<u16>()
                .ok()
        });
        let body = imds_by_curl(imds.expect("the IMDS line"));
        let named = sessions(&server, 1);
        assert_eq!(
            named,
            std::slice::from_ref(&curl_session),
            "gateway {gateway}"
        );
        if gateway {
            let gw = crate::gateway::gateway_port(&server);
            put_through(gw, &body, &bucket, "by-imds");
            let calls = moto.s3_calls();
            let path = format!("/{bucket}/by-imds");
            let put = calls.iter().find(|(m, p, _)| m == "PUT" && *p == path);
            let session = put.and_then(|(_, _, s)| s.clone());
            assert_eq!(session.as_deref(), Some(curl_session.as_str()), "{calls:?}");
        }
    }
}
