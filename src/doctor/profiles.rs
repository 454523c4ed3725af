//! The profiles in `~/.aws/config` and `~/.aws/credentials` (or
//! `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`) whose credentials
//! come from a `credential_process` that runs `s3-credentials-fetch` or
//! curls loopback (their own, or, through `role_arn` and
//! `source_profile`, the profile they chain to): each is run as botocore
//! runs it, and must answer with credentials. They go to no one: only
//! whether they came, or the command's own first line of why not, secrets
//! redacted. Nothing is run from a file, or of a program, that someone
//! else could have changed: each is judged as the server judges its own
//! files (`trusted`).

use super::chain::{self, Source};
use super::command::{self, Kind};
use super::ini::{self, Profiles};
use super::{curl, redact, words, Check, Options};
use crate::body::parse_process_body;
use crate::credential::Credential;
use crate::sts::checks::Verdict;
use crate::trusted;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one credential_process may take (fetch's own is 5 s).
const RUN_TIMEOUT: Duration = Duration::from_secs(8);

/// The profile checks, and why the SDK's own credential chain (the AWS
/// checks) must not run here, if it must not.
pub(super) struct Found {
    pub checks: Vec<Check>,
    pub sdk_unsafe: Option<String>,
}

/// A profile file's text. `/dev/null` (the character device) reads as
/// empty, as every SDK reads it; anything else must pass
/// [`trusted::open`]: a regular file (a FIFO is refused, never waited
/// on), yours or root's and writable by no one else along its whole
/// path, at most [`trusted::CONFIG_LIMIT`]. `None`: there is none.
fn read(path: &Path) -> Result<Option<String>, String> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(meta) if meta.file_type().is_char_device() => {
            let null = std::fs::metadata("/dev/null").is_ok_and(|n| n.rdev() == meta.rdev());
            if null {
                return Ok(Some(String::new()));
            }
        }
        _ => {}
    }
    let opened = trusted::open(path, "the AWS profile file").map_err(|e| e.to_string())?;
    let bytes = trusted::capped(opened.file, trusted::CONFIG_LIMIT)
        .map_err(|why| format!("the AWS profile file {}: {why}", path.display()))?;
    String::from_utf8(bytes)
        .map_err(|_| format!("the AWS profile file {} is not UTF-8 text", path.display()))
        .map(Some)
}

/// `AWS_CONFIG_FILE` or the like (a leading `~/` is your home), else
/// `default` in your home.
fn file(var: &str, default: &str) -> PathBuf {
    let home = directories::BaseDirs::new()
        .map(|b| b.home_dir().to_path_buf())
        .unwrap_or_default();
    match std::env::var(var) {
        Ok(path) => match path.strip_prefix("~/") {
            Some(rest) => home.join(rest),
            None => PathBuf::from(path),
        },
        Err(_) => home.join(default),
    }
}

/// Both files' profiles, as botocore merges them; or why a file is not
/// read.
fn profiles() -> Result<Profiles, String> {
    let mut sections = Vec::new();
    for path in [
        file("AWS_CONFIG_FILE", ".aws/config"),
        file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
    ] {
        let text = read(&path)?.unwrap_or_default();
        let parsed = ini::parse(&text)
            .map_err(|why| format!("{}: {why}; botocore refuses it too: fix it", path.display()))?;
        sections.push(parsed);
    }
    let credentials = sections.pop().unwrap_or_default();
    Ok(Profiles::of(
        sections.pop().unwrap_or_default(),
        credentials,
    ))
}

