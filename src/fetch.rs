//! The `credential_process` client: one request to a running localserver,
//! the body to stdout, or one line to stderr and a failing exit.
//!
//! It runs on every SDK refresh, so it does nothing but that request: a
//! current-thread runtime, no config files, no retries. It speaks HTTP/1
//! over a stream it opened itself (hyper's connection API), so it knows
//! exactly which socket answered.

use crate::cli::FetchCli;
use crate::{socket, Error};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use std::fmt;
use std::io::{ErrorKind, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, UnixStream};

const START_ONE: &str = "start one with: s3-credentials localserver BUCKET --duration 1h";
/// No credential body is anywhere near this; a larger answer is not ours.
const MAX_BODY: usize = 64 * 1024;

/// Where to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Unix socket path.
    Socket(PathBuf),
    /// An `http://` URL.
    Url(Uri),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Socket(path) => write!(f, "{}", path.display()),
            Target::Url(uri) => write!(f, "{uri}"),
        }
    }
}

/// Runs `s3-credentials-fetch`; the exit code is 0 only when the body went
/// to stdout whole.
pub fn run(cli: FetchCli) -> ExitCode {
    match fetch_and_print(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "s3-credentials-fetch: {e}");
            ExitCode::FAILURE
        }
    }
}

fn fetch_and_print(cli: FetchCli) -> Result<(), Error> {
    let targets = targets(&cli)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start: {e}")))?;
    let body = runtime.block_on(fetch_first(&targets, cli.timeout))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&body)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::new(format!("cannot write the credentials: {e}")))
}

/// What to try, in order: `--socket`, or `--url`, or else the default
/// socket for `--port`, then `127.0.0.1:PORT`, then `[::1]:PORT` (literal
/// addresses: no name is resolved, so nothing can redirect `localhost`).
pub fn targets(cli: &FetchCli) -> Result<Vec<Target>, Error> {
    if let Some(path) = &cli.socket {
        return Ok(vec![Target::Socket(path.clone())]);
    }
    if let Some(url) = &cli.url {
        return Ok(vec![Target::Url(parse_url(url)?)]);
    }
    let port = cli.port;
    Ok(vec![
        Target::Socket(socket::default_path(port)),
        Target::Url(parse_url(&format!("http://127.0.0.1:{port}/"))?),
        Target::Url(parse_url(&format!("http://[::1]:{port}/"))?),
    ])
}

fn parse_url(url: &str) -> Result<Uri, Error> {
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::new(format!("--url {url} is not a URL")))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(Error::new(format!(
            "--url {url} must be an http:// URL, e.g. http://127.0.0.1:8094/"
        )));
    }
    Ok(uri)
}

/// Asks each target in turn, going on only past one nobody listens on.
pub async fn fetch_first(targets: &[Target], timeout: Duration) -> Result<Bytes, Error> {
    for target in targets {
        match tokio::time::timeout(timeout, fetch(target)).await {
            Err(_) => {
                return Err(Error::new(format!(
                    "localserver on {target} did not answer within {:.1}s",
                    timeout.as_secs_f64()
                )))
            }
            Ok(Err(Failure::NobodyThere)) => continue,
            Ok(Err(Failure::Refused(e))) => return Err(e),
            Ok(Ok(body)) => return Ok(body),
        }
    }
    let tried: Vec<String> = targets.iter().map(Target::to_string).collect();
    Err(Error::new(format!(
        "no localserver is running on {}; {START_ONE}",
        tried.join(" or ")
    )))
}

/// Why one target gave no credentials.
enum Failure {
    /// Nothing listens there: the next target may be tried.
    NobodyThere,
    /// Something answered, or failed in a way that must be reported.
    Refused(Error),
}

/// GETs the credential body from one target.
async fn fetch(target: &Target) -> Result<Bytes, Failure> {
    let nobody = |e: &std::io::Error| {
        matches!(
            e.kind(),
            ErrorKind::NotFound | ErrorKind::ConnectionRefused | ErrorKind::AddrNotAvailable
        )
    };
    let fail = |e: std::io::Error| match nobody(&e) {
        true => Failure::NobodyThere,
        false => Failure::Refused(Error::new(format!("cannot connect to {target}: {e}"))),
    };
    let (status, body) = match target {
        Target::Socket(path) => {
            let stream = UnixStream::connect(path).await.map_err(fail)?;
            get(stream, "localhost", "/").await
        }
        Target::Url(uri) => {
            let host = uri.host().unwrap_or_default();
            let port = uri.port_u16().unwrap_or(80);
            let ip_or_name = host.trim_start_matches('[').trim_end_matches(']');
            let stream = TcpStream::connect((ip_or_name, port)).await.map_err(fail)?;
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let authority = uri.authority().map_or(host, |a| a.as_str());
            get(stream, authority, path).await
        }
    }
    .map_err(|e| Failure::Refused(Error::new(format!("asking {target} failed: {e}"))))?;
    match status {
        StatusCode::OK => Ok(body),
        _ => Err(Failure::Refused(refused(target, status, &body))),
    }
}

/// One `GET` over an open stream, the body read up to `MAX_BODY`.
async fn get<S>(stream: S, host: &str, path: &str) -> Result<(StatusCode, Bytes), String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let request = Request::get(path)
        .header(hyper::header::HOST, host)
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| e.to_string())?;
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
        _ => "",
    };
    Error::new(format!(
        "localserver on {target} answered {}: {reason}{hint}",
        status.as_u16()
    ))
}
