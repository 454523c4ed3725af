//! The `credential_process` client: one request to a running localserver,
//! the body to stdout, or one line to stderr and a failing exit.
//!
//! It runs on every SDK refresh, so it does nothing but that request: a
//! current-thread runtime, no config files, no retries.

use crate::cli::FetchCli;
use crate::{socket, Error};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::{StatusCode, Uri};
use hyper_util::client::legacy::connect::Connect;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const START_ONE: &str = "start one with: s3-credentials localserver BUCKET --duration 1h";

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
    let target = choose_target(&cli)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start: {e}")))?;
    let body = runtime.block_on(fetch(&target, cli.timeout))?;
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&body)
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::new(format!("cannot write the credentials: {e}")))
}

/// `--socket`, `--url`, or the default socket for `--port` when it exists,
/// else `http://localhost:PORT/`.
pub fn choose_target(cli: &FetchCli) -> Result<Target, Error> {
    if let Some(path) = &cli.socket {
        return Ok(Target::Socket(path.clone()));
    }
    let url = match &cli.url {
        Some(url) => url.clone(),
        None => {
            let path = socket::default_path(cli.port);
            if path.exists() {
                return Ok(Target::Socket(path));
            }
            format!("http://localhost:{}/", cli.port)
        }
    };
    let uri: Uri = url
        .parse()
        .map_err(|_| Error::new(format!("--url {url} is not a URL")))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(Error::new(format!(
            "--url {url} must be an http:// URL, e.g. http://127.0.0.1:8094/"
        )));
    }
    Ok(Target::Url(uri))
}

/// GETs the credential body from `target`.
pub async fn fetch(target: &Target, timeout: Duration) -> Result<Bytes, Error> {
    let request = async {
        match target {
            Target::Socket(path) => {
                let client = Client::builder(TokioExecutor::new()).build(hyperlocal::UnixConnector);
                get(client, hyperlocal::Uri::new(path, "/").into()).await
            }
            Target::Url(uri) => {
                let client = Client::builder(TokioExecutor::new()).build_http();
                get(client, uri.clone()).await
            }
        }
    };
    let answer = tokio::time::timeout(timeout, request).await.map_err(|_| {
        Error::new(format!(
            "localserver on {target} did not answer within {:.1}s",
            timeout.as_secs_f64()
        ))
    })?;
    match answer {
        Ok((StatusCode::OK, body)) => Ok(body),
        Ok((status, body)) => Err(refused(target, status, &body)),
        Err(GetError::Connect) => Err(Error::new(format!(
            "no localserver is running on {target}; {START_ONE}"
        ))),
        Err(GetError::Other(e)) => Err(Error::new(format!("asking {target} failed: {e}"))),
    }
}

enum GetError {
    Connect,
    Other(String),
}

async fn get<C>(client: Client<C, Empty<Bytes>>, uri: Uri) -> Result<(StatusCode, Bytes), GetError>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let response = client.get(uri).await.map_err(|e| match e.is_connect() {
        true => GetError::Connect,
        false => GetError::Other(e.to_string()),
    })?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| GetError::Other(e.to_string()))?;
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
