//! The one credential the server holds, kept fresh.
//!
//! It owns three decisions: when to renew (`renew_margin` ahead of STS's
//! `Expiration`), that only one STS call is ever in flight (single flight,
//! failures included), and how to back off while STS fails. Each credential
//! is rendered to its response bodies once, so serving it is a pointer copy.
//!
//! Validity is decided against the wall clock ([`Clock`]), never a monotonic
//! one: a monotonic clock stops while a laptop sleeps, and STS's
//! `Expiration` does not. The monotonic clock only paces sleeps, in slices
//! of at most `wake_every()`, so a resume or a clock jump is seen within one.

use crate::body::format_expiration;
use crate::credential::{Credential, Mint};
use crate::duration::SessionDuration;
use crate::Error;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::watch;

mod held;
mod renewer;

use held::to_std;
pub use held::Held;
pub use renewer::Renewer;

/// Renewal starts this long before the margin is reached, so that even the
/// credential served while STS answers has the full margin left.
const RENEW_LEAD: Duration = Duration::from_secs(30);
/// The share of a credential's renewal time by which renewal is moved
/// earlier at random.
const RENEW_SPREAD: f64 = 0.2;
const MIN_RENEW_INTERVAL: Duration = Duration::from_secs(1);
const BACKOFF_FIRST: Duration = Duration::from_secs(1);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// The renewer looks at the wall clock at least this often: after a
/// suspend or a forward jump it renews within this (plus one STS call).
/// 20 s; `S3C_WAKE_EVERY=SECONDS` sets it (a test that watches a clock
/// jump need not wait a minute).
fn wake_every() -> Duration {
    static SET: std::sync::OnceLock<Duration> = std::sync::OnceLock::new();
    *SET.get_or_init(|| {
        std::env::var("S3C_WAKE_EVERY")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|secs| *secs >= 1)
            .map_or(Duration::from_secs(20), Duration::from_secs)
    })
}
/// The longest a request waits on STS; then it is answered without it (the
/// held credential while valid, else 503), and the call goes on for others.
const REQUEST_WAIT: Duration = Duration::from_millis(800);

/// `min(duration / 2, 15 min)`: the least life a served credential has
/// while STS is healthy. botocore refreshes a credential with less than 15
/// minutes left, and blocks on one with less than 10.
pub(crate) fn renew_margin(duration: SessionDuration) -> Duration {
    (duration.as_duration() / 2).min(Duration::from_secs(15 * 60))
}

/// Where "now" comes from: the system's wall clock, or a fake in tests.
pub trait Clock: Send + Sync + 'static {
    /// The current wall-clock time.
    fn now(&self) -> OffsetDateTime;
}

/// The system's wall clock (`CLOCK_REALTIME`), which counts suspend.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

#[derive(Default)]
struct State {
    held: Option<Arc<Held>>,
    /// The last STS failure, cleared by the next success.
    error: Option<Error>,
    /// Counts finished STS calls, so a waiter can tell which call's result
    /// it is reading.
    generation: u64,
    /// An STS call is in flight (single flight).
    minting: bool,
}

impl State {
    fn valid(&self, now: OffsetDateTime) -> Option<Arc<Held>> {
        self.held.clone().filter(|h| h.is_valid(now))
    }

    /// What a client gets: the valid credential, else why there is none.
    fn outcome(&self, now: OffsetDateTime) -> Result<Arc<Held>, Error> {
        self.valid(now).ok_or_else(|| {
            self.error
                .clone()
                .unwrap_or_else(|| Error::new("no valid credential"))
        })
    }

    /// How the last STS call went (the renewer must not take a failed
    /// renewal for a success just because the old credential still works).
    /// A success is what STS just gave, even if this machine's clock calls
    /// it expired already: STS's clock decides, and nothing newer exists.
    fn last_call(&self) -> Result<Arc<Held>, Error> {
        match (&self.error, &self.held) {
            (Some(error), _) => Err(error.clone()),
            (None, Some(held)) => Ok(held.clone()),
            (None, None) => Err(Error::new("no valid credential")),
        }
    }
}

/// One credential kept fresh from a `Mint`.
pub struct Cache {
    source: Box<dyn Mint>,
    duration: SessionDuration,
    clock: Arc<dyn Clock>,
    state: RwLock<State>,
    /// The generation of the last finished STS call.
    finished: watch::Sender<u64>,
    /// Renewed only while used (a narrowed credential): the renewer stops
    /// at a renewal due when no request came since the last credential.
    on_demand: bool,
    /// A request came since the renewer last looked.
    used: std::sync::atomic::AtomicBool,
}

