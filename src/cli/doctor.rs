//! `doctor`'s flags.

use super::values::suggest;
use super::DEFAULT_PORT;
use crate::duration::SessionDuration;
use clap::{Args, ValueHint};
use std::path::PathBuf;

/// Options of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The server's port: its default socket, then TCP.
    #[arg(short, long, default_value_t = DEFAULT_PORT, value_hint = ValueHint::Other)]
    pub port: u16,
    /// Check only this AWS profile's credential_process.
    #[arg(long, value_name = "NAME", value_hint = ValueHint::Other)]
    pub profile: Option<String>,
    /// Check this file's scopes (and, with AWS access, against AWS).
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,
    /// The --duration localserver is given, for scopes without their own.
    #[arg(
        short,
        long,
        value_parser = suggest(str::parse::<SessionDuration>, &["15m", "1h", "12h"]),
        hide_possible_values = true
    )]
    pub duration: Option<SessionDuration>,
    /// Where AWS is, for the AWS checks [default: AWS_ENDPOINT_URL, the
    /// profile's, AWS], e.g. the demo's moto.
    #[arg(long, value_name = "URL", value_parser = super::values::parse_endpoint_url, value_hint = ValueHint::Url)]
    pub endpoint_url: Option<String>,
    /// One JSON object: {"ok", "checks": [{"name", "status", "message"}]}.
    #[arg(long)]
    pub json: bool,
}

impl DoctorArgs {
    /// The plain options these flags describe.
    pub fn options(&self) -> crate::doctor::Options {
        crate::doctor::Options {
            port: self.port,
            profile: self.profile.clone(),
            config: self.config.clone(),
            duration: self.duration,
            json: self.json,
            aws: crate::sts::AwsOptions {
                endpoint_url: self.endpoint_url.clone(),
                ..Default::default()
            },
        }
    }
}
