//! The multipart uploads this gateway started, each bound to its bucket
//! and key: a part or a completion for an upload the gateway did not start
//! for that very key is refused. AWS binds an upload to its key itself;
//! other stores (moto, and some the `keys` upstream serves) do not, so an
//! upload started elsewhere, outside the scope, could otherwise be written
//! through an inside key.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Uploads remembered at most (the oldest is forgotten first; its parts
/// are then refused).
const MAX_UPLOADS: usize = 10_000;

/// Each upload's bucket and key, by upload ID, and the IDs oldest first.
type Bound = (HashMap<String, (String, String)>, VecDeque<String>);

#[derive(Default)]
pub(super) struct Uploads {
    inner: Mutex<Bound>,
}

impl Uploads {
    /// Remembers `upload_id` as started for `bucket`/`key`.
    pub(super) fn started(&self, upload_id: &str, bucket: &str, key: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (bound, order) = &mut *inner;
        if bound.len() >= MAX_UPLOADS {
            if let Some(oldest) = order.pop_front() {
                bound.remove(&oldest);
            }
        }
        bound.insert(upload_id.to_owned(), (bucket.to_owned(), key.to_owned()));
        order.push_back(upload_id.to_owned());
    }

    /// Whether `upload_id` was started here for `bucket`/`key`.
    pub(super) fn is_for(&self, upload_id: &str, bucket: &str, key: &str) -> bool {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .0
            .get(upload_id)
            .is_some_and(|(b, k)| b == bucket && k == key)
    }

    /// Forgets a completed upload.
    pub(super) fn finished(&self, upload_id: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.remove(upload_id);
        inner.1.retain(|id| id != upload_id);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_upload_is_known_for_its_own_key_alone() {
        let uploads = super::Uploads::default();
        uploads.started("u1", "b", "team/a");
        assert!(uploads.is_for("u1", "b", "team/a"));
        assert!(!uploads.is_for("u1", "b", "private/a"));
        assert!(!uploads.is_for("u2", "b", "team/a"));
        uploads.finished("u1");
        assert!(!uploads.is_for("u1", "b", "team/a"));
    }
}
