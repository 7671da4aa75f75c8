//! The in-memory backend: for tests, zero I/O.
//!
//! It mirrors the local backend's rules (including [`Error::Conflict`] for `a` next to `a/b`),
//! so code tested against memory behaves the same on the embedded default.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use bytes::Bytes;

use crate::artifact::{Artifact, ArtifactMeta};
use crate::compression::{self, CompressionOptions};
use crate::error::{Error, Result};
use crate::names::{ArtifactPath, Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::{Capabilities, Storage, Store, TargetSizes};

/// An artifact as held: its stored bytes (compressed above the threshold) and its metadata.
#[derive(Debug, Clone)]
struct Stored {
    bytes: Bytes,
    meta: ArtifactMeta,
}

impl Stored {
    fn new(artifact: &Artifact, compression: &CompressionOptions) -> Self {
        let (bytes, meta) = compression::encode(artifact, compression);
        Self { bytes, meta }
    }

    fn artifact(&self, path: &ArtifactPath) -> Result<Artifact> {
        compression::decode(self.bytes.clone(), Some(self.meta.kind)).map_err(|reason| {
            Error::Corrupt {
                path: path.clone(),
                reason,
            }
        })
    }
}

type Target = BTreeMap<Key, Stored>;
type Session = BTreeMap<TargetName, Target>;

/// Artifacts in a map behind a lock. Sessions and targets are separate map levels, so a target
/// can never see a sibling's keys (the original's `startswith` leak cannot happen).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    sessions: RwLock<BTreeMap<SessionName, Session>>,
    compression: CompressionOptions,
}

impl Store {
    /// A fresh in-memory store.
    pub fn memory() -> Self {
        Self::new(MemoryStorage::new())
    }
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store compressing as `compression` says (large artifacts take less memory).
    pub fn with_compression(compression: CompressionOptions) -> Self {
        Self {
            compression,
            ..Self::default()
        }
    }

