//! The one credential the server holds, kept fresh.
//!
//! It owns three decisions: when to renew (`renew_margin` ahead of STS's
//! `Expiration`), that only one STS call is ever in flight (single flight,
//! failures included), and how to back off while STS fails. Each credential
//! is rendered to its response bodies once, so serving it is a pointer copy.

use crate::duration::SessionDuration;
use crate::sts::{Credential, Mint};
use crate::Error;
use bytes::Bytes;
use serde::Serialize;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::format_description::FormatItem;
use time::macros::format_description;
use time::OffsetDateTime;
use tokio::time::Instant;

/// Renewal starts this long before the margin is reached, so that even the
/// credential served while STS answers has the full margin left.
const RENEW_LEAD: Duration = Duration::from_secs(30);
const MIN_RENEW_INTERVAL: Duration = Duration::from_secs(1);
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// `min(duration / 2, 15 min)`: the least life a served credential has
/// while STS is healthy. botocore refreshes a credential with less than 15
/// minutes left, and blocks on one with less than 10.
pub fn renew_margin(duration: SessionDuration) -> Duration {
    (duration.as_duration() / 2).min(Duration::from_secs(15 * 60))
}

/// A credential ready to serve.
pub struct Held {
    /// The `GET /` body (credential_process format).
    pub process_json: Bytes,
    /// The `GET /ecs` body (container credentials format).
    pub ecs_json: Bytes,
    /// The credential's access key id (not secret), for logs.
    pub access_key_id: String,
    expires_at: Instant,
    renew_at: Instant,
}

// Hand-written: the bodies hold secrets.
impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("access_key_id", &self.access_key_id)
            .field("remaining", &self.remaining())
            .finish_non_exhaustive()
    }
}

impl Held {
    fn new(credential: &Credential, margin: Duration) -> Held {
        let now = Instant::now();
        let lifetime: Duration = (credential.expiration - OffsetDateTime::now_utc())
            .try_into()
            .unwrap_or_default();
        // A credential shorter than the margin (a fake STS, a clock far off)
        // must not make the renewer spin: give it a quarter of its life, and
        // never less than a second.
        let renew_in = lifetime
            .saturating_sub(margin + RENEW_LEAD)
            .max(lifetime / 4)
            .max(MIN_RENEW_INTERVAL);
        Held {
            process_json: render_process(credential),
            ecs_json: render_ecs(credential),
            access_key_id: credential.access_key_id.clone(),
            expires_at: now + lifetime,
            renew_at: now + renew_in,
        }
    }

    /// How long it stays valid.
    pub fn remaining(&self) -> Duration {
        self.expires_at.saturating_duration_since(Instant::now())
    }

    fn is_valid(&self) -> bool {
        Instant::now() < self.expires_at
    }
}

#[derive(Default)]
struct State {
    held: Option<Arc<Held>>,
    /// The last STS failure, cleared by the next success.
    error: Option<Arc<str>>,
    /// Counts finished STS calls, so single flight can tell a waiter that
    /// the call it queued behind has already answered.
    generation: u64,
}

impl State {
    fn valid(&self) -> Option<Arc<Held>> {
        self.held.clone().filter(|h| h.is_valid())
    }

    /// What a client gets: the valid credential, else why there is none.
    fn outcome(&self) -> Result<Arc<Held>, Arc<str>> {
        self.valid().ok_or_else(|| {
            self.error
                .clone()
                .unwrap_or_else(|| Arc::from("no valid credential"))
        })
    }

    /// How the last STS call went (the renewer must not take a failed
    /// renewal for a success just because the old credential still works).
    fn last_call(&self) -> Result<Arc<Held>, Arc<str>> {
        match &self.error {
            Some(error) => Err(error.clone()),
            None => self.outcome(),
        }
    }
}

/// One credential kept fresh from a `Mint`.
pub struct Cache {
    source: Box<dyn Mint>,
    duration: SessionDuration,
    state: RwLock<State>,
    minting: tokio::sync::Mutex<()>,
}

impl Cache {
    /// A cache that renews `renew_margin(duration)` ahead of expiry.
    pub fn new(source: Box<dyn Mint>, duration: SessionDuration) -> Arc<Cache> {
        Arc::new(Cache {
            source,
            duration,
            state: RwLock::default(),
            minting: tokio::sync::Mutex::new(()),
        })
    }

    /// The credential to serve, or why there is none (the last STS error).
    /// While a valid credential is held this never waits on STS; an expired
    /// one is renewed by the renewer, so callers only mint when nothing has
    /// been tried yet.
    pub async fn get(&self) -> Result<Arc<Held>, Arc<str>> {
        let generation = {
            let state = self.read();
            if let Some(held) = state.valid() {
                return Ok(held);
            }
            if let Some(error) = &state.error {
                return Err(error.clone());
            }
            state.generation
        };
        let minted = self.mint_after(generation).await;
        minted.or_else(|error| self.read().valid().ok_or(error))
    }

