//! `soak`: a mixed load (stores, retrieves, child data, batches, listings) at a fixed
//! concurrency for a fixed time, for `scripts/soak.sh`, which watches the server's memory
//! and file descriptors meanwhile. Every request is checked; any failure counts as an error.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cache_client::types::{BatchFileRef, BatchFileStatus, BatchStoreFile, ChildContent};
use cache_client::{CacheClient, DataType, Strategy};
use serde::Serialize;

use crate::workload::{Fixture, body};

/// The kinds of request of the mix, in turn.
const MIX: [&str; 8] = [
    "store_json_key",
    "retrieve_by_hash",
    "data_store_json",
    "data_retrieve_json",
    "batch_store",
    "batch_retrieve",
    "data_list",
    "data_retrieve_json",
];
/// Stores cycle through this many keys and child file ids, so the storage stays bounded.
const KEYS: usize = 2048;
/// Files per batch.
const BATCH: usize = 8;

/// What a soak did.
#[derive(Debug, Clone, Serialize)]
pub struct SoakResult {
    /// Requests completed (successful or not).
    pub requests: usize,
    /// Requests that failed or answered wrongly.
    pub errors: usize,
    /// The first error's text.
    pub first_error: Option<String>,
    /// Wall time in seconds.
    pub elapsed_s: f64,
    /// Requests per second.
    pub ops_per_s: f64,
}

async fn one(client: &CacheClient, fixture: &Fixture, index: usize) -> Result<(), String> {
    let ns = fixture.namespace();
    let slot = index / MIX.len() % KEYS;
    let e = |e: cache_client::CacheClientError| e.to_string();
    match index % MIX.len() {
        0 => {
            client
                .store()
                .json_with_key(
                    ns,
                    Strategy::KeyBased,
                    &format!("soak/key-{slot}"),
                    Some("e"),
                    None,
                    &body(slot as u64),
                )
                .await
                .map_err(e)?;
        }
        1 => {
            let (hash, n) = fixture.entry(index);
            let answer = client.retrieve().by_hash_json(ns, hash).await.map_err(e)?;
            check(answer.as_ref().and_then(|v| v.get("n")?.as_u64()), n)?;
        }
        2 => {
            client
                .data()
                .store_json(
                    ns,
                    fixture.parent_id(),
                    Some("soak"),
                    Some(&format!("f-{slot}")),
                    &body(slot as u64),
                )
                .await
                .map_err(e)?;
        }
        3 | 7 => {
            let (file_id, n) = fixture.file(index);
            let answer = client
                .data()
                .retrieve_json(ns, fixture.parent_id(), Some("loadgen"), file_id)
                .await
                .map_err(e)?;
            check(answer.as_ref().and_then(|v| v.get("n")?.as_u64()), n)?;
        }
        4 => {
            let files: Vec<BatchStoreFile> = (0..BATCH)
                .map(|i| {
                    BatchStoreFile::new(
                        "soak-batch",
                        &format!("b-{}", (slot * BATCH + i) % KEYS),
                        ChildContent::json(&body(i as u64)),
                    )
                })
                .collect();
            let answer = client
                .data()
                .store_batch(ns, fixture.parent_id(), &files)
                .await
                .map_err(e)?
                .ok_or("no batch route")?;
            if answer.files.len() != BATCH {
                return Err(format!("batch store answered {} files", answer.files.len()));
            }
        }
        5 => {
            let refs: Vec<BatchFileRef> = (0..BATCH)
                .map(|i| BatchFileRef::new(DataType::Json, "loadgen", fixture.file(index + i).0))
                .collect();
            let answer = client
                .data()
                .retrieve_batch(ns, fixture.parent_id(), &refs)
                .await
                .map_err(e)?
                .ok_or("no batch route")?;
            if answer
                .files
                .iter()
                .any(|f| f.status != BatchFileStatus::Found)
            {
                return Err("batch retrieve: a fixture file was not found".into());
            }
        }
        _ => {
            let listed = client
                .data()
                .list(ns, fixture.parent_id(), Some("loadgen"), false)
                .await
                .map_err(e)?;
            if listed.file_count < 256 {
                return Err(format!("listing found {} fixture files", listed.file_count));
            }
        }
    }
    Ok(())
}

fn check(got: Option<u64>, want: u64) -> Result<(), String> {
    match got {
        Some(n) if n == want => Ok(()),
        other => Err(format!("expected n = {want}, got {other:?}")),
    }
}

/// Runs the mix from `concurrency` tasks for `duration`; prints progress every 10 s.
pub async fn run(
    client: &CacheClient,
    fixture: &Arc<Fixture>,
    concurrency: usize,
    duration: Duration,
) -> SoakResult {
    eprintln!("soak: load started");
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, fixture, next, errors, first_error, stop) = (
            client.clone(),
            Arc::clone(fixture),
            Arc::clone(&next),
            Arc::clone(&errors),
            Arc::clone(&first_error),
            Arc::clone(&stop),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if let Err(problem) = one(&client, &fixture, index).await {
                    errors.fetch_add(1, Ordering::Relaxed);
                    let mut first = first_error.lock().unwrap_or_else(|e| e.into_inner());
                    if first.is_none() {
                        *first = Some(format!(
                            "{} request {index}: {problem}",
                            MIX[index % MIX.len()]
                        ));
                    }
                }
            }
        }));
    }
    let mut last = 0;
    while started.elapsed() < duration {
        tokio::time::sleep(Duration::from_secs(10).min(duration.saturating_sub(started.elapsed())))
            .await;
        let done = next.load(Ordering::Relaxed);
        eprintln!(
            "soak: {:>5.0} s: {done} requests ({:.0}/s), {} errors",
            started.elapsed().as_secs_f64(),
            (done - last) as f64 / 10.0,
            errors.load(Ordering::Relaxed)
        );
        last = done;
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        if task.await.is_err() {
            errors.fetch_add(1, Ordering::Relaxed);
        }
    }
    let elapsed_s = started.elapsed().as_secs_f64();
    let requests = next.load(Ordering::Relaxed);
    let first_error = first_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    SoakResult {
        requests,
        errors: errors.load(Ordering::Relaxed),
        first_error,
        elapsed_s,
        ops_per_s: requests as f64 / elapsed_s.max(1e-9),
    }
}
