//! Batch runs: a user function over many targets of a session, with bounded concurrency and
//! each target's status recorded in the store itself — so running the same batch again
//! resumes it.
//!
//! Per target, the runner writes a `running` record, calls the function, then writes `done`
//! (or `failed` with the error). The `done` record is written last and atomically (one put),
//! so a crash at any point leaves the target not done, and the next run does it again; a target
//! recorded done is never run again. Failed targets are retried only on request
//! ([`BatchOptions::retry_failed`]). Records live with the session's own records
//! (`batch/{target}.json` under [`RESERVED_NAME`](crate::names::RESERVED_NAME)) on every
//! backend.
//!
//! **De-dup by input hash:** an item may declare the hash of its input
//! ([`BatchItem::input_hash`]); a target whose input hash was already processed in the session
//! (another target done with the same hash) is recorded `skipped` instead of run.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::artifact::ContentHash;
use crate::error::{Error, Result};
use crate::names::{Key, KeyPrefix, SessionName, TargetName, TargetPath};
use crate::storage::{StorageExt, Store, TargetHandle};
use crate::workflows::session::ensure_session;

/// The error a batch function may return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One target to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchItem {
    /// The target.
    pub target: TargetName,
    /// Hash of the target's input, for de-dup across targets of the session.
    pub input_hash: Option<ContentHash>,
}

impl BatchItem {
    /// An item with no declared input.
    pub fn new(target: TargetName) -> Self {
        Self {
            target,
            input_hash: None,
        }
    }

    /// Declares the input: its [`ContentHash`] is used for de-dup.
    pub fn with_input(mut self, input: &[u8]) -> Self {
        self.input_hash = Some(ContentHash::of(input));
        self
    }
}

/// What the store records about one target of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TargetStatus {
    /// Started and not finished (or the process died).
    Running {
        /// Attempt number, from 1.
        attempt: u32,
        /// When the attempt started (RFC 3339).
        started_at: String,
        /// The declared input hash.
        input_hash: Option<ContentHash>,
    },
    /// Finished successfully: never run again.
    Done {
        /// Attempt that succeeded.
        attempt: u32,
        /// When it started.
        started_at: String,
        /// When it finished.
        finished_at: String,
        /// The declared input hash.
        input_hash: Option<ContentHash>,
    },
    /// The function returned an error (or panicked).
    Failed {
        /// Attempt that failed.
        attempt: u32,
        /// When it started.
        started_at: String,
        /// When it failed.
        finished_at: String,
        /// The error, as text.
        error: String,
        /// The declared input hash.
        input_hash: Option<ContentHash>,
    },
    /// Not run: another target of the session had the same input hash and is done.
    Skipped {
        /// The target that processed this input.
        duplicate_of: TargetName,
        /// The shared input hash.
        input_hash: ContentHash,
        /// When it was skipped.
        finished_at: String,
    },
}

impl TargetStatus {
    fn attempt(&self) -> u32 {
        match self {
            TargetStatus::Running { attempt, .. }
            | TargetStatus::Done { attempt, .. }
            | TargetStatus::Failed { attempt, .. } => *attempt,
            TargetStatus::Skipped { .. } => 0,
        }
    }

    /// Whether the target needs no more work (done, or skipped as a duplicate).
    pub fn is_complete(&self) -> bool {
        matches!(
            self,
            TargetStatus::Done { .. } | TargetStatus::Skipped { .. }
        )
    }
}

/// A progress event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchEvent {
    /// The function started on a target.
    Started(TargetName),
    /// A target finished (`ok`: done).
    Finished {
        /// The target.
        target: TargetName,
        /// Whether it is done.
        ok: bool,
    },
}

/// A callback for [`BatchEvent`]s.
pub type EventHandler = Arc<dyn Fn(&BatchEvent) + Send + Sync>;

/// How a batch runs.
#[derive(Clone)]
pub struct BatchOptions {
    /// Targets processed at once.
    pub concurrency: usize,
    /// Run targets that failed before (otherwise they are reported and left alone).
    pub retry_failed: bool,
    /// Skip a target whose input hash another done target of the session already had.
    pub skip_duplicate_inputs: bool,
    /// Labels recorded on the session when it is first used.
    pub labels: BTreeMap<String, String>,
    /// Called for every [`BatchEvent`].
    pub on_event: Option<EventHandler>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            retry_failed: false,
            skip_duplicate_inputs: true,
            labels: BTreeMap::new(),
            on_event: None,
        }
    }
}

