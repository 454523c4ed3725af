//! Every route and guard, in process: the app over a cache whose minter is
//! a fake, requests built by hand, no socket, no Python. Milliseconds.

use super::*;
use crate::cache::Cache;
use crate::credential::{BoxFuture, Credential, Mint};
use crate::duration::SessionDuration;
use crate::registry::{Served, Table};
use crate::server::guards::is_proxy_header;
use crate::server::guards::{host_allowed, PROXY_HEADERS};
use crate::token::Token;
use crate::Error;
use http_body_util::BodyExt;
use hyper::header::{ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use serde_json::Value;

/// Mints one fixed credential, or fails with `error`.
struct FakeMint {
    error: Option<&'static str>,
}

impl Mint for FakeMint {
    fn mint(&self) -> BoxFuture<'_, Result<Credential, Error>> {
        Box::pin(async move {
            match self.error {
                Some(why) => Err(Error::new(why)),
                None => Ok(Credential {
                    access_key_id: "ASIAFAKE".into(),
                    secret_access_key: "fakesecret".into(),
                    session_token: "faketoken".into(),
                    expiration: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
                }),
            }
        })
    }
}

/// A served scope whose minter is a `FakeMint`.
async fn served(error: Option<&'static str>) -> Arc<Served> {
    let duration = SessionDuration::from_secs(3600).unwrap();
    let cache = Cache::new(Box::new(FakeMint { error }), duration);
    let _ = cache.prime().await;
    Served::start(cache)
}

