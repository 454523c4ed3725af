//! `container-env`'s flags.

use super::values::{parse_container_path, parse_scope_name};
use super::DEFAULT_PORT;
use clap::builder::TypedValueParser;
use clap::{Args, ValueHint};
use std::path::PathBuf;

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
    /// The server's port, which picks its default Unix socket.
    #[arg(short, long, default_value_t = DEFAULT_PORT, value_hint = ValueHint::Other)]
    pub port: u16,
    /// The server's Unix socket.
    #[arg(long, value_name = "PATH", conflicts_with = "port", value_hint = ValueHint::FilePath)]
    pub socket: Option<PathBuf>,
}

impl ContainerEnvArgs {
    /// The plain options these flags describe.
    pub fn options(&self) -> crate::container_env::Options {
        crate::container_env::Options {
            fetch: crate::fetch::Options::over_socket(
                self.port,
                self.socket.clone(),
                Some(self.scope.clone()),
                String::new(),
            ),
            format: self.format,
            token_file_at: self.token_file_at.clone(),
        }
    }
}
