//! `s3-credentials verify`: proves, on your own backend, that a scope is
//! enforced. With the scope's own served credential (from the running
//! server, over its socket, checked as fetch checks it) it makes harmless
//! requests the scope must refuse and one it must allow, and reports each
//! as `refused as expected`, `allowed as expected`, or `ALLOWED: this
//! backend does not enforce the scope`. A backend that ignores session
//! policies (moto, some S3-compatible stores) is found out here.

mod probes;

use crate::body::parse_process_body;
use crate::fetch;
use crate::narrow::Narrowing;
use crate::policy::{Access, Grant};
use crate::{sts, Error};
use probes::{Outcome, Probe};
use serde::Deserialize;

/// What `verify` is asked to do, in plain types.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's socket, the scope, and a narrowing to ask for.
    pub fetch: fetch::Options,
    /// The same narrowing, to know what the credential should grant.
    pub narrowing: Narrowing,
    /// `--outside-bucket`: a bucket the scope must not reach.
    pub outside_bucket: Option<String>,
    /// `--outside-key`: an existing key outside the scope's prefix.
    pub outside_key: Option<String>,
    /// Where S3 is (else the environment's, the profile's, or AWS).
    pub endpoint_url: Option<String>,
    /// One JSON object instead of lines.
    pub json: bool,
}

/// The server's answer on `/about` or `/scope/NAME/about`.
#[derive(Deserialize)]
struct About {
    scope: String,
    buckets: Vec<String>,
    prefix: String,
    access: Access,
    /// The gateway's URL, for a scope served through it: its local
    /// credential is good nowhere else, so the probes go there.
    #[serde(default)]
    gateway: Option<String>,
    /// What signs behind the gateway: `sts` (two layers) or `keys`.
    #[serde(default)]
    upstream: Option<String>,
}

impl About {
    /// Who enforces the scope, in words, when the gateway does.
    fn layers(&self) -> Option<String> {
        let url = self.gateway.as_deref()?;
        Some(match self.upstream.as_deref() {
            Some("keys") => format!("by the gateway at {url} alone (upstream = \"keys\")"),
            // The probes reach the gateway alone: whether S3 enforces the
            // credential behind it is not shown by them.
            Some("sts") => format!(
                "by the gateway at {url}, which signs upstream with the scope's STS \
                 credential (whether S3 enforces that too is not probed here: verify a \
                 scope served directly)"
            ),
            _ => format!("by the gateway at {url}"),
        })
    }
}

/// One probe and what came of it.
struct Row {
    probe: Probe,
    outcome: Outcome,
    cleanup: Option<String>,
}

impl Row {
    fn as_expected(&self) -> bool {
        match self.probe.must_allow {
            true => self.outcome == Outcome::Allowed,
            false => self.outcome == Outcome::Refused,
        }
    }

    fn result(&self) -> String {
        match (&self.outcome, self.probe.must_allow) {
            (Outcome::Refused, false) => "refused as expected".into(),
            (Outcome::Allowed, true) => "allowed as expected".into(),
            (Outcome::Allowed, false) => "ALLOWED: this backend does not enforce the scope".into(),
            (Outcome::Refused, true) => "REFUSED: the scope should allow this".into(),
            (Outcome::Unproven(why), _) => format!("NOT PROVEN: {why}"),
            (Outcome::Failed(why), _) => format!("FAILED: {why}"),
        }
    }
}

