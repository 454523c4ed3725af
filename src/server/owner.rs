//! What the Unix socket tells the server's own user alone (the app routes
//! nothing here from another transport or uid): what a container needs
//! for a scope (`container-env`), and what a scope grants (`verify`).

use super::respond::{error, json, Body};
use crate::body::{python_json, SCOPE_PATH};
use crate::registry::Table;
use bytes::Bytes;
use hyper::{Response, StatusCode};
use serde_json::json;
use std::net::SocketAddr;

/// `container-env`'s answer: the container endpoint's URI for scope
/// `name` (`container`: its address and the region), the scope's own
/// token and the region, and, for a scope served through the gateway, the
/// gateway's URL for containers (`gateway`).
pub(super) fn container_env(
    table: &Table,
    name: &str,
    container: Option<(SocketAddr, &str)>,
    gateway: Option<String>,
) -> Response<Body> {
    let Some(served) = table.by_name.get(name) else {
        return error(StatusCode::NOT_FOUND, "No such scope");
    };
    let Some((addr, region)) = container else {
        let why = "This server has no container endpoint: start it with --container-endpoint PORT";
        return error(StatusCode::NOT_FOUND, why);
    };
    let Some(token) = table.tokens.get(name) else {
        let why = format!(
            "Scope '{name}' has no token of its own: add token_file = \"{name}.token\" \
                 to [scope.{name}] and reload (a container must hold one scope's token, \
                 not the server's)"
        );
        return error(StatusCode::CONFLICT, &why);
    };
    let mut body = json!({
        "full_uri": format!("http://{addr}{SCOPE_PATH}{name}/ecs"),
        "token": String::from_utf8_lossy(token.expose()),
        "region": region,
    });
    if let Some(url) = gateway.filter(|_| served.upstream().is_some()) {
        body["gateway"] = url.into();
    }
    json(StatusCode::OK, Bytes::from(python_json(&body)))
}

/// `verify`'s and `exec --server`'s question: what the named scope (or the
/// default one) grants, its buckets, prefix and mode (no statement, no
/// secret), and, for a scope served through the gateway, the gateway's
/// URL (`gateway`) and what signs upstream (`upstream`: `sts` or `keys`).
pub(super) fn about(table: &Table, scope: Option<&str>, gateway: Option<String>) -> Response<Body> {
    let Some(name) = scope.or(table.default.as_deref()) else {
        return error(
            StatusCode::NOT_FOUND,
            "No default scope; ask /scope/NAME/about",
        );
    };
    let served = table.by_name.get(name);
    let Some(grant) = served.and_then(|s| s.grant()) else {
        return error(StatusCode::NOT_FOUND, "No such scope");
    };
    let mut body = json!({
        "scope": name,
        "buckets": grant.buckets,
        "prefix": grant.prefix,
        "access": grant.access.to_string(),
    });
    if let (Some(upstream), Some(url)) = (served.and_then(|s| s.upstream()), gateway) {
        body["gateway"] = url.into();
        body["upstream"] = match upstream.kind {
            crate::scope::Upstream::Sts => "sts",
            crate::scope::Upstream::Keys => "keys",
        }
        .into();
    }
    json(StatusCode::OK, Bytes::from(python_json(&body)))
}
