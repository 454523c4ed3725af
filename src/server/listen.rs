//! Listeners and connections: binding (or adopting systemd's), accepting,
//! one connection budget per transport, and the timeouts that keep a
//! client from holding a connection forever (slowloris on the way in, a
//! client that never reads on the way out).

use super::app::App;
use super::Transport;
use crate::socket::{self, BoundSocket, SocketFile};
use crate::{log, peer, systemd, Error};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{watch, Semaphore};
use tokio::time::Sleep;

/// Request head (line + headers) size limit; larger gets 431.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A client must finish sending its headers within this (slowloris).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// A response that cannot be written for this long (a client that sends
/// and never reads) closes its connection.
const WRITE_STALL: Duration = Duration::from_secs(10);

/// Where the Unix socket goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketChoice {
    /// No socket (`--no-socket`).
    None,
    /// The default path for the port.
    Default,
    /// `--socket PATH`.
    At(PathBuf),
}

/// Bound listeners, not yet answering.
pub struct Listeners {
    tcp: Vec<TcpListener>,
    socket: Option<BoundSocket>,
    imds: Option<TcpListener>,
}

impl Listeners {
    /// The TCP port really bound (`--port 0`, or systemd's choice).
    pub fn port(&self) -> Option<u16> {
        self.tcp
            .first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
    }

    /// Adds IMDSv2 on 127.0.0.1:`port` (0: any free one); loopback only.
    pub async fn with_imds(mut self, port: u16) -> Result<Listeners, Error> {
        let addr = std::net::SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = TcpListener::bind(addr).await.map_err(|e| match e.kind() {
            ErrorKind::AddrInUse => Error::new(format!(
                "--imds-port {port} is already in use{}; pick another",
                held_by(addr)
            )),
            _ => Error::new(format!(
                "cannot listen on 127.0.0.1 port {port} for IMDS: {e}"
            )),
        })?;
        self.imds = Some(listener);
        Ok(self)
    }

    /// The IMDS port really bound, if any.
    pub fn imds_port(&self) -> Option<u16> {
        let addr = self.imds.as_ref()?.local_addr().ok()?;
        Some(addr.port())
    }
}

/// The listeners systemd passed, or else TCP (and the socket) bound here.
pub async fn listen(host: &str, port: u16, socket: SocketChoice) -> Result<Listeners, Error> {
    if let Some(inherited) = systemd::listeners()? {
        return adopt(inherited);
    }
    let tcp = bind_tcp(host, port).await?;
    let mut listeners = Listeners {
        tcp,
        socket: None,
        imds: None,
    };
    let port = listeners.port().unwrap_or(port);
    listeners.socket = match socket {
        SocketChoice::None => None,
        SocketChoice::Default => Some(socket::bind(None, port)?),
        SocketChoice::At(path) => Some(socket::bind(Some(path), port)?),
    };
    Ok(listeners)
}

/// Socket activation: serve what systemd bound.
fn adopt(inherited: systemd::Inherited) -> Result<Listeners, Error> {
    let mut tcp = Vec::new();
    for listener in inherited.tcp {
        if let Ok(addr) = listener.local_addr() {
            warn_if_exposed(addr.ip());
        }
        let listener = TcpListener::from_std(listener)
            .map_err(|e| Error::new(format!("socket activation: {e}")))?;
        tcp.push(listener);
    }
    let socket = inherited.unix.map(socket::adopt).transpose()?;
    Ok(Listeners {
        tcp,
        socket,
        imds: None,
    })
}