/// Runs every probe; the report, and whether every one came out as it must.
pub async fn run(options: &Options) -> Result<(String, bool), Error> {
    let credential = fetch::ask_socket(&options.fetch, None, |body| {
        parse_process_body(body).map_err(|why| format!("its answer is not credentials: {why}"))
    })
    .await?;
    let route = crate::body::about_path(options.fetch.scope.as_deref());
    let about: About = fetch::ask_socket(&options.fetch, Some(route), |body| {
        serde_json::from_slice(body).map_err(|_| "its answer is not a scope's".to_owned())
    })
    .await?;
    let mut grant = Grant {
        buckets: about.buckets.clone(),
        access: about.access,
        prefix: about.prefix.clone(),
        statements: vec![],
    };
    if !options.narrowing.is_empty() {
        grant = options
            .narrowing
            .apply(&grant)
            .map_err(|why| Error::new(why.to_string()))?;
    }
    let outside = probes::Outside {
        bucket: options.outside_bucket.as_deref(),
        key: options.outside_key.as_deref(),
    };
    outside.check(&grant)?;
    let endpoint = about.gateway.clone().or(options.endpoint_url.clone());
    let s3 = sts::s3_client_for(&credential, endpoint).await?;
    let (_, tag) = crate::token::random()?;
    let mut rows = Vec::new();
    for probe in probes::plan(&grant, &outside, &tag[..12]) {
        let (outcome, cleanup) = probes::send(&s3, &probe.request).await;
        rows.push(Row {
            probe,
            outcome,
            cleanup,
        });
    }
    // Nothing refused proves nothing: a read-write scope on whole buckets
    // needs --outside-bucket to have anything it must refuse.
    let mut must_refuse = rows.iter().filter(|r| !r.probe.must_allow).peekable();
    let something = must_refuse.peek().is_some();
    let enforced = something && must_refuse.all(|r| r.outcome == Outcome::Refused);
    let ok = something && rows.iter().all(Row::as_expected);
    let text = match options.json {
        true => json(&about, &rows, ok, enforced),
        false => lines(&about, &rows, enforced),
    };
    Ok((text, ok))
}

fn lines(about: &About, rows: &[Row], enforced: bool) -> String {
    let scope = &about.scope;
    let mut out = String::new();
    for row in rows {
        let cleanup = row
            .cleanup
            .as_deref()
            .map_or(String::new(), |c| format!("; {c}"));
        out.push_str(&format!(
            "{}  {} ({}{cleanup})\n",
            row.result(),
            row.probe.request,
            row.probe.name
        ));
    }
    let allowed = rows
        .iter()
        .any(|r| !r.probe.must_allow && r.outcome == Outcome::Allowed);
    if rows.iter().all(|r| r.probe.must_allow) {
        out.push_str(&format!(
            "scope {scope} could not be verified: it may do everything in its buckets, so \
             nothing there must be refused: name a bucket outside it with --outside-bucket B\n"
        ));
        return out;
    }
    out.push_str(&match (enforced, allowed) {
        (true, _) => match about.layers() {
            Some(layers) => format!(
                "scope {scope} is enforced here, {layers}: every request it must refuse was \
                 refused\n"
            ),
            None => format!(
                "scope {scope} is enforced here: every request it must refuse was refused\n"
            ),
        },
        (false, true) => format!(
            "scope {scope} is NOT enforced by this backend: it allowed what the session policy \
             refuses; do not rely on it to hold a credential to its scope\n"
        ),
        (false, false) => {
            format!("scope {scope} could not be verified: see the NOT PROVEN and FAILED lines\n")
        }
    });
    out
}

/// `{"ok", "enforced", "scope", "probes": [{"probe", "request", "expected",
/// "outcome", "result", "cleanup"}]}`, and `gateway` and `upstream` for a
/// scope served through the gateway: the stable keys docs/SECURITY.md
/// documents.
fn json(about: &About, rows: &[Row], ok: bool, enforced: bool) -> String {
    let probes: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let outcome = match r.outcome {
                Outcome::Allowed => "allowed",
                Outcome::Refused => "refused",
                Outcome::Unproven(_) => "unproven",
                Outcome::Failed(_) => "failed",
            };
            serde_json::json!({
                "probe": r.probe.name,
                "request": r.probe.request.to_string(),
                "expected": if r.probe.must_allow { "allowed" } else { "refused" },
                "outcome": outcome,
                "result": r.result(),
                "cleanup": r.cleanup,
            })
        })
        .collect();
    let mut out = serde_json::json!({
        "ok": ok, "enforced": enforced, "scope": about.scope, "probes": probes
    });
    if let Some(url) = &about.gateway {
        out["gateway"] = url.clone().into();
        out["upstream"] = about.upstream.clone().into();
    }
    out.to_string() + "\n"
}
