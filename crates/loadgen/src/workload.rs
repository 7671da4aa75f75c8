//! The workloads, and running one of them at a fixed concurrency for a fixed number of
//! requests.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cache_client::{CacheClient, Strategy};
use serde::Serialize;
use serde_json::{Value, json};

use crate::stats::LatencySummary;

/// The file id every key-based entry is stored under.
const ENTRY_FILE_ID: &str = "e";
/// The `data_key` (folder) child files are stored under.
const DATA_KEY: &str = "loadgen";
/// How many entries / child files the read workloads cycle through.
const READ_SET: usize = 256;
/// How many keys the repeating-key workload cycles through (every phase the same keys).
pub const REPEATING_KEYS: usize = 100;
/// Where the repeating-key workload's body numbers start (above any other workload's).
const REPEATING_BODY_BASE: u64 = 1 << 40;

/// One kind of request a phase repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    /// `POST /{ns}/key-based/store/json/{cache_key}` of a 1 KB body, a new key each time.
    StoreJsonKey,
    /// `POST /{ns}/key-based/store/json/{cache_key}` of a 1 KB body over [`REPEATING_KEYS`]
    /// keys, again and again: what nightly runs re-storing the same keys do (each store grows
    /// the key's history).
    StoreJsonRepeatingKey,
    /// `GET /{ns}/retrieve/hash/{cache_hash}` of entries stored beforehand.
    RetrieveByHash,
    /// `POST …/cache/{id}/data/store/json/{key}/{file_id}` of 1 KB under one entry, a new file
    /// id each time.
    DataStoreJson,
    /// `GET …/cache/{id}/data/json/{key}/{file_id}` of child files stored beforehand.
    DataRetrieveJson,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 5] = [
        Workload::StoreJsonKey,
        Workload::StoreJsonRepeatingKey,
        Workload::RetrieveByHash,
        Workload::DataStoreJson,
        Workload::DataRetrieveJson,
    ];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Workload::StoreJsonKey => "store_json_key",
            Workload::StoreJsonRepeatingKey => "store_json_repeating_key",
            Workload::RetrieveByHash => "retrieve_by_hash",
            Workload::DataStoreJson => "data_store_json",
            Workload::DataRetrieveJson => "data_retrieve_json",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
                format!(
                    "unknown workload {s:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

/// A JSON object of about 1 KB that differs (and so hashes differently) for each `n`.
pub fn body(n: u64) -> Value {
    json!({"n": n, "payload": "x".repeat(1000)})
}

/// A failed request or an answer that was not the expected one.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RequestError {
    /// The client reported an error (transport, status, decoding).
    #[error("{workload} request {index}: {message}")]
    Client {
        /// The workload.
        workload: Workload,
        /// The request's index within its phase.
        index: usize,
        /// The client's error text.
        message: String,
    },
    /// The server answered, but not with what was stored.
    #[error("{workload} request {index}: {problem}")]
    WrongAnswer {
        /// The workload.
        workload: Workload,
        /// The request's index within its phase.
        index: usize,
        /// What was wrong.
        problem: String,
    },
}

/// What the read workloads read and the data workloads write under, prepared untimed.
#[derive(Debug, Clone)]
pub struct Fixture {
    namespace: String,
    /// `(cache_hash, n)` of stored entries.
    entries: Vec<(String, u64)>,
    /// The entry child files are stored under.
    parent_id: String,
    /// `(file_id, n)` of stored child files.
    files: Vec<(String, u64)>,
}

impl Fixture {
    /// Stores [`READ_SET`] entries and child files in `namespace` (sequentially, untimed).
    pub async fn prepare(client: &CacheClient, namespace: &str) -> Result<Self, RequestError> {
        let fail = |workload, index, e: cache_client::CacheClientError| RequestError::Client {
            workload,
            index,
            message: format!("(preparing) {e}"),
        };
        let mut entries = Vec::with_capacity(READ_SET);
        for i in 0..READ_SET {
            let n = i as u64;
            let stored = client
                .store()
                .json_with_key(
                    namespace,
                    Strategy::KeyBased,
                    &format!("fixture/entry-{i}"),
                    Some(ENTRY_FILE_ID),
                    None,
                    &body(n),
                )
                .await
                .map_err(|e| fail(Workload::StoreJsonKey, i, e))?;
            entries.push((stored.cache_hash, n));
        }
        let parent = client
            .store()
            .json_with_key(
                namespace,
                Strategy::KeyBased,
                "fixture/parent",
                Some(ENTRY_FILE_ID),
                None,
                &json!({"parent": true}),
            )
            .await
            .map_err(|e| fail(Workload::StoreJsonKey, 0, e))?;
        let mut files = Vec::with_capacity(READ_SET);
        for i in 0..READ_SET {
            let n = 1_000_000 + i as u64;
            let file_id = format!("fixture-{i}");
            client
                .data()
                .store_json(
                    namespace,
                    &parent.cache_id,
                    Some(DATA_KEY),
                    Some(&file_id),
                    &body(n),
                )
                .await
                .map_err(|e| fail(Workload::DataStoreJson, i, e))?;
            files.push((file_id, n));
        }
        Ok(Fixture {
            namespace: namespace.to_owned(),
            entries,
            parent_id: parent.cache_id,
            files,
        })
    }
}

