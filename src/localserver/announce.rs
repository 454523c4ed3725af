//! What a starting server says: the original's lines for the default
//! scope, a line for each named scope, and ours for the socket, IMDS, the
//! container endpoint and the gateway.

use super::Options;
use crate::log;
use crate::scope::{Scope, Scopes, Serve, Upstream, DEFAULT_SCOPE};
use crate::server::{self, Running};

/// Where the listeners really are (a port 0 is chosen by then).
#[derive(Clone, Copy)]
pub(super) struct Bound {
    pub port: Option<u16>,
    pub imds_port: Option<u16>,
    /// The container endpoint, and whether any token opens it.
    pub container: Option<(std::net::SocketAddr, bool)>,
    pub gateway: Option<std::net::SocketAddr>,
}

/// The original's lines (for the default scope), a line for each named
/// scope, and ours for the socket, IMDS and the container endpoint (with
/// whether any token opens it).
pub(super) fn announce(args: &Options, scopes: &Scopes, bound: &Bound, running: &Running) {
    let Bound {
        port,
        imds_port,
        container,
        gateway,
    } = *bound;
    let port = port.unwrap_or(args.port);
    let base = format!("http://{}:{port}", url_host(&args.host));
    if let Some(scope) = scopes.default_scope() {
        log::say(&format!("Serving {} at {base}/", serves(scope)));
        log::say(&format!("Duration: {} seconds", scope.duration));
    }
    for scope in scopes.by_name.values().filter(|s| s.name != DEFAULT_SCOPE) {
        log::say(&format!(
            "Serving {} at {base}/scope/{} (duration: {} seconds)",
            serves(scope),
            scope.name,
            scope.duration
        ));
    }
    if let Some(path) = running.socket_path() {
        log::say(&format!("Unix socket: {}", path.display()));
    }
    if let Some(imds_port) = imds_port {
        log::say(&format!(
            "IMDSv2: http://127.0.0.1:{imds_port} (for AWS_EC2_METADATA_SERVICE_ENDPOINT), role {}",
            server::IMDS_ROLE
        ));
    }
    if let Some((addr, opened)) = container {
        log::say(&format!(
            "Container endpoint: http://{addr}/scope/NAME/ecs (s3-credentials container-env --scope NAME)"
        ));
        if !opened {
            log::say(
                "Warning: no scope has a token_file and there is no --auth-token-file: \
                 the container endpoint refuses every request (401)",
            );
        }
    }
    if let Some(addr) = gateway {
        announce_gateway(scopes, addr);
    }
    log::say("Press Ctrl+C to stop");
}

/// The gateway's address, which scopes it serves, and for each scope that
/// signs with the server's own keys, that the gateway is its only layer.
fn announce_gateway(scopes: &Scopes, addr: std::net::SocketAddr) {
    let through = (scopes.by_name.values()).filter(|s| s.serve.through_gateway());
    let names: Vec<&str> = through.map(|s| s.name.as_str()).collect();
    let serving = match names.is_empty() {
        true => "serving no scope yet: add serve = \"gateway\" to a [scope.NAME] and reload \
                 (SIGHUP)"
            .to_owned(),
        false => format!("for scopes {}", quoted(&names)),
    };
    log::say(&format!(
        "S3 gateway: http://{addr} (for AWS_ENDPOINT_URL_S3), {serving}"
    ));
    for scope in scopes.by_name.values() {
        if scope.serve == Serve::Gateway(Upstream::Keys) {
            log::say(&format!(
                "Scope '{}' signs upstream with the server's own keys: the gateway is \
                 the only layer that enforces it",
                scope.name
            ));
        }
    }
}

/// `read-only credentials for bucket 'a'`, or `... for buckets 'a', 'b'`.
fn serves(scope: &Scope) -> String {
    let buckets = &scope.grant.buckets;
    let noun = if buckets.len() == 1 {
        "bucket"
    } else {
        "buckets"
    };
    format!(
        "{} credentials for {noun} {}",
        scope.grant.access,
        quoted(buckets)
    )
}

/// `'a', 'b'`.
pub(super) fn quoted<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    let quoted: Vec<String> = names
        .into_iter()
        .map(|n| format!("'{}'", n.as_ref()))
        .collect();
    quoted.join(", ")
}

/// `[::1]` for an IPv6 literal, the host as given otherwise.
fn url_host(host: &str) -> String {
    match host.parse::<std::net::Ipv6Addr>() {
        Ok(_) => format!("[{host}]"),
        Err(_) => host.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_host_brackets_ipv6() {
        assert_eq!(url_host("::1"), "[::1]");
        assert_eq!(url_host("localhost"), "localhost");
    }
}
