//! `doctor` and `verify`: each doctor check fails for the right
//! reason and passes once fixed, and `--json` has the keys docs/TROUBLESHOOTING.md names;
//! `verify` finds moto not enforcing a scope (radosgw, which does, is
//! `enforce::verify_proves_each_scope_on_radosgw`). What doctor must read,
//! not print and not run in the profile files is in `profiles`.

mod profiles;

use crate::support::*;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// `s3-credentials doctor --json ARGS` in `home` (its runtime directory
/// too), with `env` on top of the test bed's; its exit code and report.
pub(crate) fn doctor(
    home: &Path,
    env: &[(&str, &str)],
    unset: &[&str],
    args: &[&str],
) -> (i32, Value) {
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, home);
    for var in unset {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied())
        .arg("doctor")
        .arg("--json")
        .args(args);
    let out = run(&mut cmd);
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("doctor --json: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), report)
}

/// The checks called `name` (or starting with it): their status and message.
pub(crate) fn named(report: &Value, name: &str) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with(name))
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_owned(),
                c["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn failing(report: &Value, name: &str) -> Option<String> {
    named(report, name)
        .into_iter()
        .find(|(s, _)| s == "fail")
        .map(|(_, m)| m)
}

#[test]
fn doctor_json_has_the_stable_keys_and_exits_as_its_checks_say() {
    let home = tempfile::tempdir().unwrap();
    let port = free_port().to_string();
    let (code, report) = doctor(home.path(), &[], &[], &["--port", &port]);
    assert_eq!(code, 1, "no server: a failure");
    assert_eq!(report["ok"], false);
    for check in report["checks"].as_array().unwrap() {
        let keys: std::collections::BTreeSet<&str> = check
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["message", "name", "status"].into(), "{check}");
        assert!(["ok", "warn", "fail"].contains(&check["status"].as_str().unwrap()));
    }
    let said = failing(&report, "server").expect("the server check fails");
    assert!(
        said.contains("no server answers on")
            && said.contains(&format!("localserver BUCKET --duration 1h --port {port}")),
        "{said}"
    );
    // Nothing prints a secret: the test bed's secret key is not in it.
    assert!(!report.to_string().contains("\"testing\""));
}

#[test]
fn doctor_finds_the_server_and_the_profile_that_names_the_wrong_port() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("doctor")).run();
    let home = server.home.path();
    let port = server.port.to_string();
    let wrong = free_port();
    let profile = |port: &str| {
        std::fs::write(
            home.join("aws-config"),
            format!(
                "[profile job]\nregion = us-east-1\ncredential_process = {FETCH} --port {port}\n"
            ),
        )
        .unwrap();
    };
    profile(&wrong.to_string());
    let (code, report) = doctor(home, &[], &[], &["--port", &port]);
    assert_eq!(named(&report, "server")[0].0, "ok", "{report}");
    let said = failing(&report, "profile job").expect("the profile check fails");
    assert!(
        said.contains(&format!("{wrong}.sock"))
            && said.contains(&format!("a server answers on port {port}")),
        "{said}"
    );
    assert_eq!(code, 1);
    profile(&port);
    let (_, report) = doctor(home, &[], &[], &["--port", &port]);
    assert_eq!(named(&report, "profile job")[0].0, "ok", "{report}");
}

#[test]
fn doctor_finds_shadowing_variables_and_a_proxy_without_no_proxy() {
    let home = tempfile::tempdir().unwrap();
    let uri = (
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "http://127.0.0.1:8094/ecs",
    );
    let (_, report) = doctor(home.path(), &[uri], &[], &[]);
    let said = failing(&report, "environment").expect("keys shadow FULL_URI");
    assert!(
        said.contains("AWS_ACCESS_KEY_ID is set") && said.contains("unset AWS_ACCESS_KEY_ID"),
        "{said}"
    );
    let relative = (
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "/v2/credentials/x",
    );
    let keys = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    let (_, report) = doctor(home.path(), &[uri, relative], &keys, &[]);
    let said = failing(&report, "environment").expect("RELATIVE_URI shadows FULL_URI");
    assert!(said.contains("RELATIVE_URI is set too"), "{said}");
    let (_, report) = doctor(home.path(), &[uri], &keys, &[]);
    assert_eq!(
        named(&report, "environment"),
        [(
            "ok".into(),
            "no variable shadows the container or process providers".into()
        )]
    );
    // A FULL_URI host the SDKs refuse over http.
    let (_, report) = doctor(
        home.path(),
        &[(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "http://host.docker.internal:8094/ecs",
        )],
        &keys,
        &[],
    );
    assert!(
        failing(&report, "FULL_URI").is_some_and(|m| m.contains("refused over http://")),
        "{report}"
    );

    let proxy = ("HTTPS_PROXY", "http://127.0.0.1:3128");
    let (_, report) = doctor(home.path(), &[proxy], &[], &[]);
    let said = failing(&report, "proxy").expect("a proxy without NO_PROXY");
    assert!(
        said.contains("export NO_PROXY=127.0.0.1,localhost,::1"),
        "{said}"
    );
    let (_, report) = doctor(
        home.path(),
        &[proxy, ("NO_PROXY", "127.0.0.1,localhost,::1")],
        &[],
        &[],
    );
    assert_eq!(named(&report, "proxy")[0].0, "ok", "{report}");
}

