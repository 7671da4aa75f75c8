//! Session metadata: when a session was first used, the labels its user gave it, and the
//! environment it ran in — so a diff can warn before comparing runs from different machines.
//!
//! Stored as the `session.json` record of the session (see
//! [`RESERVED_NAME`](crate::names::RESERVED_NAME)), on every backend.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::names::{Key, SessionName, TargetPath};
use crate::storage::{StorageExt, Store};

/// Version of the `session.json` schema this code writes.
pub const SESSION_SCHEMA_VERSION: u32 = 1;

/// The machine and build a session ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvFingerprint {
    /// Host name.
    pub host: String,
    /// Operating system and version, e.g. `Linux 12 (bookworm)`.
    pub os: String,
    /// CPU architecture, e.g. `x86_64`.
    pub arch: String,
    /// CPU model, e.g. `AMD EPYC 7B13`.
    pub cpu_model: String,
    /// Logical cores available.
    pub cores: usize,
    /// perfstore version that wrote the session.
    pub perfstore_version: String,
}

impl EnvFingerprint {
    /// The fingerprint of this process's machine.
    pub fn current() -> Self {
        let cpu_model = sysinfo::System::new()
            .ok()
            .and_then(|mut system| {
                system.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
                system
                    .cpus()
                    .first()
                    .map(|cpu| cpu.brand().trim().to_owned())
            })
            .filter(|brand| !brand.is_empty())
            .unwrap_or_else(|| "unknown".to_owned());
        Self {
            host: sysinfo::System::host_name()
                .ok()
                .unwrap_or_else(|| "unknown".to_owned()),
            os: sysinfo::System::long_os_version()
                .ok()
                .unwrap_or_else(|| std::env::consts::OS.to_owned()),
            arch: std::env::consts::ARCH.to_owned(),
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            perfstore_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// The fields that differ from `other`, as `(field, self, other)`.
    pub fn differences(&self, other: &EnvFingerprint) -> Vec<(&'static str, String, String)> {
        let fields: [(&'static str, String, String); 6] = [
            ("host", self.host.clone(), other.host.clone()),
            ("os", self.os.clone(), other.os.clone()),
            ("arch", self.arch.clone(), other.arch.clone()),
            ("cpu_model", self.cpu_model.clone(), other.cpu_model.clone()),
            ("cores", self.cores.to_string(), other.cores.to_string()),
            (
                "perfstore_version",
                self.perfstore_version.clone(),
                other.perfstore_version.clone(),
            ),
        ];
        fields.into_iter().filter(|(_, a, b)| a != b).collect()
    }
}

/// The git checkout a session was recorded from (like asv's and bencher's commit fields).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitContext {
    /// The commit `HEAD` points at (full hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The branch checked out; absent when `HEAD` is detached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Whether tracked files had uncommitted changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
}

impl GitContext {
    /// The checkout of the current directory, by running `git`; `None` when `git` is missing
    /// or the directory is not in a checkout.
    pub fn current() -> Option<Self> {
        Self::of(std::path::Path::new("."))
    }

    /// The checkout containing `dir`; `None` when `git` is missing or `dir` is not in one.
    pub fn of(dir: &std::path::Path) -> Option<Self> {
        let git = |args: &[&str]| -> Option<String> {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .stdin(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        // Not a checkout (or no git): nothing recorded.
        git(&["rev-parse", "--is-inside-work-tree"]).filter(|inside| inside == "true")?;
        let commit = git(&["rev-parse", "--verify", "--quiet", "HEAD"]).filter(|c| !c.is_empty());
        let branch = git(&["symbolic-ref", "--quiet", "--short", "HEAD"]).filter(|b| !b.is_empty());
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).map(|s| !s.is_empty());
        Some(Self {
            commit,
            branch,
            dirty,
        })
    }
}

/// What perfstore records about a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionMeta {
    /// Schema version of this record.
    pub schema_version: u32,
    /// The session.
    pub session: SessionName,
    /// When the session was first used (RFC 3339, UTC).
    pub created_at: String,
    /// Labels given by the user (e.g. `commit`, `branch`).
    pub labels: BTreeMap<String, String>,
    /// Where it ran.
    pub fingerprint: EnvFingerprint,
    /// The git checkout of the directory it was recorded from, if it was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitContext>,
}

/// A session's metadata plus what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// The session.
    pub session: SessionName,
    /// Its metadata, if it was created through perfstore's workflows.
    pub meta: Option<SessionMeta>,
    /// Number of targets.
    pub targets: usize,
    /// Number of artifacts across targets.
    pub artifacts: usize,
    /// Total stored bytes across targets.
    pub bytes: u64,
}

fn meta_path(session: &SessionName) -> crate::names::ArtifactPath {
    TargetPath::records_of(session.clone()).artifact(Key::new("session.json").expect("valid key"))
}

/// The metadata of `session`, if recorded.
pub async fn session_meta(store: &Store, session: &SessionName) -> Result<Option<SessionMeta>> {
    store.load(&meta_path(session)).await
}

/// Records `session` as used now on this machine, unless it is recorded already; `labels` are
/// merged into the existing ones (a label given again takes the new value). Returns the record.
///
/// This is the one place a session's context is captured — time, fingerprint, the git checkout
/// of the current directory ([`GitContext::current`]) — and every write path calls it on first
/// write: CLI `put` and `import`, [`crate::transfer`] imports, [`crate::batch`] runs. Later
/// calls read one small record and change nothing unless new labels are given.
pub async fn ensure_session(
    store: &Store,
    session: &SessionName,
    labels: &BTreeMap<String, String>,
) -> Result<SessionMeta> {
    let path = meta_path(session);
    let meta = match store.load::<SessionMeta>(&path).await? {
        Some(mut meta) => {
            let before = meta.labels.clone();
            meta.labels
                .extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            if meta.labels == before {
                return Ok(meta);
            }
            meta
        }
        None => SessionMeta {
            schema_version: SESSION_SCHEMA_VERSION,
            session: session.clone(),
            created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            labels: labels.clone(),
            fingerprint: EnvFingerprint::current(),
            git: GitContext::current(),
        },
    };
    store.save(&path, &meta).await?;
    Ok(meta)
}

/// Metadata, target count, artifact count and bytes of `session`.
pub async fn session_info(store: &Store, session: &SessionName) -> Result<SessionInfo> {
    let targets = store.list_targets(session).await?;
    let mut artifacts = 0;
    let mut bytes = 0;
    for target in &targets {
        let target = TargetPath::new(session.clone(), target.clone());
        for (_, size) in store.list_sizes(&target).await? {
            artifacts += 1;
            bytes += size;
        }
    }
    Ok(SessionInfo {
        session: session.clone(),
        meta: session_meta(store, session).await?,
        targets: targets.len(),
        artifacts,
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_fingerprint_describes_this_machine() {
        let fp = EnvFingerprint::current();
        assert!(!fp.host.is_empty());
        assert_eq!(fp.arch, std::env::consts::ARCH);
        assert!(fp.cores >= 1);
        assert_eq!(fp.perfstore_version, env!("CARGO_PKG_VERSION"));
        assert!(fp.differences(&fp).is_empty());
        let other = EnvFingerprint {
            host: "elsewhere".into(),
            cores: fp.cores + 1,
            ..fp.clone()
        };
        let fields: Vec<_> = fp
            .differences(&other)
            .into_iter()
            .map(|(f, _, _)| f)
            .collect();
        assert_eq!(fields, ["host", "cores"]);
    }

    #[tokio::test]
    async fn metadata_is_written_once_and_labels_merge() {
        let store = Store::memory();
        let s = SessionName::new("run1").unwrap();
        assert_eq!(session_meta(&store, &s).await.unwrap(), None);
        let labels = BTreeMap::from([("commit".to_owned(), "abc123".to_owned())]);
        let first = ensure_session(&store, &s, &labels).await.unwrap();
        assert_eq!(first.labels, labels);
        assert_eq!(first.fingerprint, EnvFingerprint::current());
        let again = ensure_session(&store, &s, &BTreeMap::new()).await.unwrap();
        assert_eq!(again, first, "a second use changes nothing");
        let more = BTreeMap::from([("branch".to_owned(), "main".to_owned())]);
        let merged = ensure_session(&store, &s, &more).await.unwrap();
        assert_eq!(merged.created_at, first.created_at);
        assert_eq!(merged.labels.len(), 2);
        assert_eq!(session_meta(&store, &s).await.unwrap(), Some(merged));
        // The record makes the session visible, but not as a target.
        assert_eq!(
            store.list_sessions().await.unwrap(),
            std::slice::from_ref(&s)
        );
        assert!(store.list_targets(&s).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn info_counts_targets_artifacts_and_bytes() {
        let store = Store::memory();
        let s = SessionName::new("run1").unwrap();
        ensure_session(&store, &s, &BTreeMap::new()).await.unwrap();
        let a = store.target("run1", "a").unwrap();
        a.save_string("x.txt", "12345").await.unwrap();
        a.save_bytes("y.bin", vec![0u8; 10]).await.unwrap();
        store
            .target("run1", "b")
            .unwrap()
            .save_string("z", "1")
            .await
            .unwrap();
        let info = session_info(&store, &s).await.unwrap();
        assert_eq!((info.targets, info.artifacts, info.bytes), (2, 3, 16));
        assert!(info.meta.is_some());
    }
}
