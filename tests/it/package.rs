//! The Debian package (`scripts/package`, from Cargo.toml's
//! `[package.metadata.deb]`), installed on this machine as root installs
//! it: built from the debug binaries this suite already has (cargo-deb
//! `--no-build --profile dev`, seconds, where a release build takes many
//! minutes), then `dpkg -i`, each installed part used as its program finds
//! it (man, bash, zsh and fish, systemd, the unit's own ExecStart serving
//! moto's bucket to curl, doctor), then `dpkg -r` and
//! `dpkg --purge`, each of which must leave no file of the package behind. It runs only as root (CI is
//! root) and says NOT RUN otherwise; a guard purges the package however the
//! test ends. Also: the packaged unit is the repository's but for its path.

use crate::support::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGE: &str = "s3-credentials";
/// The Debian revision of the test's package: an installed package with
/// it is one a killed run of this test left, which the next run purges.
const REVISION: &str = "0test";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `cmd`'s stdout; panics with its stderr if it fails.
fn ok(cmd: &mut Command) -> String {
    expect_success(&run(cmd))
}

/// `s3-credentials`'s installed version, if dpkg has it installed.
fn installed_version() -> Option<String> {
    let out = run(Command::new("dpkg-query").args([
        "-W",
        "-f",
        "${db:Status-Status} ${Version}",
        PACKAGE,
    ]));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, version) = said.split_once(' ')?;
    (out.status.success() && status == "installed").then(|| version.to_owned())
}

/// `dpkg --purge s3-credentials`, whatever it says (nothing to purge, say).
fn purge() {
    let _ = try_run(Command::new("dpkg").args(["--purge", PACKAGE]));
}

/// Purges the package when dropped, so a failing test leaves it not
/// installed.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        purge();
    }
}

/// The .deb of the binaries this suite runs (the debug build, unless it
/// was run with another profile), made by `scripts/package` in `dir`.
fn build_package(dir: &Path) -> PathBuf {
    let deb = dir.join("s3-credentials.deb");
    let revision = format!("--deb-revision={REVISION}");
    let built = Path::new(SERVER).parent().unwrap().file_name().unwrap();
    let profile = match built.to_str().unwrap() {
        "debug" => "dev",
        other => other,
    };
    ok(Command::new(repo().join("scripts/package"))
        .args(["--no-build", "--profile", profile, "--strip", "--fast"])
        .arg(revision)
        .arg("--output")
        .arg(&deb));
    deb
}

/// The absolute paths in the .deb (`dpkg-deb -c`), each with whether it
/// existed before the package was installed.
fn contents(deb: &Path) -> BTreeMap<PathBuf, bool> {
    let listing = ok(Command::new("dpkg-deb").arg("-c").arg(deb));
    listing
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .map(|path| Path::new("/").join(path.trim_start_matches("./")))
        .map(|path| {
            let existed = path.symlink_metadata().is_ok();
            (path, existed)
        })
        .collect()
}

#[test]
fn the_package_installs_works_and_purges_to_nothing() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("NOT RUN: installing the Debian package needs root (CI runs it as root)");
        return;
    }
    match installed_version() {
        Some(v) if v.ends_with(&format!("-{REVISION}")) => purge(),
        Some(v) => panic!(
            "s3-credentials {v} is installed, not by this test: `dpkg --purge s3-credentials` \
             first (the test installs its own and purges it)"
        ),
        None => {}
    }
    let dir = tempfile::tempdir().unwrap();
    let deb = build_package(dir.path());
    let before = contents(&deb);
    let guard = Installed;
    ok(Command::new("dpkg").arg("-i").arg(&deb));
    let listed: Vec<PathBuf> = ok(Command::new("dpkg").args(["-L", PACKAGE]))
        .lines()
        .filter(|l| l.starts_with('/') && *l != "/.")
        .map(PathBuf::from)
        .collect();
    has_every_part(&listed);
    versions();
    man_pages();
    completions();
    units();
    served_by_the_unit();
    doctor_finds_them();
    copyright();
    ok(Command::new("dpkg").args(["-r", PACKAGE]));
    nothing_left(&listed, &before, "dpkg -r");
    drop(guard);
    assert_eq!(installed_version(), None, "purged");
    nothing_left(&listed, &before, "dpkg --purge");
}

/// No path `dpkg -L` listed is on the filesystem unless it was there
/// before the package was installed (/usr, say).
fn nothing_left(listed: &[PathBuf], before: &BTreeMap<PathBuf, bool>, after: &str) {
    let left: Vec<&PathBuf> = listed
        .iter()
        .filter(|p| !before.get(*p).copied().unwrap_or(false))
        .filter(|p| p.symlink_metadata().is_ok())
        .collect();
    assert!(left.is_empty(), "left after {after}: {left:?}");
}

