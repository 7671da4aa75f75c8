//! Several server instances over one store (COMPAT.md D28) in one process: memory (native
//! conditional writes) and local disk (conditional writes serialised in the process). The
//! same scenarios run over S3 in `tests/s3.rs` and with real processes in
//! `crates/cli/tests/scale_out.rs`.

mod common;
mod scenarios;

use std::sync::Arc;

use cache_service::store::FileStore;
use common::TestApp;

fn instances(store: &FileStore, n: usize) -> Vec<Arc<TestApp>> {
    (0..n)
        .map(|_| Arc::new(TestApp::with_store(store.clone())))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_memory_keep_every_version_of_identical_stores() {
    let apps = instances(&FileStore::memory(), 3);
    scenarios::identical_stores_keep_every_version(&apps, "shared", 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_disk_keep_every_version_of_identical_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let apps = instances(&FileStore::local_disk(dir.path()).expect("disk"), 3);
    scenarios::identical_stores_keep_every_version(&apps, "shared", 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_memory_lose_nothing_when_deletes_race_stores() {
    let apps = instances(&FileStore::memory(), 3);
    scenarios::deletes_racing_stores_lose_nothing(&apps, "shared", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_disk_lose_nothing_when_deletes_race_stores() {
    let dir = tempfile::tempdir().expect("tempdir");
    let apps = instances(&FileStore::local_disk(dir.path()).expect("disk"), 3);
    scenarios::deletes_racing_stores_lose_nothing(&apps, "shared", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_memory_leave_one_consistent_entry_for_one_key() {
    let apps = instances(&FileStore::memory(), 3);
    scenarios::distinct_stores_of_one_key_leave_a_consistent_entry(&apps, "key").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_disk_leave_one_consistent_entry_for_one_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let apps = instances(&FileStore::local_disk(dir.path()).expect("disk"), 3);
    scenarios::distinct_stores_of_one_key_leave_a_consistent_entry(&apps, "key").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_memory_never_serve_children_of_an_entry_deleted_elsewhere() {
    let apps = instances(&FileStore::memory(), 2);
    scenarios::children_of_an_entry_deleted_elsewhere_are_gone(&apps, "gone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_sharing_a_disk_never_serve_children_of_an_entry_deleted_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    let apps = instances(&FileStore::local_disk(dir.path()).expect("disk"), 2);
    scenarios::children_of_an_entry_deleted_elsewhere_are_gone(&apps, "gone").await;
}