/// One finding for each profile whose `credential_process` asks a
/// localserver (or `--profile`'s alone), each run as the SDK would run it;
/// with what the AWS checks may then rely on.
pub(super) async fn checks(options: &Options) -> Found {
    let profiles = match profiles() {
        Ok(profiles) => profiles,
        Err(why) => {
            let verdict = Verdict::Fail(format!(
                "{why}; doctor runs nothing it names, and skips the AWS checks"
            ));
            return Found {
                checks: vec![Check::new("profiles", verdict)],
                sdk_unsafe: Some("the AWS profile files are not read (see profiles)".into()),
            };
        }
    };
    let mut checks = Vec::new();
    for section in &profiles.not_profiles {
        if options.profile.as_ref().is_none_or(|p| p == section) {
            checks.push(Check::new(
                "profiles",
                Verdict::Warn(format!(
                    "[{section}] in the config file is no profile to the SDKs (there only \
                     [default] and [profile NAME] are): write [profile {section}]"
                )),
            ));
        }
    }
    let mut runs = Runs::default();
    let names: Vec<&str> = match &options.profile {
        Some(p) => vec![p],
        None => profiles.list.iter().map(|p| p.name.as_str()).collect(),
    };
    let asked = options.profile.is_some();
    for name in names {
        if let Some(verdict) = judge(&profiles, name, asked, &mut runs, options.port).await {
            checks.push(Check::new(format!("profile {name}"), verdict));
        }
    }
    if checks.is_empty() {
        let verdict = Verdict::Ok(
            "no profile's credential_process runs s3-credentials-fetch or curls loopback".into(),
        );
        checks.push(Check::new("profiles", verdict));
    }
    Found {
        checks,
        sdk_unsafe: sdk_unsafe(&profiles),
    }
}

/// Whether the profile's own `credential_process` is one doctor would
/// have something to say about.
fn names_ours(profiles: &Profiles, name: &str) -> bool {
    let line = profiles
        .get(name)
        .and_then(|p| p.text("credential_process"));
    let words = line.map(|l| words::split(l).unwrap_or_else(|_| first_word(l)));
    words.is_some_and(|w| command::kind(&w) != Kind::Other)
}

/// A line's first word, roughly, when it cannot be split.
fn first_word(line: &str) -> Vec<String> {
    let first = line.split_whitespace().next().unwrap_or_default();
    vec![first.trim_matches(['"', '\'']).to_owned()]
}

/// One profile's verdict, if doctor has one: always for the profile asked
/// for; else only where a command of ours is involved.
async fn judge(
    profiles: &Profiles,
    name: &str,
    asked: bool,
    runs: &mut Runs,
    port: u16,
) -> Option<Verdict> {
    if profiles.get(name).is_none() {
        let missing = format!("there is no profile {name} in the AWS profile files");
        return Some(Verdict::Warn(missing));
    }
    let involved = asked || names_ours(profiles, name);
    let (holder, line) = match chain::source(profiles, name) {
        Source::Process { holder, line } => (holder, line),
        Source::Other(what) => {
            let said = format!("the SDKs run no credential_process for it: {what}");
            return involved.then_some(Verdict::Warn(said));
        }
        Source::Broken(why) => {
            return involved.then(|| Verdict::Fail(format!("{why}: the SDKs refuse the profile")))
        }
    };
    let mut verdict = run_line(line, asked, runs, port).await?;
    if let Some((shown, credential)) = runs.local_credential(line) {
        verdict = super::gateway::check(name, &shown, &credential).await;
    }
    if holder == name {
        return Some(verdict);
    }
    let via = |m: String| format!("via source_profile {holder}: {m}");
    Some(match verdict {
        Verdict::Ok(m) => Verdict::Ok(via(m)),
        Verdict::Warn(m) => Verdict::Warn(via(m)),
        Verdict::Fail(m) => Verdict::Fail(via(m)),
    })
}

