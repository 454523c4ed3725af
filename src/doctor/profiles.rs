//! The profiles in `~/.aws/config` and `~/.aws/credentials` (or
//! `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`) whose
//! `credential_process` runs `s3-credentials-fetch` or curls loopback: each
//! is run as the SDK would run it (split as botocore splits it, POSIX
//! shell words), and must answer with credentials. They go to no one: only
//! whether they came, or the command's own first line of why not.

use super::{Check, Options};
use crate::sts::checks::Verdict;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A profile file larger than this is not one (and is not read whole).
const FILE_LIMIT: u64 = 1024 * 1024;
/// How long one credential_process may take (fetch's own is 5 s).
const RUN_TIMEOUT: Duration = Duration::from_secs(8);

/// The words of `line` if it runs one of ours: `s3-credentials-fetch`, or
/// curl of a loopback URL (or of the server's socket).
fn ours(line: &str) -> Option<Vec<String>> {
    let words = shell_words::split(line).ok()?;
    let program = words.first()?.rsplit('/').next()?;
    let loopback = |w: &str| {
        let rest = w.strip_prefix("http://").unwrap_or(w);
        ["localhost", "127.0.0.1", "[::1]"]
            .iter()
            .any(|h| rest.starts_with(h))
    };
    match program {
        "s3-credentials-fetch" => Some(words),
        "curl" if words.iter().any(|w| loopback(w) || w == "--unix-socket") => Some(words),
        _ => None,
    }
}

/// A profile file's text: a regular file, opened without blocking (a
/// FIFO is not waited on), at most `FILE_LIMIT`. `None`: there is none.
fn read(path: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(path);
    let file = match file {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
        Ok(file) => file,
    };
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("it is not a regular file".into());
    }
    let mut text = String::new();
    file.take(FILE_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|_| "it is not UTF-8 text".to_owned())?;
    match text.len() as u64 > FILE_LIMIT {
        true => Err("it is over 1 MiB".into()),
        false => Ok(Some(text.trim_start_matches('\u{feff}').to_owned())),
    }
}

/// Each `(profile, credential_process)` of the two files, or why a file
/// cannot be read (the SDK would refuse it too).
fn processes() -> Result<Vec<(String, String)>, String> {
    let home = directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .unwrap_or_default();
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| home.join(default))
    };
    let mut found = Vec::new();
    for (path, prefixed) in [
        (file("AWS_CONFIG_FILE", ".aws/config"), true),
        (
            file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
            false,
        ),
    ] {
        let fail = |why: String| format!("cannot read {}: {why}", path.display());
        let Some(text) = read(&path).map_err(fail)? else {
            continue;
        };
        let mut ini = configparser::ini::Ini::new_cs();
        ini.set_multiline(true);
        let sections = ini
            .read(text)
            .map_err(|_| fail("it is not an AWS profile file".into()))?;
        for (section, keys) in sections {
            let name = match prefixed {
                true => section
                    .strip_prefix("profile ")
                    .unwrap_or(&section)
                    .trim()
                    .to_owned(),
                false => section.trim().to_owned(),
            };
            // botocore reads keys in any case.
            let process = keys
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("credential_process"));
            if let Some((_, Some(line))) = process {
                found.push((name, line.replace('\n', " ")));
            }
        }
    }
    Ok(found)
}

pub(super) async fn checks(options: &Options) -> Vec<Check> {
    let all = match processes() {
        Ok(all) => all,
        Err(why) => {
            return vec![Check::new(
                "profiles",
                Verdict::Fail(format!("{why}; the SDKs refuse it too: fix or move it")),
            )]
        }
    };
    let mut checks = Vec::new();
    let wanted = all
        .iter()
        .filter(|(name, _)| options.profile.as_ref().is_none_or(|p| p == name));
    for (name, line) in wanted {
        if let Some(words) = ours(line) {
            checks.push(Check::new(
                format!("profile {name}"),
                run(&words, options.port).await,
            ));
        }
    }
    if checks.is_empty() {
        let verdict = match &options.profile {
            Some(p) if !all.iter().any(|(name, _)| name == p) => Verdict::Warn(format!(
                "no profile {p} with a credential_process in the AWS config files"
            )),
            Some(p) => Verdict::Warn(format!(
                "profile {p}'s credential_process runs neither s3-credentials-fetch nor curl of loopback"
            )),
            None => Verdict::Ok("no profile's credential_process runs s3-credentials-fetch or curls loopback".into()),
        };
        checks.push(Check::new("profiles", verdict));
    }
    checks
}

/// Runs one credential_process: credentials on stdout, or why not (its
/// own first line on stderr), with where a server does answer.
async fn run(words: &[String], doctor_port: u16) -> Verdict {
    let mut command = tokio::process::Command::new(&words[0]);
    command
        .args(&words[1..])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let shown = crate::log::escape(&words.join(" ")).into_owned();
    let out = match tokio::time::timeout(RUN_TIMEOUT, command.output()).await {
        Err(_) => {
            return Verdict::Fail(format!(
                "`{shown}` did not answer within {}s: is its server stuck? restart it",
                RUN_TIMEOUT.as_secs()
            ))
        }
        Ok(Err(e)) => {
            return Verdict::Fail(format!(
                "cannot run `{shown}`: {e}; fix the path in the profile"
            ))
        }
        Ok(Ok(out)) => out,
    };
    if out.status.success() && crate::body::check_process_body(out.stdout.trim_ascii()).is_ok() {
        return Verdict::Ok(format!("`{shown}` answers with credentials"));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let why = match stderr.lines().find(|l| !l.trim().is_empty()) {
        Some(line) => line.trim().to_owned(),
        None if out.status.success() => "its answer is not credentials".into(),
        None => format!("it exited with {}", out.status),
    };
    let there = match super::health::answers_on(doctor_port).await {
        true => format!(" (a server answers on port {doctor_port})"),
        false => String::new(),
    };
    Verdict::Fail(format!(
        "`{shown}` fails: {why}; fix the profile's command{there}, or start the server it asks"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ours_are_fetch_and_curl_of_loopback_split_as_a_shell_splits() {
        let words = |l: &str| ours(l).map(|w| w.len());
        assert_eq!(words("s3-credentials-fetch"), Some(1));
        assert_eq!(
            words("/usr/local/bin/s3-credentials-fetch --port 9000 --scope x"),
            Some(5)
        );
        assert_eq!(
            words("\"/opt/my tools/s3-credentials-fetch\" \"--port\" \"9002\""),
            Some(3)
        );
        assert_eq!(words("curl -s http://localhost:8094/"), Some(3));
        assert_eq!(words("curl -s localhost:9005"), Some(3));
        assert_eq!(
            words("curl -s --unix-socket /run/user/1/s3-credentials/8094.sock http://x/"),
            Some(5)
        );
        assert_eq!(words("curl -s https://example.com/"), None);
        assert_eq!(words("aws-vault exec x --json"), None);
        assert_eq!(words("s3-credentials-fetch 'unclosed"), None);
    }
}
