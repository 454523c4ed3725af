//! Who may be served (docs/DESIGN.md, "The authorization model", step 1): the server's own uid and the
//! `--allow-uid`s get every scope; a scope's `uids` get that scope alone;
//! anyone else is closed on at accept, without a byte. A caller the kernel
//! cannot name (a non-loopback bind, another OS) relies on the token.

use super::Transport;
use crate::peer::Peer;
use crate::registry::{Share, Table};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

/// Seconds between two log lines about refused users: a flood of
/// connections must not become a flood of lines.
const REFUSAL_LOG_EVERY: u64 = 10;

/// The uids served every scope: ours and `--allow-uid`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Owners(BTreeSet<u32>);

impl Owners {
    /// The server's own uid, and `allowed`.
    pub fn with(allowed: &[u32]) -> Owners {
        let mut uids: BTreeSet<u32> = allowed.iter().copied().collect();
        uids.insert(nix::unistd::geteuid().as_raw());
        Owners(uids)
    }

    /// Whether `uid` is the server's own or an `--allow-uid`.
    pub(super) fn owns(&self, uid: u32) -> bool {
        self.0.contains(&uid)
    }

    /// Whether `uid` may connect at all: an owner, or some scope's guest.
    pub(crate) fn admit(&self, table: &Table, uid: u32) -> bool {
        self.0.contains(&uid) || table.has_guest(uid)
    }

    /// What the caller at the other end may see.
    pub(super) fn caller(&self, peer: Option<&Peer>) -> Caller {
        match peer {
            None => Caller::Untraced,
            Some(peer) if self.0.contains(&peer.uid) => Caller::Owner,
            Some(peer) => Caller::Guest(peer.uid),
        }
    }
}

impl Default for Owners {
    fn default() -> Owners {
        Owners::with(&[])
    }
}

/// One request's caller, as the routes judge it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Caller {
    /// Our uid or an `--allow-uid`: every scope.
    Owner,
    /// Another uid that some scope's `uids` name: those scopes alone.
    Guest(u32),
    /// Nobody the kernel could name: the token decides, as before uids.
    Untraced,
}

impl Caller {
    /// Whether this caller may fetch the scope called `name`.
    pub(super) fn may_fetch(self, table: &Table, name: &str) -> bool {
        match self {
            Caller::Owner | Caller::Untraced => true,
            Caller::Guest(uid) => table.is_guest_of(uid, name),
        }
    }

    /// Whose share of a scope's narrowed entries and mints this caller
    /// draws on: the owner's is the owner's alone, and each guest uid's
    /// its own.
    pub(super) fn share(self) -> Share {
        match self {
            Caller::Owner => Share::Owner,
            Caller::Guest(uid) => Share::Guest(uid),
            Caller::Untraced => Share::Others,
        }
    }

    /// Whether this caller may see every scope's name (health, metrics).
    pub(super) fn sees_all(self) -> bool {
        !matches!(self, Caller::Guest(_))
    }
}

/// Logs a refused user, at most once every `REFUSAL_LOG_EVERY` seconds
/// (the count refused meanwhile is in the metrics).
pub(super) fn log_refused_user(transport: Transport, uid: Option<u32>) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = super::unix_now();
    let last = LAST.load(Ordering::Relaxed);
    if now < last + REFUSAL_LOG_EVERY
        || LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let kind = match transport {
        Transport::Unix => "Unix socket",
        Transport::Tcp => "TCP",
        Transport::Imds => "IMDS",
        Transport::Container => "container endpoint",
        Transport::Gateway => "gateway",
    };
    match uid {
        Some(uid) => tracing::warn!(
            "refused a {kind} connection from uid {uid}: only your own programs are \
             served (--allow-uid {uid}, or a scope's uids, would serve it); further refusals \
             are counted in /metrics for {REFUSAL_LOG_EVERY} s"
        ),
        None => tracing::warn!("refused a {kind} connection whose user the kernel could not name"),
    }
}