impl Fixture {
    /// The namespace everything is stored in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The entry the fixture's child files are stored under.
    pub fn parent_id(&self) -> &str {
        &self.parent_id
    }

    /// `(cache_hash, n)` of the `index`-th stored entry (cycling).
    pub fn entry(&self, index: usize) -> (&str, u64) {
        let (hash, n) = &self.entries[index % self.entries.len()];
        (hash, *n)
    }

    /// `(file_id, n)` of the `index`-th child file under data key `loadgen` (cycling).
    pub fn file(&self, index: usize) -> (&str, u64) {
        let (id, n) = &self.files[index % self.files.len()];
        (id, *n)
    }
}

/// Checks a read answer carries the `n` that was stored.
fn check_n(
    workload: Workload,
    index: usize,
    answer: Option<Value>,
    want: u64,
) -> Result<(), RequestError> {
    let wrong = |problem: String| RequestError::WrongAnswer {
        workload,
        index,
        problem,
    };
    let value =
        answer.ok_or_else(|| wrong("not found (the server answered 'no such item')".into()))?;
    match value.get("n").and_then(Value::as_u64) {
        Some(n) if n == want => Ok(()),
        other => Err(wrong(format!("expected n = {want}, got {other:?}"))),
    }
}

/// One request of `workload`; `tag` keeps the keys and file ids of every phase distinct.
async fn one_request(
    client: &CacheClient,
    fixture: &Fixture,
    workload: Workload,
    tag: &str,
    index: usize,
) -> Result<(), RequestError> {
    let client_error = |e: cache_client::CacheClientError| RequestError::Client {
        workload,
        index,
        message: e.to_string(),
    };
    let ns = fixture.namespace.as_str();
    match workload {
        Workload::StoreJsonKey => {
            client
                .store()
                .json_with_key(
                    ns,
                    Strategy::KeyBased,
                    &format!("{tag}/key-{index}"),
                    Some(ENTRY_FILE_ID),
                    None,
                    &body(index as u64),
                )
                .await
                .map_err(client_error)?;
            Ok(())
        }
        Workload::StoreJsonRepeatingKey => {
            client
                .store()
                .json_with_key(
                    ns,
                    Strategy::KeyBased,
                    &format!("repeating/key-{}", index % REPEATING_KEYS),
                    Some(ENTRY_FILE_ID),
                    None,
                    // Bodies no fixture has: a key_based overwrite makes every earlier hash of
                    // the key serve the new content (COMPAT D08), which must not touch the
                    // entries retrieve_by_hash checks.
                    &body(REPEATING_BODY_BASE + index as u64),
                )
                .await
                .map_err(client_error)?;
            Ok(())
        }
        Workload::RetrieveByHash => {
            let (hash, n) = &fixture.entries[index % fixture.entries.len()];
            let answer = client
                .retrieve()
                .by_hash_json(ns, hash)
                .await
                .map_err(client_error)?;
            check_n(workload, index, answer, *n)
        }
        Workload::DataStoreJson => {
            client
                .data()
                .store_json(
                    ns,
                    &fixture.parent_id,
                    Some(DATA_KEY),
                    Some(&format!("{tag}-{index}")),
                    &body(index as u64),
                )
                .await
                .map_err(client_error)?;
            Ok(())
        }
        Workload::DataRetrieveJson => {
            let (file_id, n) = &fixture.files[index % fixture.files.len()];
            let answer = client
                .data()
                .retrieve_json(ns, &fixture.parent_id, Some(DATA_KEY), file_id)
                .await
                .map_err(client_error)?;
            check_n(workload, index, answer, *n)
        }
    }
}

/// The outcome of one (workload, concurrency) phase.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseResult {
    /// The workload.
    pub workload: Workload,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Timed requests sent.
    pub requests: usize,
    /// Requests that failed or answered wrongly (a valid run has 0).
    pub errors: usize,
    /// The first error's text, if any.
    pub first_error: Option<String>,
    /// Wall time of the timed requests, in seconds.
    pub elapsed_s: f64,
    /// Completed requests per second of wall time.
    pub ops_per_s: f64,
    /// Latency of the successful requests.
    #[serde(flatten)]
    pub latency: LatencySummary,
}

