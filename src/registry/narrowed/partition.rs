//! One share of a scope's narrowed entries: at most `MAX_ENTRIES` (the
//! least recently used goes) and its own token bucket of new mints.

use super::{NarrowFailure, MAX_ENTRIES, MINTS_PER_SECOND, MINT_BURST};
use crate::cache::{Cache, Renewer};
use crate::credential::Caller;
use crate::credential::Mint;
use crate::duration::SessionDuration;
use crate::narrow::Tuple;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::time::Instant;

/// A share's entries and its budget of new mints. A hit takes the read
/// lock only; a miss, the write lock and then the budget's lock.
pub(super) struct Partition {
    entries: RwLock<Vec<Entry>>,
    /// Counts uses, to find the least recently used entry.
    clock: AtomicU64,
    budget: Mutex<Budget>,
}

/// The token bucket of new mints.
struct Budget {
    tokens: f64,
    refilled: Instant,
}

/// What one entry is for: the narrowed grant, and the caller when the
/// scope attributes each caller.
pub(super) type Key = (Tuple, Option<Caller>);

struct Entry {
    /// What the narrowed grant reaches, and for whom: one entry per key.
    key: Key,
    /// Its `RoleSessionName`, for the access line.
    session: String,
    cache: Arc<Cache>,
    renewer: Renewer,
    used: AtomicU64,
}

impl Default for Partition {
    fn default() -> Partition {
        Partition {
            entries: RwLock::default(),
            clock: AtomicU64::new(0),
            budget: Mutex::new(Budget {
                tokens: MINT_BURST,
                refilled: Instant::now(),
            }),
        }
    }
}

impl Partition {
    /// The held entry for `tuple`, marked used, its renewer started again
    /// if it stopped (an idle spell).
    pub(super) fn held(&self, key: &Key) -> Option<(Arc<Cache>, String)> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.iter().find(|e| e.key == *key)?;
        entry.used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        entry.renewer.keep_going(&entry.cache);
        Some((entry.cache.clone(), entry.session.clone()))
    }

    /// A new entry for `tuple`, minting from `source` (true: made now;
    /// false: another request made it meanwhile), within the budget: the
    /// one step that spends a mint, so it comes after every check that
    /// can refuse. `scope` names the metrics.
    pub(super) fn made(
        &self,
        scope: &str,
        (key, session): (Key, String),
        source: Box<dyn Mint>,
        duration: SessionDuration,
    ) -> Result<(Arc<Cache>, bool), NarrowFailure> {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.iter().find(|e| e.key == key) {
            return Ok((entry.cache.clone(), false));
        }
        let spent = self.budget.lock().unwrap_or_else(|e| e.into_inner()).take();
        spent.map_err(|wait| {
            crate::metrics::narrowed(scope, "limited");
            NarrowFailure::Limited(wait)
        })?;
        let cache = Cache::on_demand(source, duration);
        if entries.len() >= MAX_ENTRIES {
            let oldest =
                (0..entries.len()).min_by_key(|&i| entries[i].used.load(Ordering::Relaxed));
            if let Some(oldest) = oldest {
                entries.swap_remove(oldest);
                crate::metrics::narrowed(scope, "evict");
            }
        }
        entries.push(Entry {
            key,
            session,
            renewer: Renewer::start(&cache),
            cache: cache.clone(),
            used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
        });
        Ok((cache, true))
    }

    /// Marks the entry whose session is `session` used, if it is here: a
    /// caller's calls through the gateway count, so the entry let go is
    /// the one least recently used, not the one least recently fetched.
    pub(super) fn touch(&self, session: &str) -> bool {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let Some(entry) = entries.iter().find(|e| e.session == session) else {
            return false;
        };
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        entry.used.store(now, Ordering::Relaxed);
        true
    }

    /// Drops `key`'s entry if it is still `cache`: one whose first mint
    /// failed, so that nothing retries it for a caller that asked once (a
    /// new request makes a new entry, within the budget).
    pub(super) fn forget(&self, key: &Key, cache: &Arc<Cache>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.retain(|e| !(e.key == *key && Arc::ptr_eq(&e.cache, cache)));
    }

    /// How many entries, and the soonest expiry among them.
    pub(super) fn summary(&self) -> (usize, Option<Duration>) {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let soonest = (entries.iter())
            .filter_map(|e| e.cache.expires_in().ok())
            .min();
        (entries.len(), soonest)
    }
}

impl Budget {
    /// One new mint from the bucket, or how long until there is one.
    fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        let earned = now.duration_since(self.refilled).as_secs_f64() * MINTS_PER_SECOND;
        self.tokens = (self.tokens + earned).min(MINT_BURST);
        self.refilled = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64(
            (1.0 - self.tokens) / MINTS_PER_SECOND,
        ))
    }
}
