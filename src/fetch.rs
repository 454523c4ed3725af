//! The `credential_process` client: one request to a running localserver,
//! the body to stdout, or one line to stderr and a failing exit.
//!
//! It runs on every SDK refresh, so it does nothing but that request: a
//! current-thread runtime, no config files, no retries. It speaks HTTP/1
//! over a stream it opened itself (hyper's connection API), so it knows
//! exactly which socket answered.

use crate::{body, peer, socket, Error};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

mod target;

use target::socket_targets;
pub(crate) use target::{targets, Target};

/// How an answer from no target begins (see [`nobody_there`]).
const NOBODY_THERE: &str = "no localserver is running on";
/// No credential body is anywhere near this; a larger answer is not ours.
const MAX_BODY: usize = 64 * 1024;

/// What `s3-credentials-fetch` is asked to do, in plain types.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's port: picks its default socket, then TCP.
    pub port: u16,
    /// A Unix socket to ask instead.
    pub socket: Option<PathBuf>,
    /// A URL to ask instead.
    pub url: Option<String>,
    /// The uid the server must run as (default: ours).
    pub server_uid: Option<u32>,
    /// How long to wait for the answer.
    pub timeout: Duration,
    /// A named scope to ask for, instead of the default one.
    pub scope: Option<String>,
    /// A narrowing to ask for (`bucket=B&prefix=P&access=read-only`), or
    /// empty.
    pub query: String,
    /// How to print the credential.
    pub format: body::Export,
}

impl Options {
    /// Asking a server's Unix socket (`socket`, else the default one for
    /// `port`) for `scope` (narrowed by `query`), as `exec --server`,
    /// `container-env` and `verify` do: 5 s, the server running as us.
    pub fn over_socket(
        port: u16,
        socket: Option<PathBuf>,
        scope: Option<String>,
        query: String,
    ) -> Options {
        Options {
            port,
            socket,
            url: None,
            server_uid: None,
            timeout: Duration::from_secs(5),
            scope,
            query,
            format: body::Export::Process,
        }
    }
}

/// Runs `s3-credentials-fetch`: success only when the body went to
/// stdout whole; on an error nothing is on stdout.
pub fn run(cli: Options) -> Result<ExitCode, Error> {
    fetch_and_print(cli).map(|()| ExitCode::SUCCESS)
}

fn fetch_and_print(cli: Options) -> Result<(), Error> {
    let targets = targets(&cli)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start: {e}")))?;
    let server_uid = cli
        .server_uid
        .unwrap_or_else(|| nix::unistd::geteuid().as_raw());
    let body = runtime.block_on(fetch_first(&targets, server_uid, cli.timeout))?;
    let out = cli
        .format
        .render(&body)
        .map_err(|why| Error::new(format!("the server's answer cannot be printed: {why}")))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::new(format!("cannot write the credentials: {e}")))
}

/// Asks each target in turn, going on only past one nobody listens on: a
/// target that fails a check is an error, never a reason to try another.
/// `server_uid` is who the server must run as.
async fn fetch_first(
    targets: &[Target],
    server_uid: u32,
    timeout: Duration,
) -> Result<Bytes, Error> {
    ask_first(targets, server_uid, timeout, |body: &Bytes| {
        body::check_process_body(body)
            .map(|()| body.clone())
            .map_err(|why| format!("its answer is not credentials: {why}"))
    })
    .await
}

/// Asks the server's Unix socket alone (`--socket`, else the default one
/// for `--port`; never TCP, whose port may want a token) for `route`
/// (`None`: the credential the options name), as `exec --server`,
/// `container-env` and `verify` do: the answer as `parse` reads it.
pub(crate) async fn ask_socket<T>(
    options: &Options,
    route: Option<String>,
    parse: impl Fn(&Bytes) -> Result<T, String>,
) -> Result<T, Error> {
    let mut targets = socket_targets(options)?;
    if let Some(asked) = route {
        for target in &mut targets {
            if let Target::Socket { route, .. } = target {
                route.clone_from(&asked);
            }
        }
    }
    let uid = (options.server_uid).unwrap_or_else(|| nix::unistd::geteuid().as_raw());
    ask_first(&targets, uid, options.timeout, parse).await
}

/// Whether `e` says that nobody listens on any target (so another port or
/// socket may be worth asking), as [`ask_first`] words it.
pub(crate) fn nobody_there(e: &Error) -> bool {
    e.to_string().starts_with(NOBODY_THERE)
}

/// The first target's 200 body, as `parse` reads it (its error says why
/// not, and never quotes the body).
pub(crate) async fn ask_first<T>(
    targets: &[Target],
    server_uid: u32,
    timeout: Duration,
    parse: impl Fn(&Bytes) -> Result<T, String>,
) -> Result<T, Error> {
    for target in targets {
        let trusted = Trusted { target, server_uid };
        match tokio::time::timeout(timeout, trusted.fetch(&parse)).await {
            Err(_) => {
                return Err(Error::new(format!(
                    "localserver on {target} did not answer within {:.1}s",
                    timeout.as_secs_f64()
                )))
            }
            Ok(Err(Failure::NobodyThere)) => continue,
            Ok(Err(Failure::Refused(e))) => return Err(e),
            Ok(Ok(answer)) => return Ok(answer),
        }
    }
    let tried: Vec<String> = targets.iter().map(Target::to_string).collect();
    let port = targets.iter().find_map(Target::port);
    Err(Error::new(format!(
        "{NOBODY_THERE} {}; {}",
        tried.join(" or "),
        start_one(port)
    )))
}

