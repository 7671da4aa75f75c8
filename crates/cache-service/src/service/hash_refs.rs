//! By-hash reference files (`{ns}/refs/by-hash/…/{hash}.json`) without per-request work that
//! grows with the file.
//!
//! The file format (spec §4.1, `json.dumps(indent=2)` of
//! `{"cache_hash","cache_ids":[…],"latest_id","total_versions"}`) lists every id ever stored
//! with the hash, so the file grows by one entry per store of the same content or cache key.
//! Two things keep the hot routes flat:
//!
//! - **Reads of `latest_id`** (retrieve by hash, `…/cache-id`) read only the end of the file
//!   (one ranged request), where `json.dumps` puts `"latest_id": …, "total_versions": …}`.
//!   Small files, and any file whose end does not have that exact shape, are read and parsed
//!   whole as before. Nothing is cached, so another writer's change is seen at once.
//! - **Appends** (every store) must still rewrite the whole file (the format), but need not
//!   re-read and re-parse it: the bytes this instance last wrote or read are kept, keyed by
//!   storage path, with the backend's entity tag. A store asks the backend for the file
//!   *unless* it still has that tag (one conditional request, `If-None-Match` on S3); when it
//!   does, the new file is the kept bytes with one entry spliced in before the closing
//!   `],` — byte for byte what `json.dumps` writes. Any other writer's change (another
//!   instance, the reference server, an operator) changes the tag, so the file is read again.
//!   Appends of one hash are serialised within the instance (a striped lock), so concurrent
//!   stores of identical content in one instance no longer lose versions (COMPAT.md D28).
//!
//! The cache is bounded ([`MAX_ENTRIES`] files, [`MAX_BYTES`] in total, least recently used out)
//! and only holds files of at least [`MIN_VERSIONS`] entries; smaller ones are cheap to parse.
//!
//! **Across instances** (COMPAT.md D28) every rewrite of a by-hash file is conditional: it names
//! the version it was computed from (`If-Match: <etag>`, or `If-None-Match: *` for a new file)
//! and, when another writer got there first, reads the file again and redoes the change, up to
//! [`MAX_ATTEMPTS`] times with jittered exponential backoff ([`Backoff`]). A delete of the last
//! version first replaces the file, conditionally, by an empty *tombstone* (which every reader,
//! the reference's included, treats as missing), then deletes it; an appender that finds a
//! tombstone waits for it to go instead of writing over it (a delete cannot be conditional on
//! object stores), and takes it over only when the same tombstone is still there after
//! [`TOMBSTONE_GRACE`] (its deleter died between the two steps).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{LazyLock, Mutex};

use bytes::Bytes;
use cache_wire::pyjson::{self, DumpOptions};
use serde_json::Value;

/// Files kept at most.
pub const MAX_ENTRIES: usize = 256;
/// Bytes kept at most, over all files.
pub const MAX_BYTES: usize = 64 << 20;
/// Files with fewer entries are not kept (re-parsing them costs next to nothing).
pub const MIN_VERSIONS: i64 = 16;
/// How much of the end of a by-hash file a `latest_id` read fetches.
pub const TAIL_BYTES: u64 = 512;
const STRIPES: usize = 64;

/// Attempts of one conditional rewrite of a by-hash file before it fails (503-worthy contention).
pub const MAX_ATTEMPTS: u32 = 64;
/// The first retry waits up to this long; each further one up to twice as long, at most
/// [`BACKOFF_MAX`] (full jitter: a uniform share of the bound).
pub const BACKOFF_FIRST: std::time::Duration = std::time::Duration::from_millis(4);
/// The longest wait between two attempts.
pub const BACKOFF_MAX: std::time::Duration = std::time::Duration::from_millis(250);
/// How long an appender waits for a tombstone to be deleted before taking it over.
pub const TOMBSTONE_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The retry policy of conditional rewrites: bounded attempts, jittered exponential waits.
#[derive(Debug)]
pub struct Backoff {
    path: String,
    attempts: u32,
}

