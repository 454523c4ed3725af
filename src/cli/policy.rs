//! `policy`'s flags.

use super::scopes::ScopeArgs;
use super::values::parse_bucket;
use crate::policy::Grant;
use clap::{Args, ValueHint};

/// Options of `policy`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// The buckets the credentials reach.
    #[arg(required = true, value_parser = parse_bucket, value_hint = ValueHint::Other)]
    pub buckets: Vec<String>,
    /// What may be done in them.
    #[command(flatten)]
    pub scope: ScopeArgs,
}

impl PolicyArgs {
    /// The grant these flags describe.
    pub fn grant(&self) -> Grant {
        self.scope.grant(self.buckets.clone())
    }
}