/// How to start the server a client looked for on `port`: on that port,
/// when it is not the default.
pub(crate) fn start_one(port: Option<u16>) -> String {
    let port = (port.filter(|port| *port != crate::socket::DEFAULT_PORT))
        .map_or(String::new(), |port| format!(" --port {port}"));
    format!("start one with: s3-credentials localserver BUCKET --duration 1h{port}")
}

/// Why one target gave no credentials.
enum Failure {
    /// Nothing listens there: the next target may be tried.
    NobodyThere,
    /// Something answered, or failed in a way that must be reported.
    Refused(Error),
}

/// One target, and who must be serving it.
struct Trusted<'a> {
    target: &'a Target,
    server_uid: u32,
}

impl Trusted<'_> {
    /// GETs the body, having checked who serves it, and `parse`s the
    /// answer before anyone sees it.
    async fn fetch<T>(&self, parse: impl Fn(&Bytes) -> Result<T, String>) -> Result<T, Failure> {
        let (status, body) = match self.target {
            Target::Socket {
                path,
                default,
                route,
            } => {
                if *default {
                    self.check_dir(path)?;
                }
                let stream = UnixStream::connect(path)
                    .await
                    .map_err(|e| self.unreached(e))?;
                let uid = peer::unix_peer_uid(&stream).map_err(|e| self.refuse(e.to_string()))?;
                if uid != self.server_uid {
                    return Err(self.refuse(format!(
                        "the server runs as uid {uid}, {}",
                        self.not_the_server("as")
                    )));
                }
                get(stream, "localhost", route).await
            }
            Target::Url(uri) => {
                let host = uri.host().unwrap_or_default();
                let port = uri.port_u16().unwrap_or(80);
                let ip_or_name = host.trim_start_matches('[').trim_end_matches(']');
                let stream = TcpStream::connect((ip_or_name, port))
                    .await
                    .map_err(|e| self.unreached(e))?;
                self.check_port_owner(&stream)?;
                let path = uri.path_and_query().map_or("/", |p| p.as_str());
                let authority = uri.authority().map_or(host, |a| a.as_str());
                get(stream, authority, path).await
            }
        }
        .map_err(|e| {
            let why = crate::error::chain(&*e);
            Failure::Refused(Error::new(format!("asking {} failed: {why}", self.target)))
        })?;
        if status != StatusCode::OK {
            return Err(Failure::Refused(refused(self.target, status, &body)));
        }
        parse(&body).map_err(|why| self.refuse(why))
    }

    /// The default socket's directory must be ours and private, or the
    /// socket in it may be anyone's. No directory: nobody is serving there.
    fn check_dir(&self, path: &std::path::Path) -> Result<(), Failure> {
        let dir = path.parent().unwrap_or(path);
        match std::fs::symlink_metadata(dir) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(Failure::NobodyThere),
            _ => {}
        }
        socket::check_private_dir(dir).map_err(|why| {
            Failure::Refused(Error::new(format!(
                "refusing {}: {why}; remove it, or pass --socket PATH or --url URL",
                dir.display()
            )))
        })
    }

    /// On loopback, the listening port must be held by the server's uid.
    /// Where the system cannot tell (another OS, a remote host), go ahead.
    fn check_port_owner(&self, stream: &TcpStream) -> Result<(), Failure> {
        let Ok(addr) = stream.peer_addr() else {
            return Ok(());
        };
        if !addr.ip().is_loopback() {
            return Ok(());
        }
        match peer::other_listener_uid(addr, self.server_uid) {
            Some(uid) => Err(self.refuse(format!(
                "port {} is held by uid {uid}, {}",
                addr.port(),
                self.not_the_server("by")
            ))),
            None => Ok(()),
        }
    }

    /// `not as you`, `not by uid N (--server-uid)`: who should be there.
    fn not_the_server(&self, preposition: &str) -> String {
        match self.server_uid == nix::unistd::geteuid().as_raw() {
            true => format!("not {preposition} you"),
            false => format!("not {preposition} uid {} (--server-uid)", self.server_uid),
        }
    }

    fn refuse(&self, why: String) -> Failure {
        Failure::Refused(Error::new(format!("refusing {}: {why}", self.target)))
    }

    /// A connection that failed: nobody there (try the next target), or a
    /// failure to report.
    fn unreached(&self, e: std::io::Error) -> Failure {
        match e.kind() {
            ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::AddrNotAvailable => {
                Failure::NobodyThere
            }
            _ => Failure::Refused(Error::new(format!(
                "cannot connect to {}: {e}",
                self.target
            ))),
        }
    }
}

/// What can go wrong in one exchange (hyper's, the request's, the body
/// limit's error), kept whole for `error::chain`.
type Broken = Box<dyn std::error::Error + Send + Sync>;

/// One `GET` over an open stream, the body read up to `MAX_BODY`.
async fn get<S>(stream: S, host: &str, path: &str) -> Result<(StatusCode, Bytes), Broken>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::get(path)
        .header(hyper::header::HOST, host)
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await?;
    Ok((status, body.to_bytes()))
}

/// One line for a non-200 answer, with the server's own reason.
fn refused(target: &Target, status: StatusCode, body: &[u8]) -> Error {
    let reason = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let hint = match status {
        StatusCode::UNAUTHORIZED => {
            "; the server wants --auth-token-file's token over TCP: ask its Unix socket instead"
        }
        StatusCode::NOT_FOUND if target.asks_a_scope() => {
            "; check --scope against the [scope.NAME] tables of the server's --config"
        }
        StatusCode::NOT_FOUND => "; give --scope NAME, a [scope.NAME] of the server's --config",
        _ => "",
    };
    Error::new(format!(
        "localserver on {target} answered {}: {reason}{hint}",
        status.as_u16()
    ))
}
