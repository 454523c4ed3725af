//! The composition root of `localserver`: docs/DESIGN.md's startup order
//! (scopes, listeners, AWS, the first credentials, then serving), the
//! announcement, reload on SIGHUP, and shutdown on a signal. It wires the
//! parts; each part knows nothing of the others.

use crate::local::KeyBook;
use crate::mint;
use crate::registry::{Registry, Served, Table};
use crate::scope::{CommandLine, Scope, Scopes};
use crate::server::{self, Running, SocketChoice};
use crate::signals::{Heard, Signals};
use crate::sts::{self, Aws, AwsOptions};
use crate::systemd::Passed;
use crate::token::Token;
use crate::{log, Error};
use announce::{announce, quoted, Bound};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokens::{check_imds, load_token, scope_tokens};

mod announce;
mod tokens;

/// What `localserver` is asked to do, in plain types (the command line's
/// `cli::LocalserverArgs` turns into this; `exec` and tests build one too).
#[derive(Debug)]
pub struct Options {
    /// The buckets, scope flags, duration and role of the command line.
    pub command_line: CommandLine,
    /// `--config FILE`: named scopes, re-read on SIGHUP.
    pub config: Option<PathBuf>,
    /// The TCP port (0: any free one).
    pub port: u16,
    /// The host to bind (`localhost`: 127.0.0.1 and ::1).
    pub host: String,
    /// Where the Unix socket goes, if anywhere.
    pub socket: SocketChoice,
    /// `--idle-exit`: stop after this long without a request.
    pub idle_exit: Option<std::time::Duration>,
    /// `--imds-port`: serve IMDSv2 on 127.0.0.1 on this port.
    pub imds_port: Option<u16>,
    /// `--container-endpoint`: serve containers on this address too.
    pub container_endpoint: Option<std::net::SocketAddr>,
    /// `--gateway`: serve the S3 gateway on this (loopback) address.
    pub gateway: Option<std::net::SocketAddr>,
    /// The token file TCP clients must match, if any.
    pub auth_token_file: Option<PathBuf>,
    /// `--allow-uid`: other uids served every scope.
    pub allow_uids: Vec<u32>,
    /// No access log.
    pub quiet: bool,
    /// Text or JSON lines on stderr.
    pub log_format: log::Format,
    /// How to reach AWS.
    pub aws: AwsOptions,
    /// The sockets systemd passed (socket activation), if it did.
    pub passed: Option<Passed>,
}

/// What the command line and the config file declare: the scopes, and
/// each one's own token.
struct Declared {
    scopes: Scopes,
    tokens: BTreeMap<String, Token>,
}

impl Options {
    /// The scopes the command line and the config file declare, and their
    /// tokens (made where missing), read on a blocking thread: a slow disk
    /// never holds the signal loop.
    async fn declared(&self, server_token: Option<&Token>) -> Result<Declared, Error> {
        let (config, command_line) = (self.config.clone(), self.command_line.clone());
        let server_token = server_token.cloned();
        let imds = self.imds_port.is_some();
        let gateway = self.gateway.is_some();
        tokio::task::spawn_blocking(move || {
            let scopes = Scopes::declared(config.as_deref(), &command_line)?;
            check_imds(&scopes, imds)?;
            check_gateway(&scopes, gateway)?;
            let tokens = scope_tokens(&scopes, server_token.as_ref())?;
            Ok(Declared { scopes, tokens })
        })
        .await
        .map_err(|e| Error::new(format!("cannot read --config: {e}")))?
    }
}

/// A scope served through the gateway needs `--gateway`.
fn check_gateway(scopes: &Scopes, gateway: bool) -> Result<(), Error> {
    let through = scopes.by_name.values().find(|s| s.serve.through_gateway());
    match (through, gateway) {
        (Some(scope), false) => Err(Error::new(format!(
            "scope '{}' is served through the gateway: start the server with --gateway \
             PORT (0 picks a free one)",
            scope.name
        ))),
        _ => Ok(()),
    }
}

