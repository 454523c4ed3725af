//! The HTTP app: one hyper service function that takes each request down
//! the request path, one named step at a time (docs/DESIGN.md, "The
//! request's path"):
//!
//! 1. who is calling: the peer, named and admitted at accept (`accept`,
//!    `callers`);
//! 2. which guards apply: every header rule for this transport (`guards`);
//! 3. what the token opens (`auth`);
//! 4. which route (`route`);
//! 5. the answer (`respond`, `status`, `owner`, `imds`), which records
//!    nothing;
//!
//! and then the count and the access line (`record`). One `Arc` of the
//! registry's table serves a request from start to end. Over TCP, errors
//! say nothing a stranger could learn from.

use super::auth::Key;
use super::callers::Caller;
use super::respond::{body, cause, error, json, narrow_refusal, Answer, Body, Format};
use super::route::Route;
use super::{guards, status, Options, Transport};
use crate::narrow::Narrowing;
use crate::peer::Peer;
use crate::registry::{NarrowFailure, Registry, Table};
use hyper::header::{HeaderValue, ALLOW, AUTHORIZATION};
use hyper::{Method, Request, Response, StatusCode};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// `GET /` on a server whose scopes all have names.
const NO_DEFAULT: &str = "No default scope; ask /scope/NAME";
/// A scope that does not exist, or that the caller may not learn of.
const NO_SUCH_SCOPE: &str = "No such scope";

/// The service: the request path's steps, over the served scopes.
pub(super) struct App {
    registry: Arc<Registry>,
    options: Options,
    imds_tokens: super::imds::Tokens,
    /// When the last request came, for `--idle-exit`.
    last_request: Arc<AtomicU64>,
    /// Where the container endpoint listens, if it does.
    container: Option<std::net::SocketAddr>,
    /// The S3 gateway, whose requests take their own path (`gateway`).
    gateway: Arc<crate::gateway::Gateway>,
}

/// What the steps before the answer found out about one request.
struct Asked<'t> {
    transport: Transport,
    /// Who the kernel says is calling, where it could tell.
    peer: Option<&'t Peer>,
    caller: Caller,
    key: Key,
    route: Route<'t>,
    /// The scopes served, as they were when the request came.
    table: &'t Table,
}

impl App {
    pub(super) fn new(
        registry: Arc<Registry>,
        options: Options,
        last_request: Arc<AtomicU64>,
        container: Option<std::net::SocketAddr>,
        gateway: Arc<crate::gateway::Gateway>,
    ) -> App {
        App {
            registry,
            options,
            imds_tokens: super::imds::Tokens::default(),
            last_request,
            container,
            gateway,
        }
    }

    /// One S3 call on the gateway's listener: its own path (the `gateway`
    /// module's steps), after the uid check every transport makes.
    pub(super) async fn gateway(
        &self,
        peer: Option<Arc<Peer>>,
        req: Request<hyper::body::Incoming>,
    ) -> hyper::Response<crate::gateway::Body> {
        self.touch();
        self.gateway.handle(peer, req).await
    }

    /// Notes that a request came now (for `--idle-exit`). Written only
    /// when the second changed: a write to a line every core reads on
    /// every request would bounce it between them.
    fn touch(&self) {
        let now = super::unix_now();
        if self.last_request.load(Ordering::Relaxed) != now {
            self.last_request.store(now, Ordering::Relaxed);
        }
    }

    /// Whether `uid` is an owner: the server's own or an `--allow-uid`.
    pub(super) fn owns(&self, uid: u32) -> bool {
        self.options.owners.owns(uid)
    }

    /// Whether `uid` may connect at all (step 1, at accept).
    pub(super) fn admits(&self, uid: u32) -> bool {
        self.options.owners.admit(&self.registry.current(), uid)
    }

