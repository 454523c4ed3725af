//! The command line: one clap definition for both binaries, shared with the
//! generated man pages and shell completions.

use crate::duration::SessionDuration;
use crate::policy::{Access, Grant, Statement};
use crate::scope::CommandLine;
use clap::builder::{PossibleValue, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueHint};
use std::path::PathBuf;

/// The default TCP port, as in the original.
pub const DEFAULT_PORT: u16 = 8094;

/// `s3-credentials`: short-lived, bucket-scoped AWS credentials.
#[derive(Debug, Parser)]
#[command(name = "s3-credentials", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the command line, with the one check clap cannot express: a
    /// key option without its pair (`--access-key` without `--secret-key`)
    /// is a usage error (exit 2), unless `--auth` is given too, which is
    /// the original's own error (exit 1, from `AwsArgs::options`).
    pub fn parse_checked() -> Cli {
        let cli: Cli = parse_escaped();
        let aws = match &cli.command {
            Command::Localserver(args) => Some(&args.aws),
            Command::Exec(args) => Some(&args.aws),
            Command::Policy(_) => None,
        };
        if let Some(missing) = aws.and_then(AwsArgs::unpaired) {
            use clap::CommandFactory;
            Cli::command()
                .error(clap::error::ErrorKind::MissingRequiredArgument, missing)
                .exit();
        }
        cli
    }
}

/// Parses the process's arguments. A usage error that would quote an
/// argument holding a control character (a newline, an escape sequence)
/// is said with that argument escaped instead, as every other line on
/// stderr is (`log::escape`): the arguments before `--` are escaped and
/// parsed again to word the error. Help and version pass through.
pub fn parse_escaped<P: Parser>() -> P {
    use clap::error::ErrorKind;
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let error = match P::try_parse_from(&args) {
        Ok(parsed) => return parsed,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            e.exit()
        }
        Err(e) => e,
    };
    let mut rest = false;
    let escaped = args.iter().map(|arg| {
        rest |= arg == "--";
        match rest {
            true => arg.clone(),
            false => crate::log::escape(&arg.to_string_lossy())
                .into_owned()
                .into(),
        }
    });
    match P::try_parse_from(escaped) {
        Err(worded) if worded.kind() == error.kind() => worded.exit(),
        // Escaping made it parse (a JSON string's `\n`): say the first
        // error, line by line, each escaped.
        _ => {
            let text = error.render().to_string();
            for line in text.lines() {
                eprintln!("{}", crate::log::escape(line));
            }
            std::process::exit(error.exit_code());
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a localhost server that serves S3 credentials.
    ///
    /// The server answers GET / with JSON temporary credentials that reach
    /// only BUCKET... (or PREFIX in them). They are kept fresh: renewed well
    /// before they expire. With --config, it also serves the file's named
    /// scopes at /scope/NAME, and re-reads the file on SIGHUP.
    ///
    /// Example: s3-credentials localserver my-bucket --read-only --duration 1h
    Localserver(Box<LocalserverArgs>),
    /// Run a command with credentials for BUCKET... and nothing else.
    ///
    /// Mints first (a bad bucket fails before the command starts), serves
    /// the credentials on an ephemeral 127.0.0.1 port with a fresh token,
    /// and runs COMMAND with AWS_CONTAINER_CREDENTIALS_FULL_URI and
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN, so its SDK renews them while it
    /// runs. Other AWS keys, profiles and credential files are hidden from
    /// it. Exits with the command's status.
    ///
    /// Example: s3-credentials exec my-bucket --read-only -d 1h -- aws s3 ls s3://my-bucket
    Exec(Box<ExecArgs>),
    /// Print the session policy that localserver would use.
    ///
    /// Takes the same scope options as localserver, so the policy can be
    /// reviewed before a server is started.
    Policy(PolicyArgs),
}

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

/// What may be done in the buckets.
#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Only allow reading from the bucket.
    #[arg(long, conflicts_with = "write_only")]
    pub read_only: bool,
    /// Only allow writing to the bucket.
    #[arg(long, conflicts_with = "read_only")]
    pub write_only: bool,
    /// Restrict to keys starting with this prefix.
    #[arg(long, default_value = "*", value_hint = ValueHint::Other)]
    pub prefix: String,
    /// JSON statement to add to the policy (repeatable).
    #[arg(long = "statement", value_name = "JSON", value_hint = ValueHint::Other)]
    pub statements: Vec<Statement>,
}

