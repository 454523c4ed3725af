//! `doctor` against the red team's attacks on its profile checks: profile
//! files it must read (`/dev/null`), secrets it must not print, commands
//! it must not run (curl of anything but one loopback URL, a look-alike
//! program, a config others may write), and profiles read as botocore
//! reads them (each verdict checked against real boto3).

use super::{create_role, doctor};
use crate::support::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The checks named exactly `name`: their status and message.
fn exactly(report: &Value, name: &str) -> Vec<(String, String)> {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == name)
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap().to_owned();
            (text("status"), text("message"))
        })
        .collect()
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A stand-in program `dir/name` (0755) that writes each run's arguments
/// to `dir/ran`, and fails.
fn recorder(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let log = dir.join("ran");
    let script = format!("#!/bin/sh\necho \"$*\" >> '{}'\nexit 1\n", log.display());
    std::fs::write(&path, script).unwrap();
    chmod(&path, 0o755);
    path
}

/// What the recorder in `dir` was run with, one line a run.
fn ran(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("ran")).unwrap_or_default();
    text.lines().map(str::to_owned).collect()
}

/// `[profile NAME]` sections, each with this credential_process.
fn profiles(home: &Path, each: &[(&str, String)]) {
    let text: String = each
        .iter()
        .map(|(name, line)| format!("[profile {name}]\ncredential_process = {line}\n\n"))
        .collect();
    std::fs::write(home.join("aws-config"), text).unwrap();
}

/// AWS (the clock check) is moto, never the internet.
fn at_moto() -> [(&'static str, String); 1] {
    [("AWS_ENDPOINT_URL", Moto::shared().url())]
}

#[test]
fn doctor_reads_dev_null_as_an_empty_profile_file() {
    let home = tempfile::tempdir().unwrap();
    let [(k, url)] = at_moto();
    for var in ["AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"] {
        let (_, report) = doctor(home.path(), &[(var, "/dev/null"), (k, &url)], &[], &[]);
        let none = "no profile's credential_process runs s3-credentials-fetch or curls loopback";
        assert_eq!(
            exactly(&report, "profiles"),
            [("ok".into(), none.into())],
            "{var}: {report}"
        );
        // And the checks that ask AWS were made.
        assert_eq!(exactly(&report, "clock")[0].0, "ok", "{var}: {report}");
    }
}

#[test]
fn doctor_prints_no_secret_a_profiles_command_holds() {
    const TOKEN: &str = "Zq8xT3vK9mW2pL7rB4nC6yD1";
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("doctor-secret")).run();
    let home = server.home.path();
    let (port, closed) = (server.port, free_port());
    profiles(
        home,
        &[
            (
                "answers",
                format!("curl -s -H \"Authorization: Bearer {TOKEN}\" http://127.0.0.1:{port}/"),
            ),
            (
                "fails",
                format!("curl -sS -H \"Authorization: {TOKEN}\" http://127.0.0.1:{closed}/"),
            ),
            (
                "attached",
                format!("curl -sH \"X-Api-Key: {TOKEN}\" http://127.0.0.1:{closed}/"),
            ),
            (
                "bearer",
                format!("curl -s --oauth2-bearer {TOKEN} http://127.0.0.1:{closed}/"),
            ),
            (
                "user",
                format!("curl -s -u me:{TOKEN} http://127.0.0.1:{closed}/"),
            ),
            (
                "query",
                format!("curl -s http://127.0.0.1:{closed}/?x={TOKEN}"),
            ),
        ],
    );
    let [(k, url)] = at_moto();
    for json in [true, false] {
        let mut cmd = Command::new(SERVER);
        aws_env(&mut cmd, home);
        cmd.env(k, &url)
            .args(["doctor", "--port", &port.to_string()])
            .args(json.then_some("--json"));
        let out = run(&mut cmd);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(
            !stdout.contains(TOKEN) && !stderr.contains(TOKEN),
            "{stdout}{stderr}"
        );
        for name in ["answers", "fails", "attached", "bearer", "user", "query"] {
            assert!(
                stdout.contains(&format!("profile {name}")),
                "{name}: {stdout}"
            );
        }
        assert!(stdout.contains("Authorization: <redacted>"), "{stdout}");
    }
}

