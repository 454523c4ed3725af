//! Asking a server's `/healthz` with every check fetch makes of who serves
//! it: the `server` check, and where a failing profile's server could be.

use super::Check;
use crate::fetch::{self, nobody_there, Target};
use crate::sts::checks::Verdict;
use crate::{socket, Error};
use std::time::Duration;

/// How long a server may take to answer `/healthz`.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// The default socket for `port`, asked for `/healthz`.
fn socket_target(port: u16) -> Target {
    let route = "/healthz".to_owned();
    Target::Socket {
        path: socket::default_path(port),
        default: true,
        route,
    }
}

/// `http://127.0.0.1:PORT/healthz`.
fn tcp_target(port: u16) -> Target {
    let uri = format!("http://127.0.0.1:{port}/healthz")
        .parse()
        .expect("a URL");
    Target::Url(uri)
}

/// Whether a server fetch would accept answers on `127.0.0.1:PORT`.
pub(super) async fn answers_on(port: u16) -> bool {
    answers(&tcp_target(port)).await.is_ok()
}

/// Whether a server answers `/healthz` at `target`, with every check fetch
/// makes of who serves it.
async fn answers(target: &Target) -> Result<(), Error> {
    let uid = nix::unistd::geteuid().as_raw();
    let health = |body: &bytes::Bytes| match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) if v.get("status").is_some() => Ok(()),
        _ => Err("its /healthz answer is not the server's".to_owned()),
    };
    fetch::ask_first(std::slice::from_ref(target), uid, ASK_TIMEOUT, health)
        .await
        .map(drop)
}

/// A server on the default socket and on TCP, and fetch would accept it.
pub(super) async fn server(port: u16) -> Check {
    let (socket, tcp) = (socket_target(port), tcp_target(port));
    let verdict = match (answers(&socket).await, answers(&tcp).await) {
        (Ok(()), Ok(())) => Verdict::Ok(format!(
            "a server answers on {socket} and on 127.0.0.1:{port}"
        )),
        (Err(e), Ok(())) if nobody_there(&e) => Verdict::Warn(format!(
            "a server answers on 127.0.0.1:{port} but not on its default socket {socket} \
             (started with --no-socket or --socket, or with another XDG_RUNTIME_DIR?)"
        )),
        (Err(e), _) | (_, Err(e)) if !nobody_there(&e) => Verdict::Fail(format!(
            "{e}; the server on port {port} must be your own and answering: stop what holds \
             it, or pass doctor --port N for yours"
        )),
        _ => Verdict::Fail(format!(
            "no server answers on {socket} or 127.0.0.1:{port}: {} (or pass doctor --port N)",
            crate::fetch::start_one(Some(port))
        )),
    };
    Check::new("server", verdict)
}
