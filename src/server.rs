//! The HTTP service and its listeners: one hyper service, answering on TCP
//! (guarded against browsers and strangers) and on the private Unix socket.

use crate::cache::{Cache, Held};
use crate::cli::LocalserverArgs;
use crate::policy::Scope;
use crate::socket::{self, BoundSocket, SocketFile};
use crate::sts::{self, Minter};
use crate::systemd;
use crate::{log, Error};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST, ORIGIN};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::fmt;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{watch, Semaphore};

/// Connections served at once; more are answered 503 and closed.
pub const MAX_CONNECTIONS: usize = 512;
/// Request head (line + headers) size limit; larger gets 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// A client must finish sending its headers within this (slowloris).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for in-flight requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

type Body = Full<Bytes>;

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP: guarded by Host, Origin and (optionally) the auth token.
    Tcp,
    /// The Unix socket: guarded by the peer uid check.
    Unix,
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "tcp",
            Transport::Unix => "unix",
        })
    }
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
pub async fn run(args: LocalserverArgs) -> Result<Stopped, Error> {
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

/// A started server: its listeners' tasks and what shutdown must undo.
struct Running {
    stop: watch::Sender<bool>,
    connections: Arc<Semaphore>,
    renewer: tokio::task::JoinHandle<()>,
    socket: Option<SocketFile>,
}

impl Running {
    /// Stops accepting, lets in-flight requests finish, removes the socket.
    async fn stop(self) {
        let _ = self.stop.send(true);
        let all = MAX_CONNECTIONS as u32;
        let _ = tokio::time::timeout(DRAIN_TIMEOUT, self.connections.acquire_many(all)).await;
        self.renewer.abort();
        drop(self.socket);
    }
}

/// DESIGN.md §3's startup: listeners first, then AWS, then serving.
async fn start(args: &LocalserverArgs) -> Result<Running, Error> {
    let scope = args.scope.scope();
    let token = args
        .auth_token_file
        .as_deref()
        .map(read_token)
        .transpose()?;
    let (tcp, socket) = listeners(args).await?;
    let port = bound_port(&tcp, args.port);
    let cache = first_credential(args, &scope).await?;
    let app = App {
        cache,
        allowed_host: args.host.to_ascii_lowercase(),
        token,
    };
    let running = serve(app, tcp, socket);
    announce(args, &scope, port, running.socket.as_ref());
    Ok(running)
}

/// The listeners systemd passed, or else TCP (and the socket) bound here.
async fn listeners(
    args: &LocalserverArgs,
) -> Result<(Vec<TcpListener>, Option<BoundSocket>), Error> {
    if let Some(inherited) = systemd::listeners()? {
        return adopt(inherited);
    }
    let tcp = bind_tcp(&args.host, args.port).await?;
    let socket = match args.no_socket {
        true => None,
        false => Some(socket::bind(
            args.socket.clone(),
            bound_port(&tcp, args.port),
        )?),
    };
    Ok((tcp, socket))
}

/// The port the listeners really have (`--port 0` or systemd chose it).
fn bound_port(tcp: &[TcpListener], asked: u16) -> u16 {
    tcp.first()
        .and_then(|l| l.local_addr().ok())
        .map_or(asked, |a| a.port())
}

/// Socket activation: serve what systemd bound.
fn adopt(inherited: systemd::Inherited) -> Result<(Vec<TcpListener>, Option<BoundSocket>), Error> {
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
    Ok((tcp, socket))
}

/// Steps 1 to 4: AWS config, bucket, role, the first AssumeRole.
async fn first_credential(args: &LocalserverArgs, scope: &Scope) -> Result<Arc<Cache>, Error> {
    let config = sts::load_config(&args.aws).await?;
    let minter =
        Minter::prepare(&config, scope, args.aws.role_arn.as_deref(), args.duration).await?;
    log::say("Generating initial credentials...");
    let cache = Cache::new(Box::new(minter), args.duration);
    cache.prime().await?;
    Ok(cache)
}

/// Starts answering on every listener, and keeping the credential fresh.
fn serve(app: App, tcp: Vec<TcpListener>, socket: Option<BoundSocket>) -> Running {
    let renewer = app.cache.spawn_renewer();
    let (stop, stopped) = watch::channel(false);
    let conns = Conns {
        app: Arc::new(app),
        stopped,
        limit: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        http: http1_builder(),
    };
    for listener in tcp {
        tokio::spawn(accept_tcp(listener, conns.clone()));
    }
    let socket = socket.map(|BoundSocket { listener, file }| {
        tokio::spawn(accept_unix(listener, conns.clone()));
        file
    });
    Running {
        stop,
        connections: conns.limit,
        renewer,
        socket,
    }
}

/// The original's lines, and ours for the socket.
fn announce(args: &LocalserverArgs, scope: &Scope, port: u16, socket: Option<&SocketFile>) {
    log::say(&format!(
        "Serving {} credentials for bucket '{}' at http://{}:{port}/",
        scope.access,
        scope.bucket,
        url_host(&args.host)
    ));
    log::say(&format!("Duration: {} seconds", args.duration));
    if let Some(socket) = socket {
        log::say(&format!("Unix socket: {}", socket.path.display()));
    }
    log::say("Press Ctrl+C to stop");
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

/// `[::1]` for an IPv6 literal, the host as given otherwise.
fn url_host(host: &str) -> String {
    match host.parse::<Ipv6Addr>() {
        Ok(_) => format!("[{host}]"),
        Err(_) => host.to_owned(),
    }
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
                    "port {port} is already in use on {ip}; is another localserver running? \
                     Pick another port with --port"
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

/// Reads the `--auth-token-file`: private to the user, one line.
fn read_token(path: &Path) -> Result<Vec<u8>, Error> {
    let fail = |why: String| Error::new(format!("--auth-token-file {}: {why}", path.display()));
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string()))?;
    if meta.mode() & 0o044 != 0 {
        return Err(fail(format!(
            "readable by group or others (mode {:04o}); run chmod 600 on it",
            meta.mode() & 0o7777
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| fail(e.to_string()))?;
    // SDKs refuse a token with a newline, and editors add one.
    let token = text.strip_suffix('\n').unwrap_or(&text);
    let token = token.strip_suffix('\r').unwrap_or(token);
    if token.is_empty() || !token.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(fail("must hold one line of printable ASCII".into()));
    }
    Ok(token.as_bytes().to_vec())
}

/// What every connection task shares.
#[derive(Clone)]
struct Conns {
    app: Arc<App>,
    stopped: watch::Receiver<bool>,
    limit: Arc<Semaphore>,
    http: http1::Builder,
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

async fn accept_tcp(listener: TcpListener, conns: Conns) {
    let mut stopped = conns.stopped.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    conns.serve(stream, Transport::Tcp);
                }
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
                Ok((stream, _)) if socket::peer_is_us(&stream) => conns.serve(stream, Transport::Unix),
                // Closed unanswered: not one byte for another user.
                Ok(_) => tracing::warn!("refused a Unix socket connection from another user"),
                Err(e) => accept_failed(e).await,
            },
            _ = until_stopped(&mut stopped) => return,
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
    fn serve<IO>(&self, io: IO, transport: Transport)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Ok(permit) = self.limit.clone().try_acquire_owned() else {
            tokio::spawn(refuse_busy(io));
            return;
        };
        let app = self.app.clone();
        let service = service_fn(move |req| {
            let app = app.clone();
            async move { Ok::<_, Infallible>(app.handle(transport, req).await) }
        });
        let connection = self.http.serve_connection(TokioIo::new(io), service);
        let mut stopped = self.stopped.clone();
        tokio::spawn(async move {
            let mut connection = pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => return drop(permit),
                _ = until_stopped(&mut stopped) => {}
            }
            // Finish the request in flight, then close.
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
            drop(permit);
        });
    }
}