impl Backoff {
    /// A fresh policy for rewrites of `path`.
    pub fn new(path: &str) -> Self {
        Backoff {
            path: path.to_owned(),
            attempts: 0,
        }
    }

    /// Counts a lost attempt and waits before the next one; fails after [`MAX_ATTEMPTS`].
    pub async fn wait(&mut self) -> Result<(), crate::store::StoreError> {
        self.attempts += 1;
        if self.attempts >= MAX_ATTEMPTS {
            return Err(crate::store::StoreError::Contended {
                path: self.path.clone(),
                attempts: self.attempts,
            });
        }
        let bound = BACKOFF_FIRST
            .saturating_mul(1 << self.attempts.min(16))
            .min(BACKOFF_MAX);
        // Full jitter: writers that collided once do not collide again in lockstep.
        let share = (uuid::Uuid::new_v4().as_u128() % 1_000_000) as f64 / 1_000_000.0;
        tokio::time::sleep(bound.mul_f64(share)).await;
        Ok(())
    }
}

/// Where the entries of `cache_ids` end in an indent-2 by-hash file.
const LIST_END: &[u8] = b"\n  ],\n  \"latest_id\": ";

/// A by-hash file this instance wrote or read, as stored.
#[derive(Debug, Clone)]
pub struct KeptRef {
    /// The backend's entity tag of exactly these bytes.
    pub e_tag: String,
    /// The file.
    pub bytes: Bytes,
    /// Offset of [`LIST_END`] in `bytes`: the new entry goes here.
    pub list_end: usize,
    /// `total_versions` as stored.
    pub total_versions: i64,
}

impl KeptRef {
    /// The file with `{cache_id, timestamp}` appended, `latest_id` set to it and
    /// `total_versions` incremented, in `json.dumps(indent=2)` form; and its [`LIST_END`] offset.
    pub fn appended(&self, cache_id: &str, timestamp: i64) -> (Vec<u8>, usize) {
        let id = pyjson::dumps(
            &Value::String(cache_id.to_owned()),
            DumpOptions::indented(2),
        );
        let entry = format!(
            ",\n    {{\n      \"cache_id\": {id},\n      \"timestamp\": {timestamp}\n    }}"
        );
        let tail = format!(
            "\n  ],\n  \"latest_id\": {id},\n  \"total_versions\": {}\n}}",
            self.total_versions + 1
        );
        let head = &self.bytes[..self.list_end];
        let mut out = Vec::with_capacity(head.len() + entry.len() + tail.len());
        out.extend_from_slice(head);
        out.extend_from_slice(entry.as_bytes());
        let list_end = out.len();
        out.extend_from_slice(tail.as_bytes());
        (out, list_end)
    }
}

/// Where the entries of an indent-2 by-hash file end (`None` for an empty list or another
/// layout, which is then never spliced).
pub fn list_end_of(bytes: &[u8]) -> Option<usize> {
    bytes.windows(LIST_END.len()).rposition(|w| w == LIST_END)
}

/// `latest_id` read from the end of a by-hash file, if the end is exactly
/// `"latest_id": "<id without escapes>", "total_versions": <int>}` (any JSON whitespace). That
/// object closes at the end of the file, so it is the top-level one and its last `latest_id`,
/// the one `json.loads` keeps.
pub fn latest_id_from_tail(tail: &[u8]) -> Option<String> {
    static TAIL: LazyLock<regex::bytes::Regex> = LazyLock::new(|| {
        regex::bytes::Regex::new(
            r#""latest_id"[ \t\r\n]*:[ \t\r\n]*"([^"\\\x00-\x1f]*)"[ \t\r\n]*,[ \t\r\n]*"total_versions"[ \t\r\n]*:[ \t\r\n]*-?(?:0|[1-9][0-9]*)[ \t\r\n]*\}[ \t\r\n]*\z"#,
        )
        .unwrap_or_else(|e| unreachable!("constant regex: {e}"))
    });
    let caps = TAIL.captures(tail)?;
    let id = caps.get(1)?.as_bytes();
    String::from_utf8(id.to_vec()).ok()
}

