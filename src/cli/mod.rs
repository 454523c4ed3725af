//! The command line: one clap definition for both binaries, shared with the
//! generated man pages and shell completions. Clap's types stop here: each
//! subcommand's flags (one file each) turn into the plain option types of
//! the module that runs it. `aws` and `scopes` hold the groups that
//! `localserver` and `exec` share, `values` the value parsers.

mod aws;
mod container_env;
mod doctor;
mod exec;
mod fetch;
mod generate;
mod localserver;
mod policy;
mod scopes;
mod server;
mod values;
mod verify;

pub use aws::AwsArgs;
pub use container_env::ContainerEnvArgs;
pub use doctor::DoctorArgs;
pub use exec::ExecArgs;
pub use fetch::FetchCli;
pub use generate::{completions, GenerateArgs, Generated, Program};
pub use localserver::LocalserverArgs;
pub use policy::PolicyArgs;
pub use scopes::ScopesArgs;
pub use server::ServerArgs;
pub use verify::VerifyArgs;

use clap::{Parser, Subcommand};

/// The default TCP port, as in the original.
pub(crate) const DEFAULT_PORT: u16 = crate::socket::DEFAULT_PORT;

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
            Command::Policy(_)
            | Command::ContainerEnv(_)
            | Command::Doctor(_)
            | Command::Verify(_)
            | Command::Generate(_) => None,
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

/// A missing `--duration` says what a value looks like, as its help does.
fn with_example(mut error: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let missing = error.get(ContextKind::InvalidArg).is_some_and(|value| {
        matches!(value, ContextValue::Strings(args) if args.iter().any(|a| a.starts_with("--duration")))
    });
    if error.kind() == ErrorKind::MissingRequiredArgument && missing {
        let tip = "give how long each credential lasts, e.g. --duration 1h (15m to 12h)";
        error.insert(
            ContextKind::Suggested,
            ContextValue::StyledStrs(vec![tip.to_owned().into()]),
        );
    }
    error
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
        Err(worded) if worded.kind() == error.kind() => with_example(worded).exit(),
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
    /// Print what a container needs for one scope of a running localserver.
    ///
    /// Asks the server (over its Unix socket) for its container endpoint's
    /// address and the scope's own token, and prints them with the region,
    /// ready for docker run --env-file, compose's environment: or a shell.
    ///
    /// Example: s3-credentials container-env --scope prod > prod.env && docker run --env-file prod.env IMAGE
    ContainerEnv(ContainerEnvArgs),
    /// Say what is wrong before you go looking: one line per check.
    ///
    /// Checks that a server answers (and fetch would accept it), the AWS
    /// profiles that use it, variables that shadow it, proxies, the
    /// FULL_URI host, XDG_RUNTIME_DIR, the clock against STS, and each
    /// --config scope against AWS. Exits 1 when a check fails.
    ///
    /// Example: s3-credentials doctor --config scopes.toml
    Doctor(DoctorArgs),
    /// Prove the scope is enforced: harmless requests it must refuse.
    ///
    /// With the scope's own credential (from the running server), makes
    /// requests the scope must refuse and one it must allow, and reports
    /// each. Exits 0 only when every request the scope must refuse was
    /// refused.
    ///
    /// Example: s3-credentials verify --scope prod --outside-bucket other-bucket
    Verify(VerifyArgs),
    /// Print the session policy that localserver would use.
    ///
    /// Takes the same scope options as localserver, so the policy can be
    /// reviewed before a server is started.
    Policy(PolicyArgs),
    /// Generate the man pages or a shell's completions, for packagers.
    ///
    /// Made from the same definition as this help, so they never go stale.
    ///
    /// Example: s3-credentials generate man /usr/share/man/man1 && s3-credentials generate completions fish > s3-credentials.fish
    Generate(GenerateArgs),
}

#[cfg(test)]
mod tests;