/// How the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stopped {
    /// Drained and cleaned up after a stop signal.
    Cleanly,
    /// A second signal arrived during the drain: the socket file was
    /// removed, open connections were not waited for.
    Forced {
        /// The second signal's number (the exit status is 128 + it).
        signal: i32,
    },
}

/// Runs `localserver` until SIGINT, SIGTERM, SIGQUIT, or SIGHUP (which
/// re-reads `--config` instead, when there is one). Exits 0 after a clean
/// shutdown, 128+N when a second signal N cut it short (as a shell
/// reports a process a signal ended).
pub async fn run(args: Options) -> Result<ExitCode, Error> {
    Ok(match serve(args).await? {
        Stopped::Cleanly => ExitCode::SUCCESS,
        Stopped::Forced { signal } => ExitCode::from((128 + signal) as u8),
    })
}

/// Serves until a stop, then shuts down.
async fn serve(mut args: Options) -> Result<Stopped, Error> {
    log::init(args.quiet, args.log_format);
    let mut signals = Signals::new(args.config.is_some())?;
    let passed = args.passed.take();
    let mut server = tokio::select! {
        started = start(&args, passed) => started?,
        _ = signals.stop() => {
            log::say("Shutting down server...");
            return Ok(Stopped::Cleanly);
        }
    };
    loop {
        let heard = tokio::select! {
            heard = signals.next() => heard,
            idle = idle_for(&server.running, args.idle_exit) => {
                log::say(&format!("No request for {} seconds", idle.as_secs()));
                break;
            }
        };
        match heard {
            // A stop signal wins over a reload: its mints are dropped.
            Heard::Reload => tokio::select! {
                () = server.reload(&args) => {}
                _ = signals.stop() => break,
            },
            Heard::Stop(_) => break,
        }
    }
    log::say("Shutting down server...");
    let stopped = tokio::select! {
        () = server.running.stop() => Stopped::Cleanly,
        // Dropping the drain drops the server: the socket file goes too.
        signal = signals.stop() => Stopped::Forced { signal },
    };
    if let Stopped::Forced { .. } = stopped {
        log::say("Stopped without waiting for open connections");
    }
    log::flush(); // the access lines of the requests that just finished
    Ok(stopped)
}

/// Resolves once `running` has had no request for `limit` (never, without
/// one). Checks the wall clock at least every 20 s: a suspend counts.
async fn idle_for(running: &Running, limit: Option<std::time::Duration>) -> std::time::Duration {
    let Some(limit) = limit else {
        return std::future::pending().await;
    };
    loop {
        let left = limit.saturating_sub(running.idle());
        if left.is_zero() {
            return limit;
        }
        tokio::time::sleep(left.min(std::time::Duration::from_secs(20))).await;
    }
}

/// A server answering, and what a reload needs.
struct Server {
    running: Running,
    registry: Arc<Registry>,
    aws: Arc<Aws>,
    /// The local credentials issued (scopes served through the gateway).
    book: Arc<KeyBook>,
    /// The `--auth-token-file` token, which no scope's may equal.
    token: Option<Token>,
    /// Each scope served now, as it was declared.
    live: Live,
}

/// Each served scope by name: as declared, and its cache.
type Live = BTreeMap<String, (Scope, Arc<Served>)>;

/// What the server answers from `live`, `/` serving `default`, with the
/// scopes' own `tokens`.
fn table(live: &Live, default: Option<String>, mut tokens: BTreeMap<String, Token>) -> Table {
    tokens.retain(|name, _| live.contains_key(name));
    let by_name = live
        .iter()
        .map(|(name, (_, served))| (name.clone(), served.clone()))
        .collect();
    let guests = live
        .iter()
        .filter(|(_, (scope, _))| !scope.uids.is_empty())
        .map(|(name, (scope, _))| (name.clone(), scope.uids.clone()))
        .collect();
    Table {
        by_name,
        default,
        guests,
        tokens,
    }
}