#[derive(Debug)]
struct Slot {
    kept: KeptRef,
    used: u64,
}

#[derive(Debug, Default)]
struct Kept {
    files: HashMap<String, Slot>,
    bytes: usize,
    tick: u64,
}

/// The per-instance cache of by-hash files plus the locks that serialise appends of one file.
pub struct HashRefCache {
    kept: Mutex<Kept>,
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl std::fmt::Debug for HashRefCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (files, bytes) = self
            .kept
            .lock()
            .map(|k| (k.files.len(), k.bytes))
            .unwrap_or_default();
        f.debug_struct("HashRefCache")
            .field("files", &files)
            .field("bytes", &bytes)
            .finish()
    }
}

impl Default for HashRefCache {
    fn default() -> Self {
        HashRefCache {
            kept: Mutex::new(Kept::default()),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }
}

impl HashRefCache {
    /// Holds off other appends (and deletes) of `path` in this instance while the guard lives.
    pub async fn lock(&self, path: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        path.hash(&mut hasher);
        let stripe = (hasher.finish() % STRIPES as u64) as usize;
        self.stripes[stripe].lock().await
    }

    fn with<T>(&self, run: impl FnOnce(&mut Kept) -> T) -> T {
        // A panic while holding the lock leaves plain data behind; keep using it.
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        run(&mut kept)
    }

    /// The kept copy of `path`, if any.
    pub fn get(&self, path: &str) -> Option<KeptRef> {
        self.with(|k| {
            k.tick += 1;
            let tick = k.tick;
            k.files.get_mut(path).map(|slot| {
                slot.used = tick;
                slot.kept.clone()
            })
        })
    }

    /// Forgets `path` (its file changed in a way not kept, or failed to write).
    pub fn forget(&self, path: &str) {
        self.with(|k| {
            if let Some(old) = k.files.remove(path) {
                k.bytes -= old.kept.bytes.len();
            }
        });
    }

    /// Keeps `kept` for `path` if it is worth it and fits; forgets the old copy either way.
    pub fn keep(&self, path: &str, kept: KeptRef) {
        self.with(|k| {
            if let Some(old) = k.files.remove(path) {
                k.bytes -= old.kept.bytes.len();
            }
            let size = kept.bytes.len();
            if kept.total_versions < MIN_VERSIONS || size > MAX_BYTES / 4 {
                return;
            }
            while !k.files.is_empty()
                && (k.files.len() >= MAX_ENTRIES || k.bytes + size > MAX_BYTES)
            {
                let oldest = k
                    .files
                    .iter()
                    .min_by_key(|(_, slot)| slot.used)
                    .map(|(p, _)| p.clone());
                match oldest.and_then(|p| k.files.remove(&p)) {
                    Some(slot) => k.bytes -= slot.kept.bytes.len(),
                    None => break,
                }
            }
            k.tick += 1;
            k.bytes += size;
            let used = k.tick;
            k.files.insert(path.to_owned(), Slot { kept, used });
        });
    }

