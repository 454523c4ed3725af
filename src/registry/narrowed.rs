//! One scope's narrowed credentials: a cache per narrowed grant (single
//! flight and renew-ahead, as a scope's own), kept while it is used. The
//! entries are bounded (the least recently used goes), an entry nobody
//! asked for since its last credential is not renewed, and new mints are
//! bounded per second (a token bucket), so no local client can make the
//! server hammer STS.

use crate::cache::{Cache, Held};
use crate::narrow::{Narrowing, Refused};
use crate::policy::Grant;
use crate::Error;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
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

/// A scope's narrowed entries and its budget of new mints.
pub(super) struct Narrowed {
    scope: String,
    grant: Grant,
    state: Mutex<State>,
}

struct State {
    entries: Vec<Entry>,
    /// Counts uses, to find the least recently used entry.
    clock: u64,
    tokens: f64,
    refilled: Instant,
}

struct Entry {
    /// The narrowed grant's compact policy: one entry per policy.
    policy: String,
    cache: Arc<Cache>,
    renewer: JoinHandle<()>,
    used: u64,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

impl Narrowed {
    pub(super) fn new(scope: &str, grant: Grant) -> Narrowed {
        Narrowed {
            scope: scope.to_owned(),
            grant,
            state: Mutex::new(State {
                entries: Vec::new(),
                clock: 0,
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
        let grant = asked.apply(&self.grant).map_err(NarrowFailure::Refused)?;
        let policy = grant.policy_compact();
        let (cache, fresh) = self.entry(scope, &policy)?;
        crate::metrics::narrowed(&self.scope, if fresh { "mint" } else { "hit" });
        let held = match fresh {
            true => cache.prime().await,
            false => cache.get().await,
        };
        held.map_err(NarrowFailure::Unavailable)
    }

    /// The entry for `policy`, made if missing (true: made now).
    fn entry(&self, scope: &Arc<Cache>, policy: &str) -> Result<(Arc<Cache>, bool), NarrowFailure> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.clock += 1;
        let now = state.clock;
        if let Some(entry) = state.entries.iter_mut().find(|e| e.policy == policy) {
            entry.used = now;
            if entry.renewer.is_finished() {
                entry.renewer = entry.cache.spawn_renewer();
            }
            return Ok((entry.cache.clone(), false));
        }
        state.take_token().map_err(|wait| {
            crate::metrics::narrowed(&self.scope, "limited");
            NarrowFailure::Limited(wait)
        })?;
        let session = session_name(&self.scope, policy);
        let source = (scope.narrowed_source(policy.to_owned(), session))
            .ok_or(NarrowFailure::Unsupported)?;
        let cache = Cache::on_demand(source, scope.duration());
        if state.entries.len() >= MAX_ENTRIES {
            let oldest = (0..state.entries.len()).min_by_key(|&i| state.entries[i].used);
            if let Some(oldest) = oldest {
                state.entries.swap_remove(oldest);
                crate::metrics::narrowed(&self.scope, "evict");
            }
        }
        state.entries.push(Entry {
            policy: policy.to_owned(),
            renewer: cache.spawn_renewer(),
            cache: cache.clone(),
            used: now,
        });
        Ok((cache, true))
    }

    /// How many entries, and the soonest expiry among them.
    pub(super) fn summary(&self) -> (usize, Option<Duration>) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let soonest = (state.entries.iter())
            .filter_map(|e| e.cache.expires_in().ok())
            .min();
        (state.entries.len(), soonest)
    }
}

impl State {
    /// One new mint from the bucket, or how long until there is one.
    fn take_token(&mut self) -> Result<(), Duration> {
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

/// `s3c.SCOPE.n` and 8 hex digits of the narrowed policy's hash: the
/// narrowing shows in CloudTrail, within STS's 64 characters.
fn session_name(scope: &str, policy: &str) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    policy.hash(&mut hasher);
    let tag = format!(".n{:08x}", hasher.finish() as u32);
    let room = 64 - tag.len();
    let head = crate::policy::session_name(&format!("s3c.{scope}"));
    let head: String = head.chars().take(room).collect();
    format!("{head}{tag}")
}

#[cfg(test)]
mod tests;