/// A credential_process line's verdict: run if it is ours, else why not
/// (only when the profile was asked for, if it is not ours at all).
async fn run_line(line: &str, asked: bool, runs: &mut Runs, port: u16) -> Option<Verdict> {
    let words = match words::split(line) {
        Ok(words) if !words.is_empty() => words,
        Ok(_) => return Some(Verdict::Fail("its credential_process is empty".into())),
        Err(why) => {
            let ours = command::kind(&first_word(line)) != Kind::Other;
            return (asked || ours).then(|| {
                Verdict::Fail(format!(
                    "its credential_process cannot be split into words as botocore splits it \
                     ({why}), so the SDKs fail on it: fix its quotes"
                ))
            });
        }
    };
    let shown = redact::command(&words);
    Some(match command::kind(&words) {
        Kind::Ours => runs.run(&words, &shown, port).await,
        Kind::Refused(why) => Verdict::Warn(format!(
            "not run: `{shown}`: {why}; doctor runs s3-credentials-fetch, and curl of one \
             loopback URL with {}",
            curl::KNOWN
        )),
        Kind::Other if asked => Verdict::Warn(
            "its credential_process runs neither s3-credentials-fetch nor curl of loopback".into(),
        ),
        Kind::Other => return None,
    })
}

/// Why the SDK's own chain (the AWS checks) must not run: the profile it
/// takes (`AWS_PROFILE`, else `default`) runs a program doctor does not
/// trust.
fn sdk_unsafe(profiles: &Profiles) -> Option<String> {
    let name = std::env::var("AWS_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".into());
    let Source::Process { line, .. } = chain::source(profiles, &name) else {
        return None;
    };
    let words = words::split(line).ok()?;
    let why = command::program(words.first()?).err()?;
    Some(format!(
        "the SDK would run profile {name}'s credential_process, and {why}"
    ))
}

/// Each command run once, however many profiles name it: its verdict,
/// and the credential it answered when that is a local one (for the
/// gateway check, which depends on each profile's S3 endpoint).
#[derive(Default)]
struct Runs(HashMap<Vec<String>, (Verdict, Option<Credential>)>);

impl Runs {
    async fn run(&mut self, words: &[String], shown: &str, port: u16) -> Verdict {
        if let Some((verdict, _)) = self.0.get(words) {
            return verdict.clone();
        }
        let (verdict, credential) = run(words, shown, port).await;
        let local = credential.filter(super::gateway::is_local);
        self.0.insert(words.to_vec(), (verdict.clone(), local));
        verdict
    }

    /// The command `line` names, shown, and the local credential it
    /// answered, if it did.
    fn local_credential(&self, line: &str) -> Option<(String, Credential)> {
        let words = words::split(line).ok()?;
        let credential = self.0.get(&words)?.1.clone()?;
        Some((redact::command(&words), credential))
    }
}

/// Runs one credential_process: credentials on stdout, or why not (its
/// own first line on stderr, redacted), with where a server does answer.
async fn run(words: &[String], shown: &str, doctor_port: u16) -> (Verdict, Option<Credential>) {
    let program = match command::program(&words[0]) {
        Ok(program) => program,
        Err(why) => return (Verdict::Fail(format!("not run: `{shown}`: {why}")), None),
    };
    let mut command = tokio::process::Command::new(program);
    command
        .arg0(&words[0])
        .args(&words[1..])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let out = match tokio::time::timeout(RUN_TIMEOUT, command.output()).await {
        Err(_) => {
            let why = format!(
                "`{shown}` did not answer within {}s: is its server stuck? restart it",
                RUN_TIMEOUT.as_secs()
            );
            return (Verdict::Fail(why), None);
        }
        Ok(Err(e)) => {
            let why = format!("cannot run `{shown}`: {e}; fix the path in the profile");
            return (Verdict::Fail(why), None);
        }
        Ok(Ok(out)) => out,
    };
    let answered = out
        .status
        .success()
        .then(|| parse_process_body(out.stdout.trim_ascii()));
    if let Some(Ok(credential)) = answered {
        let verdict = Verdict::Ok(format!("`{shown}` answers with credentials"));
        return (verdict, Some(credential));
    }
    (failed(&out, shown, doctor_port).await, None)
}

/// Why a credential_process that ran gave no credentials.
async fn failed(out: &std::process::Output, shown: &str, doctor_port: u16) -> Verdict {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let why = match stderr.lines().find(|l| !l.trim().is_empty()) {
        Some(line) => redact::text(line.trim()),
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