/// The scopes first (a broken file fails before anything else), then the
/// listeners (a busy port fails before any AWS call), then AWS, then serving.
async fn start(args: &Options, passed: Option<Passed>) -> Result<Server, Error> {
    let token = (args.auth_token_file.as_deref())
        .map(|path| load_token(path, "--auth-token-file"))
        .transpose()?;
    let Declared { scopes, tokens } = args.declared(token.as_ref()).await?;
    let mut listeners = server::listen(&args.host, args.port, args.socket.clone(), passed).await?;
    if let Some(imds_port) = args.imds_port {
        listeners = listeners.with_imds(imds_port).await?;
    }
    if let Some(addr) = args.container_endpoint {
        listeners = listeners.with_container(addr).await?;
    }
    if let Some(addr) = args.gateway {
        listeners = listeners.with_gateway(addr).await?;
    }
    let mut bound = Bound {
        port: listeners.port(),
        imds_port: listeners.imds_port(),
        container: None,
        gateway: listeners.gateway_addr(),
    };
    let container = listeners.container_addr();
    let aws = Arc::new(sts::connect_for(&args.aws, scopes.any_needs_sts()).await?);
    let scope_list = scopes.by_name.values().cloned().collect();
    let book = KeyBook::new();
    let mut minted = mint::all_or_nothing(&aws, &book, scope_list, || {
        log::say("Generating initial credentials...");
    })
    .await?;
    let live: Live = (scopes.by_name.iter())
        .filter_map(|(name, scope)| Some((name.clone(), (scope.clone(), minted.remove(name)?))))
        .collect();
    let registry = Registry::new(table(&live, scopes.default.clone(), tokens));
    let options = server::Options {
        allowed_host: args.host.to_ascii_lowercase(),
        token: token.clone(),
        owners: server::Owners::with(&args.allow_uids),
        instance: server::ImdsInstance {
            region: aws.region().unwrap_or("us-east-1").to_owned(),
            account: aws.account().unwrap_or("000000000000").to_owned(),
        },
    };
    let running = server::serve(listeners, registry.clone(), options, book.clone());
    // Some token must open the container endpoint, or it refuses all.
    let opened = token.is_some() || !registry.current().tokens.is_empty();
    bound.container = container.map(|addr| (addr, opened));
    announce(args, &scopes, &bound, &running);
    Ok(Server {
        running,
        registry,
        aws,
        book,
        token,
        live,
    })
}

impl Server {
    /// SIGHUP: re-reads the file. New scopes are minted, removed ones
    /// dropped, changed ones re-minted; unchanged ones keep their cache. A
    /// file that does not load leaves everything as it was; a scope that
    /// does not mint keeps what it had (and is tried again next time).
    async fn reload(&mut self, args: &Options) {
        let Declared {
            scopes: wanted,
            tokens,
        } = match args.declared(self.token.as_ref()).await {
            Ok(declared) => declared,
            Err(e) => {
                tracing::error!("reload failed, still serving the old scopes: {e}");
                return;
            }
        };
        let mut next = Live::new();
        let mut changed = BTreeMap::new();
        for (name, scope) in wanted.by_name {
            match self.live.get(&name) {
                Some((was, served)) if *was == scope => {
                    next.insert(name, (scope, served.clone()));
                }
                _ => {
                    changed.insert(name, scope);
                }
            }
        }
        let (minted, failed) =
            mint::each(&self.aws, &self.book, changed.values().cloned().collect()).await;
        for (name, fresh) in minted {
            next.insert(name.clone(), (changed[&name].clone(), fresh));
        }
        for (name, e) in failed {
            tracing::error!("reload: {e}; it keeps what it had");
            crate::error::debug_chain("reload failed", &e);
            if let Some(old) = self.live.get(&name) {
                next.insert(name, old.clone());
            }
        }
        self.registry.replace(table(&next, wanted.default, tokens));
        tracing::info!(
            "reloaded {}: serving scopes {}",
            args.config.as_deref().unwrap_or(Path::new("")).display(),
            quoted(next.keys())
        );
        self.live = next;
    }
}