#[test]
fn doctor_runs_curl_only_of_one_loopback_url_with_options_it_knows() {
    let home = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let curl = recorder(bin.path(), "curl");
    let curl = curl.display();
    let wrote = bin.path().join("wrote");
    let wrote = wrote.display();
    let attacks = [
        ("dns", "-s http://localhost.attacker.example:9/".to_owned()),
        ("nip", "-s http://127.0.0.1.nip.io:9/".into()),
        ("at", "-s localhost@198.18.5.5".into()),
        ("urlat", "-s http://localhost@198.18.5.5/".into()),
        ("second", "-s http://127.0.0.1:9/ http://198.18.5.5/".into()),
        ("output", format!("-s -o {wrote} http://127.0.0.1:9/")),
        ("config", "-s -K /etc/hostname http://127.0.0.1:9/".into()),
        (
            "headerfile",
            "-s -H @/etc/hostname http://127.0.0.1:9/".into(),
        ),
        ("data", "-s -d @/etc/hostname http://127.0.0.1:9/".into()),
        ("dump", format!("-sD {wrote} http://127.0.0.1:9/")),
        (
            "trace",
            format!("-s --trace-ascii {wrote} http://127.0.0.1:9/"),
        ),
        ("glob", "-s http://127.0.0.1:9/{a,b}".into()),
        ("nourl", "-s".into()),
    ];
    let known = "-sS -f -H 'X-A: b' --max-time 3 -m 3 http://127.0.0.1:9/";
    let mut each: Vec<(&str, String)> = attacks
        .iter()
        .map(|(name, args)| (*name, format!("{curl} {args}")))
        .collect();
    each.push(("known", format!("{curl} {known}")));
    profiles(home.path(), &each);
    let [(k, url)] = at_moto();
    let (_, report) = doctor(home.path(), &[(k, &url)], &[], &[]);
    for (name, _) in &attacks {
        let found = exactly(&report, &format!("profile {name}"));
        assert!(
            found.len() == 1 && found[0].0 == "warn" && found[0].1.starts_with("not run: "),
            "{name}: {found:?}"
        );
    }
    // Only the one it knows ran.
    assert_eq!(
        ran(bin.path()),
        ["-sS -f -H X-A: b --max-time 3 -m 3 http://127.0.0.1:9/"]
    );
    assert_eq!(exactly(&report, "profile known")[0].0, "fail", "{report}");
}

#[test]
fn doctor_runs_no_program_and_reads_no_config_that_others_may_change() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIPPED: only root can give a file to another uid");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let fetch = recorder(bin.path(), "s3-credentials-fetch");
    let chown = |uid: u32| std::os::unix::fs::chown(&fetch, Some(uid), None).unwrap();
    profiles(
        home.path(),
        &[("job", format!("{} --port 9", fetch.display()))],
    );
    let [(k, url)] = at_moto();
    let doctor = || doctor(home.path(), &[(k, &url)], &[], &[]).1;
    chown(65534);
    let report = doctor();
    let said = &exactly(&report, "profile job")[0];
    assert!(
        said.0 == "fail"
            && said.1.contains(&fetch.display().to_string())
            && said.1.contains("owned by uid 65534"),
        "{said:?}"
    );
    assert!(ran(bin.path()).is_empty(), "the look-alike ran");
    // Nor does the SDK's own chain run it, for the AWS checks.
    let config = home.path().join("aws-config");
    let look_alike = format!("[default]\ncredential_process = {}\n", fetch.display());
    std::fs::write(&config, look_alike).unwrap();
    let report = doctor();
    let said = &exactly(&report, "aws")[0];
    assert!(
        said.0 == "warn"
            && said
                .1
                .contains("would run profile default's credential_process"),
        "{said:?}"
    );
    assert!(ran(bin.path()).is_empty(), "the look-alike ran");
    profiles(
        home.path(),
        &[("job", format!("{} --port 9", fetch.display()))],
    );
    chown(0);
    doctor();
    assert_eq!(ran(bin.path()).len(), 1, "root's own ran");

    std::fs::remove_file(bin.path().join("ran")).unwrap();
    chmod(&config, 0o666);
    let report = doctor();
    let said = &exactly(&report, "profiles")[0];
    assert!(
        said.0 == "fail"
            && said.1.contains("writable by others (mode 0666)")
            && said.1.contains(&format!("chmod go-w {}", config.display())),
        "{said:?}"
    );
    assert!(
        ran(bin.path()).is_empty(),
        "a command from a 0666 config ran"
    );
    chmod(&config, 0o644);
    doctor();
    assert_eq!(ran(bin.path()).len(), 1);
}

