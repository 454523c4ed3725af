//! The checks that ask AWS: this machine's clock against STS's, and each
//! `--config` scope as startup would judge it.

use super::{Check, Options};
use crate::scope::{CommandLine, Scopes};
use crate::sts;
use crate::sts::checks::{self, Verdict};

/// SigV4 refuses a request whose time is more than this off (seconds).
const SIGV4_SKEW: i64 = 5 * 60;

pub(super) async fn checks(options: &Options) -> Vec<Check> {
    let mut found = vec![clock(options).await];
    if options.config.is_some() {
        found.extend(scopes(options).await);
    }
    found
}

/// The clock against STS's `Date`.
async fn clock(options: &Options) -> Check {
    let verdict = match checks::clock_offset(&options.aws).await {
        Err(e) => Verdict::Warn(format!("not checked: {e}")),
        Ok(offset) => {
            let secs = offset.whole_seconds();
            let how = if secs > 0 { "behind" } else { "ahead of" };
            match secs.abs() {
                s if s > SIGV4_SKEW => Verdict::Fail(format!(
                    "this machine's clock is {s}s {how} STS's, and SigV4 refuses requests more \
                     than 5 minutes off: set the clock (timedatectl set-ntp true)"
                )),
                s if s > 60 => Verdict::Warn(format!("this machine's clock is {s}s {how} STS's")),
                s => Verdict::Ok(format!("within {s}s of STS's")),
            }
        }
    };
    Check::new("clock", verdict)
}

/// Each `--config` scope: policy size (no AWS needed), then, with AWS
/// access, role chaining, the role's MaxSessionDuration and the buckets.
async fn scopes(options: &Options) -> Vec<Check> {
    let command_line = CommandLine {
        duration: options.duration,
        ..CommandLine::default()
    };
    let declared = Scopes::declared(options.config.as_deref(), &command_line);
    let scopes = match declared {
        Ok(scopes) => scopes,
        Err(e) => return vec![Check::new("config", Verdict::Fail(e.to_string()))],
    };
    let mut found = Vec::new();
    for scope in scopes.by_name.values() {
        found.push(Check::new(
            format!("scope {}: policy size", scope.name),
            checks::policy_size(scope),
        ));
    }
    let aws = match sts::connect(&options.aws).await {
        Ok(aws) => aws,
        Err(e) => {
            found.push(Check::new(
                "aws",
                Verdict::Warn(format!(
                "scopes not checked against AWS: {e} (doctor's AWS checks use the default chain: \
                 AWS_PROFILE picks a profile; doctor --profile only picks which credential_process to check)"
            )),
            ));
            return found;
        }
    };
    for scope in scopes.by_name.values() {
        for (what, verdict) in checks::check_scope(&aws, scope).await {
            found.push(Check::new(format!("scope {}: {what}", scope.name), verdict));
        }
    }
    found
}
