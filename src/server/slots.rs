//! Shares of a transport's connection budget, so that one caller cannot
//! take all of it and lock the others out: each source address of the
//! container endpoint (every container, and anything in another network
//! namespace, can reach it), and each guest uid (a scope's `uids`) on
//! every transport.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Connections one source address may hold open on the container
/// endpoint at once (of `MAX_CONTAINER_CONNECTIONS`), when the kernel
/// cannot name its user.
pub const PER_ADDRESS: usize = 16;
/// Connections one guest uid (a uid some scope's `uids` names, not an
/// owner) may hold open on one transport at once: a quarter of the Unix
/// socket's budget, an eighth of TCP's, so one guest never locks the
/// server's own user out.
pub const PER_GUEST: usize = 32;

/// Connections the container endpoint gives peers the kernel cannot name
/// (other network namespaces), all of them together (of
/// `MAX_CONTAINER_CONNECTIONS`, 128): the rest stays for peers it names,
/// the owner among them, however many containers hold their shares.
pub const UNNAMED_CONTAINER_CONNECTIONS: usize = 96;

/// Open connections by key (a source address, a uid), each at most
/// `limit`.
#[derive(Debug)]
pub(super) struct Shares<K> {
    limit: usize,
    open: Mutex<HashMap<K, usize>>,
}

/// One connection's place, given back when it closes.
pub(super) struct Slot<K: Hash + Eq + Copy> {
    of: Arc<Shares<K>>,
    key: K,
}

impl<K: Hash + Eq + Copy> Shares<K> {
    /// Shares of at most `limit` connections each.
    pub(super) fn new(limit: usize) -> Arc<Shares<K>> {
        Arc::new(Shares {
            limit,
            open: Mutex::default(),
        })
    }

    /// A place for a connection of `key`, unless it holds `limit`.
    pub(super) fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(key).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(Slot {
            of: self.clone(),
            key,
        })
    }
}

impl<K: Hash + Eq + Copy> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self.of.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Each guest uid's share of a transport.
pub(super) type PerGuest = Shares<u32>;

/// The container endpoint's places for peers the kernel cannot name: each
/// source address's share, and `UNNAMED_CONTAINER_CONNECTIONS` for all of
/// them together.
pub(super) struct Unnamed {
    per_address: Arc<Shares<IpAddr>>,
    all: Arc<Semaphore>,
}

/// One unnamed peer's place in both, given back when it closes.
pub(super) struct UnnamedSlot {
    _own: Slot<IpAddr>,
    _all: OwnedSemaphorePermit,
}

impl Unnamed {
    pub(super) fn new() -> Arc<Unnamed> {
        Arc::new(Unnamed {
            per_address: Shares::new(PER_ADDRESS),
            all: Arc::new(Semaphore::new(UNNAMED_CONTAINER_CONNECTIONS)),
        })
    }

    /// A place for a connection from `ip`, unless its address or all
    /// unnamed peers together hold their share.
    pub(super) fn take(&self, ip: IpAddr) -> Option<UnnamedSlot> {
        let all = self.all.clone().try_acquire_owned().ok()?;
        let own = self.per_address.take(ip)?;
        Some(UnnamedSlot {
            _own: own,
            _all: all,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_its_share_and_no_more_and_gets_it_back() {
        let slots = Shares::<IpAddr>::new(PER_ADDRESS);
        let (a, b): (IpAddr, IpAddr) =
            ("198.18.0.2".parse().unwrap(), "198.18.1.2".parse().unwrap());
        let held: Vec<_> = (0..PER_ADDRESS).map(|_| slots.take(a).unwrap()).collect();
        assert!(slots.take(a).is_none(), "a 17th from one address");
        assert!(slots.take(b).is_some(), "another address is not held up");
        drop(held);
        assert!(slots.take(a).is_some());
        assert_eq!(
            slots.open.lock().unwrap().get(&b),
            None,
            "closed ones are forgotten"
        );
    }

    #[test]
    fn unnamed_peers_together_hold_no_more_than_their_share() {
        let unnamed = Unnamed::new();
        let held: Vec<_> = (0..UNNAMED_CONTAINER_CONNECTIONS / PER_ADDRESS)
            .flat_map(|n| {
                let ip: IpAddr = format!("198.19.0.{n}").parse().unwrap();
                (0..PER_ADDRESS).map(move |_| ip)
            })
            .map(|ip| unnamed.take(ip).unwrap())
            .collect();
        assert!(unnamed.take("198.19.1.1".parse().unwrap()).is_none());
        drop(held);
        assert!(unnamed.take("198.19.1.1".parse().unwrap()).is_some());
    }

    #[test]
    fn one_guest_gets_its_share_and_another_guest_is_not_held_up() {
        let guests = PerGuest::new(PER_GUEST);
        let held: Vec<_> = (0..PER_GUEST)
            .map(|_| guests.take(65534).unwrap())
            .collect();
        assert!(guests.take(65534).is_none());
        assert!(guests.take(1000).is_some());
        drop(held);
        assert!(guests.take(65534).is_some());
    }
}
