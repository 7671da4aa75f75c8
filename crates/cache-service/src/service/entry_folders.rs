//! The data folders of entries, remembered by id, so a child-file request checks that its entry
//! still exists with one `HEAD` instead of reading and parsing the entry's by-id reference.
//!
//! An entry's folders never change: its id is a fresh uuid4 at store, and its by-id reference
//! is written once and only ever deleted. What can change is whether the entry exists (a delete
//! through any instance, or the reference server), and that is asked of the store on every
//! request, never remembered: the reference leaves child files in place when it deletes an
//! entry, so only the reference tells a deleted entry's leftovers from live children. A read
//! sends that check beside the read of the child file itself, so they cost one round trip.
//!
//! Bounded ([`MAX_ENTRIES`]); when full it starts over, which costs one reference read per
//! entry afterwards, nothing else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Entries whose folders are remembered at most.
pub const MAX_ENTRIES: usize = 65_536;

/// An entry: `(namespace, cache id)`.
type EntryId = (String, String);

/// Entry → its data folders.
#[derive(Debug, Default)]
pub struct EntryFolders {
    known: Mutex<HashMap<EntryId, Arc<[String]>>>,
}

impl EntryFolders {
    /// The folders remembered for the entry, if any.
    pub fn get(&self, namespace: &str, cache_id: &str) -> Option<Arc<[String]>> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(&(namespace.to_owned(), cache_id.to_owned()))
            .cloned()
    }

    /// Remembers the entry's folders, read from its reference.
    pub fn insert(&self, namespace: &str, cache_id: &str, folders: Arc<[String]>) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= MAX_ENTRIES {
            known.clear();
        }
        known.insert((namespace.to_owned(), cache_id.to_owned()), folders);
    }

    /// Forgets the entry (it was found deleted).
    pub fn remove(&self, namespace: &str, cache_id: &str) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known.remove(&(namespace.to_owned(), cache_id.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_stays_bounded() {
        let folders = EntryFolders::default();
        let one: Arc<[String]> = Arc::from(vec!["ns/data/a".to_owned()]);
        folders.insert("ns", "id-1", one.clone());
        assert_eq!(folders.get("ns", "id-1").as_deref(), Some(&one[..]));
        assert!(folders.get("other", "id-1").is_none());
        folders.remove("ns", "id-1");
        assert!(folders.get("ns", "id-1").is_none());
        for i in 0..MAX_ENTRIES + 10 {
            folders.insert("ns", &format!("id-{i}"), one.clone());
        }
        // Full, it started over: the first entries are gone, the last ones kept.
        assert!(folders.get("ns", "id-0").is_none());
        assert!(
            folders
                .get("ns", &format!("id-{}", MAX_ENTRIES + 9))
                .is_some()
        );
    }
}