    /// Number of files kept and their total size.
    pub fn usage(&self) -> (usize, usize) {
        self.with(|k| (k.files.len(), k.bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::dumps_indented_of;
    use cache_wire::schema::{HashRef, HashRefEntry};

    fn hash_ref(n: usize) -> HashRef {
        let cache_ids: Vec<HashRefEntry> = (0..n)
            .map(|i| HashRefEntry {
                cache_id: format!("00000000-0000-4000-8000-{i:012}"),
                timestamp: 1_700_000_000_000 + i as i64,
            })
            .collect();
        HashRef {
            cache_hash: "58954ab6bb1eca61".to_owned(),
            latest_id: cache_ids
                .last()
                .map(|e| e.cache_id.clone())
                .unwrap_or_default(),
            total_versions: n as i64,
            cache_ids,
        }
    }

    #[test]
    fn spliced_appends_are_byte_identical_to_json_dumps() {
        for n in [1, 2, 17, 300] {
            let bytes = dumps_indented_of(&hash_ref(n), 2);
            let list_end = list_end_of(&bytes).expect("a non-empty list has an end");
            let kept = KeptRef {
                e_tag: "x".to_owned(),
                bytes: Bytes::from(bytes),
                list_end,
                total_versions: n as i64,
            };
            let mut expected = hash_ref(n);
            let id = "cf0a7c3e-1111-4222-8333-444455556666";
            expected.cache_ids.push(HashRefEntry {
                cache_id: id.to_owned(),
                timestamp: 42,
            });
            expected.latest_id = id.to_owned();
            expected.total_versions += 1;
            let expected = dumps_indented_of(&expected, 2);
            let (spliced, end) = kept.appended(id, 42);
            assert_eq!(
                String::from_utf8_lossy(&spliced),
                String::from_utf8_lossy(&expected),
                "n = {n}"
            );
            assert_eq!(Some(end), list_end_of(&spliced));
        }
        let empty = HashRef {
            cache_ids: Vec::new(),
            ..hash_ref(0)
        };
        assert_eq!(list_end_of(&dumps_indented_of(&empty, 2)), None);
    }

    #[test]
    fn latest_id_comes_from_the_end_of_the_file_only_in_the_exact_shape() {
        let bytes = dumps_indented_of(&hash_ref(40), 2);
        let tail = &bytes[bytes.len() - TAIL_BYTES as usize..];
        assert_eq!(
            latest_id_from_tail(tail).as_deref(),
            Some("00000000-0000-4000-8000-000000000039")
        );
        assert_eq!(
            latest_id_from_tail(br#"{"latest_id":"a","total_versions":1}"#).as_deref(),
            Some("a")
        );
        // Not the top-level object, escapes, other key orders or trailing garbage: read whole.
        for odd in [
            &br#""latest_id": "a", "total_versions": 1}]}"#[..],
            br#""latest_id": "a\"b", "total_versions": 1}"#,
            br#""total_versions": 1, "latest_id": "a"}"#,
            br#""latest_id": "a", "total_versions": 1.0}"#,
            br#""latest_id": "a", "total_versions": 1} x"#,
            br#""latest_id": null, "total_versions": 1}"#,
        ] {
            assert_eq!(
                latest_id_from_tail(odd),
                None,
                "{}",
                String::from_utf8_lossy(odd)
            );
        }
    }

    #[test]
    fn the_cache_is_bounded_and_skips_small_files() {
        let cache = HashRefCache::default();
        let kept = |n: i64, size: usize| KeptRef {
            e_tag: "t".to_owned(),
            bytes: Bytes::from(vec![b' '; size]),
            list_end: 0,
            total_versions: n,
        };
        cache.keep("small", kept(MIN_VERSIONS - 1, 10));
        assert!(cache.get("small").is_none());
        for i in 0..MAX_ENTRIES + 10 {
            cache.keep(&format!("f{i}"), kept(MIN_VERSIONS, 10));
        }
        assert_eq!(cache.usage(), (MAX_ENTRIES, MAX_ENTRIES * 10));
        // The least recently used went first.
        assert!(cache.get("f0").is_none());
        assert!(cache.get(&format!("f{}", MAX_ENTRIES + 9)).is_some());
        cache.keep("big", kept(MIN_VERSIONS, MAX_BYTES / 4));
        cache.keep("big2", kept(MIN_VERSIONS, MAX_BYTES / 4));
        assert!(cache.usage().1 <= MAX_BYTES);
        cache.forget("big2");
        assert!(cache.get("big2").is_none());
    }
}
