//! The scope flags `policy`, `localserver` and `exec` share: what may be
//! done in which buckets, and `--config`'s named scopes.

use super::values::{parse_bucket, suggest};
use crate::duration::SessionDuration;
use crate::policy::{Access, Grant, Statement};
use crate::scope::CommandLine;
use clap::{Args, ValueHint};
use std::path::PathBuf;

/// What may be done in the buckets.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Only allow reading from the bucket.
    #[arg(long, conflicts_with = "write_only")]
    pub read_only: bool,
    /// Only allow writing to the bucket.
    #[arg(long, conflicts_with = "read_only")]
    pub write_only: bool,
    /// Restrict to keys starting with this prefix.
    #[arg(long, default_value = "*", value_hint = ValueHint::Other)]
    pub prefix: String,
    /// JSON statement to add to the policy (repeatable).
    #[arg(long = "statement", value_name = "JSON", value_hint = ValueHint::Other)]
    pub statements: Vec<Statement>,
}

impl ScopeArgs {
    /// The grant these flags describe, for `buckets`.
    pub fn grant(&self, buckets: Vec<String>) -> Grant {
        Grant {
            buckets,
            access: Access::from_flags(self.read_only, self.write_only),
            prefix: self.prefix.clone(),
            statements: self.statements.clone(),
        }
    }
}

/// Which credentials to serve: the command line's buckets (the default
/// scope), a file of named scopes, or both; shared by `localserver` and `exec`.
/// Buckets and a duration are required unless an argument of the group
/// `source` is given, which each command defines (`--config`, and
/// `exec`'s `--server`).
#[derive(Debug, Args)]
pub struct ScopesArgs {
    /// The buckets the credentials reach (the default scope, served at /).
    #[arg(
        required_unless_present = "source",
        requires = "duration",
        value_parser = parse_bucket,
        value_hint = ValueHint::Other
    )]
    pub buckets: Vec<String>,
    /// What may be done in them.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Named scopes from a TOML file, served at /scope/NAME (localserver
    /// re-reads it on SIGHUP).
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,
    /// How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h).
    #[arg(
        short,
        long,
        required_unless_present = "source",
        value_parser = suggest(str::parse::<SessionDuration>, &["15m", "1h", "12h"]),
        hide_possible_values = true
    )]
    pub duration: Option<SessionDuration>,
}

impl ScopesArgs {
    /// What the command line says of scopes, with `role_arn` (`--role-arn`).
    pub(crate) fn command_line(&self, role_arn: Option<String>) -> CommandLine {
        let grant = (!self.buckets.is_empty()).then(|| self.scope.grant(self.buckets.clone()));
        CommandLine {
            grant,
            duration: self.duration,
            role_arn,
            serve: crate::scope::Serve::Direct,
            attribute: false,
        }
    }
}
