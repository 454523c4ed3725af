//! Accepting: who is at the other end (the peer's uid, refused at once
//! when it is another user's), one connection budget per transport, and
//! one hyper connection per stream, with the timeouts that keep a client
//! from holding it forever (slowloris on the way in, `StallGuard` on the
//! way out).

use super::app::App;
use super::listen::Listeners;
use super::slots::{PerGuest, Slot, Unnamed, PER_GUEST};
use super::stall::StallGuard;
use super::Transport;
use crate::socket::{BoundSocket, SocketFile};
use crate::{log, peer};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};

/// Request head (line + headers) size limit; larger gets 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A client must finish sending its headers within this (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Spawns the accept loops; the socket file (whose removal is shutdown's
/// job) is handed back.
pub(super) fn accept_all(
    listeners: Listeners,
    app: &Arc<App>,
    stopped: &watch::Receiver<bool>,
    [tcp_budget, unix_budget, imds_budget, container_budget, gateway_budget]: [Arc<Semaphore>; 5],
) -> Option<SocketFile> {
    // On Linux every loopback connection is traced, and one whose user the
    // kernel cannot name is refused: failing closed, whatever another user
    // does to the machine. Nothing turns this off: `scripts/bench` measures
    // the lookup's cost with `examples/uid_lookup.rs` instead. Elsewhere
    // TCP callers are left to the token.
    let traced = cfg!(target_os = "linux");
    let tcp = !listeners.tcp.is_empty() || listeners.imds.is_some() || listeners.gateway.is_some();
    say_how_tcp_is_traced(tcp, traced);
    let conns = |budget| Conns {
        app: app.clone(),
        stopped: stopped.clone(),
        budget,
        http: http1_builder(),
        traced,
        unnamed: None,
        per_guest: PerGuest::new(PER_GUEST),
    };
    for listener in listeners.tcp {
        tokio::spawn(accept_tcp(
            listener,
            conns(tcp_budget.clone()),
            Transport::Tcp,
        ));
    }
    if let Some(listener) = listeners.gateway {
        let conns = conns(gateway_budget.clone());
        tokio::spawn(accept_tcp(listener, conns, Transport::Gateway));
    }
    // Containers, as on the container endpoint, then a local credential's
    // SigV4 signature.
    if let Some(listener) = listeners.gateway_container {
        let conns = conns(gateway_budget).for_containers();
        tokio::spawn(accept_tcp(listener, conns, Transport::Gateway));
    }
    if let Some(listener) = listeners.imds {
        tokio::spawn(accept_tcp(listener, conns(imds_budget), Transport::Imds));
    }
    if let Some(listener) = listeners.container {
        let conns = conns(container_budget).for_containers();
        tokio::spawn(accept_tcp(listener, conns, Transport::Container));
    }
    listeners.socket.map(|BoundSocket { listener, file }| {
        tokio::spawn(accept_unix(listener, conns(unix_budget)));
        file
    })
}

/// Says so where TCP callers' uids are not checked, or cannot be.
fn say_how_tcp_is_traced(tcp: bool, traced: bool) {
    if tcp && !traced {
        log::say(
            "Note: TCP connections are not checked by uid here (Linux only); \
             any local user may connect: use --auth-token-file",
        );
    } else if tcp && !peer::tcp_uids_known() {
        log::say(
            "Warning: the kernel did not name the user of a test connection; TCP \
             connections whose user it cannot name are refused",
        );
    }
}

/// What every connection task of one transport shares.
#[derive(Clone)]
struct Conns {
    app: Arc<App>,
    stopped: watch::Receiver<bool>,
    budget: Arc<Semaphore>,
    http: http1::Builder,
    /// Whether the kernel names loopback TCP clients' uids here.
    traced: bool,
    /// The container endpoint's places for peers the kernel cannot name
    /// (`None` elsewhere: such peers are not admitted by share there).
    unnamed: Option<Arc<Unnamed>>,
    /// Each guest uid's share of the budget.
    per_guest: Arc<PerGuest>,
}

impl Conns {
    /// For a listener on the container endpoint's address: its peers in
    /// other network namespaces (containers) have no uid here, and share
    /// its budget by source address; its peers on this host are judged by
    /// uid, as TCP's are.
    fn for_containers(self) -> Conns {
        Conns {
            unnamed: Some(Unnamed::new()),
            ..self
        }
    }
}