#[test]
fn doctor_finds_a_stale_runtime_dir() {
    let home = tempfile::tempdir().unwrap();
    let gone = home.path().join("gone");
    let (_, report) = doctor(
        home.path(),
        &[("XDG_RUNTIME_DIR", gone.to_str().unwrap())],
        &[],
        &[],
    );
    let said = failing(&report, "runtime directory").expect("a stale XDG_RUNTIME_DIR");
    assert!(
        said.contains("does not exist") && said.contains("unset XDG_RUNTIME_DIR"),
        "{said}"
    );
    let (_, report) = doctor(home.path(), &[], &[], &[]);
    assert_eq!(named(&report, "runtime directory")[0].0, "ok", "{report}");
}

#[test]
fn doctor_finds_a_clock_off_stss_by_more_than_five_minutes() {
    let moto = Moto::shared();
    let home = tempfile::tempdir().unwrap();
    let clock = home.path().join("clock");
    std::fs::write(&clock, "+600\n").unwrap();
    let faked = faketime_env(&clock);
    let mut env: Vec<(&str, &str)> = faked
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let url = moto.url();
    env.push(("AWS_ENDPOINT_URL", &url));
    let (_, report) = doctor(home.path(), &env, &[], &[]);
    let said = failing(&report, "clock").expect("a clock 10 minutes ahead");
    assert!(
        said.contains("ahead of STS's") && said.contains("5 minutes"),
        "{said}"
    );
    let (_, report) = doctor(home.path(), &[("AWS_ENDPOINT_URL", &url)], &[], &[]);
    assert_eq!(named(&report, "clock")[0].0, "ok", "{report}");
    // --endpoint-url points it at the same moto (the demo's, say).
    let (_, report) = doctor(
        home.path(),
        &[],
        &["AWS_ENDPOINT_URL"],
        &["--endpoint-url", &url],
    );
    assert_eq!(named(&report, "clock")[0].0, "ok", "{report}");
}

#[test]
fn doctor_checks_each_scope_as_startup_would() {
    let moto = Moto::shared();
    let home = tempfile::tempdir().unwrap();
    let bucket = moto.bucket("doctor-scope");
    let role = create_role(moto, "doctor-one-hour", 3600);
    let many: Vec<String> = (0..24)
        .map(|i| moto.bucket(&format!("doctor-policy-size-{i:02}")))
        .collect();
    let config = home.path().join("scopes.toml");
    let write = |buckets: &[String], duration: &str| {
        let list: Vec<String> = buckets.iter().map(|b| format!("\"{b}\"")).collect();
        std::fs::write(
            &config,
            format!(
                "[scope.big]\nbuckets = [{}]\nduration = \"1h\"\nrole_arn = \"{role}\"\n\n\
                 [scope.long]\nbuckets = [\"{bucket}\"]\nduration = \"{duration}\"\nrole_arn = \"{role}\"\n",
                list.join(", ")
            ),
        )
        .unwrap();
    };
    write(&many, "2h");
    let url = moto.url();
    let env = [("AWS_ENDPOINT_URL", url.as_str())];
    let args = ["--config", config.to_str().unwrap()];
    let (code, report) = doctor(home.path(), &env, &[], &args);
    assert_eq!(code, 1);
    let said = failing(&report, "scope big: policy size").expect("24 buckets are over STS's size");
    assert!(said.contains("over STS's limit of 2048"), "{said}");
    let said = failing(&report, "scope long: duration").expect("2h is over the role's hour");
    assert!(
        said.contains("MaxSessionDuration of 3600s")
            && said.contains("--max-session-duration 7200"),
        "{said}"
    );
    assert_eq!(named(&report, "scope long: buckets")[0].0, "ok", "{report}");
    write(&many[..2], "1h");
    let (_, report) = doctor(home.path(), &env, &[], &args);
    for name in [
        "scope big: policy size",
        "scope long: duration",
        "scope big: buckets",
    ] {
        assert_eq!(named(&report, name)[0].0, "ok", "{name}: {report}");
    }
    // What doctor said is what the strict relay (AWS's limits) would say.
    write(&many, "1h");
    let refused = Start::new(moto, "")
        .args(&["--config", config.to_str().unwrap()])
        .try_run()
        .err()
        .expect("refused");
    assert!(refused.join("\n").contains("over STS's limit of 2048"));
}

