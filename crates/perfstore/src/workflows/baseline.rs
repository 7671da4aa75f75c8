//! Named baselines: refs `name → session`, stored in the backend and moved atomically.
//!
//! Wherever a session name is accepted, `@name` resolves a baseline ([`resolve_session`]). Each
//! baseline is one record (`baselines/{name}.json` among the store-wide records), so moving it is
//! one atomic put on every backend: a reader sees the old session or the new one.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::{ArtifactPath, Key, KeyPrefix, NameError, SessionName, TargetPath};
use crate::storage::{StorageExt, Store};

/// The name of a baseline: the rules of a [`SessionName`] (`[A-Za-z0-9_-]`, 1–100).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BaselineName(SessionName);

impl BaselineName {
    /// Validates `name`.
    pub fn new(name: &str) -> Result<Self, NameError> {
        SessionName::new(name).map(Self)
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for BaselineName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A baseline record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Its name.
    pub name: BaselineName,
    /// The session it points at.
    pub session: SessionName,
    /// When it was last set (RFC 3339, UTC).
    pub updated_at: String,
}

fn record(name: &BaselineName) -> ArtifactPath {
    TargetPath::store_records().artifact(
        Key::new(format!("baselines/{}.json", name.as_str())).expect("baseline names are keys"),
    )
}

/// Points `name` at `session` (creating or moving it). The session must exist.
pub async fn set_baseline(
    store: &Store,
    name: &BaselineName,
    session: &SessionName,
) -> Result<Baseline> {
    if !store.list_sessions().await?.contains(session) {
        return Err(Error::SessionNotFound {
            session: session.clone(),
        });
    }
    let baseline = Baseline {
        name: name.clone(),
        session: session.clone(),
        updated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    store.save(&record(name), &baseline).await?;
    Ok(baseline)
}

/// The baseline `name`, if set.
pub async fn get_baseline(store: &Store, name: &BaselineName) -> Result<Option<Baseline>> {
    store.load(&record(name)).await
}

/// Every baseline, sorted by name.
pub async fn list_baselines(store: &Store) -> Result<Vec<Baseline>> {
    let target = TargetPath::store_records();
    let mut baselines = Vec::new();
    for key in store
        .list_keys(&target, &KeyPrefix::new("baselines/")?)
        .await?
    {
        if let Some(baseline) = store.load::<Baseline>(&target.artifact(key)).await? {
            baselines.push(baseline);
        }
    }
    baselines.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(baselines)
}

/// Removes the baseline `name`; `false` if it was not set. The session is untouched.
pub async fn remove_baseline(store: &Store, name: &BaselineName) -> Result<bool> {
    store.delete(&record(name)).await
}

/// A session given by name, or `@name` for the session a baseline points at.
pub async fn resolve_session(store: &Store, spec: &str) -> Result<SessionName> {
    match spec.strip_prefix('@') {
        Some(name) => {
            let name = BaselineName::new(name)?;
            get_baseline(store, &name)
                .await?
                .map(|b| b.session)
                .ok_or(Error::BaselineNotFound {
                    name: name.to_string(),
                })
        }
        None => Ok(SessionName::new(spec)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn store_with_sessions(names: &[&str]) -> Store {
        let store = Store::memory();
        for name in names {
            store
                .target(name, "t")
                .unwrap()
                .save_string("k", "v")
                .await
                .unwrap();
        }
        store
    }

    #[tokio::test]
    async fn set_move_resolve_and_remove() {
        let store = store_with_sessions(&["run1", "run2"]).await;
        let main = BaselineName::new("main").unwrap();
        let s1 = SessionName::new("run1").unwrap();
        let s2 = SessionName::new("run2").unwrap();
        assert_eq!(get_baseline(&store, &main).await.unwrap(), None);
        set_baseline(&store, &main, &s1).await.unwrap();
        assert_eq!(resolve_session(&store, "@main").await.unwrap(), s1);
        set_baseline(&store, &main, &s2).await.unwrap();
        assert_eq!(resolve_session(&store, "@main").await.unwrap(), s2);
        assert_eq!(resolve_session(&store, "run1").await.unwrap(), s1);
        set_baseline(&store, &BaselineName::new("release-1").unwrap(), &s1)
            .await
            .unwrap();
        let names: Vec<String> = list_baselines(&store)
            .await
            .unwrap()
            .into_iter()
            .map(|b| b.name.to_string())
            .collect();
        assert_eq!(names, ["main", "release-1"]);
        // Baselines are records: they add no session.
        assert_eq!(
            store.list_sessions().await.unwrap(),
            [s1.clone(), s2.clone()]
        );
        assert!(remove_baseline(&store, &main).await.unwrap());
        assert!(!remove_baseline(&store, &main).await.unwrap());
        assert!(matches!(
            resolve_session(&store, "@main").await,
            Err(Error::BaselineNotFound { .. })
        ));
    }

    #[tokio::test]
    async fn bad_names_and_missing_sessions_are_refused() {
        let store = store_with_sessions(&["run1"]).await;
        assert!(matches!(
            resolve_session(&store, "@bad name").await,
            Err(Error::InvalidName(_))
        ));
        assert!(matches!(
            resolve_session(&store, "../x").await,
            Err(Error::InvalidName(_))
        ));
        let err = set_baseline(
            &store,
            &BaselineName::new("main").unwrap(),
            &SessionName::new("nope").unwrap(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::SessionNotFound { .. }), "{err}");
        assert!(err.is_not_found());
    }
}
