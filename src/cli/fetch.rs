//! `s3-credentials-fetch`'s flags.

use super::values::{parse_bucket, parse_scope_name, parse_timeout};
use super::ServerArgs;
use clap::builder::TypedValueParser;
use clap::{Parser, ValueHint};

/// `s3-credentials-fetch`: print the credentials a running localserver serves.
#[derive(Debug, Parser)]
#[command(
    name = "s3-credentials-fetch",
    version,
    about = "Print the credentials a running s3-credentials localserver serves",
    long_about = "Print the credentials a running s3-credentials localserver serves.\n\n\
        Meant as an AWS profile's credential_process:\n\n    \
        credential_process = s3-credentials-fetch"
)]
pub struct FetchCli {
    /// Which server to ask (without --socket: its default Unix socket,
    /// then TCP on its port).
    #[command(flatten)]
    pub server: ServerArgs,
    /// URL to ask over TCP, e.g. http://127.0.0.1:8094/
    #[arg(long, conflicts_with = "socket", value_hint = ValueHint::Url)]
    pub url: Option<String>,
    /// The uid the server must run as [default: your own]; a server run by
    /// anyone else is refused.
    #[arg(long, value_name = "UID", value_hint = ValueHint::Other)]
    pub server_uid: Option<u32>,
    /// Seconds to wait for an answer.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "5",
        value_parser = parse_timeout,
        value_hint = ValueHint::Other
    )]
    pub timeout: std::time::Duration,
    /// How to print the credential, as aws configure export-credentials
    /// does: process (the credential_process JSON), env, env-no-export,
    /// fish or powershell.
    #[arg(
        long,
        default_value = "process",
        value_parser = clap::builder::PossibleValuesParser::new(crate::body::Export::NAMES)
            .map(|name| crate::body::Export::named(&name).unwrap_or_default())
    )]
    pub format: crate::body::Export,
    /// Ask for the named scope (/scope/NAME) instead of the default one.
    #[arg(long, value_name = "NAME", conflicts_with = "url", value_parser = parse_scope_name, value_hint = ValueHint::Other)]
    pub scope: Option<String>,
    /// Narrow the credential to this one of the scope's buckets; repeatable.
    #[arg(long = "bucket", value_name = "BUCKET", value_parser = parse_bucket, value_hint = ValueHint::Other)]
    pub buckets: Vec<String>,
    /// Narrow the credential to this prefix, which must extend the scope's.
    #[arg(long, value_name = "PREFIX", value_hint = ValueHint::Other)]
    pub prefix: Option<String>,
    /// Narrow the credential to reading (of a read-write or read-only scope).
    #[arg(long, conflicts_with = "write_only")]
    pub read_only: bool,
    /// Narrow the credential to writing (of a read-write or write-only scope).
    #[arg(long, conflicts_with = "read_only")]
    pub write_only: bool,
}

impl FetchCli {
    /// The plain options these flags describe.
    pub fn options(&self) -> crate::fetch::Options {
        crate::fetch::Options {
            port: self.server.port,
            socket: self.server.socket.clone(),
            url: self.url.clone(),
            server_uid: self.server_uid,
            timeout: self.timeout,
            scope: self.scope.clone(),
            query: self.narrowing().to_query(),
            format: self.format,
        }
    }

    /// What `--bucket`, `--prefix`, `--read-only` and `--write-only` ask.
    fn narrowing(&self) -> crate::narrow::Narrowing {
        let access = crate::policy::Access::narrowed_by(self.read_only, self.write_only);
        crate::narrow::Narrowing {
            buckets: self.buckets.clone(),
            prefix: self.prefix.clone(),
            access,
        }
    }
}
