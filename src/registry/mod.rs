//! The scopes being served right now: each name's cache, with its renewer
//! running, and which one `/` serves.
//!
//! The set is replaced whole (on reload), so a request sees one consistent
//! set; a scope dropped from it stops renewing once no request holds it.

mod narrowed;

pub use narrowed::{NarrowFailure, Share};

use crate::cache::{Cache, Held, Renewer};
use crate::credential::Caller;
use crate::narrow::Narrowing;
use crate::policy::Grant;
use crate::token::Token;
use narrowed::Narrowed;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

/// One scope's cache, kept fresh for as long as this lives, and the
/// narrowed credentials asked of it.
pub struct Served {
    cache: Arc<Cache>,
    /// Keeps `cache` fresh; stopped with the scope.
    _renewer: Renewer,
    narrowed: Option<Narrowed>,
    upstream: Option<Upstream>,
}

/// What the gateway forwards a scope's calls with: its cache serves local
/// credentials, and the real one stays here.
pub struct Upstream {
    /// Which minting of local credentials is current (`local::LocalMint`'s
    /// issuer): a credential of another is not this scope's any more.
    pub issuer: u64,
    /// Forwards typed S3 calls, signed with the real credential.
    pub proxy: Arc<s3s_aws::Proxy>,
    /// Whose credential signs: the scope's STS one (S3 enforces the scope
    /// too), or the server's own keys (the gateway alone enforces it).
    pub kind: crate::scope::Upstream,
    /// The real credential's renewer (STS), stopped with the scope.
    _renewer: Option<Renewer>,
}

impl Upstream {
    /// Forwarding through `proxy`, signing with `real`'s credential (kept
    /// fresh from now on), or with the server's own keys when `None`.
    pub fn new(issuer: u64, proxy: s3s_aws::Proxy, real: Option<&Arc<Cache>>) -> Upstream {
        let kind = match real {
            Some(_) => crate::scope::Upstream::Sts,
            None => crate::scope::Upstream::Keys,
        };
        Upstream {
            issuer,
            proxy: Arc::new(proxy),
            kind,
            _renewer: real.map(Renewer::start),
        }
    }
}

impl Served {
    /// Starts renewing `cache` (primed already, normally); nothing can be
    /// narrowed from it.
    pub fn start(cache: Arc<Cache>) -> Arc<Served> {
        let renewer = Renewer::start(&cache);
        Arc::new(Served {
            cache,
            _renewer: renewer,
            narrowed: None,
            upstream: None,
        })
    }

    /// The same, for the scope `name` granting `grant`, which clients may
    /// narrow (`?bucket=&prefix=&access=`), and which gives each caller
    /// its own session when it `attributes`.
    pub fn narrowable(
        cache: Arc<Cache>,
        name: &str,
        grant: Grant,
        attributes: bool,
    ) -> Arc<Served> {
        let renewer = Renewer::start(&cache);
        let narrowed = Some(Narrowed::new(name, grant, attributes));
        Arc::new(Served {
            cache,
            _renewer: renewer,
            narrowed,
            upstream: None,
        })
    }

    /// The same, for a scope served through the gateway: `cache` mints
    /// local credentials, and `upstream` forwards (or, where the scope
    /// `attributes`, each caller's own session, which its credentials carry).
    pub fn through_gateway(
        cache: Arc<Cache>,
        name: &str,
        grant: Grant,
        upstream: Upstream,
        attributes: bool,
    ) -> Arc<Served> {
        let renewer = Renewer::start(&cache);
        Arc::new(Served {
            cache,
            _renewer: renewer,
            narrowed: Some(Narrowed::new(name, grant, attributes)),
            upstream: Some(upstream),
        })
    }

    /// How the gateway forwards this scope's calls, when it is served
    /// through it.
    pub fn upstream(&self) -> Option<&Upstream> {
        self.upstream.as_ref()
    }

    /// What the scope grants, where it can be narrowed (every scope a
    /// localserver serves).
    pub fn grant(&self) -> Option<&Grant> {
        self.narrowed.as_ref().map(Narrowed::grant)
    }

    /// The cache.
    pub fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }

    /// The credential for `asked`, a narrowing of this scope (for
    /// `caller`, when it attributes each caller), with its session's name:
    /// from its own cache entry in `share`'s part, made (one AssumeRole,
    /// within that share's budget) on first use.
    pub async fn narrowed(
        &self,
        asked: &Narrowing,
        share: Share,
        caller: Option<Caller>,
    ) -> Result<(Arc<Held>, String), NarrowFailure> {
        match &self.narrowed {
            Some(narrowed) => narrowed.get(&self.cache, asked, share, caller).await,
            None => Err(NarrowFailure::Unsupported),
        }
    }

    /// Notes that the gateway made a call in `session` (a caller's own):
    /// its entry is used, and so not the first to be let go.
    pub fn used_by_gateway(&self, session: &str) {
        if let Some(narrowed) = &self.narrowed {
            narrowed.touch(session);
        }
    }

    /// Whether it gives each caller its own session (`attribute =
    /// "caller"`): every answer is then that caller's.
    pub fn attributes(&self) -> bool {
        self.narrowed.as_ref().is_some_and(|n| n.attributes)
    }

    /// How many narrowed entries are held, and the soonest one's time to
    /// expiry (for `/healthz`).
    pub fn narrowed_summary(&self) -> (usize, Option<std::time::Duration>) {
        self.narrowed.as_ref().map_or((0, None), Narrowed::summary)
    }
}

/// One consistent set of served scopes.
#[derive(Clone, Default)]
pub struct Table {
    /// Every scope, by name (`/scope/NAME`).
    pub by_name: BTreeMap<String, Arc<Served>>,
    /// The name of the scope `/` and `/ecs` serve, if any.
    pub default: Option<String>,
    /// The other users each scope also serves (its `uids`), by scope name;
    /// scopes without any are left out.
    pub guests: BTreeMap<String, BTreeSet<u32>>,
    /// Each scope's own token (its `token_file`), by scope name; scopes
    /// without one are left out.
    pub tokens: BTreeMap<String, Token>,
}

impl Table {
    /// Whether `uid` is a guest of some scope (so may connect at all).
    pub fn has_guest(&self, uid: u32) -> bool {
        self.guests.values().any(|uids| uids.contains(&uid))
    }

    /// Whether `uid` is a guest of the scope called `name`.
    pub fn is_guest_of(&self, uid: u32, name: &str) -> bool {
        self.guests
            .get(name)
            .is_some_and(|uids| uids.contains(&uid))
    }
}

/// The current `Table`, shared by the server (reading) and the
/// composition root (replacing it on reload).
#[derive(Default)]
pub struct Registry {
    current: RwLock<Arc<Table>>,
}

impl Registry {
    /// A registry serving `table`.
    pub fn new(table: Table) -> Arc<Registry> {
        Arc::new(Registry {
            current: RwLock::new(Arc::new(table)),
        })
    }

    /// The set a request works with, start to end.
    pub fn current(&self) -> Arc<Table> {
        // A panic cannot leave a half-written Arc behind: ignore poisoning.
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Serves `table` from now on; the old one goes when its last request does.
    pub fn replace(&self, table: Table) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
    }
}