/// Whether boto3 gets credentials for each profile (in `home`'s files,
/// AWS at moto, no keys in the environment).
fn boto3_gets_credentials(home: &Path, profiles: &[&str]) -> Vec<bool> {
    let script = "import sys, boto3\n\
        for name in sys.argv[1:]:\n    \
            try:\n        \
                c = boto3.Session(profile_name=name).get_credentials()\n        \
                print('ok' if c is not None and c.get_frozen_credentials().access_key else 'none')\n    \
            except Exception as e:\n        \
                print('fail', type(e).__name__)\n";
    let mut cmd = Command::new(tool("python3"));
    aws_env(&mut cmd, home);
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_ENDPOINT_URL", Moto::shared().url())
        .args(["-c", script])
        .args(profiles);
    let said = expect_success(&run(&mut cmd));
    said.lines().map(|l| l == "ok").collect()
}

#[test]
fn doctor_reads_each_profile_as_boto3_does() {
    let moto = Moto::shared();
    let server = Start::new(moto, &moto.bucket("doctor-boto3")).run();
    let home = server.home.path();
    let (port, wrong) = (server.port, free_port());
    let role = create_role(moto, "doctor-chained", 3600);
    std::fs::write(
        home.join("aws-config"),
        format!(
            "[profile good]\ncredential_process = {FETCH} --port {port}\n\n\
             [profile semicolon]\ncredential_process = {FETCH} --port {port} ; --scope x\n\n\
             [profile hash]\ncredential_process = {FETCH} --port {port} # the server on {port}\n\n\
             [bare]\ncredential_process = {FETCH} --port {port}\n\n\
             [profile chained]\nregion = us-east-1\nrole_arn = {role}\nsource_profile = good\n\n\
             [profile badchain]\nregion = us-east-1\nrole_arn = {role}\nsource_profile = wrongport\n\n\
             [profile wrongport]\ncredential_process = {FETCH} --port {wrong}\n\n\
             [profile roleover]\nregion = us-east-1\nrole_arn = {role}\nsource_profile = wrongport\n\
             credential_process = {FETCH} --port {port}\n\n\
             [profile continued]\ncredential_process = {FETCH}\n    --port {port}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        home.join("aws-credentials"),
        format!("[fromcreds]\ncredential_process = {FETCH} --port {port}\n"),
    )
    .unwrap();
    let expected = [
        ("good", true),
        ("semicolon", false),
        ("hash", false),
        ("bare", false),
        ("chained", true),
        ("badchain", false),
        ("wrongport", false),
        ("roleover", false),
        ("continued", true),
        ("fromcreds", true),
    ];
    let names: Vec<&str> = expected.iter().map(|(n, _)| *n).collect();
    let boto3 = boto3_gets_credentials(home, &names);
    let [(k, url)] = at_moto();
    for ((name, works), boto3) in expected.iter().zip(boto3) {
        assert_eq!(boto3, *works, "boto3 and profile {name}");
        let args = ["--port", &port.to_string(), "--profile", name];
        let (_, report) = doctor(home, &[(k, &url)], &[], &args);
        let found = exactly(&report, &format!("profile {name}"));
        let ok = !found.is_empty() && found.iter().all(|(s, _)| s == "ok");
        assert_eq!(ok, boto3, "doctor and boto3 on profile {name}: {report}");
    }
}