/// A role in moto with this MaxSessionDuration (seconds); its ARN.
fn create_role(moto: &Moto, name: &str, max_secs: u32) -> String {
    let script = "import sys, boto3\n\
        iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1', \
        aws_access_key_id='testing', aws_secret_access_key='testing')\n\
        try:\n    iam.delete_role(RoleName=sys.argv[2])\nexcept Exception:\n    pass\n\
        print(iam.create_role(RoleName=sys.argv[2], AssumeRolePolicyDocument='{}', \
        MaxSessionDuration=int(sys.argv[3]))['Role']['Arn'])";
    let out = run(Command::new(tool("python3")).args([
        "-c",
        script,
        &moto.url(),
        name,
        &max_secs.to_string(),
    ]));
    expect_success(&out).trim().to_owned()
}

#[test]
fn verify_finds_that_moto_does_not_enforce_a_scope() {
    let moto = Moto::shared();
    let bucket = moto.bucket("verify-moto");
    let other = moto.bucket("verify-moto-other");
    let server = Start::new(moto, &bucket)
        .args(&["--read-only", "--prefix", "reports/"])
        .run();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, server.home.path());
    cmd.env("AWS_ENDPOINT_URL", moto.url())
        .args(["verify", "--json", "--outside-bucket", &other, "--socket"])
        .arg(server.socket());
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["ok"].clone(), report["enforced"].clone()),
        (false.into(), false.into())
    );
    let probes = report["probes"].as_array().unwrap();
    let put = probes
        .iter()
        .find(|p| p["probe"] == "put-read-only")
        .unwrap();
    assert_eq!(
        put["result"],
        "ALLOWED: this backend does not enforce the scope"
    );
    assert!(
        put["cleanup"]
            .as_str()
            .unwrap()
            .starts_with("deleted reports/.s3-credentials-verify-"),
        "{put}"
    );
    let inside = probes
        .iter()
        .find(|p| p["probe"] == "list-inside-prefix")
        .unwrap();
    assert_eq!(inside["result"], "allowed as expected");
    for probe in probes {
        let keys: std::collections::BTreeSet<&str> = probe
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let documented = [
            "cleanup", "expected", "outcome", "probe", "request", "result",
        ];
        assert_eq!(keys, documented.into());
    }
    // The probe it wrote was deleted again.
    let listed = run(Command::new(tool("aws"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args([
            "--endpoint-url",
            &moto.url(),
            "--region",
            "us-east-1",
            "s3",
            "ls",
            "--recursive",
            &format!("s3://{bucket}/"),
        ]));
    assert!(!String::from_utf8_lossy(&listed.stdout).contains(".s3-credentials-verify-"));
}

/// The AWS CLI against moto with its dummy keys: `aws s3 ARGS`.
fn moto_s3(moto: &Moto, args: &[&str]) -> std::process::Output {
    run(Command::new(tool("aws"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(["--endpoint-url", &moto.url(), "--region", "us-east-1", "s3"])
        .args(args))
}

#[test]
fn verify_never_writes_over_an_object_it_did_not_create() {
    let moto = Moto::shared();
    let bucket = moto.bucket("verify-keep");
    let home = tempfile::tempdir().unwrap();
    let precious = home.path().join("precious.txt");
    std::fs::write(&precious, "the user's own data").unwrap();
    // At the key every write-only verify used to write, then delete.
    let at = format!("s3://{bucket}/.s3-credentials-verify");
    expect_success(&moto_s3(moto, &["cp", precious.to_str().unwrap(), &at]));
    let server = Start::new(moto, &bucket).arg("--write-only").run();
    let mut cmd = Command::new(SERVER);
    aws_env(&mut cmd, server.home.path());
    cmd.env("AWS_ENDPOINT_URL", moto.url())
        .args(["verify", "--json", "--socket"])
        .arg(server.socket());
    let out = run(&mut cmd);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let back = home.path().join("back.txt");
    let copied = moto_s3(moto, &["cp", &at, back.to_str().unwrap()]);
    assert!(copied.status.success(), "the object is gone: {report}");
    assert_eq!(
        std::fs::read_to_string(&back).unwrap(),
        "the user's own data"
    );
    // moto lets the get through, so verify deletes what it wrote: its own key.
    let probe = &report["probes"][0];
    assert_eq!(probe["probe"], "get-write-only", "{report}");
    let written = probe["request"].as_str().unwrap();
    assert!(
        written.contains("/.s3-credentials-verify-") && !written.ends_with("-verify"),
        "{written}"
    );
}

#[test]
fn doctor_runs_each_profiles_command_as_the_sdk_would() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("doctor-run")).run();
    let home = server.home.path();
    let (port, socket) = (server.port.to_string(), server.socket());
    let socket = socket.display();
    std::fs::write(
        home.join("aws-config"),
        format!(
            "[profile quoted]\ncredential_process = \"{FETCH}\" \"--port\" \"{port}\"\n\n\
             [profile curl]\nCredential_Process = curl -s --unix-socket {socket} http://localhost/\n\n\
             [profile noscope]\ncredential_process = {FETCH} --port {port} --scope nosuch\n"
        ),
    )
    .unwrap();
    let (_, report) = doctor(home, &[], &[], &["--port", &port]);
    assert_eq!(named(&report, "profile quoted")[0].0, "ok", "{report}");
    assert_eq!(named(&report, "profile curl")[0].0, "ok", "{report}");
    let said = failing(&report, "profile noscope").expect("a scope the server lacks");
    assert!(said.contains("No such scope"), "{said}");
    // A FIFO for a config file is refused at once, not waited on.
    let fifo = home.join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
    let started = std::time::Instant::now();
    let (_, report) = doctor(
        home,
        &[("AWS_CONFIG_FILE", fifo.to_str().unwrap())],
        &[],
        &["--port", &port],
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(
        failing(&report, "profiles").is_some_and(|m| m.contains("not a regular file")),
        "{report}"
    );
}

#[test]
fn doctor_judges_no_proxy_and_full_uri_as_the_clients_do() {
    let home = tempfile::tempdir().unwrap();
    let keys = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    // Python reads no_proxy first: a lower-case one that misses loopback loses.
    let env = [
        ("HTTP_PROXY", "http://127.0.0.1:3128"),
        ("NO_PROXY", "127.0.0.1,localhost,::1"),
        ("no_proxy", "example.com"),
    ];
    let (_, report) = doctor(home.path(), &env, &[], &[]);
    assert!(failing(&report, "proxy").is_some(), "{report}");
    for host in [
        "http://127.1:8094/ecs",
        "http://127.0.0.1.nip.io:8094/ecs",
        "ftp://127.0.0.1/ecs",
    ] {
        let (_, report) = doctor(
            home.path(),
            &[("AWS_CONTAINER_CREDENTIALS_FULL_URI", host)],
            &keys,
            &[],
        );
        assert!(failing(&report, "FULL_URI").is_some(), "{host}: {report}");
    }
}

#[test]
fn verify_refuses_to_prove_what_it_cannot() {
    let moto = Moto::shared();
    let bucket = moto.bucket("verify-nothing");
    let server = Start::new(moto, &bucket).run();
    let verify = |args: &[&str]| {
        let mut cmd = Command::new(SERVER);
        aws_env(&mut cmd, server.home.path());
        cmd.env("AWS_ENDPOINT_URL", moto.url())
            .arg("verify")
            .arg("--socket")
            .arg(server.socket())
            .args(args);
        run(&mut cmd)
    };
    // A read-write scope on a whole bucket has nothing to refuse in it.
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("could not be verified"),
        "{out:?}"
    );
    // An "outside" that is inside the scope would cry wolf on a backend that enforces it.
    let out = verify(&["--outside-bucket", &bucket]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is one of the scope's own buckets"),
        "{out:?}"
    );
    let out = verify(&["--outside-key", ""]);
    assert_eq!(out.status.code(), Some(2));
}

/// The squatter the red team ran: another uid holds the FULL_URI's port
/// (the server is down, or lost its port to it on a restart); doctor says
/// who, and that it would get every client's token.
#[test]
fn doctor_finds_a_full_uri_port_another_uid_holds() {
    if !can_be_nobody() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let _squatter = Squatter::start("tcp", &format!("127.0.0.1:{port}"), "{}", Some(NOBODY));
    let uri = format!("http://127.0.0.1:{port}/scope/prod/ecs");
    let keys = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
    let env = [
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
        (
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "the-containers-own-token",
        ),
    ];
    let (code, report) = doctor(home.path(), &env, &keys, &[]);
    assert_eq!(code, 1);
    let said = failing(&report, "FULL_URI").expect("a squatted FULL_URI port");
    assert!(said.contains(&format!("is held by uid {NOBODY}")), "{said}");
    // And doctor itself sends it nothing: the SDK's checks, whose
    // container provider would send the token there, do not run.
    let aws = named(&report, "aws");
    assert!(
        aws.iter()
            .any(|(s, m)| s == "warn" && m.contains("FULL_URI fails above")),
        "{aws:?}"
    );
}
