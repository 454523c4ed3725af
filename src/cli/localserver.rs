//! `localserver`'s flags.

use super::values::{parse_container_endpoint, parse_gateway, parse_host};
use super::{AwsArgs, ScopesArgs, DEFAULT_PORT};
use clap::builder::TypedValueParser;
use clap::{ArgGroup, Args, ValueHint};
use std::path::PathBuf;

/// Options of `localserver`.
#[derive(Debug, Args)]
// --config names scopes; without it, buckets and a duration do.
#[command(group(ArgGroup::new("source").args(["config"])))]
pub struct LocalserverArgs {
    /// Buckets, permissions, named scopes and duration.
    #[command(flatten)]
    pub scopes: ScopesArgs,
    /// TCP port to serve on (0 picks a free one).
    #[arg(short, long, default_value_t = DEFAULT_PORT, value_hint = ValueHint::Other)]
    pub port: u16,
    /// Host to bind; localhost binds 127.0.0.1 and ::1.
    #[arg(long, default_value = "localhost", value_parser = parse_host, value_hint = ValueHint::Hostname)]
    pub host: String,
    /// Unix socket path [default: $XDG_RUNTIME_DIR/s3-credentials/PORT.sock,
    /// or $TMPDIR/s3-credentials-UID/PORT.sock without XDG_RUNTIME_DIR].
    #[arg(long, value_name = "PATH", conflicts_with = "no_socket", value_hint = ValueHint::FilePath)]
    pub socket: Option<PathBuf>,
    /// Serve over TCP only, with no Unix socket.
    #[arg(long, conflicts_with = "socket")]
    pub no_socket: bool,
    /// Exit (status 0) after this many seconds without a request; with
    /// socket activation, systemd starts it again on the next connection.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..), value_hint = ValueHint::Other)]
    pub idle_exit: Option<u64>,
    /// Also serve the default scope as EC2's IMDSv2 on 127.0.0.1:PORT (0 picks a free one).
    // IMDS clients send no Authorization header: with a token file, the
    // IMDS port would hand out what the token guards.
    #[arg(long, value_name = "PORT", conflicts_with = "auth_token_file", value_hint = ValueHint::Other)]
    pub imds_port: Option<u16>,
    /// Require the header Authorization: TOKEN, with the token in FILE, on every TCP request.
    #[arg(long, value_name = "FILE", conflicts_with = "imds_port", value_hint = ValueHint::FilePath)]
    pub auth_token_file: Option<PathBuf>,
    /// Also serve containers on [ADDR:]PORT (ADDR 169.254.170.2 unless given,
    /// which must be on an interface); every request there needs a scope's
    /// token_file token (or --auth-token-file's).
    #[arg(long, value_name = "[ADDR:]PORT", value_parser = parse_container_endpoint, value_hint = ValueHint::Other)]
    pub container_endpoint: Option<std::net::SocketAddr>,
    /// Serve an S3 gateway on [ADDR:]PORT (127.0.0.1 unless given; 0 picks a
    /// free port): the buckets on the command line are then served through
    /// it, as are config scopes with serve = "gateway". Their clients get
    /// local credentials, good only there; the real one stays here.
    #[arg(long, value_name = "[ADDR:]PORT", value_parser = parse_gateway, value_hint = ValueHint::Other)]
    pub gateway: Option<std::net::SocketAddr>,
    /// Give each caller (your user and the program, or an allowed uid's)
    /// of the buckets on the command line its own STS session, named for
    /// it in CloudTrail (RoleSessionName, SourceIdentity, session tags);
    /// with --gateway, the gateway's S3 calls for it go out in that session.
    /// A --config scope says attribute = "caller" instead.
    #[arg(long, requires = "buckets")]
    pub attribute: bool,
    /// Also serve this uid (a service account) every scope over TCP, IMDS
    /// and the socket; repeatable. By default only your own uid is served.
    #[arg(long = "allow-uid", value_name = "UID", value_hint = ValueHint::Other)]
    pub allow_uid: Vec<u32>,
    /// Do not log each request.
    #[arg(short, long)]
    pub quiet: bool,
    /// How to write stderr: text, or one JSON object per line (startup lines too).
    #[arg(
        long,
        value_name = "FORMAT",
        default_value = "text",
        value_parser = clap::builder::PossibleValuesParser::new(["text", "json"])
            .map(|f| if f == "json" { crate::log::Format::Json } else { crate::log::Format::Text })
    )]
    pub log_format: crate::log::Format,
    /// AWS connection options.
    #[command(flatten)]
    pub aws: AwsArgs,
}

impl LocalserverArgs {
    /// The plain options these flags describe.
    pub fn options(&self) -> Result<crate::localserver::Options, crate::Error> {
        use crate::server::SocketChoice;
        let socket = match (&self.socket, self.no_socket) {
            (_, true) => SocketChoice::None,
            (Some(path), false) => SocketChoice::At(path.clone()),
            (None, false) => SocketChoice::Default,
        };
        let mut command_line = self.scopes.command_line(self.aws.role_arn.clone());
        if self.gateway.is_some() {
            command_line.serve = crate::scope::Serve::Gateway(crate::scope::Upstream::Sts);
        }
        command_line.attribute = self.attribute;
        Ok(crate::localserver::Options {
            command_line,
            gateway: self.gateway,
            config: self.scopes.config.clone(),
            port: self.port,
            host: self.host.clone(),
            socket,
            imds_port: self.imds_port,
            container_endpoint: self.container_endpoint,
            idle_exit: self.idle_exit.map(std::time::Duration::from_secs),
            auth_token_file: self.auth_token_file.clone(),
            allow_uids: self.allow_uid.clone(),
            quiet: self.quiet,
            log_format: self.log_format,
            aws: self.aws.options()?,
            // Here, before the runtime's threads start: it changes the
            // environment.
            passed: crate::systemd::take_passed()?,
        })
    }
}