fn http1_builder() -> http1::Builder {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .max_headers(64)
        // A client that half-closes after its request still gets the answer.
        .half_close(true);
    http
}

async fn accept_tcp(listener: TcpListener, conns: Conns, transport: Transport) {
    let mut stopped = conns.stopped.clone();
    // A listener on one address is every connection's local address; a
    // wildcard one's must be asked of each connection.
    let bound = listener
        .local_addr()
        .ok()
        .filter(|a| !a.ip().is_unspecified());
    let conns = Arc::new(conns);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                // Each connection's own task asks who it is: the accept
                // loop only accepts, on whichever core is free.
                Ok((stream, remote)) => {
                    let conns = conns.clone();
                    tokio::spawn(async move { conns.admit_tcp(stream, bound, remote, transport).await });
                }
                Err(e) => accept_failed(e).await,
            },
            _ = until_stopped(&mut stopped) => return,
        }
    }
}

async fn accept_unix(listener: UnixListener, conns: Conns) {
    let mut stopped = conns.stopped.clone();
    let conns = Arc::new(conns);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match peer::unix_peer(&stream) {
                    Ok(who) if conns.app.admits(who.uid) => {
                        let Ok(slot) = conns.guest_slot(who.uid) else {
                            crate::metrics::connection_refused("unix", "busy");
                            continue;
                        };
                        let conns = conns.clone();
                        let who = Some(Arc::new(who));
                        tokio::spawn(async move {
                            conns.serve(stream, Transport::Unix, who).await;
                            drop(slot);
                        });
                    }
                    Ok(who) => refuse_user(Transport::Unix, Some(who.uid)),
                    Err(_) => refuse_user(Transport::Unix, None),
                },
                Err(e) => accept_failed(e).await,
            },
            _ = until_stopped(&mut stopped) => return,
        }
    }
}

/// Counts and (now and then) logs a connection closed for its user.
fn refuse_user(transport: Transport, uid: Option<u32>) {
    crate::metrics::connection_refused(transport.label(), "uid");
    super::callers::log_refused_user(transport, uid);
}

impl Conns {
    /// Step 1 of the request path for a TCP connection: who it is, and
    /// whether its share of the budget has room; then serves it. A user
    /// who is not served is dropped without a byte.
    async fn admit_tcp(
        &self,
        stream: tokio::net::TcpStream,
        bound: Option<std::net::SocketAddr>,
        remote: std::net::SocketAddr,
        transport: Transport,
    ) {
        let peer = match self.tcp_peer(&stream, bound, remote) {
            Ok(peer) => peer,
            Err(uid) => return refuse_user(transport, uid),
        };
        let slot = match (&peer, &self.unnamed) {
            (Some(peer), _) => self.guest_slot(peer.uid).map(|slot| (slot, None)),
            (None, Some(unnamed)) => unnamed.take(remote.ip()).map(|s| (None, Some(s))).ok_or(()),
            (None, None) => Ok((None, None)),
        };
        let Ok(_slot) = slot else {
            crate::metrics::connection_refused(transport.label(), "busy");
            return refuse_busy(stream).await;
        };
        let _ = stream.set_nodelay(true);
        self.serve(stream, transport, peer).await;
    }

    /// Who is at the other end of a TCP connection: `Ok(None)` where the
    /// kernel cannot tell (not loopback, another network namespace on the
    /// container endpoint, or not this system); `Err` for a user who is
    /// not served (with the uid, when known).
    fn tcp_peer(
        &self,
        stream: &tokio::net::TcpStream,
        bound: Option<std::net::SocketAddr>,
        remote: std::net::SocketAddr,
    ) -> Result<Option<Arc<peer::Peer>>, Option<u32>> {
        let container = self.unnamed.is_some();
        let local = match bound.map_or_else(|| stream.local_addr(), Ok) {
            Ok(local) if self.traced && (local.ip().is_loopback() || container) => local,
            _ => return Ok(None),
        };
        match peer::tcp_peer_of(local, remote) {
            Some((uid, inode)) if self.app.admits(uid) => {
                Ok(Some(Arc::new(peer::tcp_peer(uid, inode))))
            }
            // Not in this network namespace: a container, left to the
            // token and its address's share.
            None if container => Ok(None),
            found => Err(found.map(|(uid, _)| uid)),
        }
    }

