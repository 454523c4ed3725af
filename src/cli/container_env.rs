//! `container-env`'s flags.

use super::values::{parse_container_path, parse_scope_name};
use super::ServerArgs;
use clap::builder::TypedValueParser;
use clap::{Args, ValueHint};

/// Options of `container-env`.
#[derive(Debug, Args)]
pub struct ContainerEnvArgs {
    /// The scope the container gets (one with a token_file).
    #[arg(long, value_name = "NAME", required = true, value_parser = parse_scope_name, value_hint = ValueHint::Other)]
    pub scope: String,
    /// How to print: docker (for docker run --env-file), compose (an
    /// environment: map) or env (export lines for a shell).
    #[arg(
        long,
        default_value = "docker",
        value_parser = clap::builder::PossibleValuesParser::new(crate::container_env::Format::NAMES)
            .map(|name| crate::container_env::Format::named(&name).unwrap_or_default())
    )]
    pub format: crate::container_env::Format,
    /// Name a token file at PATH inside the container (bind-mount the
    /// scope's token_file there) instead of printing the token.
    #[arg(long, value_name = "PATH", value_parser = parse_container_path, value_hint = ValueHint::Other)]
    pub token_file_at: Option<String>,
    /// Which server to ask.
    #[command(flatten)]
    pub server: ServerArgs,
}

impl ContainerEnvArgs {
    /// The plain options these flags describe.
    pub fn options(&self) -> crate::container_env::Options {
        crate::container_env::Options {
            fetch: crate::fetch::Options::over_socket(
                self.server.port,
                self.server.socket.clone(),
                Some(self.scope.clone()),
                String::new(),
            ),
            format: self.format,
            token_file_at: self.token_file_at.clone(),
        }
    }
}
