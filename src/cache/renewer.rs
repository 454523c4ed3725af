//! A cache's renewer task, owned: it stops when its owner (a served scope,
//! a narrowed entry, a caller's session) is dropped, and an on-demand
//! cache's renewer, which stops itself after an idle spell, is started
//! again when the cache is wanted.

use super::Cache;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// The renewer of one cache; aborted on drop.
#[derive(Default)]
pub struct Renewer(Mutex<Option<JoinHandle<()>>>);

impl Renewer {
    /// Renewing `cache` from now on.
    pub fn start(cache: &Arc<Cache>) -> Renewer {
        Renewer(Mutex::new(Some(cache.spawn_renewer())))
    }

    /// Starts renewing `cache` again if it never started or stopped.
    pub fn keep_going(&self, cache: &Arc<Cache>) {
        let mut task = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if task.as_ref().is_none_or(JoinHandle::is_finished) {
            *task = Some(cache.spawn_renewer());
        }
    }
}

impl Drop for Renewer {
    fn drop(&mut self) {
        let task = self.0.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(task) = task {
            task.abort();
        }
    }
}
