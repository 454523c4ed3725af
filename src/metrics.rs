//! What a service owner watches, for `GET /metrics` in Prometheus's text
//! format: requests, STS calls and their latency, each
//! scope's time to expiry, dropped log lines, refused connections.
//!
//! Counting is a few atomic adds on paths that already do far more; one
//! process-wide set, as a server has one of each. Built on
//! `prometheus-client`, the Prometheus project's own Rust client: typed
//! label sets, no global registry of its own, and its text encoder.
//! `S3C_METRICS=off` skips the counting (for `scripts/bench` to measure
//! what it costs).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::OnceLock;
use std::time::Duration;

/// `Content-Type` of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    transport: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StsLabels {
    scope: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusalLabels {
    transport: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GatewayLabels {
    scope: String,
    operation: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NarrowLabels {
    scope: String,
    event: &'static str,
}

/// Every series, and the registry that encodes them.
struct Metrics {
    enabled: bool,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    sts_calls: Family<StsLabels, Counter>,
    sts_seconds: Histogram,
    renewals: Family<ScopeLabels, Counter>,
    expiry: Family<ScopeLabels, Gauge>,
    dropped: Counter,
    refused: Family<TransportLabels, Counter>,
    refusals: Family<RefusalLabels, Counter>,
    narrowed: Family<NarrowLabels, Counter>,
    gateway: Family<GatewayLabels, Counter>,
}

/// The process's one set of series, made on first use.
fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let mut m = Metrics {
            enabled: std::env::var("S3C_METRICS").map_or(true, |v| v != "off"),
            registry: Registry::with_prefix("s3_credentials"),
            requests: Family::default(),
            sts_calls: Family::default(),
            // 10 ms .. about 20 s.
            sts_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
            renewals: Family::default(),
            expiry: Family::default(),
            dropped: Counter::default(),
            refused: Family::default(),
            refusals: Family::default(),
            narrowed: Family::default(),
            gateway: Family::default(),
        };
        m.register();
        m
    })
}

impl Metrics {
    /// Names each series, with its help text, in the registry.
    fn register(&mut self) {
        let registry = &mut self.registry;
        registry.register("requests", "Requests answered", self.requests.clone());
        registry.register("sts_calls", "AssumeRole calls", self.sts_calls.clone());
        registry.register(
            "sts_call_seconds",
            "How long AssumeRole calls took",
            self.sts_seconds.clone(),
        );
        registry.register(
            "renewals",
            "Credentials renewed (every minted one but each scope's first)",
            self.renewals.clone(),
        );
        registry.register(
            "credential_expiry_seconds",
            "Seconds until each scope's credential expires (0: none held)",
            self.expiry.clone(),
        );
        registry.register(
            "log_lines_dropped",
            "Log lines dropped because stderr was not read",
            self.dropped.clone(),
        );
        registry.register(
            "connections_refused",
            "Connections refused: over budget, or another user's",
            self.refused.clone(),
        );
        registry.register(
            "refused",
            "Connections and requests refused, by why: uid (another user's), \
             busy (over budget), host, browser, proxy, token, scope (a uid asking \
             for a scope not its own)",
            self.refusals.clone(),
        );
        registry.register(
            "narrowed",
            "Narrowed credentials, by event: mint (a new one), hit (from its cache \
             entry), evict (the least recently used dropped), limited (429)",
            self.narrowed.clone(),
        );
        registry.register(
            "gateway_calls",
            "S3 calls through the gateway, by scope, operation and outcome: ok \
             (2xx or 3xx from upstream), error (upstream said no, or failed), \
             refused (the gateway said no; why is in refused{transport=gateway})",
            self.gateway.clone(),
        );
    }
}

/// The series, while counting is on.
fn counting() -> Option<&'static Metrics> {
    Some(metrics()).filter(|m| m.enabled)
}

/// One request answered: its route's template (`/scope/{name}`), the
/// transport, the status.
pub fn request(route: &'static str, transport: &'static str, status: u16) {
    if let Some(m) = counting() {
        let labels = RequestLabels {
            route,
            transport,
            status,
        };
        m.requests.get_or_create(&labels).inc();
    }
}

/// One AssumeRole call for `scope`, how long it took, and whether it
/// renewed a credential (a success after the scope's first).
pub fn sts_call(scope: &str, ok: bool, renewal: bool, took: Duration) {
    if let Some(m) = counting() {
        if renewal {
            let labels = ScopeLabels {
                scope: scope.to_owned(),
            };
            m.renewals.get_or_create(&labels).inc();
        }
        let result = if ok { "ok" } else { "error" };
        let labels = StsLabels {
            scope: scope.to_owned(),
            result,
        };
        m.sts_calls.get_or_create(&labels).inc();
        m.sts_seconds.observe(took.as_secs_f64());
    }
}

/// One connection refused on `transport`, for `reason` (`uid`, `busy`):
/// counted in `s3_credentials_connections_refused_total` and in
/// `s3_credentials_refused_total`.
pub fn connection_refused(transport: &'static str, reason: &'static str) {
    if let Some(m) = counting() {
        let labels = TransportLabels { transport };
        m.refused.get_or_create(&labels).inc();
    }
    request_refused(transport, reason);
}

/// One request refused on `transport`, for `reason` (see
/// `s3_credentials_refused_total`'s help); a refused connection counts
/// here too, through `connection_refused`.
pub fn request_refused(transport: &'static str, reason: &'static str) {
    if let Some(m) = counting() {
        let labels = RefusalLabels { transport, reason };
        m.refusals.get_or_create(&labels).inc();
    }
}

/// One narrowed-credential event of `scope`: `mint`, `hit`, `evict` or
/// `limited`.
pub fn narrowed(scope: &str, event: &'static str) {
    if let Some(m) = counting() {
        let labels = NarrowLabels {
            scope: scope.to_owned(),
            event,
        };
        m.narrowed.get_or_create(&labels).inc();
    }
}

/// One S3 call through the gateway: its scope (`-` when none was known),
/// operation (s3s's name, `-` when none) and outcome (`ok`, `error`,
/// `refused`).
pub fn gateway_call(scope: &str, operation: &'static str, outcome: &'static str) {
    if let Some(m) = counting() {
        let labels = GatewayLabels {
            scope: scope.to_owned(),
            operation,
            outcome,
        };
        m.gateway.get_or_create(&labels).inc();
    }
}

/// The text format, with each scope's time to expiry (`expiries`) and the
/// dropped log lines read now.
pub fn render(expiries: impl IntoIterator<Item = (String, Option<Duration>)>) -> String {
    let m = metrics();
    m.expiry.clear(); // a scope dropped by a reload goes too
    for (scope, left) in expiries {
        let secs = left.map_or(0, |d| d.as_secs() as i64);
        m.expiry.get_or_create(&ScopeLabels { scope }).set(secs);
    }
    let dropped = crate::log::dropped_total();
    m.dropped.inc_by(dropped.saturating_sub(m.dropped.get()));
    let mut out = String::new();
    // The 0.0.4 text format: OpenMetrics without its `# EOF`.
    let _ = prometheus_client::encoding::text::encode_registry(&mut out, &m.registry);
    out
}
