//! How to reach AWS: the flags `localserver` and `exec` share.

use super::values::{parse_endpoint_url, parse_region, suggest, REGIONS};
use clap::{Args, ValueHint};
use std::path::PathBuf;

/// How to reach AWS.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Role to assume [default: s3-credentials.AmazonS3FullAccess, created if missing].
    #[arg(long, value_name = "ARN", value_hint = ValueHint::Other)]
    pub role_arn: Option<String>,
    /// AWS profile to use.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with_all = ["access_key", "secret_key", "session_token", "auth"],
        value_hint = ValueHint::Other
    )]
    pub profile: Option<String>,
    /// AWS access key ID (with --secret-key; prefer --auth FILE: command
    /// lines are visible to other users).
    // The pair is checked after parsing (`Cli::parse_checked`): with
    // --auth, the original's own error comes first.
    #[arg(long, value_name = "KEY", conflicts_with = "profile", value_hint = ValueHint::Other)]
    pub access_key: Option<String>,
    /// AWS secret access key.
    #[arg(long, value_name = "SECRET", conflicts_with = "profile", value_hint = ValueHint::Other)]
    pub secret_key: Option<String>,
    /// AWS session token, for temporary keys.
    #[arg(long, value_name = "TOKEN", conflicts_with = "profile", value_hint = ValueHint::Other)]
    pub session_token: Option<String>,
    /// Path to JSON/INI file containing credentials (- for standard input).
    #[arg(short = 'a', long, value_name = "FILE", conflicts_with = "profile", value_hint = ValueHint::FilePath)]
    pub auth: Option<PathBuf>,
    /// AWS region, e.g. us-east-1.
    #[arg(long, value_parser = suggest(parse_region, REGIONS), hide_possible_values = true)]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (e.g. a local S3/STS server).
    #[arg(long, value_name = "URL", value_parser = parse_endpoint_url, value_hint = ValueHint::Url)]
    pub endpoint_url: Option<String>,
}

impl AwsArgs {
    /// What a key option lacks (`--secret-key` for `--access-key`, say),
    /// when `--auth` is not given.
    pub(super) fn unpaired(&self) -> Option<&'static str> {
        let (key, secret) = (self.access_key.is_some(), self.secret_key.is_some());
        match (self.auth.is_some(), key, secret) {
            (true, ..) => None,
            (false, true, false) => Some("--access-key needs --secret-key"),
            (false, false, true) => Some("--secret-key needs --access-key"),
            (false, false, false) if self.session_token.is_some() => {
                Some("--session-token needs --access-key and --secret-key")
            }
            _ => None,
        }
    }

    /// The plain options these flags describe; `--auth` with a key option
    /// is the original's error.
    pub fn options(&self) -> Result<crate::sts::AwsOptions, crate::Error> {
        use crate::sts::{KeySource, Keys};
        let credentials = match (&self.auth, &self.access_key, &self.secret_key) {
            (Some(_), None, None) if self.session_token.is_none() => {
                KeySource::File(self.auth.clone().unwrap_or_default())
            }
            (Some(_), _, _) => {
                return Err(crate::Error::new(
                    "--auth cannot be used with --access-key, --secret-key or --session-token",
                ))
            }
            (None, Some(access_key_id), Some(secret_access_key)) => KeySource::Keys(Keys {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                session_token: self.session_token.clone(),
            }),
            // clap requires the two keys together.
            (None, _, _) => KeySource::Chain,
        };
        Ok(crate::sts::AwsOptions {
            credentials,
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        })
    }
}