impl ScopeArgs {
    /// The grant these flags describe, for `buckets`.
    pub fn grant(&self, buckets: Vec<String>) -> Grant {
        Grant {
            buckets,
            access: Access::from_flags(self.read_only, self.write_only),
            prefix: self.prefix.clone(),
            statements: self.statements.clone(),
        }
    }
}

/// Which credentials to serve: the command line's buckets (the default
/// scope), a file of named scopes, or both; shared by `localserver` and `exec`.
#[derive(Debug, Args)]
pub struct ScopesArgs {
    /// The buckets the credentials reach (the default scope, served at /).
    #[arg(
        required_unless_present = "config",
        requires = "duration",
        value_parser = parse_bucket,
        value_hint = ValueHint::Other
    )]
    pub buckets: Vec<String>,
    /// What may be done in them.
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Named scopes from a TOML file, served at /scope/NAME (localserver
    /// re-reads it on SIGHUP).
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,
    /// How long each credential is valid for, e.g. 15m, 1h, 12h (900s..12h).
    #[arg(
        short,
        long,
        required_unless_present = "config",
        value_parser = suggest(str::parse::<SessionDuration>, &["15m", "1h", "12h"]),
        hide_possible_values = true
    )]
    pub duration: Option<SessionDuration>,
}

impl ScopesArgs {
    /// What the command line says of scopes, with `role_arn` (`--role-arn`).
    pub fn command_line(&self, role_arn: Option<String>) -> CommandLine {
        let grant = (!self.buckets.is_empty()).then(|| self.scope.grant(self.buckets.clone()));
        CommandLine {
            grant,
            duration: self.duration,
            role_arn,
        }
    }
}

/// Options of `localserver`.
#[derive(Debug, Args)]
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
            aws: self.aws.options()?,
            command: self.command.clone(),
        })
    }
}

/// How to reach AWS.
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// Role to assume [default: s3-credentials.AmazonS3FullAccess, created if missing].
    #[arg(long, value_name = "ARN", value_hint = ValueHint::Other)]
    pub role_arn: Option<String>,
    /// AWS profile to use.
    #[arg(
        long,
        value_name = "NAME",
        conflicts_with_all = ["access_key", "secret_key", "session_token", "auth"],
        value_hint = ValueHint::Other
    )]
    pub profile: Option<String>,
    /// AWS access key ID (with --secret-key; prefer --auth FILE: command
    /// lines are visible to other users).
    // The pair is checked after parsing (`Cli::parse_checked`): with
    // --auth, the original's own error comes first.
    #[arg(long, value_name = "KEY", conflicts_with = "profile", value_hint = ValueHint::Other)]
    pub access_key: Option<String>,
    /// AWS secret access key.
    #[arg(long, value_name = "SECRET", conflicts_with = "profile", value_hint = ValueHint::Other)]
    pub secret_key: Option<String>,
    /// AWS session token, for temporary keys.
    #[arg(long, value_name = "TOKEN", conflicts_with = "profile", value_hint = ValueHint::Other)]
    pub session_token: Option<String>,
    /// Path to JSON/INI file containing credentials (- for standard input).
    #[arg(short = 'a', long, value_name = "FILE", conflicts_with = "profile", value_hint = ValueHint::FilePath)]
    pub auth: Option<PathBuf>,
    /// AWS region, e.g. us-east-1.
    #[arg(long, value_parser = suggest(parse_region, REGIONS), hide_possible_values = true)]
    pub region: Option<String>,
    /// Send every AWS call to this endpoint (e.g. a local S3/STS server).
    #[arg(long, value_name = "URL", value_parser = parse_endpoint_url, value_hint = ValueHint::Url)]
    pub endpoint_url: Option<String>,
}

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
    /// Port of the localserver; picks its default Unix socket, then TCP.
    #[arg(short, long, default_value_t = DEFAULT_PORT, value_hint = ValueHint::Other)]
    pub port: u16,
    /// Unix socket to ask.
    #[arg(long, value_name = "PATH", conflicts_with = "url", value_hint = ValueHint::FilePath)]
    pub socket: Option<PathBuf>,
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
        Ok(crate::localserver::Options {
            command_line: self.scopes.command_line(self.aws.role_arn.clone()),
            config: self.scopes.config.clone(),
            port: self.port,
            host: self.host.clone(),
            socket,
            imds_port: self.imds_port,
            idle_exit: self.idle_exit.map(std::time::Duration::from_secs),
            auth_token_file: self.auth_token_file.clone(),
            allow_uids: self.allow_uid.clone(),
            quiet: self.quiet,
            log_format: self.log_format,
            aws: self.aws.options()?,
        })
    }
}

