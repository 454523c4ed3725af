//! The service files as their managers read them: systemd's units through
//! `systemd-analyze verify`, the LaunchAgent through Python's plistlib, and
//! the command line each starts through our own parser.

use crate::support::*;
use clap::Parser;
use s3_credentials::cli::Cli;
use std::path::{Path, PathBuf};
use std::process::Command;

fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib")
        .join(path)
}

/// The units, installed as a new user would, with the binary path pointed
/// at the built one and MANPATH at our man pages; `systemd-analyze verify`
/// must say nothing about them.
#[test]
fn systemd_verifies_both_units_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("home/.config/systemd/user");
    std::fs::create_dir_all(&units).unwrap();
    let man1 = dir.path().join("man/man1");
    std::fs::create_dir_all(&man1).unwrap();
    for page in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("man")).unwrap() {
        let page = page.unwrap().path();
        std::fs::copy(&page, man1.join(page.file_name().unwrap())).unwrap();
    }
    for unit in ["s3-credentials@.service", "s3-credentials@.socket"] {
        let text = std::fs::read_to_string(contrib(&format!("systemd/{unit}"))).unwrap();
        std::fs::write(
            units.join(unit),
            text.replace("%h/.cargo/bin/s3-credentials", SERVER),
        )
        .unwrap();
    }
    let runtime = dir.path().join("run");
    std::fs::create_dir_all(&runtime).unwrap();
    for instance in [
        "s3-credentials@my-bucket.service",
        "s3-credentials@my-bucket.socket",
    ] {
        let out = run(Command::new("systemd-analyze")
            .args(["verify", "--user"])
            .arg(units.join(instance))
            .env("HOME", dir.path().join("home"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .env("MANPATH", dir.path().join("man")));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.trim().is_empty(),
            "{instance}: {said}"
        );
    }
}

/// `ExecStart`, expanded as systemd expands it (`%i`, `%h`, and `$S3C_ARGS`
/// split on whitespace), is a valid `localserver` command line.
#[test]
fn the_units_command_line_parses() {
    let text = std::fs::read_to_string(contrib("systemd/s3-credentials@.service")).unwrap();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("no {key}"))
            .to_owned()
    };
    let env = value("Environment=");
    let env = env.trim_matches('"');
    let args = env
        .strip_prefix("S3C_ARGS=")
        .expect("Environment sets S3C_ARGS");
    let exec = value("ExecStart=")
        .replace("%i", "my-bucket")
        .replace("%h", "/home/you");
    let argv: Vec<String> = exec
        .split_whitespace()
        .flat_map(|word| match word {
            "$S3C_ARGS" => args.split_whitespace().map(str::to_owned).collect(),
            _ => vec![word.to_owned()],
        })
        .collect();
    assert_eq!(argv[1..4], ["localserver", "my-bucket", "--duration"]);
    Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    assert!(value("ExecReload=").contains("-HUP $MAINPID"));
}

/// The LaunchAgent is a plist launchd can read, and its arguments are a
/// valid `localserver` command line.
#[test]
fn the_launch_agent_is_a_valid_plist_with_a_valid_command() {
    let script = r#"
import json, plistlib, sys
with open(sys.argv[1], "rb") as f:
    agent = plistlib.load(f)
print(json.dumps({"label": agent["Label"], "args": agent["ProgramArguments"],
                  "umask": agent["Umask"], "run": agent["RunAtLoad"]}))
"#;
    let plist = contrib("launchd/io.github.s3-credentials.plist");
    let out = expect_success(&run(Command::new(tool("python3"))
        .args(["-c", script])
        .arg(&plist)));
    let agent: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(agent["label"], "io.github.s3-credentials");
    assert_eq!(agent["umask"], 0o077);
    assert_eq!(agent["run"], true);
    let args: Vec<String> = serde_json::from_value(agent["args"].clone()).unwrap();
    assert!(args[0].ends_with("/s3-credentials"), "{args:?}");
    assert_eq!(args[1], "localserver");
    Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
}