/// Binds every address `host` names on `port`; `localhost` is 127.0.0.1
/// and, where the machine has IPv6, ::1. A busy port fails fast.
async fn bind_tcp(host: &str, port: u16) -> Result<Vec<TcpListener>, Error> {
    let localhost = host.eq_ignore_ascii_case("localhost");
    let addrs: Vec<IpAddr> = if localhost {
        vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()]
    } else if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse() {
        vec![ip]
    } else {
        let found = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| Error::new(format!("cannot resolve --host {host}: {e}")))?;
        let mut ips: Vec<IpAddr> = found.map(|a| a.ip()).collect();
        ips.dedup();
        ips
    };
    let mut listeners = Vec::new();
    let mut port = port;
    for ip in addrs {
        match TcpListener::bind((ip, port)).await {
            Ok(listener) => {
                port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
                warn_if_exposed(ip);
                listeners.push(listener);
            }
            Err(e) if e.kind() == ErrorKind::AddrInUse => {
                return Err(Error::new(format!(
                    "port {port} is already in use on {ip}{}; is another localserver running? \
                     Pick another port with --port",
                    held_by((ip, port).into())
                )))
            }
            // No IPv6 on this machine: 127.0.0.1 alone is still localhost.
            Err(_) if localhost && ip.is_ipv6() => {}
            Err(e) => {
                return Err(Error::new(format!(
                    "cannot listen on {ip} port {port}: {e}"
                )))
            }
        }
    }
    if listeners.is_empty() {
        return Err(Error::new(format!(
            "--host {host} names no address to listen on"
        )));
    }
    Ok(listeners)
}

/// ` (held by uid N)` when another user's socket holds the port, where the
/// system can tell.
fn held_by(addr: std::net::SocketAddr) -> String {
    peer::other_listener_uid(addr, nix::unistd::geteuid().as_raw())
        .map(|uid| format!(" (held by uid {uid})"))
        .unwrap_or_default()
}

fn warn_if_exposed(ip: IpAddr) {
    if let Some(warning) = exposure_warning(ip) {
        log::say(&warning);
    }
}

/// The warning for a listener other machines can reach.
fn exposure_warning(ip: IpAddr) -> Option<String> {
    (!ip.is_loopback()).then(|| {
        format!(
            "Warning: listening on {ip}, not loopback: other machines can fetch these \
             credentials. Use --auth-token-file FILE, or --host localhost."
        )
    })
}

/// Spawns the accept loops; the socket file (whose removal is shutdown's
/// job) is handed back.
pub(super) fn accept_all(
    listeners: Listeners,
    app: &Arc<App>,
    stopped: &watch::Receiver<bool>,
    [tcp_budget, unix_budget, imds_budget]: [Arc<Semaphore>; 3],
) -> Option<SocketFile> {
    // On Linux every loopback connection is traced, and one whose user the
    // kernel cannot name is refused: failing closed, whatever another user
    // does to the machine. Elsewhere TCP callers are left to the token.
    // `S3C_UID_CHECK=off` is for scripts/bench to measure the check's cost.
    let traced =
        cfg!(target_os = "linux") && std::env::var("S3C_UID_CHECK").map_or(true, |v| v != "off");
    let tcp = !listeners.tcp.is_empty() || listeners.imds.is_some();
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
    let conns = |budget| Conns {
        app: app.clone(),
        stopped: stopped.clone(),
        budget,
        http: http1_builder(),
        traced,
    };
    for listener in listeners.tcp {
        tokio::spawn(accept_tcp(
            listener,
            conns(tcp_budget.clone()),
            Transport::Tcp,
        ));
    }
    if let Some(listener) = listeners.imds {
        tokio::spawn(accept_tcp(listener, conns(imds_budget), Transport::Imds));
    }
    listeners.socket.map(|BoundSocket { listener, file }| {
        tokio::spawn(accept_unix(listener, conns(unix_budget)));
        file
    })
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
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => match conns.tcp_peer(&stream, bound, remote) {
                    Ok(peer) => {
                        let _ = stream.set_nodelay(true);
                        conns.serve(stream, transport, peer);
                    }
                    // Dropped unanswered: not one byte for another user.
                    Err(uid) => refuse_user(transport, uid),
                },
                Err(e) => accept_failed(e).await,
            },
            _ = until_stopped(&mut stopped) => return,
        }
    }
}

