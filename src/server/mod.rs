//! Serving: listeners in, HTTP answers out. It knows the served scopes'
//! caches and the request guards, and nothing of AWS: `serve` takes bound
//! listeners and a registry, in the shape of mini-redis's `server::run`.

mod accept;
mod app;
mod auth;
mod callers;
mod guards;
mod imds;
mod listen;
mod owner;
mod respond;
mod route;
mod slots;
mod stall;
mod status;

pub(crate) use callers::Owners;
pub use guards::host_allowed;
pub(crate) use imds::{Instance as ImdsInstance, ROLE as IMDS_ROLE};
pub use listen::SocketChoice;
pub(crate) use listen::{listen, Listeners};
pub use slots::{PER_ADDRESS, PER_GUEST, UNNAMED_CONTAINER_CONNECTIONS};

use crate::registry::{Registry, Table};
use crate::socket::SocketFile;
use crate::token::Token;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Semaphore};

/// TCP connections served at once; more are answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 512;
/// Unix socket connections served at once: a budget of their own, so TCP
/// clients cannot use up the socket's.
pub(crate) const MAX_SOCKET_CONNECTIONS: usize = 128;
/// IMDS connections served at once: a budget of its own too (IMDS clients
/// open a connection or two per refresh).
pub(crate) const MAX_IMDS_CONNECTIONS: usize = 64;
/// Container endpoint connections served at once: its own budget, so
/// containers cannot use up the host's TCP one (nor it theirs).
pub(crate) const MAX_CONTAINER_CONNECTIONS: usize = 128;
/// Gateway connections served at once: S3 clients open many (the AWS
/// CLI ten, rclone and restic more), each for a while.
pub(crate) const MAX_GATEWAY_CONNECTIONS: usize = 256;
/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How requests are judged beyond the routes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    /// The `--host` value (lower case), allowed in `Host` besides IP
    /// literals and `localhost`.
    pub allowed_host: String,
    /// The token every TCP request must carry, if any.
    pub token: Option<Token>,
    /// Who is served every scope (a scope's `uids` are in the registry).
    pub owners: Owners,
    /// The region and account IMDS tells of.
    pub instance: ImdsInstance,
}

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    /// TCP: guarded by Host, Origin, the hygiene rules and the token.
    Tcp,
    /// The Unix socket: guarded by the peer uid check.
    Unix,
    /// The IMDSv2 port: the TCP guards, then IMDS's own token.
    Imds,
    /// The container endpoint (`--container-endpoint`): the TCP guards,
    /// and always a token.
    Container,
    /// The S3 gateway (`--gateway`): the uid check, then SigV4 with a
    /// local credential; none of the HTTP guards (S3 clients send any
    /// Host, and sign every request).
    Gateway,
}

impl Transport {
    /// Its name in logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Unix => "unix",
            Transport::Imds => "imds",
            Transport::Container => "container",
            Transport::Gateway => "gateway",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A server answering on its listeners: what shutdown must undo.
pub(crate) struct Running {
    stop: watch::Sender<bool>,
    /// When the last request came (Unix seconds, wall clock).
    last_request: Arc<AtomicU64>,
    budgets: [(Arc<Semaphore>, usize); 5],
    registry: Arc<Registry>,
    socket: Option<SocketFile>,
}

/// Starts answering on every listener with the registry's scopes.
pub(crate) fn serve(
    listeners: Listeners,
    registry: Arc<Registry>,
    options: Options,
    book: Arc<crate::local::KeyBook>,
) -> Running {
    let last_request = Arc::new(AtomicU64::new(unix_now()));
    let addrs = [listeners.gateway_addr(), listeners.gateway_container_addr()];
    let gateway = crate::gateway::Gateway::new(book, registry.clone(), addrs);
    let gateway = Arc::new(gateway);
    let container = listeners.container_addr();
    let app = Arc::new(app::App::new(
        registry.clone(),
        options,
        last_request.clone(),
        container,
        gateway,
    ));
    let (stop, stopped) = watch::channel(false);
    let budgets = [
        MAX_CONNECTIONS,
        MAX_SOCKET_CONNECTIONS,
        MAX_IMDS_CONNECTIONS,
        MAX_CONTAINER_CONNECTIONS,
        MAX_GATEWAY_CONNECTIONS,
    ]
    .map(|all| (Arc::new(Semaphore::new(all)), all));
    let socket = accept::accept_all(listeners, &app, &stopped, budgets.clone().map(|(b, _)| b));
    Running {
        stop,
        last_request,
        budgets,
        registry,
        socket,
    }
}

/// Seconds since the Unix epoch, by the wall clock.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Running {
    /// How long no request has come (by the wall clock, so a suspend counts).
    pub fn idle(&self) -> Duration {
        let last = self.last_request.load(Ordering::Relaxed);
        Duration::from_secs(unix_now().saturating_sub(last))
    }

    /// The Unix socket's path, when there is one.
    pub(crate) fn socket_path(&self) -> Option<&Path> {
        self.socket.as_ref().map(|s| s.path.as_path())
    }

    /// Stops accepting, lets in-flight requests finish (for at most
    /// `DRAIN_TIMEOUT`), removes the socket file.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let drained = async {
            for (budget, all) in &self.budgets {
                let _ = budget.acquire_many(*all as u32).await;
            }
        };
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, drained).await;
        self.registry.replace(Table::default()); // renewers stop
        drop(self.socket);
    }
}
