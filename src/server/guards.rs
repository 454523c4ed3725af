//! Every header rule, for every transport, in one place: the headers only
//! a proxy adds (refused on every transport: nothing we serve sits behind
//! one), and on all but the uid-checked Unix socket the `Host` a request
//! names (DNS rebinding) and browsers. What a web page, a proxy or an SSRF
//! relay could send is refused here, before any route or token.

use super::respond::{error, Answer};
use super::Transport;
use hyper::header::{AUTHORIZATION, HOST, ORIGIN};
use hyper::{Method, Request, StatusCode};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Headers only a proxy, a CDN or a server-side request relay adds (from
/// RFC 7239, RFC 9110 and RFC 8586, and the docs of nginx, HAProxy,
/// Envoy, Squid, Varnish, Akamai, Cloudflare, Fastly, CloudFront and
/// Azure Front Door), besides every `X-Forwarded-*`. The one list.
pub(super) const PROXY_HEADERS: [&str; 22] = [
    "forwarded",
    "via",
    "x-real-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "cf-connecting-ipv6",
    "cf-ray",
    "fastly-client-ip",
    "x-client-ip",
    "x-cluster-client-ip",
    "client-ip",
    "x-originating-ip",
    "x-remote-ip",
    "x-remote-addr",
    "x-original-forwarded-for",
    "x-envoy-external-address",
    "x-azure-clientip",
    "x-azure-socketip",
    "x-appengine-user-ip",
    "fly-client-ip",
    "cdn-loop",
    "x-amz-cf-id",
];
/// What a proxied client is told: the usual cause is `HTTP_PROXY` set
/// without `NO_PROXY`.
pub(super) const PROXIED: &str =
    "Proxied requests are not allowed: set NO_PROXY=127.0.0.1,localhost,::1 \
     so your client connects directly";

/// Whether `name` (lower case, as `http` keeps it) is a header only a proxy adds.
pub(super) fn is_proxy_header(name: &str) -> bool {
    name.starts_with("x-forwarded-") || PROXY_HEADERS.contains(&name)
}

/// Which guard refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// A header only a proxy adds: 403.
    Proxied,
    /// More than one `Host`: 400.
    TwoHosts,
    /// More than one `Authorization`: 400 (which one a token check reads
    /// must never be a question).
    TwoTokens,
    /// A `Host` (or an absolute-form target) that does not name us: 403.
    Host,
    /// A browser's `Origin` or cross-site `Sec-Fetch-Site`: 403.
    Browser,
}

impl Refusal {
    /// The answer, with the reason metrics count it under.
    pub(super) fn answer(self) -> Answer {
        let (reason, status, why) = match self {
            Refusal::Proxied => ("proxy", StatusCode::FORBIDDEN, PROXIED),
            Refusal::TwoHosts => ("host", StatusCode::BAD_REQUEST, "More than one Host header"),
            Refusal::TwoTokens => (
                "token",
                StatusCode::BAD_REQUEST,
                "More than one Authorization header",
            ),
            Refusal::Host => ("host", StatusCode::FORBIDDEN, "Host not allowed"),
            Refusal::Browser => (
                "browser",
                StatusCode::FORBIDDEN,
                "Browser requests are not allowed",
            ),
        };
        Answer::refused(reason, error(status, why))
    }
}

/// The guards `transport` applies to `req`. `allowed_host` is the
/// `--host` value.
pub(super) fn check<B>(
    transport: Transport,
    req: &Request<B>,
    allowed_host: &str,
) -> Result<(), Refusal> {
    if req
        .headers()
        .keys()
        .any(|name| is_proxy_header(name.as_str()))
    {
        return Err(Refusal::Proxied);
    }
    match transport {
        // Its peer's uid was checked when it connected.
        Transport::Unix => Ok(()),
        Transport::Tcp | Transport::Imds | Transport::Container | Transport::Gateway => {
            host_and_browser(req, allowed_host)
        }
    }
}

/// A malformed or forged `Host` (DNS rebinding), and browsers.
fn host_and_browser<B>(req: &Request<B>, allowed_host: &str) -> Result<(), Refusal> {
    let headers = req.headers();
    let mut hosts = headers.get_all(HOST).iter();
    let host = hosts.next();
    if hosts.next().is_some() {
        return Err(Refusal::TwoHosts);
    }
    if headers.get_all(AUTHORIZATION).iter().nth(1).is_some() {
        return Err(Refusal::TwoTokens);
    }
    let allowed = |name: &[u8]| host_allowed(name, allowed_host);
    if host.is_some_and(|h| !allowed(h.as_bytes())) {
        return Err(Refusal::Host);
    }
    // An absolute-form target (`GET http://evil/ HTTP/1.1`) names a
    // host too; CONNECT's authority-form goes on to its 405.
    let target = req
        .uri()
        .authority()
        .filter(|_| req.method() != Method::CONNECT);
    if target.is_some_and(|a| !allowed(a.as_str().as_bytes())) {
        return Err(Refusal::Host);
    }
    let cross_site = headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() != b"none");
    if headers.contains_key(ORIGIN) || cross_site {
        return Err(Refusal::Browser);
    }
    Ok(())
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