impl std::fmt::Debug for BatchOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchOptions")
            .field("concurrency", &self.concurrency)
            .field("retry_failed", &self.retry_failed)
            .field("skip_duplicate_inputs", &self.skip_duplicate_inputs)
            .field("labels", &self.labels)
            .finish_non_exhaustive()
    }
}

/// What one run of a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchReport {
    /// Targets the function ran on in this run, in completion order.
    pub ran: Vec<TargetName>,
    /// Of those, the ones now done.
    pub done: Vec<TargetName>,
    /// Of those, the ones that failed, with the error.
    pub failed: Vec<(TargetName, String)>,
    /// Targets already done before this run (not run again).
    pub already_done: Vec<TargetName>,
    /// Targets that had failed before and were not retried.
    pub not_retried: Vec<TargetName>,
    /// Targets skipped because another target had their input: `(target, duplicate_of)`.
    pub duplicates: Vec<(TargetName, TargetName)>,
}

fn batch_error(message: String) -> Error {
    Error::Backend {
        backend: "batch",
        message,
        source: None,
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn status_path(session: &SessionName, target: &TargetName) -> crate::names::ArtifactPath {
    TargetPath::records_of(session.clone())
        .artifact(Key::new(format!("batch/{target}.json")).expect("target names are key segments"))
}

/// The recorded status of every target of `session` that a batch touched.
pub async fn batch_status(
    store: &Store,
    session: &SessionName,
) -> Result<BTreeMap<TargetName, TargetStatus>> {
    let records = TargetPath::records_of(session.clone());
    let keys = store
        .list_keys(&records, &KeyPrefix::new("batch/")?)
        .await?;
    let paths: Vec<_> = keys.iter().map(|k| records.artifact(k.clone())).collect();
    let mut statuses = BTreeMap::new();
    for (key, loaded) in keys.iter().zip(store.get_many(&paths).await) {
        let Some(artifact) = loaded? else { continue };
        let Some(name) = key
            .file_name()
            .strip_suffix(".json")
            .and_then(|n| TargetName::new(n).ok())
        else {
            continue;
        };
        let status = serde_json::from_slice(artifact.bytes()).map_err(|source| Error::NotJson {
            path: records.artifact(key.clone()),
            source,
        })?;
        statuses.insert(name, status);
    }
    Ok(statuses)
}

async fn record(
    store: &Store,
    session: &SessionName,
    target: &TargetName,
    status: &TargetStatus,
) -> Result<()> {
    store
        .save(&status_path(session, target), status)
        .await
        .map(|_| ())
}

/// Runs `work` on every item's target of `session` that is not done yet, `concurrency` at a
/// time, recording each target's status; calling it again resumes the batch.
pub async fn run_batch<F, Fut>(
    store: &Store,
    session: &SessionName,
    items: Vec<BatchItem>,
    options: &BatchOptions,
    work: F,
) -> Result<BatchReport>
where
    F: Fn(TargetHandle) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), BoxError>> + Send + 'static,
{
    ensure_session(store, session, &options.labels).await?;
    let statuses = batch_status(store, session).await?;
    let mut report = BatchReport::default();

    // Input hashes already processed in the session, and by which target.
    let mut processed: HashMap<ContentHash, TargetName> = statuses
        .iter()
        .filter_map(|(t, s)| match s {
            TargetStatus::Done {
                input_hash: Some(h),
                ..
            } => Some((h.clone(), t.clone())),
            _ => None,
        })
        .collect();

    let mut to_run: Vec<(BatchItem, u32)> = Vec::new();
    let mut deferred: Vec<(BatchItem, u32)> = Vec::new();
    let mut claimed: HashMap<ContentHash, TargetName> = HashMap::new();
    for item in items {
        let previous = statuses.get(&item.target);
        match previous {
            Some(s) if s.is_complete() => {
                report.already_done.push(item.target);
                continue;
            }
            Some(TargetStatus::Failed { .. }) if !options.retry_failed => {
                report.not_retried.push(item.target);
                continue;
            }
            _ => {}
        }
        let attempt = previous.map_or(0, TargetStatus::attempt) + 1;
        if options.skip_duplicate_inputs
            && let Some(hash) = &item.input_hash
        {
            if let Some(original) = processed.get(hash).filter(|t| **t != item.target) {
                let status = TargetStatus::Skipped {
                    duplicate_of: original.clone(),
                    input_hash: hash.clone(),
                    finished_at: now(),
                };
                record(store, session, &item.target, &status).await?;
                report.duplicates.push((item.target, original.clone()));
                continue;
            }
            if claimed.contains_key(hash) {
                // Same input as an item of this run: wait for that one.
                deferred.push((item, attempt));
                continue;
            }
            claimed.insert(hash.clone(), item.target.clone());
        }
        to_run.push((item, attempt));
    }

    let work = Arc::new(work);
    run_items(store, session, to_run, options, &work, &mut report).await?;

    // Duplicates within this run: skipped if their twin is now done, run otherwise.
    let mut retry = Vec::new();
    let done_now: HashMap<ContentHash, TargetName> = report
        .done
        .iter()
        .filter_map(|t| {
            claimed
                .iter()
                .find(|(_, c)| *c == t)
                .map(|(h, _)| (h.clone(), t.clone()))
        })
        .collect();
    processed.extend(done_now);
    for (item, attempt) in deferred {
        let hash = item.input_hash.clone().expect("deferred items have a hash");
        match processed.get(&hash) {
            Some(original) => {
                let status = TargetStatus::Skipped {
                    duplicate_of: original.clone(),
                    input_hash: hash,
                    finished_at: now(),
                };
                record(store, session, &item.target, &status).await?;
                report.duplicates.push((item.target, original.clone()));
            }
            None => retry.push((item, attempt)),
        }
    }
    run_items(store, session, retry, options, &work, &mut report).await?;
    Ok(report)
}

async fn run_items<F, Fut>(
    store: &Store,
    session: &SessionName,
    items: Vec<(BatchItem, u32)>,
    options: &BatchOptions,
    work: &Arc<F>,
    report: &mut BatchReport,
) -> Result<()>
where
    F: Fn(TargetHandle) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<(), BoxError>> + Send + 'static,
{
    let limit = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (item, attempt) in items {
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .map_err(|e| batch_error(format!("batch semaphore closed: {e}")))?;
        let (store, session, work, on_event) = (
            store.clone(),
            session.clone(),
            Arc::clone(work),
            options.on_event.clone(),
        );
        tasks.spawn(async move {
            let _permit = permit;
            let target = item.target.clone();
            let started_at = now();
            let running = TargetStatus::Running {
                attempt,
                started_at: started_at.clone(),
                input_hash: item.input_hash.clone(),
            };
            record(&store, &session, &target, &running).await?;
            if let Some(f) = &on_event {
                f(&BatchEvent::Started(target.clone()));
            }
            let handle = store.target_at(TargetPath::new(session.clone(), target.clone()));
            // The function runs in its own task so a panic is a failure, not a crash.
            let outcome = match tokio::spawn(work(handle)).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(join) => Err(format!("the batch function panicked: {join}")),
            };
            let finished_at = now();
            let status = match &outcome {
                Ok(()) => TargetStatus::Done {
                    attempt,
                    started_at,
                    finished_at,
                    input_hash: item.input_hash.clone(),
                },
                Err(error) => TargetStatus::Failed {
                    attempt,
                    started_at,
                    finished_at,
                    error: error.clone(),
                    input_hash: item.input_hash.clone(),
                },
            };
            // The completion marker: written last, in one atomic put.
            record(&store, &session, &target, &status).await?;
            if let Some(f) = &on_event {
                f(&BatchEvent::Finished {
                    target: target.clone(),
                    ok: outcome.is_ok(),
                });
            }
            Ok::<_, Error>((target, outcome))
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (target, outcome) =
            joined.map_err(|e| batch_error(format!("batch task failed: {e}")))??;
        report.ran.push(target.clone());
        match outcome {
            Ok(()) => report.done.push(target),
            Err(error) => report.failed.push((target, error)),
        }
    }
    Ok(())
}
