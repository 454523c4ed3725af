//! Connections per source address, for the container endpoint: every
//! container (and every local user) can reach it, so one of them must not
//! take the whole budget and lock the others out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Connections one source address may hold open on the container
/// endpoint at once (of `MAX_CONTAINER_CONNECTIONS`).
pub const PER_ADDRESS: usize = 16;

/// Open connections by source address.
#[derive(Debug, Default)]
pub(super) struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

/// One connection's place, given back when it closes.
pub(super) struct Slot {
    of: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    /// A place for a connection from `ip`, unless it holds `PER_ADDRESS`.
    pub(super) fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(Slot {
            of: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.of.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_gets_its_share_and_no_more_and_gets_it_back() {
        let slots = Arc::new(PerAddress::default());
        let (a, b): (IpAddr, IpAddr) =
            ("198.18.0.2".parse().unwrap(), "198.18.1.2".parse().unwrap());
        let held: Vec<Slot> = (0..PER_ADDRESS).map(|_| slots.take(a).unwrap()).collect();
        assert!(slots.take(a).is_none(), "a 17th from one address");
        assert!(slots.take(b).is_some(), "another address is not held up");
        drop(held);
        assert!(slots.take(a).is_some());
        assert_eq!(
            slots.0.lock().unwrap().get(&b),
            None,
            "closed ones are forgotten"
        );
    }
}