impl Cache {
    /// A cache that renews `renew_margin(duration)` ahead of expiry.
    pub fn new(source: Box<dyn Mint>, duration: SessionDuration) -> Arc<Cache> {
        Cache::with_clock(source, duration, Arc::new(SystemClock))
    }

    /// The same, reading "now" from `clock`.
    pub fn with_clock(
        source: Box<dyn Mint>,
        duration: SessionDuration,
        clock: Arc<dyn Clock>,
    ) -> Arc<Cache> {
        Cache::made(source, duration, clock, false)
    }

    fn made(
        source: Box<dyn Mint>,
        duration: SessionDuration,
        clock: Arc<dyn Clock>,
        on_demand: bool,
    ) -> Arc<Cache> {
        Arc::new(Cache {
            source,
            duration,
            clock,
            state: RwLock::default(),
            finished: watch::Sender::new(0),
            on_demand,
            used: Default::default(),
        })
    }

    /// A cache renewed only while used: its renewer stops when a renewal
    /// falls due and nobody asked since the last credential (a narrowed
    /// credential nobody needs is not renewed).
    pub fn on_demand(source: Box<dyn Mint>, duration: SessionDuration) -> Arc<Cache> {
        Cache::made(source, duration, Arc::new(SystemClock), true)
    }

    /// How long each credential lives.
    pub fn duration(&self) -> SessionDuration {
        self.duration
    }

    /// A source for a narrowing of this cache's credential: the same role,
    /// `policy` and `session_name` (None: the source cannot narrow).
    pub fn narrowed_source(&self, ask: crate::credential::Ask<'_>) -> Option<Box<dyn Mint>> {
        self.source.narrowed(ask)
    }

    /// The credential to serve, or why there is none (the last STS error).
    ///
    /// A valid credential with at least the margin left is served at once.
    /// One that is expired or stale (a suspend, a clock jump) is renewed on
    /// the spot, single flight, but a request waits at most `REQUEST_WAIT`
    /// for that; while STS is failing, requests never call it (the renewer
    /// retries) and the held credential is served as long as it is valid.
    pub async fn get(self: &Arc<Self>) -> Result<Arc<Held>, Error> {
        // Written only when it changes: every request reads this line.
        if !self.used.load(std::sync::atomic::Ordering::Relaxed) {
            self.used.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        self.get_unused().await
    }

    /// The same, not counted as a use: a cache renewed only while used
    /// (`on_demand`) is not renewed ahead for this call alone.
    async fn get_unused(self: &Arc<Self>) -> Result<Arc<Held>, Error> {
        let now = self.clock.now();
        let (held, generation) = {
            let state = self.read();
            let held = state.valid(now);
            match (&held, &state.error) {
                (Some(h), _) if !h.is_stale(now) => return Ok(h.clone()),
                (Some(h), Some(_)) => return Ok(h.clone()),
                (None, Some(error)) => return Err(error.clone()),
                _ => {}
            }
            (held, state.generation)
        };
        let renewed = tokio::time::timeout(REQUEST_WAIT, self.renew_after(generation)).await;
        let held = held.filter(|h| h.is_valid(self.clock.now()));
        match renewed {
            Ok(Ok(fresh)) => Ok(fresh),
            Ok(Err(error)) => held.ok_or(error),
            Err(_) => held.ok_or_else(|| Error::new("STS has not answered yet")),
        }
    }

    /// `get`, not counted as a use (see `get_unused`), but where no valid credential is
    /// held and the last STS call failed, one new call (single flight)
    /// rather than that failure: for an on-demand cache readied again after
    /// its renewer stopped, which nothing else would retry.
    pub async fn get_retrying(self: &Arc<Self>) -> Result<Arc<Held>, Error> {
        let (failed, generation) = {
            let state = self.read();
            let failed = state.valid(self.clock.now()).is_none() && state.error.is_some();
            (failed, state.generation)
        };
        match failed {
            true => self.renew_after(generation).await,
            false => self.get_unused().await,
        }
    }

    /// How long the held credential stays valid, or why there is none,
    /// without ever calling STS.
    pub fn expires_in(&self) -> Result<Duration, Error> {
        let now = self.clock.now();
        self.read().outcome(now).map(|held| held.expires_in(now))
    }

    /// Whether the held credential is due for renewal (its renewal time
    /// has come), without calling STS.
    pub fn due(&self) -> bool {
        let now = self.clock.now();
        self.read().held.as_ref().is_some_and(|h| h.renew_at <= now)
    }

    /// Mints the first credential; startup fails with STS's error.
    pub async fn prime(self: &Arc<Self>) -> Result<Arc<Held>, Error> {
        let generation = self.read().generation;
        self.renew_after(generation).await
    }

    /// Keeps the credential fresh until the task is aborted.
    pub fn spawn_renewer(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let cache = Arc::clone(self);
        tokio::spawn(async move { cache.renew_forever().await })
    }

    async fn renew_forever(self: Arc<Self>) {
        let mut delay = BACKOFF_FIRST;
        loop {
            let (renew_at, generation) = {
                let state = self.read();
                (state.held.as_ref().map(|h| h.renew_at), state.generation)
            };
            // Sleep in slices, re-reading the wall clock after each: the
            // monotonic sleep does not count a suspend.
            if let Some(renew_at) = renew_at {
                let due_in = to_std(renew_at - self.clock.now());
                if !due_in.is_zero() {
                    tokio::time::sleep(due_in.min(wake_every())).await;
                    continue;
                }
                let asked = self.used.swap(false, std::sync::atomic::Ordering::Relaxed);
                if self.on_demand && !asked {
                    return; // nobody needs it: not renewed
                }
            }
            match self.renew_after(generation).await {
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
                    crate::error::debug_chain("renewing credentials failed", &error);
                    tokio::time::sleep(wait).await;
                    delay = (delay * 2).min(BACKOFF_CAP);
                }
            }
        }
    }

