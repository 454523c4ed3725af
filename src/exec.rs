//! `exec`: one scope's credential, served on an ephemeral loopback port
//! with a fresh token, and one command run with the SDK variables that
//! point at it, so its SDK refreshes for as long as it runs.
//!
//! The credential comes from AWS (minted here, as localserver mints), or
//! with `--server` from a running localserver, asked again before each
//! one expires: exec then holds no AWS keys at all.
//!
//! The child must get the scoped credential and nothing else: every
//! variable and file an SDK would try before the container endpoint is
//! removed or emptied (docs/GUIDE.md's exec section); region and endpoint settings stay.

mod child;
mod upstream;

use crate::cache::Cache;
use crate::duration::{SessionDuration, MIN_SECS};
use crate::mint;
use crate::registry::{Registry, Served, Table};
use crate::scope::{CommandLine, Scope, Scopes, DEFAULT_SCOPE};
use crate::server::{self, SocketChoice};
use crate::sts::{self, AwsOptions};
use crate::{fetch, log, token, Error};
use child::{Forwarded, Inherited, TokenFile};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

/// What `exec` is asked to do, in plain types.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the credential comes from.
    pub source: Source,
    /// The program and its arguments (at least the program).
    pub command: Vec<OsString>,
}

/// Where exec's credential comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Minted here from AWS.
    Aws(FromAws),
    /// Asked of a running localserver (`--server`), as fetch asks it.
    Server {
        /// The socket, scope and narrowing to ask for.
        fetch: fetch::Options,
        /// `--region`, for the child.
        region: Option<String>,
        /// `--endpoint-url`, for the child.
        endpoint_url: Option<String>,
    },
}