/// Sends `requests` requests (`index` 0..requests) of `workload` from `concurrency` tasks, each
/// taking the next index until none is left. Returns the latencies and errors of the phase.
async fn drive(
    client: &CacheClient,
    fixture: &Arc<Fixture>,
    workload: Workload,
    tag: &str,
    concurrency: usize,
    requests: usize,
) -> (Vec<Duration>, Vec<RequestError>, Duration) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (client, fixture, next, tag) = (
            client.clone(),
            Arc::clone(fixture),
            Arc::clone(&next),
            tag.to_owned(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= requests {
                    break;
                }
                let t = Instant::now();
                match one_request(&client, &fixture, workload, &tag, index).await {
                    Ok(()) => latencies.push(t.elapsed()),
                    Err(e) => errors.push(e),
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut errors = Vec::new();
    for task in futures::future::join_all(tasks).await {
        match task {
            Ok((l, e)) => {
                latencies.extend(l);
                errors.extend(e);
            }
            Err(join) => errors.push(RequestError::Client {
                workload,
                index: usize::MAX,
                message: format!("worker task failed: {join}"),
            }),
        }
    }
    (latencies, errors, started.elapsed())
}

/// Runs one phase: an untimed warm-up of `concurrency` requests (opens the pooled
/// connections), then `max(requests, concurrency)` timed requests.
pub async fn run_phase(
    client: &CacheClient,
    fixture: &Arc<Fixture>,
    workload: Workload,
    concurrency: usize,
    requests: usize,
) -> PhaseResult {
    let requests = requests.max(concurrency);
    let warm_tag = format!("warm-c{concurrency}");
    let (_, warm_errors, _) = drive(
        client,
        fixture,
        workload,
        &warm_tag,
        concurrency,
        concurrency,
    )
    .await;
    let tag = format!("timed-c{concurrency}");
    let (mut latencies, mut errors, elapsed) =
        drive(client, fixture, workload, &tag, concurrency, requests).await;
    // Warm-up failures count too: any error fails the run.
    errors.splice(0..0, warm_errors);
    let elapsed_s = elapsed.as_secs_f64();
    PhaseResult {
        workload,
        concurrency,
        requests,
        errors: errors.len(),
        first_error: errors.first().map(ToString::to_string),
        elapsed_s,
        ops_per_s: if elapsed_s > 0.0 {
            latencies.len() as f64 / elapsed_s
        } else {
            0.0
        },
        latency: LatencySummary::from_samples(&mut latencies),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cache_client::LocalServer;

    #[test]
    fn workload_names_round_trip() {
        for w in Workload::ALL {
            assert_eq!(w.name().parse::<Workload>().unwrap(), w);
        }
        let err = "nope".parse::<Workload>().unwrap_err();
        assert!(err.contains("store_json_key"), "{err}");
    }

    #[test]
    fn body_is_about_one_kilobyte() {
        let len = serde_json::to_vec(&body(12345)).unwrap().len();
        assert!((1000..1100).contains(&len), "{len}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_workload_runs_without_errors_against_our_server() {
        let server = LocalServer::in_memory().await.unwrap();
        let client = server.client();
        let fixture = Arc::new(Fixture::prepare(&client, "loadgen-test").await.unwrap());
        for w in Workload::ALL {
            let r = run_phase(&client, &fixture, w, 4, 10).await;
            assert_eq!(r.errors, 0, "{w}: {:?}", r.first_error);
            assert_eq!(r.requests, 10);
            assert!(r.ops_per_s > 0.0 && r.latency.p99_ms >= r.latency.p50_ms);
        }
        // The request count is at least the concurrency.
        let r = run_phase(&client, &fixture, Workload::RetrieveByHash, 8, 1).await;
        assert_eq!((r.requests, r.errors), (8, 0));
        server.stop().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_answers_are_errors() {
        let server = LocalServer::in_memory().await.unwrap();
        let client = server.client();
        let mut fixture = Fixture::prepare(&client, "loadgen-test").await.unwrap();
        fixture.entries = vec![("0".repeat(16), 1)];
        fixture.files = vec![(fixture.files[0].0.clone(), 999)];
        let fixture = Arc::new(fixture);
        for w in [Workload::RetrieveByHash, Workload::DataRetrieveJson] {
            let r = run_phase(&client, &fixture, w, 2, 3).await;
            // 2 warm-up + 3 timed requests, all wrong.
            assert_eq!(r.errors, 5, "{w}");
            assert!(r.first_error.is_some());
        }
        server.stop().await.unwrap();
    }
}
