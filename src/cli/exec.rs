//! `exec`'s flags.

use super::values::{parse_bucket, parse_scope_name};
use super::{AwsArgs, ScopesArgs, ServerArgs};
use clap::{ArgGroup, Args, ValueHint};

/// Options of `exec`.
#[derive(Debug, Args)]
#[command(
    // Either names the scopes; with neither, buckets and a duration do.
    group(ArgGroup::new("source").args(["config", "server"])),
    // A group, because `requires` a flag is met by its default (false).
    group(ArgGroup::new("from_server").args(["server"])),
    // --port and --socket say which server: only with --server.
    group(ArgGroup::new("which_server").args(["port", "socket"]).requires("from_server")),
)]
pub struct ExecArgs {
    /// Buckets, permissions, named scopes and duration.
    #[command(flatten)]
    pub scopes: ScopesArgs,
    /// Which scope: of the --config file [default: its default scope], or
    /// with --server, of the server's [default: the one it serves at /].
    #[arg(long = "scope", value_name = "NAME", requires = "source", value_parser = parse_scope_name, value_hint = ValueHint::Other)]
    pub scope_name: Option<String>,
    /// Take the credential from a running localserver, over its Unix
    /// socket, instead of from AWS: exec then needs no AWS keys.
    #[arg(
        long,
        conflicts_with_all = [
            "buckets", "duration", "statements", "role_arn", "profile",
            "access_key", "secret_key", "session_token", "auth",
        ]
    )]
    pub server: bool,
    /// With --server: which server to ask.
    #[command(flatten)]
    pub from: ServerArgs,
    /// Narrow the scope (of --config or --server) to this one of its
    /// buckets; repeatable.
    #[arg(long = "bucket", value_name = "BUCKET", requires = "source", value_parser = parse_bucket, value_hint = ValueHint::Other)]
    pub narrow_buckets: Vec<String>,
    /// AWS connection options.
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The command to run, after --.
    #[arg(last = true, required = true, value_name = "COMMAND", value_hint = ValueHint::CommandWithArguments)]
    pub command: Vec<std::ffi::OsString>,
}

impl ExecArgs {
    /// The plain options these flags describe.
    pub fn options(&self) -> Result<crate::exec::Options, crate::Error> {
        let source = match self.server {
            true => crate::exec::Source::Server {
                fetch: self.fetch_options(),
                region: self.aws.region.clone(),
                endpoint_url: self.aws.endpoint_url.clone(),
            },
            false => crate::exec::Source::Aws(crate::exec::FromAws {
                command_line: self.scopes.command_line(self.aws.role_arn.clone()),
                config: self.scopes.config.clone(),
                scope: self.scope_name.clone(),
                narrowing: self.narrowing(),
                aws: self.aws.options()?,
            }),
        };
        Ok(crate::exec::Options {
            source,
            command: self.command.clone(),
        })
    }

    /// How `--server` asks: as `s3-credentials-fetch` would, for the
    /// scope and narrowing given.
    fn fetch_options(&self) -> crate::fetch::Options {
        crate::fetch::Options::over_socket(
            self.from.port,
            self.from.socket.clone(),
            self.scope_name.clone(),
            self.narrowing().to_query(),
        )
    }

    /// Without buckets on the command line, `--bucket`, `--prefix` and
    /// `--read-only` or `--write-only` narrow the scope taken (from
    /// `--config` or `--server`); with them, they shape the command line's
    /// own scope.
    fn narrowing(&self) -> crate::narrow::Narrowing {
        let flags = &self.scopes.scope;
        if !self.scopes.buckets.is_empty() {
            return crate::narrow::Narrowing::default();
        }
        let access = crate::policy::Access::narrowed_by(flags.read_only, flags.write_only);
        crate::narrow::Narrowing {
            buckets: self.narrow_buckets.clone(),
            prefix: (flags.prefix != "*").then(|| flags.prefix.clone()),
            access,
        }
    }
}