async fn refuse_busy<IO: AsyncWrite + Unpin>(mut io: IO) {
    const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
        content-length: 33\r\nconnection: close\r\n\r\n{\"error\": \"Too many connections\"}";
    let _ = tokio::time::timeout(Duration::from_secs(1), io.write_all(BUSY)).await;
    let _ = io.shutdown().await;
}

/// The service: routes, guards and the access log.
struct App {
    cache: Arc<Cache>,
    allowed_host: String,
    token: Option<Vec<u8>>,
}

#[derive(Clone, Copy)]
enum Route {
    Process,
    Ecs,
    Health,
}

impl App {
    async fn handle(&self, transport: Transport, req: Request<Incoming>) -> Response<Body> {
        let started = Instant::now();
        let response = self.respond(transport, &req).await;
        tracing::info!(
            target: "access",
            "{transport} {} {} {} {}us",
            req.method(),
            loggable(req.uri().path()),
            response.status().as_u16(),
            started.elapsed().as_micros()
        );
        response
    }

    async fn respond<B>(&self, transport: Transport, req: &Request<B>) -> Response<Body> {
        let route = match req.uri().path() {
            "/" => Some(Route::Process),
            "/ecs" => Some(Route::Ecs),
            "/healthz" => Some(Route::Health),
            _ => None,
        };
        if transport == Transport::Tcp {
            if let Some(refusal) = self.guard(req, route) {
                return refusal;
            }
        }
        let Some(route) = route else {
            return json(
                StatusCode::NOT_FOUND,
                Bytes::from_static(br#"{"error": "Not found"}"#),
            );
        };
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        match route {
            Route::Process => self.credential(|held| held.process_json.clone()).await,
            Route::Ecs => self.credential(|held| held.ecs_json.clone()).await,
            Route::Health => self.health(),
        }
    }

    /// The TCP guards, in one place: DNS rebinding, browsers, the token.
    fn guard<B>(&self, req: &Request<B>, route: Option<Route>) -> Option<Response<Body>> {
        let headers = req.headers();
        if let Some(host) = headers.get(HOST) {
            if !host_allowed(host.as_bytes(), &self.allowed_host) {
                return Some(error(StatusCode::FORBIDDEN, "Host not allowed"));
            }
        }
        if headers.contains_key(ORIGIN) {
            return Some(error(
                StatusCode::FORBIDDEN,
                "Browser requests are not allowed",
            ));
        }
        let exempt = matches!(route, Some(Route::Health));
        if let (Some(token), false) = (&self.token, exempt) {
            let given = headers
                .get(AUTHORIZATION)
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            if !bool::from(given.ct_eq(token)) {
                return Some(error(
                    StatusCode::UNAUTHORIZED,
                    "Missing or wrong Authorization token",
                ));
            }
        }
        None
    }

    async fn credential(&self, body: impl Fn(&Held) -> Bytes) -> Response<Body> {
        match self.cache.get().await {
            Ok(held) => json(StatusCode::OK, body(&held)),
            Err(why) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("No valid credentials: {why}"),
            ),
        }
    }

    fn health(&self) -> Response<Body> {
        let (status, body) = match self.cache.expires_in() {
            Ok(left) => (
                StatusCode::OK,
                format!(r#"{{"status": "ok", "expires_in": {}}}"#, left.as_secs()),
            ),
            Err(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    r#"{{"status": "unavailable", "error": {}}}"#,
                    serde_json::Value::from(&*why)
                ),
            ),
        };
        json(status, Bytes::from(body))
    }
}

/// Whether a `Host` header names this server: an IP literal, `localhost`,
/// or the `--host` value, with any port. Anything else may be a DNS
/// rebinding attack from a web page.
pub fn host_allowed(host: &[u8], allowed: &str) -> bool {
    let Ok(host) = std::str::from_utf8(host) else {
        return false;
    };
    // `name` is None for a bracketed IPv6 literal; `port` keeps its colon.
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, port)) if v6.parse::<Ipv6Addr>().is_ok() => (None, port),
            _ => return false,
        },
        None => match host.find(':') {
            Some(colon) => (Some(&host[..colon]), &host[colon..]),
            None => (Some(host), ""),
        },
    };
    let port_ok = port.is_empty()
        || port.strip_prefix(':').is_some_and(|p| {
            !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())
        });
    port_ok
        && name.is_none_or(|name| {
            name.parse::<Ipv4Addr>().is_ok()
                || name.eq_ignore_ascii_case("localhost")
                || (!allowed.is_empty() && name.eq_ignore_ascii_case(allowed))
        })
}