impl AwsArgs {
    /// What a key option lacks (`--secret-key` for `--access-key`, say),
    /// when `--auth` is not given.
    fn unpaired(&self) -> Option<&'static str> {
        let (key, secret) = (self.access_key.is_some(), self.secret_key.is_some());
        match (self.auth.is_some(), key, secret) {
            (true, ..) => None,
            (false, true, false) => Some("--access-key needs --secret-key"),
            (false, false, true) => Some("--secret-key needs --access-key"),
            (false, false, false) if self.session_token.is_some() => {
                Some("--session-token needs --access-key and --secret-key")
            }
            _ => None,
        }
    }

    /// The plain options these flags describe; `--auth` with a key option
    /// is the original's error.
    pub fn options(&self) -> Result<crate::sts::AwsOptions, crate::Error> {
        use crate::sts::{KeySource, Keys};
        let credentials = match (&self.auth, &self.access_key, &self.secret_key) {
            (Some(_), None, None) if self.session_token.is_none() => {
                KeySource::File(self.auth.clone().unwrap_or_default())
            }
            (Some(_), _, _) => {
                return Err(crate::Error::new(
                    "--auth cannot be used with --access-key, --secret-key or --session-token",
                ))
            }
            (None, Some(access_key_id), Some(secret_access_key)) => KeySource::Keys(Keys {
                access_key_id: access_key_id.clone(),
                secret_access_key: secret_access_key.clone(),
                session_token: self.session_token.clone(),
            }),
            // clap requires the two keys together.
            (None, _, _) => KeySource::Chain,
        };
        Ok(crate::sts::AwsOptions {
            credentials,
            profile: self.profile.clone(),
            region: self.region.clone(),
            endpoint_url: self.endpoint_url.clone(),
        })
    }
}

impl FetchCli {
    /// The plain options these flags describe.
    pub fn options(&self) -> crate::fetch::Options {
        crate::fetch::Options {
            port: self.port,
            socket: self.socket.clone(),
            url: self.url.clone(),
            server_uid: self.server_uid,
            timeout: self.timeout,
            scope: self.scope.clone(),
            format: self.format,
        }
    }
}

/// AWS's regions, offered by shell completion (others are accepted).
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
];

/// A value parser that offers `values` to shell completion, while still
/// taking any value `inner` takes.
#[derive(Clone)]
pub struct Suggest<P> {
    inner: P,
    values: &'static [&'static str],
}

fn suggest<P>(inner: P, values: &'static [&'static str]) -> Suggest<P> {
    Suggest { inner, values }
}

impl<P: TypedValueParser> TypedValueParser for Suggest<P> {
    type Value = P::Value;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<Self::Value, clap::Error> {
        self.inner.parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(self.values.iter().map(|v| PossibleValue::new(*v))))
    }
}

fn parse_scope_name(s: &str) -> Result<String, String> {
    crate::body::check_scope_name(s)?;
    Ok(s.to_owned())
}

fn parse_bucket(s: &str) -> Result<String, String> {
    crate::policy::check_bucket_name(s)?;
    Ok(s.to_owned())
}