    // A panic in another thread cannot leave the map half-updated (each update is one insert or
    // remove), so a poisoned lock is safe to keep using.
    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<SessionName, Session>> {
        self.sessions.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<SessionName, Session>> {
        self.sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The key that keeps `key` from being stored next to the keys of `target`, if any: a key that
/// is a folder of `key`, or a key below `key`.
fn conflicting_key<'a>(target: &'a Target, key: &Key) -> Option<&'a Key> {
    let below = format!("{key}/");
    if let Some((other, _)) = target
        .range::<str, _>((
            std::ops::Bound::Excluded(below.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .next()
        .filter(|(k, _)| k.as_str().starts_with(&below))
    {
        return Some(other);
    }
    let s = key.as_str();
    s.match_indices('/')
        .find_map(|(i, _)| target.get_key_value(&s[..i]).map(|(k, _)| k))
}

#[async_trait]
impl Storage for MemoryStorage {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            records_kind: true,
            file_and_folder_keys: false,
            persistent: false,
        }
    }

    async fn put(&self, path: &ArtifactPath, artifact: Artifact) -> Result<ArtifactMeta> {
        let stored = Stored::new(&artifact, &self.compression);
        let meta = stored.meta.clone();
        let mut sessions = self.write();
        let target = sessions
            .entry(path.session().clone())
            .or_default()
            .entry(path.target_name().clone())
            .or_default();
        if let Some(other) = conflicting_key(target, &path.key) {
            let reason = format!("key {other:?} is in the way (a key cannot also be a folder)");
            if target.is_empty() {
                drop_if_empty(&mut sessions, &path.target);
            }
            return Err(Error::Conflict {
                path: path.clone(),
                reason,
            });
        }
        target.insert(path.key.clone(), stored);
        Ok(meta)
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Option<Artifact>> {
        let stored = self
            .read()
            .get(path.session())
            .and_then(|s| s.get(path.target_name()))
            .and_then(|t| t.get(&path.key))
            .cloned();
        // Decoded after the lock is released.
        stored.map(|s| s.artifact(path)).transpose()
    }

    async fn head(&self, path: &ArtifactPath) -> Result<Option<ArtifactMeta>> {
        Ok(self
            .read()
            .get(path.session())
            .and_then(|s| s.get(path.target_name()))
            .and_then(|t| t.get(&path.key))
            .map(|s| s.meta.clone()))
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<bool> {
        let mut sessions = self.write();
        let Some(target) = sessions
            .get_mut(path.session())
            .and_then(|s| s.get_mut(path.target_name()))
        else {
            return Ok(false);
        };
        let removed = target.remove(&path.key).is_some();
        if target.is_empty() {
            drop_if_empty(&mut sessions, &path.target);
        }
        Ok(removed)
    }

    async fn list_keys(&self, target: &TargetPath, prefix: &KeyPrefix) -> Result<Vec<Key>> {
        Ok(self
            .read()
            .get(&target.session)
            .and_then(|s| s.get(&target.target))
            .map(|t| {
                t.range::<str, _>((
                    std::ops::Bound::Included(prefix.as_str()),
                    std::ops::Bound::Unbounded,
                ))
                .take_while(|(k, _)| prefix.matches(k))
                .map(|(k, _)| k.clone())
                .collect()
            })
            .unwrap_or_default())
    }

    async fn list_sizes(&self, target: &TargetPath) -> Result<Vec<(Key, u64)>> {
        Ok(self
            .read()
            .get(&target.session)
            .and_then(|s| s.get(&target.target))
            .map(|t| {
                t.iter()
                    .map(|(k, stored)| (k.clone(), stored.bytes.len() as u64))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn list_sessions(&self) -> Result<Vec<SessionName>> {
        Ok(self
            .read()
            .keys()
            .filter(|s| !s.is_reserved())
            .cloned()
            .collect())
    }

    async fn list_targets(&self, session: &SessionName) -> Result<Vec<TargetName>> {
        Ok(self
            .read()
            .get(session)
            .map(|s| s.keys().filter(|t| !t.is_reserved()).cloned().collect())
            .unwrap_or_default())
    }

    async fn list_session_sizes(&self, session: &SessionName) -> Result<Vec<TargetSizes>> {
        Ok(self
            .read()
            .get(session)
            .map(|s| {
                s.iter()
                    .filter(|(t, keys)| !t.is_reserved() && !keys.is_empty())
                    .map(|(t, keys)| {
                        let sizes = keys
                            .iter()
                            .map(|(k, stored)| (k.clone(), stored.bytes.len() as u64))
                            .collect();
                        (t.clone(), sizes)
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn put_many(&self, items: Vec<(ArtifactPath, Artifact)>) -> Vec<Result<ArtifactMeta>> {
        // Hash outside the lock, then insert everything under one write lock.
        let prepared: Vec<(ArtifactPath, Stored, ArtifactMeta)> = items
            .into_iter()
            .map(|(path, artifact)| {
                let stored = Stored::new(&artifact, &self.compression);
                let meta = stored.meta.clone();
                (path, stored, meta)
            })
            .collect();
        let mut sessions = self.write();
        prepared
            .into_iter()
            .map(|(path, stored, meta)| {
                let target = sessions
                    .entry(path.session().clone())
                    .or_default()
                    .entry(path.target_name().clone())
                    .or_default();
                if let Some(other) = conflicting_key(target, &path.key) {
                    let reason =
                        format!("key {other:?} is in the way (a key cannot also be a folder)");
                    if target.is_empty() {
                        drop_if_empty(&mut sessions, &path.target);
                    }
                    return Err(Error::Conflict { path, reason });
                }
                target.insert(path.key.clone(), stored);
                Ok(meta)
            })
            .collect()
    }

    async fn get_many(&self, paths: &[ArtifactPath]) -> Vec<Result<Option<Artifact>>> {
        // Copy out under the lock (cheap: shared bytes), decode outside it.
        let found: Vec<Option<Stored>> = {
            let sessions = self.read();
            paths
                .iter()
                .map(|path| {
                    sessions
                        .get(path.session())
                        .and_then(|s| s.get(path.target_name()))
                        .and_then(|t| t.get(&path.key))
                        .cloned()
                })
                .collect()
        };
        found
            .into_iter()
            .zip(paths)
            .map(|(stored, path)| stored.map(|s| s.artifact(path)).transpose())
            .collect()
    }

    async fn delete_target(&self, target: &TargetPath) -> Result<usize> {
        let mut sessions = self.write();
        let Some(session) = sessions.get_mut(&target.session) else {
            return Ok(0);
        };
        let removed = session.remove(&target.target).map_or(0, |t| t.len());
        if session.is_empty() {
            sessions.remove(&target.session);
        }
        Ok(removed)
    }
}

/// Drops an empty target, and its session if that is empty too, so listings only show targets
/// that hold artifacts.
fn drop_if_empty(sessions: &mut BTreeMap<SessionName, Session>, target: &TargetPath) {
    if let Some(session) = sessions.get_mut(&target.session) {
        if session.get(&target.target).is_some_and(BTreeMap::is_empty) {
            session.remove(&target.target);
        }
        if session.is_empty() {
            sessions.remove(&target.session);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_found_both_ways() {
        let mut t = Target::new();
        let stored = Stored::new(&Artifact::text(""), &CompressionOptions::off());
        t.insert(Key::new("a/b/c").unwrap(), stored.clone());
        t.insert(Key::new("x").unwrap(), stored);
        let k = |s: &str| Key::new(s).unwrap();
        assert_eq!(conflicting_key(&t, &k("a")).map(Key::as_str), Some("a/b/c"));
        assert_eq!(
            conflicting_key(&t, &k("a/b")).map(Key::as_str),
            Some("a/b/c")
        );
        assert_eq!(conflicting_key(&t, &k("x/y")).map(Key::as_str), Some("x"));
        assert_eq!(conflicting_key(&t, &k("a.b")), None);
        assert_eq!(conflicting_key(&t, &k("a/bc")), None);
        assert_eq!(conflicting_key(&t, &k("x")), None);
    }
}