    /// The valid credential or the last error, without ever calling STS.
    pub fn status(&self) -> Result<Arc<Held>, Arc<str>> {
        self.read().outcome()
    }

    /// Mints the first credential; startup fails with STS's error.
    pub async fn prime(&self) -> Result<Arc<Held>, Error> {
        let generation = self.read().generation;
        self.mint_after(generation)
            .await
            .map_err(|e| Error::new(e.to_string()))
    }

    /// Keeps the credential fresh until the task is aborted.
    pub fn spawn_renewer(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cache = Arc::clone(self);
        tokio::spawn(async move { cache.renew_forever().await })
    }

    async fn renew_forever(&self) {
        let mut delay = BACKOFF_FIRST;
        loop {
            let (due, generation) = {
                let state = self.read();
                (state.held.as_ref().map(|h| h.renew_at), state.generation)
            };
            if let Some(due) = due {
                tokio::time::sleep_until(due).await;
            }
            match self.mint_after(generation).await {
                Ok(_) if delay > BACKOFF_FIRST => {
                    tracing::info!("STS recovered: credentials renewed");
                    delay = BACKOFF_FIRST;
                }
                Ok(_) => {}
                Err(error) => {
                    let wait = jitter(delay);
                    tracing::warn!(
                        "renewing credentials failed, retrying in {:.1}s: {error}",
                        wait.as_secs_f64()
                    );
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(BACKOFF_CAP);
                }
            }
        }
    }

    /// Single flight: mints unless an STS call finished after the caller
    /// read `generation`, in which case that call's result is shared.
    async fn mint_after(&self, generation: u64) -> Result<Arc<Held>, Arc<str>> {
        let _only_one = self.minting.lock().await;
        {
            let state = self.read();
            if state.generation != generation {
                return state.last_call();
            }
        }
        let minted = self.source.mint().await;
        let mut state = self.state.write().unwrap_or_else(|e| e.into_inner());
        state.generation += 1;
        match minted {
            Ok(credential) => {
                tracing::debug!(
                    access_key_id = %credential.access_key_id,
                    expiration = %format_expiration(credential.expiration),
                    "minted a credential"
                );
                let held = Arc::new(Held::new(&credential, renew_margin(self.duration)));
                self.warn_if_short(&held);
                state.held = Some(held.clone());
                state.error = None;
                Ok(held)
            }
            Err(error) => {
                let error: Arc<str> = Arc::from(error.to_string());
                state.error = Some(error.clone());
                Err(error)
            }
        }
    }

    /// STS's Expiration is the truth, but one far sooner than the session
    /// asked for usually means this machine's clock is off.
    fn warn_if_short(&self, held: &Held) {
        let asked = self.duration.as_duration();
        let lives = held.remaining();
        if lives < asked / 2 {
            tracing::warn!(
                "STS's credential expires in {}s though {}s were asked for: \
                 is this machine's clock right? Renewal follows STS's Expiration",
                lives.as_secs(),
                asked.as_secs()
            );
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-written
        // (every write is a few field stores), so poisoning is ignored.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Full jitter over the upper half: clients of one STS never retry in step.
fn jitter(delay: Duration) -> Duration {
    delay / 2 + delay.mul_f64(fastrand::f64() / 2.0)
}

/// `2025-12-16T12:00:00+00:00`, with `.ffffff` when STS gives sub-seconds:
/// what the original prints (Python's `isoformat()`).
pub fn format_expiration(at: OffsetDateTime) -> String {
    const WHOLE: &[FormatItem<'_>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]+00:00");
    const MICROS: &[FormatItem<'_>] = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]+00:00"
    );
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = if at.microsecond() == 0 { WHOLE } else { MICROS };
    at.format(format).expect("a UTC date formats")
}

/// `2025-12-16T12:00:00Z`: the container endpoint's format, which every SDK
/// parses (the Rust SDK refuses offsets there).
fn format_expiration_z(at: OffsetDateTime) -> String {
    const Z: &[FormatItem<'_>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(Z)
        .expect("a UTC date formats")
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessBody<'a> {
    version: u8,
    access_key_id: &'a str,
    secret_access_key: &'a str,
    session_token: &'a str,
    expiration: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct EcsBody<'a> {
    access_key_id: &'a str,
    secret_access_key: &'a str,
    token: &'a str,
    expiration: String,
}

fn render_process(c: &Credential) -> Bytes {
    let body = ProcessBody {
        version: 1,
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        session_token: &c.session_token,
        expiration: format_expiration(c.expiration),
    };
    Bytes::from(serde_json::to_vec_pretty(&body).expect("strings serialise"))
}

fn render_ecs(c: &Credential) -> Bytes {
    let body = EcsBody {
        access_key_id: &c.access_key_id,
        secret_access_key: &c.secret_access_key,
        token: &c.session_token,
        expiration: format_expiration_z(c.expiration),
    };
    Bytes::from(serde_json::to_vec_pretty(&body).expect("strings serialise"))
}

#[cfg(test)]
mod tests;
