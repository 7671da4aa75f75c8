//! Batch runs on every backend, and a batch killed with SIGKILL midway then resumed.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cache_client::CacheClient;
use perfstore::batch::{BatchItem, BatchOptions, BoxError, TargetStatus, batch_status, run_batch};
use perfstore::cache_service::CacheServiceStorage;
use perfstore::{SessionName, Store, TargetHandle, TargetName};
use serde_json::json;

fn names(n: usize) -> Vec<TargetName> {
    (0..n)
        .map(|i| TargetName::new(format!("page-{i:03}")).unwrap())
        .collect()
}

fn items(n: usize) -> Vec<BatchItem> {
    names(n).into_iter().map(BatchItem::new).collect()
}

/// The artifacts a target's work writes; deterministic, so a resumed run can be checked.
fn expected_blob(target: &TargetName) -> Vec<u8> {
    let seed = target
        .as_str()
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    (0..64 * 1024u32)
        .map(|i| (seed.wrapping_add(i).wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect()
}

async fn write_target(t: TargetHandle) -> Result<(), BoxError> {
    t.save_bytes("output/blob.bin", expected_blob(t.name()))
        .await?;
    t.save(
        "results/metrics.json",
        &json!({"target": t.name(), "nodes": t.name().as_str().len()}),
    )
    .await?;
    t.save_string("reports/summary.md", &format!("# {}\n", t.name()))
        .await?;
    Ok(())
}

async fn assert_intact(store: &Store, session: &str, target: &TargetName) {
    let t = store.target(session, target.as_str()).unwrap();
    assert_eq!(
        t.load_bytes("output/blob.bin").await.unwrap().as_deref(),
        Some(expected_blob(target).as_slice()),
        "{target}"
    );
    assert_eq!(
        t.load_json("results/metrics.json").await.unwrap().unwrap()["target"],
        json!(target)
    );
    assert_eq!(
        t.load_string("reports/summary.md").await.unwrap(),
        Some(format!("# {target}\n"))
    );
    assert_eq!(
        t.list_keys("").await.unwrap().len(),
        3,
        "{target}: no stray files"
    );
}

async fn runs_every_target_once_then_resumes_to_nothing(store: Store) {
    let session = SessionName::new("batch1").unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    let report = run_batch(
        &store,
        &session,
        items(12),
        &BatchOptions::default(),
        move |t| {
            seen.lock().unwrap().push(t.name().clone());
            write_target(t)
        },
    )
    .await
    .unwrap();
    assert_eq!(report.done.len(), 12);
    assert_eq!(calls.lock().unwrap().len(), 12);
    for target in names(12) {
        assert_intact(&store, "batch1", &target).await;
    }
    let status = batch_status(&store, &session).await.unwrap();
    assert!(
        status
            .values()
            .all(|s| matches!(s, TargetStatus::Done { attempt: 1, .. })),
        "{status:?}"
    );
    // Records are not targets.
    assert_eq!(store.list_targets(&session).await.unwrap(), names(12));

    let again = run_batch(
        &store,
        &session,
        items(12),
        &BatchOptions::default(),
        |_t| async { Err::<(), BoxError>("a done target ran again".into()) },
    )
    .await
    .unwrap();
    assert!(again.ran.is_empty(), "{again:?}");
    assert_eq!(again.already_done.len(), 12);
}

async fn failures_are_recorded_and_retried_only_on_request(store: Store) {
    let session = SessionName::new("batch2").unwrap();
    let flaky = |t: TargetHandle| async move {
        if t.name().as_str().ends_with('3') {
            return Err::<(), BoxError>("upstream timed out".into());
        }
        if t.name().as_str().ends_with('5') {
            panic!("boom");
        }
        write_target(t).await
    };
    let report = run_batch(&store, &session, items(8), &BatchOptions::default(), flaky)
        .await
        .unwrap();
    assert_eq!(report.done.len(), 6);
    let failed: BTreeSet<String> = report.failed.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(
        failed,
        BTreeSet::from(["page-003".to_owned(), "page-005".to_owned()])
    );
    assert!(
        report
            .failed
            .iter()
            .any(|(_, e)| e.contains("upstream timed out"))
    );
    assert!(report.failed.iter().any(|(_, e)| e.contains("panicked")));
    let status = batch_status(&store, &session).await.unwrap();
    assert!(
        matches!(&status[&TargetName::new("page-003").unwrap()], TargetStatus::Failed { error, attempt: 1, .. } if error.contains("timed out"))
    );

    let not_retried = run_batch(
        &store,
        &session,
        items(8),
        &BatchOptions::default(),
        write_target,
    )
    .await
    .unwrap();
    assert!(not_retried.ran.is_empty());
    assert_eq!(not_retried.not_retried.len(), 2);

    let options = BatchOptions {
        retry_failed: true,
        ..BatchOptions::default()
    };
    let retried = run_batch(&store, &session, items(8), &options, write_target)
        .await
        .unwrap();
    assert_eq!(retried.done.len(), 2);
    let status = batch_status(&store, &session).await.unwrap();
    assert!(matches!(
        &status[&TargetName::new("page-005").unwrap()],
        TargetStatus::Done { attempt: 2, .. }
    ));
}

async fn targets_with_an_input_already_processed_are_skipped(store: Store) {
    let session = SessionName::new("batch3").unwrap();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&calls);
    let work = move |t: TargetHandle| {
        seen.lock().unwrap().push(t.name().to_string());
        write_target(t)
    };
    let with_input = |name: &str, input: &str| {
        BatchItem::new(TargetName::new(name).unwrap()).with_input(input.as_bytes())
    };
    let first = vec![
        with_input("a", "<html>same</html>"),
        with_input("b", "<html>same</html>"),
        with_input("c", "<html>other</html>"),
    ];
    let report = run_batch(
        &store,
        &session,
        first,
        &BatchOptions::default(),
        work.clone(),
    )
    .await
    .unwrap();
    assert_eq!(report.done.len(), 2, "{report:?}");
    assert_eq!(report.duplicates.len(), 1, "{report:?}");
    let later = vec![
        with_input("d", "<html>other</html>"),
        with_input("e", "<html>new</html>"),
    ];
    let report = run_batch(&store, &session, later, &BatchOptions::default(), work)
        .await
        .unwrap();
    assert_eq!(
        report.duplicates,
        [(TargetName::new("d").unwrap(), TargetName::new("c").unwrap())]
    );
    assert_eq!(report.done, [TargetName::new("e").unwrap()]);
    let ran: HashSet<String> = calls.lock().unwrap().iter().cloned().collect();
    assert_eq!(ran.len(), 3, "{ran:?}");
    assert!(
        ran.contains("a") != ran.contains("b"),
        "exactly one of a and b ran: {ran:?}"
    );
}

macro_rules! on_every_backend {
    ($($scenario:ident),*) => {
        mod memory {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $scenario() { super::$scenario(perfstore::Store::memory()).await })*
        }
        mod local {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $scenario() {
                let dir = tempfile::tempdir().unwrap();
                super::$scenario(perfstore::Store::local(dir.path())).await
            })*
        }
        mod cache_service {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $scenario() {
                let backend = super::CacheServiceStorage::new(super::CacheClient::in_memory(), "perf-results");
                super::$scenario(perfstore::Store::new(backend)).await
            })*
        }
    };
}

