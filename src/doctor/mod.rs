//! `s3-credentials doctor`: one line per check, `ok`, `warn` or `FAIL`,
//! each failing line with its fix, so the usual reasons credentials do not
//! arrive are said before the user goes looking. It never prints a secret
//! (variables are named, never shown; tokens and keys are not read out).
//!
//! The server is asked in `health`; the AWS profiles' commands are run in
//! `profiles`, which reads the files as botocore does (`ini`), follows
//! `source_profile` as it does (`chain`), splits commands as it does
//! (`words`), runs only ours (`command`, `curl`) and shows them redacted
//! (`redact`); this machine's own settings are read in `local` (the
//! environment, proxies, `FULL_URI`, the runtime directory, installed
//! files); what asks AWS is in `aws` (the clock, and each `--config`
//! scope). Only this module puts the checks together. `profiles` uses
//! `health` and each it names; `chain` uses `ini`; `ini` and `redact`
//! use `words`; `command` uses `curl`: none imports another back.

mod aws;
mod chain;
mod command;
mod curl;
mod gateway;
mod health;
mod ini;
mod local;
mod profiles;
mod redact;
mod words;

use crate::duration::SessionDuration;
use crate::sts::checks::Verdict;
use crate::sts::AwsOptions;
use crate::Error;
use std::path::PathBuf;

/// What `doctor` is asked to do, in plain types.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's port (its default socket, then TCP).
    pub port: u16,
    /// Check only this AWS profile's `credential_process`.
    pub profile: Option<String>,
    /// Scopes to check against AWS.
    pub config: Option<PathBuf>,
    /// The `--duration` localserver is given, for scopes without one.
    pub duration: Option<SessionDuration>,
    /// One JSON object instead of lines.
    pub json: bool,
    /// How to reach AWS (the default chain).
    pub aws: AwsOptions,
}

/// How long the checks that ask AWS may take, all together.
const AWS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);

/// One check's name and finding.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    /// What was checked (`server`, `profile dev`, `scope prod: duration`).
    pub name: String,
    /// What was found.
    pub verdict: Verdict,
}

impl Check {
    fn new(name: impl Into<String>, verdict: Verdict) -> Check {
        Check {
            name: name.into(),
            verdict,
        }
    }

    /// `ok`, `warn` or `fail`, as `--json` names it.
    pub fn status(&self) -> &'static str {
        match self.verdict {
            Verdict::Ok(_) => "ok",
            Verdict::Warn(_) => "warn",
            Verdict::Fail(_) => "fail",
        }
    }

    fn message(&self) -> &str {
        match &self.verdict {
            Verdict::Ok(m) | Verdict::Warn(m) | Verdict::Fail(m) => m,
        }
    }
}

/// Runs every check; the report to print, and whether none failed.
pub async fn run(options: &Options) -> Result<(String, bool), Error> {
    let mut checks = vec![health::server(options.port).await];
    let profiles = profiles::checks(options).await;
    checks.extend(profiles.checks);
    checks.extend(local::checks(options));
    // The SDK reads the profile files as they are (a FIFO would hold it
    // forever), runs its profile's credential_process, and sends a failing
    // FULL_URI (another user's port) the container token: not where doctor
    // would not. And AWS must answer in time.
    let full_uri_fails =
        (checks.iter()).any(|c| c.name == "FULL_URI" && matches!(c.verdict, Verdict::Fail(_)));
    let sdk_unsafe = profiles.sdk_unsafe.or_else(|| {
        full_uri_fails.then(|| {
            "FULL_URI fails above, and the SDK would send it the container token".to_owned()
        })
    });
    let aws = match sdk_unsafe {
        Some(why) => Err(why),
        None => tokio::time::timeout(AWS_TIMEOUT, aws::checks(options))
            .await
            .map_err(|_| format!("AWS did not answer within {}s", AWS_TIMEOUT.as_secs())),
    };
    match aws {
        Ok(found) => checks.extend(found),
        Err(why) => checks.push(Check::new(
            "aws",
            Verdict::Warn(format!("not checked: {why}")),
        )),
    }
    let ok = !checks.iter().any(|c| matches!(c.verdict, Verdict::Fail(_)));
    let text = match options.json {
        true => json(&checks, ok),
        false => lines(&checks),
    };
    Ok((text, ok))
}

/// `ok    server: ...`, `warn  ...`, `FAIL  ...`, one line each.
fn lines(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks {
        let status = match check.verdict {
            Verdict::Fail(_) => "FAIL",
            _ => check.status(),
        };
        let message = crate::log::escape(check.message());
        out.push_str(&format!("{status:<4}  {}: {message}\n", check.name));
    }
    out
}

/// `{"ok": BOOL, "checks": [{"name", "status", "message"}]}`: the stable
/// keys docs/TROUBLESHOOTING.md documents.
fn json(checks: &[Check], ok: bool) -> String {
    let checks: Vec<serde_json::Value> = checks
        .iter()
        .map(|c| serde_json::json!({"name": c.name, "status": c.status(), "message": c.message()}))
        .collect();
    serde_json::json!({"ok": ok, "checks": checks}).to_string() + "\n"
}