    /// Takes one request down the request path (this module's steps 1 to
    /// 5), then counts it and logs its access line. `peer` is who the
    /// kernel says is calling (`None`: it could not tell).
    pub(super) async fn handle<B>(
        &self,
        transport: Transport,
        peer: Option<&Peer>,
        req: Request<B>,
    ) -> Response<Body> {
        let started = Instant::now();
        self.touch();
        let table = self.registry.current();
        let route = Route::of(transport, req.uri().path());
        let answer = match guards::check(transport, &req, &self.options.allowed_host) {
            Err(refusal) => refusal.answer(),
            Ok(()) => {
                let given = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
                let asked = Asked {
                    transport,
                    peer,
                    caller: self.options.owners.caller(peer),
                    key: Key::of(transport, self.options.token.as_ref(), &table, given),
                    route,
                    table: &table,
                };
                self.answer(&asked, &req).await
            }
        };
        record(transport, peer, route, &req, &answer, started);
        answer.response
    }

    /// Step 5: the answer to a request that passed its guards: IMDS's,
    /// 405 for a method no route takes, or the route's.
    async fn answer<B>(&self, asked: &Asked<'_>, req: &Request<B>) -> Answer {
        if asked.route == Route::Imds {
            let (instance, tokens) = (&self.options.instance, &self.imds_tokens);
            let (response, session) =
                super::imds::respond(tokens, instance, imds_credential(asked), req).await;
            return Answer {
                session,
                ..response.into()
            };
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut response = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
            let allow = HeaderValue::from_static("GET, HEAD");
            response.headers_mut().insert(ALLOW, allow);
            return response.into();
        }
        self.route(asked, req).await
    }

    /// A GET or HEAD of one of the routes: what the caller and its token
    /// may have of it.
    async fn route<B>(&self, asked: &Asked<'_>, req: &Request<B>) -> Answer {
        let &Asked {
            transport,
            caller,
            route,
            table,
            ..
        } = asked;
        let key = &asked.key;
        match route {
            Route::Unknown | Route::Imds => error(StatusCode::NOT_FOUND, "Not found").into(),
            // Every container can reach that endpoint: not even the status.
            Route::Health if transport == Transport::Container && *key == Key::Nothing => {
                unauthorized()
            }
            Route::Health => {
                let full = key.sees_all() && caller.sees_all();
                status::health(table, transport, full).into()
            }
            Route::Metrics if !key.sees_all() => unauthorized(),
            Route::Metrics if !caller.sees_all() => Answer::refused(
                "scope",
                error(
                    StatusCode::FORBIDDEN,
                    "Metrics are for the server's own user",
                ),
            ),
            Route::Metrics => status::metrics(table).into(),
            Route::ContainerEnv(_) | Route::About(_)
                if transport != Transport::Unix || caller != Caller::Owner =>
            {
                error(StatusCode::NOT_FOUND, "Not found").into()
            }
            Route::ContainerEnv(name) => {
                let container = (self.container).map(|a| (a, &self.options.instance.region[..]));
                let gateway = self.gateway.container_url();
                super::owner::container_env(table, name, container, gateway).into()
            }
            Route::About(scope) => super::owner::about(table, scope, self.gateway.url()).into(),
            // Over TCP without a token that opens it, a scope with a token
            // of its own is as unknown as a scope that does not exist: its
            // name is not the caller's to learn.
            Route::Credential(Some(name), _)
                if *key == Key::Open && !key.opens(table, Some(name)) =>
            {
                Answer::refused("token", error(StatusCode::NOT_FOUND, NO_SUCH_SCOPE))
            }
            Route::Credential(scope, _) if !key.opens(table, scope) => unauthorized(),
            Route::Credential(scope, format) => {
                let query = req.uri().query().unwrap_or_default();
                match Narrowing::from_query(query) {
                    Ok(narrowing) => credential(asked, scope, format, &narrowing).await,
                    Err(why) => error(StatusCode::BAD_REQUEST, &why.to_string()).into(),
                }
            }
        }
    }
}

/// A token that opens nothing here.
fn unauthorized() -> Answer {
    let why = "Missing or wrong Authorization token";
    Answer::refused("token", error(StatusCode::UNAUTHORIZED, why))
}