fn json(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `{"error": "..."}`, the original's error shape.
fn error(status: StatusCode, message: &str) -> Response<Body> {
    let body = format!(r#"{{"error": {}}}"#, serde_json::Value::from(message));
    json(status, Bytes::from(body))
}

/// Paths are the client's bytes: cut long ones short in the log.
fn loggable(path: &str) -> &str {
    match path.char_indices().nth(200) {
        Some((i, _)) => &path[..i],
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_that_name_this_server_are_allowed() {
        for ok in [
            "localhost",
            "LOCALHOST:8094",
            "127.0.0.1",
            "127.0.0.1:8094",
            "[::1]",
            "[::1]:8094",
            "10.1.2.3:80",
            "myhost:8094",
        ] {
            assert!(host_allowed(ok.as_bytes(), "myhost"), "{ok}");
        }
    }

    #[test]
    fn other_hosts_are_refused() {
        for bad in [
            "evil.example",
            "evil.example:8094",
            "localhost.evil.example",
            "localhost:",
            "localhost:http",
            "127.0.0.1:8094:1",
            "[::1",
            "[evil]:80",
            "[::1]x",
            "",
            "\u{fffd}",
        ] {
            assert!(!host_allowed(bad.as_bytes(), "myhost"), "{bad}");
        }
        assert!(!host_allowed(&[0xff, 0xfe], "myhost"));
    }

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

    #[test]
    fn url_host_brackets_ipv6() {
        assert_eq!(url_host("::1"), "[::1]");
        assert_eq!(url_host("localhost"), "localhost");
    }
}
