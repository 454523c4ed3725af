//! One scope's narrowed credentials: a cache per narrowed grant (single
//! flight and renew-ahead, as a scope's own), kept while it is used. The
//! entries are bounded (the least recently used goes), an entry nobody
//! asked for since its last credential is not renewed, and new mints are
//! bounded per second (a token bucket), so no local client can make the
//! server hammer STS. The owner and everyone else each have their own
//! share of entries and mints (`Share`), so others cannot evict the
//! owner's entries nor spend its mints. Everything that can refuse a
//! narrowing is checked before a mint is spent.

mod partition;

use crate::cache::{Cache, Held};
use crate::credential::{Ask, Caller, Mint};
use crate::narrow::{Narrowing, Refused};
use crate::policy::{Grant, MAX_POLICY_CHARS};
use crate::Error;
use partition::{Key, Partition};
use std::sync::Arc;
use std::time::Duration;

/// Narrowed entries one share of a scope holds at most.
pub(super) const MAX_ENTRIES: usize = 64;
/// New narrowed mints one share of a scope may make at once, after a
/// quiet spell.
const MINT_BURST: f64 = 10.0;
/// New narrowed mints per second one share of a scope may make, sustained.
const MINTS_PER_SECOND: f64 = 2.0;

/// Whose share of a scope's narrowed entries and new mints a request
/// draws on. Each share has its own `MAX_ENTRIES` and its own budget, so
/// that no caller can evict another's entries nor spend its mints; STS
/// sees at most one share's rate for each (the guests are the uids a
/// config names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Share {
    /// The server's own user and its `--allow-uid`s.
    Owner,
    /// One guest uid, which a scope's `uids` names.
    Guest(u32),
    /// Callers the kernel could not name (a container holding a scope's
    /// token, say).
    Others,
}

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

/// A scope's narrowed entries, in its owner's share and everyone else's.
pub(super) struct Narrowed {
    scope: String,
    grant: Grant,
    /// Each caller gets its own entry (`attribute = "caller"`).
    pub(super) attributes: bool,
    /// Each share's entries, made when it first asks.
    shares: std::sync::RwLock<std::collections::BTreeMap<Share, Arc<Partition>>>,
}

impl Narrowed {
    /// The scope's own grant.
    pub(super) fn grant(&self) -> &Grant {
        &self.grant
    }

    pub(super) fn new(scope: &str, grant: Grant, attributes: bool) -> Narrowed {
        Narrowed {
            scope: scope.to_owned(),
            grant,
            attributes,
            shares: Default::default(),
        }
    }

    /// The credential for `asked` (for `caller`, when the scope attributes
    /// each caller), from `share`'s entries, with its session's name:
    /// refused before any STS call when it would widen or its policy would
    /// not fit, from its entry when there is one, else minted anew (within
    /// the share's budget) from `scope`'s source.
    pub(super) async fn get(
        &self,
        scope: &Arc<Cache>,
        asked: &Narrowing,
        share: Share,
        caller: Option<Caller>,
    ) -> Result<(Arc<Held>, String), NarrowFailure> {
        let tuple = asked.narrow(&self.grant).map_err(NarrowFailure::Refused)?;
        let partition = self.share(share);
        let key = (tuple, caller);
        let (cache, session, fresh) = match partition.held(&key) {
            Some((cache, session)) => (cache, session, false),
            None => {
                let (source, session) = self.source(scope, &key, asked.is_empty())?;
                let made = (key.clone(), session.clone());
                let (cache, fresh) = partition.made(&self.scope, made, source, scope.duration())?;
                (cache, session, fresh)
            }
        };
        crate::metrics::narrowed(&self.scope, if fresh { "mint" } else { "hit" });
        let held = match fresh {
            true => cache.prime().await,
            false => cache.get().await,
        };
        if fresh && held.is_err() {
            partition.forget(&key, &cache);
        }
        held.map(|held| (held, session))
            .map_err(NarrowFailure::Unavailable)
    }

    /// What mints `key`'s credential, and its session's name: its policy,
    /// which must fit STS's size, under the narrowed session name
    /// (`narrow::session_name`), or the caller's (`narrow::caller_session_name`).
    fn source(
        &self,
        scope: &Cache,
        (tuple, caller): &Key,
        whole: bool,
    ) -> Result<(Box<dyn Mint>, String), NarrowFailure> {
        let grant = tuple.clone().grant(&self.grant.statements);
        let policy = grant.policy_compact();
        if policy.len() > MAX_POLICY_CHARS {
            let why = format!(
                "the narrowed policy would be {} characters, over STS's limit of \
                 {MAX_POLICY_CHARS}: ask for a shorter prefix",
                policy.len()
            );
            return Err(NarrowFailure::Refused(Refused::Malformed(why)));
        }
        let narrowed = (!whole).then_some(policy.as_str());
        let session = match caller {
            Some(caller) => crate::narrow::caller_session_name(&self.scope, caller, narrowed),
            None => crate::narrow::session_name(&self.scope, &policy),
        };
        let ask = Ask {
            grant: &grant,
            policy: policy.clone(),
            session_name: session.clone(),
            caller: caller.as_ref(),
        };
        let source = scope
            .narrowed_source(ask)
            .ok_or(NarrowFailure::Unsupported)?;
        Ok((source, session))
    }

    /// `share`'s entries (a read lock once it has asked before).
    fn share(&self, share: Share) -> Arc<Partition> {
        let shares = self.shares.read().unwrap_or_else(|e| e.into_inner());
        if let Some(partition) = shares.get(&share) {
            return partition.clone();
        }
        drop(shares);
        let mut shares = self.shares.write().unwrap_or_else(|e| e.into_inner());
        shares.entry(share).or_default().clone()
    }

    /// Every share's entries so far.
    fn partitions(&self) -> Vec<Arc<Partition>> {
        let shares = self.shares.read().unwrap_or_else(|e| e.into_inner());
        shares.values().cloned().collect()
    }

    /// Marks the entry of `session` used, in whichever share holds it.
    pub(super) fn touch(&self, session: &str) {
        self.partitions().iter().any(|p| p.touch(session));
    }

    /// How many entries (every share), and the soonest expiry among them.
    pub(super) fn summary(&self) -> (usize, Option<Duration>) {
        let partitions = self.partitions();
        let each = partitions.iter().map(|p| p.summary());
        each.fold((0, None), |(count, soonest), (n, expires)| {
            (count + n, soonest.into_iter().chain(expires).min())
        })
    }
}

#[cfg(test)]
mod tests;
