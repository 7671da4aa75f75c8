//! The direct object-store backend over a real S3 engine vs the local-disk backend, side by
//! side in one run: the same artifacts, single operations (sequential, latency) and bulk calls
//! (concurrent, throughput), a large stream, and a store of 1k vs 10k objects to show how cost
//! grows.
//!
//! `scripts/object-store-bench.sh` starts SeaweedFS and runs `cargo bench -p perfstore --bench
//! object_store`; the bucket comes from `PERF_TEST_S3_URL` or `SEAWEEDFS_BUCKET` (+ `AWS_*`).
//! Without `--bench` (as `cargo test --all-targets` runs it) it does one tiny pass over local
//! disk and `file://` only, to prove it still runs.

use std::time::{Duration, Instant};

use perfstore::object_store::ObjectStoreStorage;
use perfstore::{Artifact, ArtifactPath, Store};
use serde_json::json;
use tokio::io::AsyncReadExt;

struct Scale {
    singles: usize,
    bulk: usize,
    stores: &'static [usize],
    stream_mib: usize,
}

const FULL: Scale = Scale {
    singles: 300,
    bulk: 2000,
    stores: &[1_000, 10_000],
    stream_mib: 256,
};
const QUICK: Scale = Scale {
    singles: 5,
    bulk: 20,
    stores: &[50],
    stream_mib: 6,
};

/// One measured row: what, how many, and the time each backend took.
struct Row {
    what: String,
    unit_count: usize,
    times: Vec<Duration>,
}

fn artifact(i: usize) -> Artifact {
    Artifact::json(&json!({
        "url": format!("https://example.com/page/{i}"),
        "p50_ms": 1.5 + i as f64 / 1000.0,
        "p99_ms": 9.25,
        "samples": (0..64).map(|j| (i * 31 + j) % 997).collect::<Vec<_>>(),
    }))
}

fn path(target: &str, i: usize) -> ArtifactPath {
    ArtifactPath::parse("bench", target, &format!("results/page-{i:06}.json")).expect("valid")
}

async fn timed<F: std::future::Future<Output = ()>>(f: F) -> Duration {
    let start = Instant::now();
    f.await;
    start.elapsed()
}

/// Every workload on one store; one duration per row, in the order of `row_names`.
async fn run(store: &Store, scale: &Scale) -> Vec<(String, usize, Duration)> {
    let mut out = Vec::new();
    let n = scale.singles;
    out.push((
        "put (one at a time)".into(),
        n,
        timed(async {
            for i in 0..n {
                store
                    .put(&path("single", i), artifact(i))
                    .await
                    .expect("put");
            }
        })
        .await,
    ));
    out.push((
        "get (one at a time)".into(),
        n,
        timed(async {
            for i in 0..n {
                assert!(store.get(&path("single", i)).await.expect("get").is_some());
            }
        })
        .await,
    ));
    out.push((
        "exists (one at a time)".into(),
        n,
        timed(async {
            for i in 0..n {
                assert!(store.exists(&path("single", i)).await.expect("exists"));
            }
        })
        .await,
    ));
    out.push((
        "head (one at a time)".into(),
        n,
        timed(async {
            for i in 0..n {
                assert!(
                    store
                        .head(&path("single", i))
                        .await
                        .expect("head")
                        .is_some()
                );
            }
        })
        .await,
    ));
    let b = scale.bulk;
    let paths: Vec<ArtifactPath> = (0..b).map(|i| path("bulk", i)).collect();
    out.push((
        "put_many".into(),
        b,
        timed(async {
            let items = paths.iter().cloned().zip((0..b).map(artifact)).collect();
            assert!(store.put_many(items).await.iter().all(Result::is_ok));
        })
        .await,
    ));
    out.push((
        "get_many".into(),
        b,
        timed(async {
            let got = store.get_many(&paths).await;
            assert!(got.iter().all(|r| matches!(r, Ok(Some(_)))));
        })
        .await,
    ));
    out.push((
        "delete_many".into(),
        b,
        timed(async {
            let gone = store.delete_many(&paths).await;
            assert!(gone.iter().all(|r| matches!(r, Ok(true))));
        })
        .await,
    ));
    for &objects in scale.stores {
        let target = format!("store-{objects}");
        let all: Vec<ArtifactPath> = (0..objects).map(|i| path(&target, i)).collect();
        let items = all
            .iter()
            .cloned()
            .zip((0..objects).map(artifact))
            .collect();
        assert!(store.put_many(items).await.iter().all(Result::is_ok));
        let t = store.target("bench", &target).expect("valid");
        out.push((
            format!("list_keys of {objects}"),
            1,
            timed(async {
                assert_eq!(t.list_keys("").await.expect("list").len(), objects);
            })
            .await,
        ));
        out.push((
            format!("list_sizes of {objects}"),
            1,
            timed(async {
                assert_eq!(
                    store.list_sizes(t.path()).await.expect("sizes").len(),
                    objects
                );
            })
            .await,
        ));
        out.push((
            format!("get x100 in a store of {objects}"),
            100,
            timed(async {
                for i in 0..100 {
                    let i = i * objects / 100;
                    assert!(store.get(&all[i]).await.expect("get").is_some());
                }
            })
            .await,
        ));
        out.push((
            format!("delete_target of {objects}"),
            objects,
            timed(async {
                assert_eq!(t.delete_all().await.expect("delete"), objects);
            })
            .await,
        ));
    }
    let t = store.target("bench", "stream").expect("valid");
    let len = scale.stream_mib << 20;
    let big = noise(len);
    out.push((
        format!("put_stream {} MiB", scale.stream_mib),
        1,
        timed(async {
            t.save_stream("big.bin", std::io::Cursor::new(big.clone()))
                .await
                .expect("stream");
        })
        .await,
    ));
    out.push((
        format!("get_stream {} MiB", scale.stream_mib),
        1,
        timed(async {
            let mut reader = t
                .load_stream("big.bin")
                .await
                .expect("load")
                .expect("there");
            let mut buf = vec![0u8; 1 << 20];
            let mut total = 0;
            loop {
                let n = reader.read(&mut buf).await.expect("read");
                if n == 0 {
                    break;
                }
                total += n;
            }
            assert_eq!(total, len);
        })
        .await,
    ));
    t.delete_all().await.expect("clean up");
    out
}

fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let scale = if full { &FULL } else { &QUICK };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut backends: Vec<(String, Store)> =
        vec![("local disk".into(), Store::local(dir.path().join("local")))];
    let s3 = std::env::var("PERF_TEST_S3_URL").ok().or_else(|| {
        std::env::var("SEAWEEDFS_BUCKET")
            .ok()
            .map(|b| format!("s3://{b}"))
    });
    match (&s3, full) {
        (Some(bucket), true) => {
            let url = format!("{bucket}/bench-{}", std::process::id());
            let storage = ObjectStoreStorage::open(&url).expect("the S3 store opens");
            backends.push((format!("object_store {url}"), Store::new(storage)));
        }
        (None, true) => {
            eprintln!(
                "no S3 endpoint (PERF_TEST_S3_URL or SEAWEEDFS_BUCKET): run scripts/object-store-bench.sh"
            );
            std::process::exit(1);
        }
        (_, false) => {
            let url = format!("file://{}", dir.path().join("file-store").display());
            backends.push((
                "object_store file://".into(),
                Store::object_store(&url).expect("file store"),
            ));
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    for (name, store) in &backends {
        eprintln!("running on {name}");
        let results = runtime.block_on(run(store, scale));
        for (i, (what, count, time)) in results.into_iter().enumerate() {
            if rows.len() <= i {
                rows.push(Row {
                    what,
                    unit_count: count,
                    times: Vec::new(),
                });
            }
            rows[i].times.push(time);
        }
    }
    let (a, b) = (&backends[0].0, &backends[1].0);
    println!("machine: {} cores", num_cpus());
    println!("A = {a}\nB = {b}\n");
    println!(
        "{:<34} {:>7} {:>12} {:>12} {:>12} {:>12} {:>8}",
        "workload", "items", "A total", "A per item", "B total", "B per item", "B/A"
    );
    let mut json_rows = Vec::new();
    for row in &rows {
        let per = |d: Duration| d / row.unit_count.max(1) as u32;
        let ratio = row.times[1].as_secs_f64() / row.times[0].as_secs_f64().max(1e-9);
        println!(
            "{:<34} {:>7} {:>12.1?} {:>12.1?} {:>12.1?} {:>12.1?} {:>7.1}x",
            row.what,
            row.unit_count,
            row.times[0],
            per(row.times[0]),
            row.times[1],
            per(row.times[1]),
            ratio
        );
        json_rows.push(json!({
            "workload": row.what, "items": row.unit_count,
            "a_seconds": row.times[0].as_secs_f64(), "b_seconds": row.times[1].as_secs_f64(),
            "b_over_a": ratio,
        }));
    }
    if full {
        let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/object-store-bench");
        std::fs::create_dir_all(&out).expect("output folder");
        let report = json!({"a": a, "b": b, "rows": json_rows});
        std::fs::write(out.join("results.json"), format!("{report:#}\n")).expect("write results");
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
