//! `verify`'s flags.

use super::values::{parse_bucket, parse_key, parse_scope_name};
use super::ServerArgs;
use clap::{Args, ValueHint};

/// Options of `verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Which server to ask.
    #[command(flatten)]
    pub server: ServerArgs,
    /// The scope to verify [default: the one the server serves at /].
    #[arg(long, value_name = "NAME", value_parser = parse_scope_name, value_hint = ValueHint::Other)]
    pub scope: Option<String>,
    /// A bucket outside the scope, which it must not reach.
    #[arg(long, value_name = "BUCKET", value_parser = parse_bucket, value_hint = ValueHint::Other)]
    pub outside_bucket: Option<String>,
    /// An existing key outside the scope's prefix, which it must not read
    /// (a missing one proves nothing on some backends).
    #[arg(long, value_name = "KEY", value_parser = parse_key, value_hint = ValueHint::Other)]
    pub outside_key: Option<String>,
    /// Narrow the credential first, as s3-credentials-fetch does, and
    /// verify the narrowed one: to this prefix.
    #[arg(long, value_name = "PREFIX", value_parser = parse_key, value_hint = ValueHint::Other)]
    pub prefix: Option<String>,
    /// Narrow to reading.
    #[arg(long, conflicts_with = "write_only")]
    pub read_only: bool,
    /// Narrow to writing.
    #[arg(long, conflicts_with = "read_only")]
    pub write_only: bool,
    /// Where S3 is [default: AWS_ENDPOINT_URL(_S3), the profile's, AWS].
    #[arg(long, value_name = "URL", value_parser = super::values::parse_endpoint_url, value_hint = ValueHint::Url)]
    pub endpoint_url: Option<String>,
    /// One JSON object: {"ok", "enforced", "scope", "probes": [...]}.
    #[arg(long)]
    pub json: bool,
}

impl VerifyArgs {
    /// The plain options these flags describe.
    pub fn options(&self) -> crate::verify::Options {
        let access = crate::policy::Access::narrowed_by(self.read_only, self.write_only);
        let narrowing = crate::narrow::Narrowing {
            buckets: vec![],
            prefix: self.prefix.clone(),
            access,
        };
        crate::verify::Options {
            fetch: crate::fetch::Options::over_socket(
                self.server.port,
                self.server.socket.clone(),
                self.scope.clone(),
                narrowing.to_query(),
            ),
            narrowing,
            outside_bucket: self.outside_bucket.clone(),
            outside_key: self.outside_key.clone(),
            endpoint_url: self.endpoint_url.clone(),
            json: self.json,
        }
    }
}