/// An `http://` or `https://` URL with a host.
fn parse_endpoint_url(s: &str) -> Result<String, String> {
    let uri: hyper::Uri = s
        .parse()
        .map_err(|_| "must be a URL like http://127.0.0.1:5000".to_owned())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok || uri.host().is_none_or(str::is_empty) {
        return Err("must be an http:// or https:// URL, like http://127.0.0.1:5000".into());
    }
    Ok(s.to_owned())
}

/// A host name or an IP address (IPv6 bare or in brackets).
fn parse_host(s: &str) -> Result<String, String> {
    let inner = s.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let ok = match inner {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().is_ok(),
        None if s.contains(':') => s.parse::<std::net::Ipv6Addr>().is_ok(),
        None => {
            !s.is_empty()
                && s.len() <= 253
                && s.split('.').all(|label| {
                    !label.is_empty()
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
    };
    match ok {
        true => Ok(inner.unwrap_or(s).to_owned()),
        false => Err("must be a host name or an IP address, like localhost or ::1".into()),
    }
}

/// An AWS region's shape (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
fn parse_region(s: &str) -> Result<String, String> {
    let parts: Vec<&str> = s.split('-').collect();
    let shaped = parts.len() >= 3
        && parts[0].len() == 2
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].parse::<u8>().is_ok();
    match shaped {
        true => Ok(s.to_owned()),
        false => Err("not an AWS region name (like us-east-1 or eu-west-2)".into()),
    }
}

fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s.parse().map_err(|_| "must be a number of seconds")?;
    if secs.is_finite() && secs > 0.0 && secs <= 3600.0 {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err("must be more than 0 and at most 3600 seconds".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
        FetchCli::command().debug_assert();
    }

    #[test]
    fn read_only_and_write_only_conflict() {
        let err = Cli::try_parse_from([
            "s3-credentials",
            "policy",
            "b",
            "--read-only",
            "--write-only",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn duration_is_required_and_checked() {
        let err = Cli::try_parse_from(["s3-credentials", "localserver", "b"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let err =
            Cli::try_parse_from(["s3-credentials", "localserver", "b", "-d", "5m"]).unwrap_err();
        assert!(err
            .to_string()
            .contains("Duration must be between 15 minutes and 12 hours"));
    }

    #[test]
    fn bad_input_is_a_usage_error_that_names_the_flag() {
        let parse = |args: &[&str]| {
            let mut all = vec!["s3-credentials", "localserver", "-d", "1h"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        for (args, flag) in [
            (&["", "--port", "0"][..], "[BUCKETS]"),
            (&["b/x"], "[BUCKETS]"),
            (&["b", "--endpoint-url", "127.0.0.1:5055"], "--endpoint-url"),
            (&["b", "--endpoint-url", ""], "--endpoint-url"),
            (&["b", "--endpoint-url", "ftp://x"], "--endpoint-url"),
            (&["b", "--host", ""], "--host"),
            (&["b", "--host", "[::1"], "--host"),
            (&["b", "--region", "nowhere"], "--region"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.contains(flag), "{args:?}: {err}");
        }
        for args in [
            &["my-bucket", "--endpoint-url", "http://127.0.0.1:5000"][..],
            &["b.c_d", "--host", "[::1]", "--region", "us-gov-west-1"],
            &[
                "b",
                "--host",
                "::1",
                "--endpoint-url",
                "https://s3.example.com/x",
            ],
        ] {
            assert_eq!(parse(args), Ok(()), "{args:?}");
        }
        let host = |h: &str| parse_host(h).unwrap();
        assert_eq!(host("[::1]"), "::1");
        assert_eq!(host("my.host-1"), "my.host-1");
    }

    #[test]
    fn timeout_must_be_positive() {
        assert!(FetchCli::try_parse_from(["f", "--timeout", "0"]).is_err());
        assert!(FetchCli::try_parse_from(["f", "--timeout", "nan"]).is_err());
        let ok = FetchCli::try_parse_from(["f", "--timeout", "0.5"]).unwrap();
        assert_eq!(ok.timeout, std::time::Duration::from_millis(500));
    }
}