    /// The result of the first STS call that finishes after `generation`,
    /// starting one unless one is in flight (single flight).
    async fn renew_after(self: &Arc<Self>, generation: u64) -> Result<Arc<Held>, Error> {
        let mut finished = self.finished.subscribe();
        self.start_mint(generation);
        // The sender lives as long as `self`: this only ends by a change.
        let _ = finished.wait_for(|done| *done > generation).await;
        self.read().last_call()
    }

    /// Spawns one STS call, unless one is in flight or one has finished
    /// since `generation`. Its own task: a client that stops waiting does
    /// not cancel the call that others wait on.
    fn start_mint(self: &Arc<Self>, generation: u64) {
        {
            let mut state = self.write();
            if state.minting || state.generation > generation {
                return;
            }
            state.minting = true;
        }
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            let mut call = Unfinished(Some(&cache));
            let minted = cache.source.mint().await;
            call.finish(minted);
        });
    }

    /// Records an STS call's result and wakes everyone waiting on it.
    fn record(&self, minted: Result<Credential, Error>) {
        let now = self.clock.now();
        let mut state = self.write();
        state.minting = false;
        state.generation += 1;
        match minted {
            Ok(credential) => {
                tracing::debug!(
                    access_key_id = %credential.access_key_id,
                    expiration = %format_expiration(credential.expiration),
                    "minted a credential"
                );
                let held = Held::new(&credential, renew_margin(self.duration), now);
                if self.source.lives_as_asked() {
                    held.warn_if_short(self.duration.as_duration(), now);
                }
                state.held = Some(Arc::new(held));
                state.error = None;
            }
            Err(error) => state.error = Some(error),
        }
        self.finished.send_replace(state.generation);
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave State half-written
        // (every write is a few field stores), so poisoning is ignored.
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// An STS call in flight: if it never finishes (its task is dropped or
/// panics), its waiters still get an answer and the next call can start.
struct Unfinished<'a>(Option<&'a Cache>);

impl Unfinished<'_> {
    fn finish(&mut self, minted: Result<Credential, Error>) {
        if let Some(cache) = self.0.take() {
            cache.record(minted);
        }
    }
}

impl Drop for Unfinished<'_> {
    fn drop(&mut self) {
        self.finish(Err(Error::new("the STS call was cancelled")));
    }
}

/// Full jitter over the upper half: clients of one STS never retry in step.
fn jitter(delay: Duration) -> Duration {
    delay / 2 + delay.mul_f64(fastrand::f64() / 2.0)
}

#[cfg(test)]
mod tests;
