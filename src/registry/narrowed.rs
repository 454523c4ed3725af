//! One scope's narrowed credentials: a cache per narrowed grant (single
//! flight and renew-ahead, as a scope's own), kept while it is used. The
//! entries are bounded (the least recently used goes), an entry nobody
//! asked for since its last credential is not renewed, and new mints are
//! bounded per second (a token bucket), so no local client can make the
//! server hammer STS.

use crate::cache::{Cache, Held};
use crate::narrow::{Narrowing, Refused, Tuple};
use crate::policy::{Grant, MAX_POLICY_CHARS};
use crate::Error;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Narrowed entries one scope holds at most.
pub(super) const MAX_ENTRIES: usize = 64;
/// New narrowed mints a scope may make at once, after a quiet spell.
const MINT_BURST: f64 = 10.0;
/// New narrowed mints per second a scope may make, sustained.
const MINTS_PER_SECOND: f64 = 2.0;

/// Why a narrowed credential was not given.
#[derive(Debug, Clone)]
pub enum NarrowFailure {
    /// This scope cannot be narrowed (a test's fake, say).
    Unsupported,
    /// The request would widen the scope, or is malformed.
    Refused(Refused),
    /// Too many new narrowings just now: ask again after this long.
    Limited(Duration),
    /// STS did not give one.
    Unavailable(Error),
}

/// A scope's narrowed entries and its budget of new mints. A hit takes
/// the read lock only; a miss, the budget's lock and then the write lock.
pub(super) struct Narrowed {
    scope: String,
    grant: Grant,
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

struct Entry {
    /// What the narrowed grant reaches: one entry per tuple.
    tuple: Tuple,
    cache: Arc<Cache>,
    renewer: Mutex<JoinHandle<()>>,
    used: AtomicU64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.renewer
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .abort();
    }
}

impl Narrowed {
    /// The scope's own grant.
    pub(super) fn grant(&self) -> &Grant {
        &self.grant
    }

    pub(super) fn new(scope: &str, grant: Grant) -> Narrowed {
        Narrowed {
            scope: scope.to_owned(),
            grant,
            entries: RwLock::default(),
            clock: AtomicU64::new(0),
            budget: Mutex::new(Budget {
                tokens: MINT_BURST,
                refilled: Instant::now(),
            }),
        }
    }

    /// The credential for `asked`: refused before any STS call when it
    /// would widen, from its entry when there is one, else minted anew
    /// (within the budget) from `scope`'s source.
    pub(super) async fn get(
        &self,
        scope: &Arc<Cache>,
        asked: &Narrowing,
    ) -> Result<Arc<Held>, NarrowFailure> {
        let tuple = asked.narrow(&self.grant).map_err(NarrowFailure::Refused)?;
        let (cache, fresh) = match self.held(&tuple) {
            Some(cache) => (cache, false),
            None => self.made(scope, tuple)?,
        };
        crate::metrics::narrowed(&self.scope, if fresh { "mint" } else { "hit" });
        let held = match fresh {
            true => cache.prime().await,
            false => cache.get().await,
        };
        held.map_err(NarrowFailure::Unavailable)
    }

    /// The held entry for `tuple`, marked used, its renewer started again
    /// if it stopped (an idle spell).
    fn held(&self, tuple: &Tuple) -> Option<Arc<Cache>> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        let entry = entries.iter().find(|e| e.tuple == *tuple)?;
        entry.used.store(
            self.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let mut renewer = entry.renewer.lock().unwrap_or_else(|e| e.into_inner());
        if renewer.is_finished() {
            *renewer = entry.cache.spawn_renewer();
        }
        Some(entry.cache.clone())
    }

    /// A new entry for `tuple` (true: made now; false: another request
    /// made it meanwhile), within the budget. Its policy is built only
    /// here, and must fit STS's size; a mint is spent only after every
    /// check that can refuse.
    fn made(&self, scope: &Arc<Cache>, tuple: Tuple) -> Result<(Arc<Cache>, bool), NarrowFailure> {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = entries.iter().find(|e| e.tuple == tuple) {
            return Ok((entry.cache.clone(), false));
        }
        let policy = tuple.clone().grant(&self.grant.statements).policy_compact();
        if policy.len() > MAX_POLICY_CHARS {
            let why = format!(
                "the narrowed policy would be {} characters, over STS's limit of \
                 {MAX_POLICY_CHARS}: ask for a shorter prefix",
                policy.len()
            );
            return Err(NarrowFailure::Refused(Refused::Malformed(why)));
        }
        let session = crate::narrow::session_name(&self.scope, &policy);
        let source = (scope.narrowed_source(policy, session)).ok_or(NarrowFailure::Unsupported)?;
        // Last: every refusal above spends no mint.
        let spent = self.budget.lock().unwrap_or_else(|e| e.into_inner()).take();
        spent.map_err(|wait| {
            crate::metrics::narrowed(&self.scope, "limited");
            NarrowFailure::Limited(wait)
        })?;
        let cache = Cache::on_demand(source, scope.duration());
        if entries.len() >= MAX_ENTRIES {
            let oldest =
                (0..entries.len()).min_by_key(|&i| entries[i].used.load(Ordering::Relaxed));
            if let Some(oldest) = oldest {
                entries.swap_remove(oldest);
                crate::metrics::narrowed(&self.scope, "evict");
            }
        }
        entries.push(Entry {
            tuple,
            renewer: Mutex::new(cache.spawn_renewer()),
            cache: cache.clone(),
            used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
        });
        Ok((cache, true))
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

#[cfg(test)]
mod tests;