async fn accept_unix(listener: UnixListener, conns: Conns) {
    let mut stopped = conns.stopped.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match peer::unix_peer(&stream) {
                    Ok(who) if conns.app.admits(who.uid) => {
                        conns.serve(stream, Transport::Unix, Some(Arc::new(who)));
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
    crate::metrics::refused(transport.label(), "uid");
    super::callers::log_refused(transport, uid);
}

impl Conns {
    /// Who is at the other end of a TCP connection: `Ok(None)` where the
    /// kernel cannot tell (not loopback, or not this system); `Err` for a
    /// user who is not served (with the uid, when known).
    fn tcp_peer(
        &self,
        stream: &tokio::net::TcpStream,
        bound: Option<std::net::SocketAddr>,
        remote: std::net::SocketAddr,
    ) -> Result<Option<Arc<peer::Peer>>, Option<u32>> {
        let local = match bound.map_or_else(|| stream.local_addr(), Ok) {
            Ok(local) if self.traced && local.ip().is_loopback() => local,
            _ => return Ok(None),
        };
        match peer::tcp_peer_uid(local, remote) {
            Some(uid) if self.app.admits(uid) => Ok(Some(Arc::new(peer::tcp_peer(uid)))),
            uid => Err(uid),
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
    fn serve<IO>(&self, io: IO, transport: Transport, peer: Option<Arc<peer::Peer>>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Ok(permit) = self.budget.clone().try_acquire_owned() else {
            crate::metrics::refused(transport.label(), "busy");
            tokio::spawn(refuse_busy(io));
            return;
        };
        let app = self.app.clone();
        let service = service_fn(move |req| {
            let (app, peer) = (app.clone(), peer.clone());
            async move { Ok::<_, Infallible>(app.handle(transport, peer.as_deref(), req).await) }
        });
        let io = TokioIo::new(StallGuard::new(io));
        let connection = self.http.serve_connection(io, service);
        let mut stopped = self.stopped.clone();
        tokio::spawn(async move {
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
                log_refused(transport, &e);
            }
            drop(permit);
        });
    }
}

/// An access line for a request hyper refused before it reached the app
/// (malformed, too large, an HTTP/2 preface): it answered 400 or 431, or
/// closed.
fn log_refused(transport: Transport, e: &hyper::Error) {
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

/// A stream whose writes fail with `TimedOut` once they have made no
/// progress for `WRITE_STALL`: hyper has no write timeout, and a client
/// that never reads would otherwise hold its connection for ever.
struct StallGuard<IO> {
    io: IO,
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<IO> StallGuard<IO> {
    fn new(io: IO) -> StallGuard<IO> {
        StallGuard { io, stalled: None }
    }

    /// Passes a write's outcome on, timing how long it has been pending.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<std::io::Result<T>>,
    ) -> Poll<std::io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let stall = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_STALL)));
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                ErrorKind::TimedOut,
                "the client has not read its response for 10 s",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for StallGuard<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for StallGuard<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let poll = Pin::new(&mut self.io).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_loopback_listeners_warn() {
        assert!(exposure_warning("127.0.0.1".parse().unwrap()).is_none());
        assert!(exposure_warning("::1".parse().unwrap()).is_none());
        for ip in ["0.0.0.0", "::", "192.168.1.5"] {
            let warning = exposure_warning(ip.parse().unwrap()).unwrap();
            assert!(warning.contains("other machines can fetch"), "{warning}");
            assert!(warning.contains("--auth-token-file"), "{warning}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_stalls_for_10_s_fails() {
        // A pipe whose reader never reads: 64 bytes of room.
        let (writer, _reader) = tokio::io::duplex(64);
        let mut guarded = StallGuard::new(writer);
        let started = tokio::time::Instant::now();
        let err = guarded.write_all(&[0; 1024]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), WRITE_STALL);
    }
}
