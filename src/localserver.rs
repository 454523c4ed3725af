//! The composition root of `localserver`: DESIGN.md §3's startup order
//! (listeners, AWS, the first credential, then serving), the announcement,
//! and shutdown on a signal. It wires the parts; each part knows nothing of
//! the others.

use crate::cache::Cache;
use crate::duration::SessionDuration;
use crate::policy::Scope;
use crate::server::{self, Running, SocketChoice};
use crate::sts::{self, AwsOptions, Minter};
use crate::token::{self, Loaded, Token};
use crate::{log, Error};
use std::path::PathBuf;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// What `localserver` is asked to do, in plain types (the command line's
/// `cli::LocalserverArgs` turns into this; `exec` and tests build one too).
#[derive(Debug, Clone)]
pub struct Options {
    /// The bucket, the access and the extra statements.
    pub scope: Scope,
    /// Each credential's life.
    pub duration: SessionDuration,
    /// The TCP port (0: any free one).
    pub port: u16,
    /// The host to bind (`localhost`: 127.0.0.1 and ::1).
    pub host: String,
    /// Where the Unix socket goes, if anywhere.
    pub socket: SocketChoice,
    /// The token file TCP clients must match, if any.
    pub auth_token_file: Option<PathBuf>,
    /// No access log.
    pub quiet: bool,
    /// How to reach AWS.
    pub aws: AwsOptions,
}

/// How the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// Drained and cleaned up after a stop signal.
    Cleanly,
    /// A second signal arrived during the drain: the socket file was
    /// removed, open connections were not waited for.
    Forced {
        /// The second signal's number (the exit status is 128 + it).
        signal: i32,
    },
}

/// Runs `localserver` until SIGINT, SIGTERM, SIGHUP or SIGQUIT.
pub async fn run(args: Options) -> Result<Stopped, Error> {
    log::init(args.quiet);
    let mut signals = StopSignals::new()?;
    let server = tokio::select! {
        started = start(&args) => started?,
        _ = signals.next() => {
            log::say("Shutting down server...");
            return Ok(Stopped::Cleanly);
        }
    };
    signals.next().await;
    log::say("Shutting down server...");
    let stopped = tokio::select! {
        () = server.stop() => Stopped::Cleanly,
        // Dropping the drain drops the server: the socket file goes too.
        signal = signals.next() => Stopped::Forced { signal },
    };
    if let Stopped::Forced { .. } = stopped {
        log::say("Stopped without waiting for open connections");
    }
    log::flush(); // the access lines of the requests that just finished
    Ok(stopped)
}

/// Listeners first (a busy port fails before any AWS call), then AWS, then
/// serving.
async fn start(args: &Options) -> Result<Running, Error> {
    let scope = &args.scope;
    let token = args
        .auth_token_file
        .as_deref()
        .map(load_token)
        .transpose()?;
    let listeners = server::listen(&args.host, args.port, args.socket.clone()).await?;
    let port = listeners.port().unwrap_or(args.port);
    let cache = first_credential(args, scope).await?;
    let options = server::Options {
        allowed_host: args.host.to_ascii_lowercase(),
        token,
    };
    let running = server::serve(listeners, cache, options);
    announce(args, scope, port, &running);
    Ok(running)
}

/// The token file, read (or made, and said so).
fn load_token(path: &std::path::Path) -> Result<Token, Error> {
    match token::load(path)? {
        Loaded::Read(token) => Ok(token),
        Loaded::Created(token) => {
            log::say(&format!(
                "Created {} with a new random token: give it to clients as \
                 AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                path.display()
            ));
            Ok(token)
        }
    }
}

/// Steps 1 to 4: AWS config, bucket, role, the first AssumeRole.
async fn first_credential(args: &Options, scope: &Scope) -> Result<std::sync::Arc<Cache>, Error> {
    let aws = sts::connect(&args.aws).await?;
    let minter = Minter::prepare(&aws, scope, args.aws.role_arn.as_deref(), args.duration).await?;
    log::say("Generating initial credentials...");
    let cache = Cache::new(Box::new(minter), args.duration);
    cache.prime().await?;
    Ok(cache)
}

/// The original's lines, and ours for the socket.
fn announce(args: &Options, scope: &Scope, port: u16, running: &Running) {
    log::say(&format!(
        "Serving {} credentials for bucket '{}' at http://{}:{port}/",
        scope.access,
        scope.bucket,
        url_host(&args.host)
    ));
    log::say(&format!("Duration: {} seconds", args.duration));
    if let Some(path) = running.socket_path() {
        log::say(&format!("Unix socket: {}", path.display()));
    }
    log::say("Press Ctrl+C to stop");
}

/// `[::1]` for an IPv6 literal, the host as given otherwise.
fn url_host(host: &str) -> String {
    match host.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{host}]"),
        Err(_) => host.to_owned(),
    }
}

/// The signals that stop the server: Ctrl+C, `kill`, a closed terminal or
/// dropped ssh session (HUP), and Ctrl+\ (QUIT). All of them clean up.
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
    quit: Signal,
}

impl StopSignals {
    fn new() -> Result<StopSignals, Error> {
        let listen = |kind: SignalKind| {
            signal(kind).map_err(|e| Error::new(format!("cannot handle signals: {e}")))
        };
        Ok(StopSignals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
            hangup: listen(SignalKind::hangup())?,
            quit: listen(SignalKind::quit())?,
        })
    }

    /// Waits for the next one; its number.
    async fn next(&mut self) -> i32 {
        use nix::libc;
        tokio::select! {
            _ = self.interrupt.recv() => libc::SIGINT,
            _ = self.terminate.recv() => libc::SIGTERM,
            _ = self.hangup.recv() => libc::SIGHUP,
            _ = self.quit.recv() => libc::SIGQUIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_host_brackets_ipv6() {
        assert_eq!(url_host("::1"), "[::1]");
        assert_eq!(url_host("localhost"), "localhost");
    }
}