on_every_backend!(
    runs_every_target_once_then_resumes_to_nothing,
    failures_are_recorded_and_retried_only_on_request,
    targets_with_an_input_already_processed_are_skipped
);

const CHILD_ENV: &str = "PERFSTORE_BATCH_CHILD_ROOT";
const TARGETS: usize = 40;

/// The child half of the kill test: runs the batch slowly on a local store until killed.
/// Only does anything when spawned by `a_batch_killed_midway_resumes_without_rerunning_done_targets`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run as a child process by the kill-and-resume test"]
async fn batch_child_process() {
    let root = std::env::var(CHILD_ENV)
        .expect("spawned by the kill-and-resume test with PERFSTORE_BATCH_CHILD_ROOT");
    let store = Store::local(root);
    let session = SessionName::new("killed").unwrap();
    let options = BatchOptions {
        concurrency: 4,
        ..BatchOptions::default()
    };
    run_batch(&store, &session, items(TARGETS), &options, |t| async move {
        // Slow, multi-artifact work, so the kill lands in the middle of targets.
        let blob = expected_blob(t.name());
        t.save_bytes("output/blob.bin", blob).await?;
        tokio::time::sleep(Duration::from_millis(30)).await;
        t.save(
            "results/metrics.json",
            &json!({"target": t.name(), "nodes": t.name().as_str().len()}),
        )
        .await?;
        tokio::time::sleep(Duration::from_millis(30)).await;
        t.save_string("reports/summary.md", &format!("# {}\n", t.name()))
            .await?;
        Ok(())
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_batch_killed_midway_resumes_without_rerunning_done_targets() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "batch_child_process", "--ignored", "--nocapture"])
        .env(CHILD_ENV, dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let store = Store::local(dir.path());
    let session = SessionName::new("killed").unwrap();
    // Wait (bounded) until some targets are done, then SIGKILL the child mid-batch.
    let mut done_before_kill = 0;
    for _ in 0..400 {
        tokio::time::sleep(Duration::from_millis(25)).await;
        let status = batch_status(&store, &session).await.unwrap();
        done_before_kill = status.values().filter(|s| s.is_complete()).count();
        if done_before_kill >= 8 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    assert!(
        done_before_kill >= 8,
        "the child made progress before the kill"
    );

    let status = batch_status(&store, &session).await.unwrap();
    let done: BTreeSet<TargetName> = status
        .iter()
        .filter(|(_, s)| s.is_complete())
        .map(|(t, _)| t.clone())
        .collect();
    assert!(
        done.len() < TARGETS,
        "the kill landed before the end ({} done)",
        done.len()
    );
    for target in &done {
        assert_intact(&store, "killed", target).await;
    }

    let ran = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&ran);
    let report = run_batch(
        &store,
        &session,
        items(TARGETS),
        &BatchOptions::default(),
        move |t| {
            seen.lock().unwrap().push(t.name().clone());
            write_target(t)
        },
    )
    .await
    .unwrap();
    let ran: BTreeSet<TargetName> = ran.lock().unwrap().iter().cloned().collect();
    assert!(
        ran.is_disjoint(&done),
        "a target done before the kill ran again"
    );
    assert_eq!(
        ran.len() + done.len(),
        TARGETS,
        "every target done exactly once"
    );
    assert_eq!(report.already_done.len(), done.len());
    let status = batch_status(&store, &session).await.unwrap();
    assert_eq!(status.len(), TARGETS);
    assert!(status.values().all(TargetStatus::is_complete));
    for target in names(TARGETS) {
        assert_intact(&store, "killed", &target).await;
    }
}