/// A scope to mint from AWS.
#[derive(Debug, Clone)]
pub struct FromAws {
    /// The buckets and flags of the command line.
    pub command_line: CommandLine,
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--scope NAME`: which of the file's scopes (else the default one).
    pub scope: Option<String>,
    /// What to narrow that scope to (nothing, when empty).
    pub narrowing: crate::narrow::Narrowing,
    /// How to reach AWS.
    pub aws: AwsOptions,
}

/// Runs `exec`; the exit status is the child's (128+N if a signal ended
/// it), 127 if the program is not found, 126 if it cannot be run.
pub async fn run(options: Options) -> Result<std::process::ExitCode, Error> {
    run_child(options).await.map(std::process::ExitCode::from)
}

/// Mints (or asks the server), serves the child's endpoint, runs the
/// child to its end; its status.
async fn run_child(options: Options) -> Result<u8, Error> {
    log::init(true, log::Format::Text);
    child::hide_from_child();
    let (name, by_name, inherited) = match &options.source {
        Source::Aws(from) => from_aws(from).await?,
        Source::Server {
            fetch,
            region,
            endpoint_url,
        } => {
            let served = from_server(fetch).await?;
            let inherited = Inherited {
                region: region.clone(),
                endpoint_url: endpoint_url.clone(),
                gateway: gateway_of(fetch, &served).await?,
            };
            let name = fetch.scope.clone().unwrap_or(DEFAULT_SCOPE.into());
            (name.clone(), BTreeMap::from([(name, served)]), inherited)
        }
    };
    let listeners = server::listen("127.0.0.1", 0, SocketChoice::None, None).await?;
    let port = listeners.port().unwrap_or_default();
    let (token, token_text) = token::random()?;
    let registry = Registry::new(Table {
        by_name,
        default: Some(name),
        ..Table::default()
    });
    let server_options = server::Options {
        allowed_host: "127.0.0.1".into(),
        token: Some(token),
        owners: server::Owners::default(),
        instance: Default::default(),
    };
    let running = server::serve(
        listeners,
        registry,
        server_options,
        crate::local::KeyBook::new(),
    );
    // Listening before the child exists: a signal sent the moment it starts
    // is passed on, not fatal to us.
    let mut signals = Forwarded::new()?;
    let token_file = TokenFile::write(&token_text)?;
    let command = &options.command;
    let spawned = child::command(command, &inherited, port, &token_text, &token_file).spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => return Ok(child::not_started(&command[0], &e)),
    };
    let status = signals.wait(&mut child).await?;
    running.stop().await;
    drop(token_file);
    Ok(child::exit_code(status))
}

/// The served scope (its name, and it by name) minted from AWS, and what
/// the child inherits of the AWS settings.
async fn from_aws(
    from: &FromAws,
) -> Result<(String, BTreeMap<String, Arc<Served>>, Inherited), Error> {
    let scope = pick(from)?;
    let aws = Arc::new(sts::connect(&from.aws).await?);
    let name = scope.name.clone();
    let by_name =
        mint::all_or_nothing(&aws, &crate::local::KeyBook::new(), vec![scope], || {}).await?;
    let inherited = Inherited {
        region: aws.region().map(str::to_owned),
        endpoint_url: aws.endpoint_url().map(str::to_owned),
        gateway: None,
    };
    Ok((name, by_name, inherited))
}

/// The running server's credential, asked for once now (so a missing
/// server fails before the child starts) and again before each expires.
/// Renewed `renew_margin` of the shortest session ahead (7.5 minutes, plus
/// the lead): less than the server's own margin, so by then the server
/// holds a newer one.
async fn from_server(fetch: &fetch::Options) -> Result<Arc<Served>, Error> {
    let upstream = upstream::Upstream(fetch.clone());
    let shortest = SessionDuration::from_secs(MIN_SECS.into())
        .map_err(|e| Error::new(format!("internal error: {e}")))?;
    let cache = Cache::new(Box::new(upstream), shortest);
    cache.prime().await?;
    Ok(Served::start(cache))
}

/// Where the server's gateway is, when the scope is served through it
/// (its credential is a local one): asked of the server on its socket
/// (`/about`, the server's own user's), since nothing else works with it.
async fn gateway_of(fetch: &fetch::Options, served: &Served) -> Result<Option<String>, Error> {
    let held = served.cache().get().await?;
    if !held.access_key_id.starts_with(crate::local::KEY_PREFIX) {
        return Ok(None);
    }
    let route = crate::body::about_path(fetch.scope.as_deref());
    #[derive(serde::Deserialize)]
    struct About {
        gateway: Option<String>,
    }
    let about: About = fetch::ask_socket(fetch, Some(route), |body| {
        serde_json::from_slice(body).map_err(|_| "its answer is not a scope's".to_owned())
    })
    .await?;
    about.gateway.map(Some).ok_or_else(|| {
        Error::new(
            "the scope is served through a gateway the server did not name: ask it over its \
             socket (exec --server without --port)",
        )
    })
}

/// The scope to serve: the command line's buckets, or the file's named (or
/// default) scope; narrowed as asked, under a narrowed session name.
fn pick(options: &FromAws) -> Result<Scope, Error> {
    let scopes = Scopes::declared(options.config.as_deref(), &options.command_line)?;
    let picked = match &options.scope {
        Some(name) => scopes.by_name.get(name),
        None => scopes.default_scope(),
    };
    let mut scope = picked.cloned().ok_or_else(|| match &options.scope {
        Some(name) => Error::new(format!("no scope is named '{name}' in the config file")),
        None => Error::new("the config file has no default scope: pass --scope NAME"),
    })?;
    if scope.serve.through_gateway() {
        return Err(Error::new(format!(
            "scope '{}' is served through the gateway, which exec does not run: start \
             s3-credentials localserver --gateway PORT and use exec --server",
            scope.name
        )));
    }
    if !options.narrowing.is_empty() {
        scope.grant = (options.narrowing.apply(&scope.grant))
            .map_err(|why| Error::new(format!("cannot narrow scope '{}': {why}", scope.name)))?;
        let policy = scope.grant.policy_compact();
        scope.session_name = crate::narrow::session_name(&scope.name, &policy);
    }
    Ok(scope)
}
