//! The HTTP app: one hyper service function, its routes and its guards.
//!
//! TCP requests pass every guard before anything else (DNS rebinding,
//! browsers, proxies, the token); the Unix socket's peer was checked when
//! it connected. Over TCP, errors say nothing a stranger could learn from.

use super::auth::Key;
use super::callers::Caller;
use super::guards::{self, is_proxy_header, PROXIED};
use super::respond::{body, cause, error, json, narrow_refusal, Body, Format};
use super::{Options, Transport};
use crate::body::{check_scope_name, python_json, SCOPE_PATH};
use crate::narrow::Narrowing;
use crate::peer::Peer;
use crate::registry::{NarrowFailure, Registry};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// `GET /` on a server whose scopes all have names.
const NO_DEFAULT: &str = "No default scope; ask /scope/NAME";
/// The service: routes, guards and the access log.
pub(super) struct App {
    registry: Arc<Registry>,
    options: Options,
    imds_tokens: super::imds::Tokens,
    /// When the last request came, for `--idle-exit`.
    last_request: Arc<AtomicU64>,
    /// Where the container endpoint listens, if it does.
    container: Option<std::net::SocketAddr>,
}

#[derive(Clone, Copy)]
enum Route<'a> {
    /// A credential: of the named scope, or (`None`) of the default one.
    Credential(Option<&'a str>, Format),
    /// What a container needs for the named scope (the Unix socket only).
    ContainerEnv(&'a str),
    /// What the named (or default) scope grants (the Unix socket only).
    About(Option<&'a str>),
    Health,
    Metrics,
}

impl<'a> Route<'a> {
    /// The template of `route` (None: no route), as metrics label it.
    fn label(route: Option<Route>) -> &'static str {
        match route {
            Some(Route::Credential(None, Format::Process)) => "/",
            Some(Route::Credential(None, Format::Ecs)) => "/ecs",
            Some(Route::Credential(Some(_), Format::Process)) => "/scope/{name}",
            Some(Route::Credential(Some(_), Format::Ecs)) => "/scope/{name}/ecs",
            Some(Route::ContainerEnv(_)) => "/scope/{name}/container-env",
            Some(Route::About(None)) => "/about",
            Some(Route::About(Some(_))) => "/scope/{name}/about",
            Some(Route::Health) => "/healthz",
            Some(Route::Metrics) => "/metrics",
            None => "other",
        }
    }

    /// `/`, `/ecs`, `/healthz`, `/scope/NAME` and `/scope/NAME/ecs`.
    fn of(path: &'a str) -> Option<Route<'a>> {
        let credential = |scope, format| Some(Route::Credential(scope, format));
        match path {
            "/" => credential(None, Format::Process),
            "/ecs" => credential(None, Format::Ecs),
            "/healthz" => Some(Route::Health),
            "/about" => Some(Route::About(None)),
            "/metrics" => Some(Route::Metrics),
            _ => {
                let rest = path.strip_prefix(SCOPE_PATH)?;
                if let Some(name) = rest.strip_suffix("/container-env") {
                    check_scope_name(name).ok()?;
                    return Some(Route::ContainerEnv(name));
                }
                if let Some(name) = rest.strip_suffix("/about") {
                    check_scope_name(name).ok()?;
                    return Some(Route::About(Some(name)));
                }
                let (name, format) = match rest.strip_suffix("/ecs") {
                    Some(name) => (name, Format::Ecs),
                    None => (rest, Format::Process),
                };
                check_scope_name(name).ok()?;
                credential(Some(name), format)
            }
        }
    }
}

impl App {
    pub(super) fn new(
        registry: Arc<Registry>,
        options: Options,
        last_request: Arc<AtomicU64>,
        container: Option<std::net::SocketAddr>,
    ) -> App {
        App {
            registry,
            options,
            imds_tokens: super::imds::Tokens::default(),
            last_request,
            container,
        }
    }

    /// Answers one request and logs it (naming the peer of a Unix socket).
    pub(super) async fn handle<B>(
        &self,
        transport: Transport,
        peer: Option<&Peer>,
        req: Request<B>,
    ) -> Response<Body> {
        let started = Instant::now();
        self.last_request
            .store(super::unix_now(), Ordering::Relaxed);
        // Parsed once, for the answer and for the metrics label (IMDS has
        // routes of its own).
        let route = match transport {
            Transport::Imds => None,
            _ => Route::of(req.uri().path()),
        };
        let caller = self.options.owners.caller(peer);
        let response = self.respond(transport, route, caller, &req).await;
        let target = req.uri().path_and_query().map_or("", |p| p.as_str());
        let (method, path) = (req.method(), loggable(target));
        let (status, took) = (response.status().as_u16(), started.elapsed().as_micros());
        let label = match transport {
            Transport::Imds => "imds",
            _ => Route::label(route),
        };
        crate::metrics::request(label, transport.label(), status);
        match peer {
            Some(peer) => tracing::info!(
                target: "access",
                peer_uid = peer.uid,
                peer_pid = peer.pid,
                peer_exe = peer.exe.as_deref(),
                "{transport} {method} {path} {status} {took}us"
            ),
            None => {
                tracing::info!(target: "access", "{transport} {method} {path} {status} {took}us")
            }
        }
        response
    }

    async fn respond<B>(
        &self,
        transport: Transport,
        route: Option<Route<'_>>,
        caller: Caller,
        req: &Request<B>,
    ) -> Response<Body> {
        let refused = |reason| {
            crate::metrics::refusal(transport.label(), reason);
        };
        if req
            .headers()
            .keys()
            .any(|name| is_proxy_header(name.as_str()))
        {
            refused("proxy");
            return error(StatusCode::FORBIDDEN, PROXIED);
        }
        if transport != Transport::Unix {
            if let Some((reason, refusal)) = guards::check(req, &self.options.allowed_host) {
                refused(reason);
                return refusal;
            }
        }
        if transport == Transport::Imds {
            let table = self.registry.current();
            let default_ok =
                (table.default.as_deref()).is_some_and(|d| caller.may_fetch(&table, d));
            let instance = &self.options.instance;
            return super::imds::respond(&self.imds_tokens, &table, instance, default_ok, req)
                .await;
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let Some(route) = route else {
            return error(StatusCode::NOT_FOUND, "Not found");
        };
        let table = self.registry.current();
        let given = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
        let key = Key::of(transport, self.options.token.as_ref(), &table, given);
        let unauthorized = || {
            refused("token");
            error(
                StatusCode::UNAUTHORIZED,
                "Missing or wrong Authorization token",
            )
        };
        match route {
            // Every container can reach that endpoint: not even the status.
            Route::Health if transport == Transport::Container && key == Key::Nothing => {
                unauthorized()
            }
            Route::Health => self.health(transport, key.sees_all() && caller.sees_all()),
            Route::Metrics if !key.sees_all() => unauthorized(),
            Route::Metrics if !caller.sees_all() => {
                refused("scope");
                error(
                    StatusCode::FORBIDDEN,
                    "Metrics are for the server's own user",
                )
            }
            Route::Metrics => self.metrics(),
            Route::ContainerEnv(_) | Route::About(_)
                if transport != Transport::Unix || caller != Caller::Owner =>
            {
                error(StatusCode::NOT_FOUND, "Not found")
            }
            Route::ContainerEnv(name) => {
                let container = self
                    .container
                    .map(|a| (a, &self.options.instance.region[..]));
                super::owner::container_env(&table, name, container)
            }
            Route::About(scope) => super::owner::about(&table, scope),
            Route::Credential(scope, _) if !key.opens(&table, scope) => unauthorized(),
            Route::Credential(scope, format) => {
                let asked = match Narrowing::from_query(req.uri().query().unwrap_or_default()) {
                    Ok(asked) => asked,
                    Err(why) => return error(StatusCode::BAD_REQUEST, &why.to_string()),
                };
                self.credential(transport, caller, scope, format, &asked)
                    .await
            }
        }
    }

    /// Whether `uid` may connect at all.
    pub(super) fn admits(&self, uid: u32) -> bool {
        self.options.owners.admit(&self.registry.current(), uid)
    }

    /// After the token check: an unknown scope's name is no secret then.
    /// A scope the caller may not fetch is as unknown to it as one that
    /// does not exist.
    async fn credential(
        &self,
        transport: Transport,
        caller: Caller,
        scope: Option<&str>,
        format: Format,
        asked: &Narrowing,
    ) -> Response<Body> {
        let table = self.registry.current();
        let name = scope.or(table.default.as_deref());
        let served = name.and_then(|name| table.by_name.get(name));
        let served = match served {
            Some(_) if !caller.may_fetch(&table, name.unwrap_or_default()) => {
                crate::metrics::refusal(transport.label(), "scope");
                None
            }
            served => served,
        };
        let Some(served) = served else {
            return match scope {
                Some(_) => error(StatusCode::NOT_FOUND, "No such scope"),
                None => error(StatusCode::NOT_FOUND, NO_DEFAULT),
            };
        };
        let held = match asked.is_empty() {
            true => served.cache().get().await,
            false => match served.narrowed(asked).await {
                Ok(held) => Ok(held),
                Err(NarrowFailure::Unavailable(why)) => Err(why),
                Err(refused) => return narrow_refusal(transport, refused),
            },
        };
        match held {
            Ok(held) => json(StatusCode::OK, body(&held, format)),
            Err(why) => error(
                StatusCode::SERVICE_UNAVAILABLE,
                &format!("No valid credentials: {}", cause(transport, &why)),
            ),
        }
    }

    /// Every scope's state; ok only when all are. The top-level
    /// `expires_in` is the soonest. A caller that may not see every scope
    /// (no token, or another uid) hears the status alone.
    fn health(&self, transport: Transport, full: bool) -> Response<Body> {
        let table = self.registry.current();
        let mut scopes = serde_json::Map::new();
        let mut soonest: Option<u64> = None;
        let mut failed: Option<crate::Error> = None;
        for (name, served) in &table.by_name {
            let mut state = match served.cache().expires_in() {
                Ok(left) => {
                    let left = left.as_secs();
                    soonest = Some(soonest.map_or(left, |s| s.min(left)));
                    json!({"status": "ok", "expires_in": left})
                }
                Err(why) => {
                    let state = json!({"status": "unavailable", "error": cause(transport, &why)});
                    failed.get_or_insert(why);
                    state
                }
            };
            if let (count @ 1.., soonest) = served.narrowed_summary() {
                let soonest = soonest.map(|d| d.as_secs());
                state["narrowed"] = json!({"count": count, "expires_in": soonest});
            }
            scopes.insert(name.clone(), state);
        }
        let (status, mut body) = match failed {
            None => (
                StatusCode::OK,
                json!({"status": "ok", "expires_in": soonest.unwrap_or(0)}),
            ),
            Some(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "unavailable", "error": cause(transport, &why)}),
            ),
        };
        if !full {
            body = json!({"status": body["status"]});
        } else {
            body["scopes"] = Value::Object(scopes);
        }
        json(status, Bytes::from(python_json(&body)))
    }
}

impl App {
    /// Every series, with each scope's time to expiry read now.
    fn metrics(&self) -> Response<Body> {
        let table = self.registry.current();
        let expiries = table
            .by_name
            .iter()
            .map(|(name, served)| (name.clone(), served.cache().expires_in().ok()));
        let mut response = Response::new(Full::new(Bytes::from(crate::metrics::render(expiries))));
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
        );
        response
    }
}

/// Paths are the client's bytes: cut long ones short in the log.
fn loggable(path: &str) -> &str {
    match path.char_indices().nth(200) {
        Some((i, _)) => &path[..i],
        None => path,
    }
}

#[cfg(test)]
mod tests;