/// An app serving `scopes` (name, failing with), `/` serving `default`.
async fn app_serving(
    scopes: &[(&str, Option<&'static str>)],
    default: Option<&str>,
    token: Option<&str>,
) -> App {
    let mut table = Table {
        default: default.map(str::to_owned),
        ..Table::default()
    };
    for (name, error) in scopes {
        table.by_name.insert(name.to_string(), served(*error).await);
    }
    let options = Options {
        allowed_host: "myhost".into(),
        token: token.map(|t| Token::for_tests(t.as_bytes())),
        owners: super::super::Owners::default(),
        instance: Default::default(),
    };
    let registry = Registry::new(table);
    let book = crate::local::KeyBook::new();
    let gateway = Arc::new(crate::gateway::Gateway::new(
        book,
        registry.clone(),
        [None, None],
    ));
    App::new(registry, options, Arc::default(), None, gateway)
}

async fn app_with(error: Option<&'static str>, token: Option<&str>) -> App {
    app_serving(&[("default", error)], Some("default"), token).await
}

async fn app() -> App {
    app_with(None, None).await
}

/// `method path` with `headers`, over `transport`: (status, headers, body).
async fn ask(
    app: &App,
    transport: Transport,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, hyper::HeaderMap, String) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    ask_as(app, transport, None, req.body(()).unwrap()).await
}

/// A request as `peer` (None: a caller the kernel could not name).
async fn ask_as(
    app: &App,
    transport: Transport,
    peer: Option<u32>,
    req: Request<()>,
) -> (u16, hyper::HeaderMap, String) {
    let peer = peer.map(|uid| crate::peer::tcp_peer(uid, None));
    let response = app.handle(transport, peer.as_ref(), req).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(app: &App, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let (status, _, body) = ask(app, Transport::Tcp, "GET", path, headers).await;
    (status, body)
}

const LOCAL: (&str, &str) = ("host", "localhost:8094");

#[tokio::test]
async fn the_routes_serve_their_formats() {
    let app = app().await;
    let (status, headers, body) = ask(&app, Transport::Tcp, "GET", "/", &[LOCAL]).await;
    assert_eq!(status, 200);
    assert_eq!(headers[CONTENT_TYPE], "application/json");
    assert_eq!(headers[CACHE_CONTROL], "no-store");
    assert!(!headers
        .keys()
        .any(|k| k.as_str().starts_with("access-control")));
    assert!(
        body.starts_with("{\n  \"Version\": 1,\n  \"AccessKeyId\": \"ASIAFAKE\""),
        "{body}"
    );
    let (status, ecs) = get(&app, "/ecs", &[LOCAL]).await;
    assert_eq!(status, 200);
    assert!(
        ecs.contains("\"Token\": \"faketoken\"") && !ecs.contains("Version"),
        "{ecs}"
    );
    let (status, health) = get(&app, "/healthz", &[LOCAL]).await;
    assert_eq!(status, 200);
    assert!(
        health.starts_with(r#"{"status": "ok", "expires_in": 35"#),
        "{health}"
    );
    assert!(!health.contains("fake"));
    let (status, headers, _) = ask(&app, Transport::Tcp, "HEAD", "/", &[LOCAL]).await;
    assert_eq!(status, 200);
    assert_eq!(headers[CONTENT_TYPE], "application/json");
}

#[tokio::test]
async fn unknown_paths_404_and_other_methods_405() {
    let app = app().await;
    assert_eq!(
        get(&app, "/nope", &[LOCAL]).await,
        (404, r#"{"error": "Not found"}"#.into())
    );
    for method in ["POST", "PUT", "DELETE", "BREW"] {
        let (status, headers, body) = ask(&app, Transport::Tcp, method, "/", &[LOCAL]).await;
        assert_eq!(status, 405, "{method}");
        assert_eq!(headers[ALLOW], "GET, HEAD");
        assert!(!body.contains("AccessKeyId"));
    }
    let (status, _, _) = ask(&app, Transport::Tcp, "CONNECT", "localhost:443", &[LOCAL]).await;
    assert_eq!(status, 405);
}

#[tokio::test]
async fn tcp_guards_refuse_rebinding_browsers_and_proxies() {
    let app = app().await;
    for (headers, status) in [
        (&[("host", "evil.example")][..], 403),
        (&[("host", "localhost"), ("host", "evil.example")], 400),
        (&[LOCAL, ("origin", "http://evil.example")], 403),
        (&[LOCAL, ("sec-fetch-site", "cross-site")], 403),
        (&[LOCAL, ("x-forwarded-for", "10.0.0.1")], 403),
        (&[LOCAL, ("forwarded", "for=10.0.0.1")], 403),
        (&[LOCAL, ("via", "1.1 proxy")], 403),
        (&[LOCAL, ("x-forwarded-host", "a")], 403),
        (&[LOCAL, ("sec-fetch-site", "none")], 200),
        (&[("host", "127.0.0.1:8094")], 200),
        (&[("host", "[::1]:8094")], 200),
        (&[("host", "myhost")], 200),
        (&[], 200),
    ] {
        let (got, body) = get(&app, "/", headers).await;
        assert_eq!(got, status, "{headers:?}: {body}");
        assert_eq!(body.contains("AccessKeyId"), status == 200, "{headers:?}");
    }
    // An absolute-form target names a host too.
    assert_eq!(get(&app, "http://evil.example/", &[LOCAL]).await.0, 403);
    assert_eq!(get(&app, "http://127.0.0.1/", &[LOCAL]).await.0, 200);
    // The socket's peer was checked when it connected: no TCP guard.
    let (status, _, _) = ask(&app, Transport::Unix, "GET", "/", &[("origin", "x")]).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_token_guards_tcp_but_not_health_or_the_socket() {
    let app = app_with(None, Some("0123456789abcdef")).await;
    assert_eq!(get(&app, "/", &[LOCAL]).await.0, 401);
    assert_eq!(
        get(&app, "/", &[LOCAL, ("authorization", "wrong")]).await.0,
        401
    );
    assert_eq!(
        get(
            &app,
            "/ecs",
            &[LOCAL, ("authorization", "0123456789abcdef0")]
        )
        .await
        .0,
        401
    );
    assert_eq!(
        get(&app, "/", &[LOCAL, ("authorization", "0123456789abcdef")])
            .await
            .0,
        200
    );
    assert_eq!(get(&app, "/healthz", &[LOCAL]).await.0, 200);
    assert_eq!(ask(&app, Transport::Unix, "GET", "/", &[]).await.0, 200);
}

#[tokio::test]
async fn without_a_credential_tcp_hears_a_fixed_503_and_the_socket_the_cause() {
    let app = app_with(
        Some("AccessDenied: role arn:aws:iam::123456789012:role/x"),
        None,
    )
    .await;
    let (status, body) = get(&app, "/", &[LOCAL]).await;
    assert_eq!(status, 503);
    assert_eq!(
        body,
        r#"{"error": "No valid credentials: credentials unavailable"}"#
    );
    let (status, health) = get(&app, "/healthz", &[LOCAL]).await;
    assert_eq!(status, 503);
    assert_eq!(
        health,
        r#"{"status": "unavailable", "error": "credentials unavailable", "scopes": {"default": {"status": "unavailable", "error": "credentials unavailable"}}}"#
    );
    let (status, _, body) = ask(&app, Transport::Unix, "GET", "/healthz", &[]).await;
    assert_eq!(status, 503);
    assert!(body.contains("123456789012"), "{body}");
}

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

#[tokio::test]
async fn named_scopes_are_served_at_their_paths_and_nothing_else_is() {
    let app = app_serving(&[("prod", None), ("scratch-2", None)], None, None).await;
    assert_eq!(
        get(&app, "/", &[LOCAL]).await,
        (
            404,
            r#"{"error": "No default scope; ask /scope/NAME"}"#.into()
        )
    );
    assert_eq!(get(&app, "/ecs", &[LOCAL]).await.0, 404);
    let (status, body) = get(&app, "/scope/prod", &[LOCAL]).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"Version\": 1"), "{body}");
    let (status, body) = get(&app, "/scope/scratch-2/ecs", &[LOCAL]).await;
    assert_eq!(status, 200);
    assert!(body.contains("\"Token\": \"faketoken\""), "{body}");
    let no_such = (404, r#"{"error": "No such scope"}"#.to_owned());
    assert_eq!(get(&app, "/scope/other", &[LOCAL]).await, no_such);
    for path in [
        "/scope/",
        "/scope/Prod",
        "/scope/prod/",
        "/scope/prod/ecs/",
        "/scope/prod/x",
        "/scope/../prod",
        "/scope/prod%2f",
        "/scope//prod",
        "/scopes/prod",
    ] {
        let (status, body) = get(&app, path, &[LOCAL]).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("AccessKeyId"), "{path}");
    }
}

#[tokio::test]
async fn the_token_comes_before_the_scope_lookup() {
    let app = app_serving(&[("prod", None)], None, Some("0123456789abcdef")).await;
    // Without the token, a stranger cannot tell a real scope from another.
    assert_eq!(get(&app, "/scope/prod", &[LOCAL]).await.0, 401);
    assert_eq!(get(&app, "/scope/guess", &[LOCAL]).await.0, 401);
    let token = ("authorization", "0123456789abcdef");
    assert_eq!(get(&app, "/scope/prod", &[LOCAL, token]).await.0, 200);
}

#[tokio::test]
async fn health_reports_every_scope_and_is_ok_only_when_all_are() {
    let app = app_serving(&[("a", None), ("b", None)], Some("a"), None).await;
    let (status, health) = get(&app, "/healthz", &[LOCAL]).await;
    assert_eq!(status, 200);
    let value: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(value["status"], "ok");
    assert_eq!(value["scopes"]["a"]["status"], "ok");
    assert!(value["scopes"]["b"]["expires_in"].as_u64().unwrap() > 3500);
    let app = app_serving(
        &[("a", None), ("b", Some("AccessDenied: secret role"))],
        Some("a"),
        None,
    )
    .await;
    let (status, health) = get(&app, "/healthz", &[LOCAL]).await;
    assert_eq!(status, 503, "{health}");
    let value: serde_json::Value = serde_json::from_str(&health).unwrap();
    assert_eq!(value["status"], "unavailable");
    assert_eq!(value["scopes"]["a"]["status"], "ok");
    assert_eq!(value["scopes"]["b"]["status"], "unavailable");
    assert!(
        !health.contains("secret role"),
        "TCP hears no cause: {health}"
    );
    // The default scope still serves.
    assert_eq!(get(&app, "/", &[LOCAL]).await.0, 200);
    assert_eq!(get(&app, "/scope/b", &[LOCAL]).await.0, 503);
}

const TTL: (&str, &str) = ("x-aws-ec2-metadata-token-ttl-seconds", "300");

async fn imds_token(app: &App) -> String {
    let (status, headers, token) = ask(
        app,
        Transport::Imds,
        "PUT",
        "/latest/api/token",
        &[LOCAL, TTL],
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["x-aws-ec2-metadata-token-ttl-seconds"], "300",
        "the TTL is echoed"
    );
    assert_eq!(headers[CONTENT_TYPE], "text/plain");
    token
}

#[tokio::test]
async fn imds_serves_the_default_scope_behind_its_token() {
    let app = app().await;
    let token = imds_token(&app).await;
    let with_token = [LOCAL, ("x-aws-ec2-metadata-token", token.as_str())];
    let list = "/latest/meta-data/iam/security-credentials/";
    let (status, _, role) = ask(&app, Transport::Imds, "GET", list, &with_token).await;
    assert_eq!((status, role.as_str()), (200, "s3-credentials"));
    let path = format!("{list}s3-credentials");
    let (status, _, body) = ask(&app, Transport::Imds, "GET", &path, &with_token).await;
    assert_eq!(status, 200);
    let keys: Vec<String> = serde_json::from_str::<serde_json::Map<String, Value>>(&body)
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        [
            "Code",
            "LastUpdated",
            "Type",
            "AccessKeyId",
            "SecretAccessKey",
            "Token",
            "Expiration"
        ]
    );
    let value: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (value["Code"].as_str(), value["Type"].as_str()),
        (Some("Success"), Some("AWS-HMAC"))
    );
    let expiration = value["Expiration"].as_str().unwrap();
    assert!(
        expiration.ends_with('Z') && !expiration.contains('.') && expiration.len() == 20,
        "{expiration}"
    );
    // IMDSv1 (no token), a wrong token, other paths and methods.
    assert_eq!(
        ask(&app, Transport::Imds, "GET", &path, &[LOCAL]).await.0,
        401
    );
    let wrong = [LOCAL, ("x-aws-ec2-metadata-token", "nope")];
    assert_eq!(
        ask(&app, Transport::Imds, "GET", &path, &wrong).await.0,
        401
    );
    assert_eq!(
        ask(
            &app,
            Transport::Imds,
            "GET",
            &format!("{list}other"),
            &with_token
        )
        .await
        .0,
        404
    );
    assert_eq!(
        ask(&app, Transport::Imds, "GET", "/", &with_token).await.0,
        404
    );
    assert_eq!(
        ask(&app, Transport::Imds, "POST", &path, &with_token)
            .await
            .0,
        405
    );
    assert_eq!(
        ask(
            &app,
            Transport::Imds,
            "GET",
            "/latest/api/token",
            &with_token
        )
        .await
        .0,
        405
    );
    // The IMDS port serves nothing else, and TCP serves no IMDS.
    assert_eq!(
        ask(
            &app,
            Transport::Tcp,
            "PUT",
            "/latest/api/token",
            &[LOCAL, TTL]
        )
        .await
        .0,
        405
    );
}

#[tokio::test]
async fn imds_tokens_need_a_good_ttl_and_no_proxy() {
    let app = app().await;
    let put = |headers: Vec<(&'static str, &'static str)>| {
        let app = &app;
        async move {
            ask(app, Transport::Imds, "PUT", "/latest/api/token", &headers)
                .await
                .0
        }
    };
    let ttl = "x-aws-ec2-metadata-token-ttl-seconds";
    assert_eq!(put(vec![LOCAL]).await, 400, "no TTL");
    for bad in ["0", "21601", "-1", "1.5", "", "abc", "99999999999"] {
        assert_eq!(put(vec![LOCAL, (ttl, bad)]).await, 400, "TTL {bad:?}");
    }
    assert_eq!(put(vec![LOCAL, (ttl, "1")]).await, 200);
    assert_eq!(put(vec![LOCAL, (ttl, "21600")]).await, 200);
    assert_eq!(
        put(vec![LOCAL, (ttl, "60"), ("x-forwarded-for", "10.0.0.1")]).await,
        403
    );
    assert_eq!(put(vec![("host", "evil.example"), (ttl, "60")]).await, 403);
}

/// `GET path` over `transport` as uid `peer`, from localhost.
async fn get_as(app: &App, transport: Transport, peer: u32, path: &str) -> (u16, String) {
    let req = Request::get(path)
        .header("host", "localhost:8094")
        .body(())
        .unwrap();
    let (status, _, body) = ask_as(app, transport, Some(peer), req).await;
    (status, body)
}

#[tokio::test]
async fn a_scopes_guest_uid_gets_that_scope_alone() {
    let mut app = app_serving(&[("a", None), ("b", None)], Some("b"), None).await;
    let mut table = (*app.registry.current()).clone();
    table.guests.insert("a".into(), [4242].into());
    app.registry = Registry::new(table);
    assert!(app.admits(4242) && !app.admits(4243));
    for transport in [Transport::Tcp, Transport::Unix] {
        assert_eq!(get_as(&app, transport, 4242, "/scope/a").await.0, 200);
        let (status, body) = get_as(&app, transport, 4242, "/scope/b").await;
        assert_eq!(
            (status, body.as_str()),
            (404, r#"{"error": "No such scope"}"#)
        );
        assert_eq!(get_as(&app, transport, 4242, "/").await.0, 404);
        assert_eq!(get_as(&app, transport, 4242, "/metrics").await.0, 403);
        let (status, health) = get_as(&app, transport, 4242, "/healthz").await;
        assert_eq!((status, health.as_str()), (200, r#"{"status": "ok"}"#));
        let me = nix::unistd::geteuid().as_raw();
        assert_eq!(get_as(&app, transport, me, "/scope/b").await.0, 200);
        assert!(get_as(&app, transport, me, "/healthz")
            .await
            .1
            .contains("\"scopes\""));
    }
}

#[tokio::test]
async fn healthz_without_the_token_is_the_status_alone() {
    let app = app_with(None, Some("0123456789abcdef")).await;
    let (status, health) = get(&app, "/healthz", &[LOCAL]).await;
    assert_eq!((status, health.as_str()), (200, r#"{"status": "ok"}"#));
    let token = ("authorization", "0123456789abcdef");
    let (_, health) = get(&app, "/healthz", &[LOCAL, token]).await;
    assert!(
        health.contains("\"expires_in\"") && health.contains("\"default\""),
        "{health}"
    );
    let (_, _, health) = ask(&app, Transport::Unix, "GET", "/healthz", &[]).await;
    assert!(health.contains("\"scopes\""), "{health}");
}

#[tokio::test]
async fn every_proxy_header_is_refused_on_every_transport_with_what_to_do() {
    let app = app().await;
    let mut names: Vec<&str> = PROXY_HEADERS.to_vec();
    names.extend(["x-forwarded-proto", "X-Forwarded-Port", "X-Real-IP"]);
    for name in names {
        for transport in [Transport::Tcp, Transport::Unix, Transport::Imds] {
            let (status, _, body) =
                ask(&app, transport, "GET", "/", &[LOCAL, (name, "10.0.0.1")]).await;
            assert_eq!(status, 403, "{name} over {transport}");
            assert!(body.contains("NO_PROXY=127.0.0.1,localhost,::1"), "{body}");
        }
    }
    assert!(!is_proxy_header("x-amz-date") && !is_proxy_header("user-agent"));
}

#[tokio::test]
async fn two_authorization_headers_are_refused_whichever_comes_first() {
    let app = app_with(None, Some("0123456789abcdef")).await;
    let right = ("authorization", "0123456789abcdef");
    let wrong = ("authorization", "wrong-wrong-wrong");
    for headers in [[LOCAL, right, wrong], [LOCAL, wrong, right]] {
        let (status, body) = get(&app, "/", &headers).await;
        assert_eq!(
            (status, body.as_str()),
            (400, r#"{"error": "More than one Authorization header"}"#)
        );
    }
    assert_eq!(get(&app, "/", &[LOCAL, right]).await.0, 200);
}