/// Every part the package promises, where each program looks for it.
fn has_every_part(listed: &[PathBuf]) {
    let mut want: Vec<String> = std::fs::read_dir(repo().join("man"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|page| format!("/usr/share/man/man1/{page}.gz"))
        .collect();
    for name in ["s3-credentials", "s3-credentials-fetch"] {
        want.extend([
            format!("/usr/bin/{name}"),
            format!("/usr/share/bash-completion/completions/{name}"),
            format!("/usr/share/zsh/vendor-completions/_{name}"),
            format!("/usr/share/fish/vendor_completions.d/{name}.fish"),
        ]);
    }
    want.extend(
        [
            "/usr/lib/systemd/user/s3-credentials@.service",
            "/usr/lib/systemd/user/s3-credentials@.socket",
            "/usr/share/doc/s3-credentials/README.md",
            "/usr/share/doc/s3-credentials/copyright",
        ]
        .map(str::to_owned),
    );
    for path in want {
        assert!(
            listed.contains(&PathBuf::from(&path)),
            "no {path} in {listed:?}"
        );
    }
}

fn versions() {
    for name in ["s3-credentials", "s3-credentials-fetch"] {
        let said = ok(Command::new(format!("/usr/bin/{name}")).arg("--version"));
        assert_eq!(said.trim(), format!("{name} {}", env!("CARGO_PKG_VERSION")));
    }
}

/// `man -w` finds every page among the installed ones (no MANPATH).
fn man_pages() {
    for page in std::fs::read_dir(repo().join("man")).unwrap() {
        let page = page.unwrap().path();
        let name = page.file_stem().unwrap().to_string_lossy().into_owned();
        let found = ok(Command::new("man")
            .arg("-w")
            .arg(&name)
            .env_remove("MANPATH"));
        assert_eq!(found.trim(), format!("/usr/share/man/man1/{name}.1.gz"));
    }
}

/// Runs `script` in `shell` from an empty home, so only the system's
/// completion directories are read; its stdout, one sorted word a line.
fn in_shell(shell: &str, flags: &str, script: &str) -> Vec<String> {
    let home = tempfile::tempdir().unwrap();
    let said = ok(Command::new(shell)
        .args([flags, script])
        .env("HOME", home.path())
        .env_remove("XDG_DATA_DIRS")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("BASH_COMPLETION_USER_DIR"));
    let mut words: Vec<String> = said.split_whitespace().map(str::to_owned).collect();
    words.sort();
    words.dedup();
    words
}

/// Candidates bash offers for `line`, its completion loaded on demand by
/// bash-completion from the installed file.
fn bash(line: &str) -> Vec<String> {
    let script = format!(
        r#"source /usr/share/bash-completion/bash_completion
        COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}
        read -ra COMP_WORDS <<< "$COMP_LINE"
        [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
        _comp_load "${{COMP_WORDS[0]}}" 2>/dev/null || __load_completion "${{COMP_WORDS[0]}}"
        func=$(complete -p "${{COMP_WORDS[0]}}" | sed 's/.*-F \([^ ]*\) .*/\1/')
        "$func" "${{COMP_WORDS[0]}}" "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
        printf '%s\n' "${{COMPREPLY[@]}}""#
    );
    in_shell("bash", "-c", &script)
}

/// Candidates fish offers for `line`, from its vendor completions.
fn fish(line: &str) -> Vec<String> {
    let script = format!("complete -C '{line}' | string replace -r '\\t.*' ''; true");
    in_shell("fish", "-c", &script)
}

fn completions() {
    let want: [(&str, &[&str]); 3] = [
        ("s3-credentials ", &["localserver", "policy", "doctor"]),
        (
            "s3-credentials localserver --",
            &["--duration", "--read-only"],
        ),
        (
            "s3-credentials-fetch --",
            &["--port", "--socket", "--scope"],
        ),
    ];
    for (line, words) in want {
        for (shell, got) in [("bash", bash(line)), ("fish", fish(line))] {
            for w in words {
                assert!(
                    got.iter().any(|g| g == w),
                    "{shell} {line:?}: no {w} in {got:?}"
                );
            }
        }
    }
    // zsh's compinit finds both functions on its default fpath.
    let got = in_shell(
        "zsh",
        "-fc",
        "autoload -U compinit; compinit -u -D; print -r -- $_comps[s3-credentials] $_comps[s3-credentials-fetch]",
    );
    assert_eq!(got, ["_s3-credentials", "_s3-credentials-fetch"]);
}

/// `systemd-analyze verify --user` says nothing about an instance of each
/// installed unit (which names the installed /usr/bin/s3-credentials and
/// the installed man page).
fn units() {
    let home = tempfile::tempdir().unwrap();
    for instance in [
        "s3-credentials@my-bucket.service",
        "s3-credentials@my-bucket.socket",
    ] {
        let out = run(Command::new("systemd-analyze")
            .args(["verify", "--user"])
            .arg(Path::new("/usr/lib/systemd/user").join(instance))
            .env("HOME", home.path())
            .env("XDG_RUNTIME_DIR", home.path())
            .env_remove("MANPATH"));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.trim().is_empty(),
            "{instance}: {said}"
        );
    }
    let unit = std::fs::read_to_string("/usr/lib/systemd/user/s3-credentials@.service").unwrap();
    assert!(unit.contains("\nExecStart=/usr/bin/s3-credentials localserver %i $S3C_ARGS\n"));
}

