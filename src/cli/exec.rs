//! `exec`'s flags.

use super::values::parse_scope_name;
use super::{AwsArgs, ScopesArgs};
use clap::{Args, ValueHint};

/// Options of `exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Buckets, permissions, named scopes and duration.
    #[command(flatten)]
    pub scopes: ScopesArgs,
    /// Which of the --config file's scopes [default: its default scope].
    #[arg(long = "scope", value_name = "NAME", requires = "config", value_parser = parse_scope_name, value_hint = ValueHint::Other)]
    pub scope_name: Option<String>,
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
        Ok(crate::exec::Options {
            command_line: self.scopes.command_line(self.aws.role_arn.clone()),
            config: self.scopes.config.clone(),
            scope: self.scope_name.clone(),
            narrowing: self.narrowing(),
            aws: self.aws.options()?,
            command: self.command.clone(),
        })
    }

    /// With `--scope NAME` and no buckets, `--prefix` and `--read-only` or
    /// `--write-only` narrow that scope (else they shape the command
    /// line's own).
    fn narrowing(&self) -> crate::narrow::Narrowing {
        let flags = &self.scopes.scope;
        if self.scope_name.is_none() || !self.scopes.buckets.is_empty() {
            return crate::narrow::Narrowing::default();
        }
        let access = crate::policy::Access::narrowed_by(flags.read_only, flags.write_only);
        crate::narrow::Narrowing {
            buckets: vec![],
            prefix: (flags.prefix != "*").then(|| flags.prefix.clone()),
            access,
        }
    }
}
