//! Which running localserver a client command asks (`s3-credentials-fetch`,
//! `exec --server`, `container-env`, `verify`): its port, which picks its
//! default Unix socket, or the socket itself. Declared once.

use super::DEFAULT_PORT;
use clap::{Args, ValueHint};
use std::path::PathBuf;

/// `--port` and `--socket`.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server's port, which picks its default Unix socket.
    #[arg(short, long, default_value_t = DEFAULT_PORT, value_hint = ValueHint::Other)]
    pub port: u16,
    /// The server's Unix socket.
    #[arg(long, value_name = "PATH", conflicts_with = "port", value_hint = ValueHint::FilePath)]
    pub socket: Option<PathBuf>,
}