/// The installed unit's own `ExecStart`, run as systemd runs it for the
/// instance BUCKET (this machine has no user manager to start it): `%i`
/// the instance, `$S3C_ARGS` split into words from the instance's
/// environment file (`%h/.config/s3-credentials/%i.env`, as the guide
/// writes it), against moto; curl then gets a credential from it.
fn served_by_the_unit() {
    let moto = Moto::shared();
    let bucket = moto.bucket("unit");
    let unit = std::fs::read_to_string("/usr/lib/systemd/user/s3-credentials@.service").unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    assert!(unit.contains("\nEnvironmentFile=-%h/.config/s3-credentials/%i.env\n"));
    let env_file = "--duration 1h --port 0 --no-socket";
    let words: Vec<String> = (exec.split_whitespace())
        .flat_map(|word| match word {
            "$S3C_ARGS" => env_file.split_whitespace().map(str::to_owned).collect(),
            word => vec![word.replace("%i", &bucket)],
        })
        .collect();
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(&words[0]);
    aws_env(&mut cmd, home.path());
    cmd.args(&words[1..])
        .env("AWS_ENDPOINT_URL", moto.url())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut server = spawn(&mut cmd);
    let stderr = server.stderr.take().unwrap();
    let ready = ["Press Ctrl+C to stop"];
    let lines = wait_for_lines(stderr, &ready, std::time::Duration::from_secs(30))
        .unwrap_or_else(|lines| panic!("the unit's command did not serve: {lines:#?}"));
    let port = (lines.iter())
        .find_map(|l| l.split("http://localhost:").nth(1)?.split('/').next())
        .expect("the serving line names the port");
    let url = format!("http://127.0.0.1:{port}/");
    let body = ok(Command::new("curl").args(["-s", "--max-time", "10", &url]));
    assert!(body.contains("\"AccessKeyId\""), "{body}");
}

/// The installed `doctor`, from an empty home, finds the man pages and
/// completions the package installed.
fn doctor_finds_them() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("/usr/bin/s3-credentials");
    aws_env(&mut cmd, home.path());
    let port = free_port().to_string();
    let out = run(cmd
        .args(["doctor", "--json", "--port", &port, "--endpoint-url"])
        .arg(Moto::shared().url()));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let installed = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "installed")
        .unwrap_or_else(|| panic!("no installed check: {report}"));
    assert_eq!(installed["status"], "ok", "{installed}");
}

/// Debian's machine-readable copyright file, naming the license that
/// /usr/share/common-licenses holds.
fn copyright() {
    let text = std::fs::read_to_string("/usr/share/doc/s3-credentials/copyright").unwrap();
    assert!(text.starts_with(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    ));
    assert!(text.contains("\nLicense: Apache-2.0\n"), "{text}");
    assert!(Path::new("/usr/share/common-licenses/Apache-2.0").exists());
}

/// The packaged unit is the repository's, its comments aside, but for
/// ExecStart's binary: /usr/bin's, where the package puts it.
#[test]
fn the_packaged_unit_is_the_repositorys_at_usr_bin() {
    let body = |path: &str| -> Vec<String> {
        std::fs::read_to_string(repo().join(path))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.replace("ExecStart=%h/.cargo/bin/", "ExecStart=/usr/bin/"))
            .collect()
    };
    let packaged = body("contrib/debian/s3-credentials@.service");
    assert_eq!(packaged, body("contrib/systemd/s3-credentials@.service"));
    assert!(packaged
        .iter()
        .any(|l| l.starts_with("ExecStart=/usr/bin/s3-credentials ")));
}