    /// A guest uid's place in its share (`Ok(None)`: an owner, whose
    /// connections only the transport's budget bounds); `Err` when the
    /// guest holds its whole share.
    fn guest_slot(&self, uid: u32) -> Result<Option<Slot<u32>>, ()> {
        match self.app.owns(uid) {
            true => Ok(None),
            false => self.per_guest.take(uid).map(Some).ok_or(()),
        }
    }
}

/// Resolves once shutdown has begun.
async fn until_stopped(stopped: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not Send; drop it here.
    let _ = stopped.wait_for(|s| *s).await.is_ok();
}

/// Accept errors (out of file descriptors, a reset) never end the server;
/// a short pause keeps a persistent one from spinning.
async fn accept_failed(e: std::io::Error) {
    tracing::warn!("accept failed: {e}");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

impl Conns {
    /// Serves one connection to its end, within the transport's budget
    /// (over it: a 503, and closed).
    async fn serve<IO>(&self, io: IO, transport: Transport, peer: Option<Arc<peer::Peer>>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Ok(permit) = self.budget.clone().try_acquire_owned() else {
            crate::metrics::connection_refused(transport.label(), "busy");
            refuse_busy(io).await;
            return;
        };
        if transport == Transport::Gateway {
            self.serve_gateway(io, peer).await;
            drop(permit);
            return;
        }
        // Borrowed for the connection's life, not cloned per request: an
        // `Arc` every core counts up and down on every request would bounce
        // its line between them.
        let (app, peer) = (&*self.app, peer.as_deref());
        let service = service_fn(move |req| async move {
            Ok::<_, Infallible>(app.handle(transport, peer, req).await)
        });
        let io = TokioIo::new(StallGuard::new(io));
        let connection = self.http.serve_connection(io, service);
        self.to_its_end(connection, transport).await;
        drop(permit);
    }

    /// Drives `connection` until it ends, or, once shutdown has begun,
    /// until the request in flight is answered.
    async fn to_its_end<I, S, B>(&self, connection: http1::Connection<I, S>, transport: Transport)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin,
        S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: hyper::body::Body + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let mut stopped = self.stopped.clone();
        let mut connection = pin!(connection);
        let ended = tokio::select! {
            ended = connection.as_mut() => ended,
            _ = until_stopped(&mut stopped) => {
                // Finish the request in flight, then close.
                connection.as_mut().graceful_shutdown();
                connection.await
            }
        };
        if let Err(e) = ended {
            log_malformed(transport, &e);
        }
    }
}

impl Conns {
    /// Serves one gateway connection to its end: S3 requests, down the
    /// gateway's own path. Its bodies may be long, so only the head is
    /// timed (a stalled body is the client's to time out).
    async fn serve_gateway<IO>(&self, io: IO, peer: Option<Arc<peer::Peer>>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let app = &*self.app;
        let service = service_fn(move |req| {
            let peer = peer.clone();
            async move { Ok::<_, Infallible>(app.gateway(peer, req).await) }
        });
        let connection = self.http.serve_connection(TokioIo::new(io), service);
        self.to_its_end(connection, Transport::Gateway).await;
    }
}

/// An access line for a request hyper refused before it reached the app
/// (malformed, too large, an HTTP/2 preface): it answered 400 or 431, or
/// closed.
fn log_malformed(transport: Transport, e: &hyper::Error) {
    if e.is_parse() || e.is_parse_too_large() {
        let status = if e.is_parse_too_large() { 431 } else { 400 };
        tracing::info!(target: "access", "{transport} - - {status} malformed request: {e}");
    }
}

async fn refuse_busy<IO: AsyncWrite + Unpin>(mut io: IO) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
        content-length: 33\r\nconnection: close\r\n\r\n{\"error\": \"Too many connections\"}";
    let _ = tokio::time::timeout(Duration::from_secs(1), io.write_all(BUSY)).await;
    let _ = io.shutdown().await;
}