/// A credential of `scope` (`None`: the default one), narrowed as asked.
/// The token opened it; an unknown scope's name is no secret then. A scope
/// the caller may not fetch is as unknown to it as one that does not exist.
async fn credential(
    asked: &Asked<'_>,
    scope: Option<&str>,
    format: Format,
    narrowing: &Narrowing,
) -> Answer {
    let table = asked.table;
    let name = scope.or(table.default.as_deref());
    let served = name.and_then(|name| Some((name, table.by_name.get(name)?)));
    let (refused, served) = match served {
        Some((name, _)) if !asked.caller.may_fetch(table, name) => (Some("scope"), None),
        served => (None, served.map(|(_, served)| served)),
    };
    let Some(served) = served else {
        let why = if scope.is_some() {
            "No such scope"
        } else {
            NO_DEFAULT
        };
        let response = error(StatusCode::NOT_FOUND, why);
        return Answer {
            response,
            refused,
            session: None,
        };
    };
    let (held, session) = match held_for(asked, served, narrowing).await {
        Ok(found) => found,
        Err(refused) => return narrow_refusal(refused),
    };
    match held {
        Ok(held) => Answer {
            session,
            ..json(StatusCode::OK, body(&held, format)).into()
        },
        Err(why) => {
            let why = format!("No valid credentials: {}", cause(asked.transport, &why));
            error(StatusCode::SERVICE_UNAVAILABLE, &why).into()
        }
    }
}

/// The credential `served` gives this caller for `narrowing`, with its
/// session's name where it is its own: the scope's, or where the request
/// narrows or the scope attributes each caller, the caller's own entry.
/// The one place that decides it, for every route that hands one out
/// (IMDS too). Why none: the narrowing's refusal; STS's error is the
/// first part's.
async fn held_for(
    asked: &Asked<'_>,
    served: &crate::registry::Served,
    narrowing: &Narrowing,
) -> Result<
    (
        Result<Arc<crate::cache::Held>, crate::Error>,
        Option<String>,
    ),
    NarrowFailure,
> {
    let caller = match served.attributes() {
        true => Some(who(asked.peer).await),
        false => None,
    };
    if narrowing.is_empty() && caller.is_none() {
        return Ok((served.cache().get().await, None));
    }
    let share = asked.caller.share();
    match served.narrowed(narrowing, share, caller).await {
        Ok((held, session)) => Ok((Ok(held), Some(session))),
        Err(NarrowFailure::Unavailable(why)) => Ok((Err(why), None)),
        Err(refused) => Err(refused),
    }
}

/// IMDS's credential: the default scope's, as `/` gives it to this caller
/// (its own session where the scope attributes each caller); `None` where
/// there is none it may fetch.
async fn imds_credential(asked: &Asked<'_>) -> super::imds::Credential {
    let table = asked.table;
    let name = table.default.as_deref()?;
    let served = (table.by_name.get(name)).filter(|_| asked.caller.may_fetch(table, name))?;
    Some(match held_for(asked, served, &Narrowing::default()).await {
        Ok((held, session)) => (held.map_err(drop), session),
        Err(_) => (Err(()), None),
    })
}

/// Who is asking, for a scope that gives each caller its own session: the
/// peer's user and program; where the kernel could not name the peer (a
/// container), `unknown` for both, never another caller's session.
async fn who(peer: Option<&Peer>) -> crate::credential::Caller {
    let (user, program) = match peer {
        Some(peer) => peer.names().await,
        None => ("unknown", "unknown"),
    };
    crate::credential::Caller {
        user: user.to_owned(),
        program: program.to_owned(),
    }
}

/// Counts an answer (its route's template, its refusal's reason) and
/// writes its access line, naming the peer where the kernel named one.
fn record<B>(
    transport: Transport,
    peer: Option<&Peer>,
    route: Route,
    req: &Request<B>,
    answer: &Answer,
    started: Instant,
) {
    let status = answer.response.status().as_u16();
    if let Some(reason) = answer.refused {
        crate::metrics::request_refused(transport.label(), reason);
    }
    crate::metrics::request(route.label(), transport.label(), status);
    let target = req.uri().path_and_query().map_or("", |p| p.as_str());
    let (method, path) = (req.method(), loggable(target));
    let took = started.elapsed().as_micros();
    let session = answer.session.as_deref();
    match peer {
        Some(peer) => tracing::info!(
            target: "access",
            peer_uid = peer.uid,
            peer_pid = peer.pid,
            peer_exe = peer.exe.as_deref(),
            session,
            "{transport} {method} {path} {status} {took}us"
        ),
        None => tracing::info!(
            target: "access",
            session,
            "{transport} {method} {path} {status} {took}us"
        ),
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
