//! Side-by-side measurement for `scripts/bench-s3.sh` (not a pass/fail test; ignored unless run
//! by the script): the same objects, at the same concurrency, stored and read
//! (a) through our server (`perfstore serve --storage s3` at `BENCH_SERVER_URL`, child data
//! files of one entry: one request each) and (b) by a client writing them to the same S3
//! engine directly (object_store, one PUT/GET each). Prints objects/s and MiB/s per phase and
//! the ratio server/direct, and writes them as JSON to `BENCH_JSON` when set. Two more direct
//! phases show the ceiling for any server that must check an entry exists before a read: a
//! small reference read then the GET, and a HEAD of it alongside the GET.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

struct Phase {
    name: String,
    objects: usize,
    bytes: u64,
    seconds: f64,
    errors: usize,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.objects as f64 / self.seconds
    }
}

async fn timed<F, Fut>(
    name: String,
    objects: usize,
    size: usize,
    concurrency: usize,
    op: F,
) -> Phase
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let started = Instant::now();
    let results: Vec<Result<(), String>> = futures::stream::iter(0..objects)
        .map(&op)
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    if let Some(first) = errors.first() {
        eprintln!("{name}: {} errors, first: {first}", errors.len());
    }
    Phase {
        name,
        objects,
        bytes: (objects * size) as u64,
        seconds,
        errors: errors.len(),
    }
}

/// A direct GET of a whole object; `Err` unless it holds `size` bytes (`None`: any size).
async fn direct_get(
    store: &Arc<dyn ObjectStore>,
    path: &Path,
    size: Option<usize>,
) -> Result<(), String> {
    let got = store
        .get(path)
        .await
        .map_err(|e| e.to_string())?
        .bytes()
        .await
        .map_err(|e| e.to_string())?;
    match size {
        Some(size) if got.len() != size => Err(format!("{} bytes", got.len())),
        _ => Ok(()),
    }
}

/// A direct PUT of `body`.
async fn direct_put(store: &Arc<dyn ObjectStore>, path: &Path, body: &Bytes) -> Result<(), String> {
    store
        .put(path, body.clone().into())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run by scripts/bench-s3.sh"]
async fn server_vs_direct_s3() {
    let server =
        std::env::var("BENCH_SERVER_URL").expect("BENCH_SERVER_URL (run scripts/bench-s3.sh)");
    let bucket = var("SEAWEEDFS_BUCKET", "perfstore-test");
    let concurrency: usize = var("BENCH_CONCURRENCY", "16")
        .parse()
        .expect("BENCH_CONCURRENCY");
    let cases: Vec<(usize, usize)> = var("BENCH_CASES", "4096x2000,262144x200")
        .split(',')
        .map(|c| {
            let (size, count) = c.split_once('x').expect("SIZExCOUNT");
            (size.parse().expect("size"), count.parse().expect("count"))
        })
        .collect();
    let direct: Arc<dyn ObjectStore> = {
        let _ = cache_service::store::s3::from_env(&bucket).expect("S3 from the environment");
        let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
        Arc::new(
            object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(&bucket)
                .with_endpoint(&endpoint)
                .with_allow_http(true)
                .build()
                .expect("direct S3 client"),
        )
    };
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("http client");
    let run = format!(
        "bench-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default()
    );
    // The entry whose child data files the server writes.
    let created: serde_json::Value = http
        .post(format!(
            "{server}/{run}/key_based/store/json/bench/entry?file_id=entry"
        ))
        .header("content-type", "application/json")
        .body(r#"{"bench":true}"#)
        .send()
        .await
        .expect("store the entry")
        .json()
        .await
        .expect("json");
    let id = created["cache_id"].as_str().expect("cache_id").to_owned();

    // A small object standing in for an entry's by-id reference (the ceiling phases read it).
    let reference = Path::from(format!("{run}-direct/ref.json"));
    direct
        .put(&reference, Bytes::from(vec![b' '; 400]).into())
        .await
        .expect("store the reference stand-in");

    let mut phases = Vec::new();
    for (size, count) in cases {
        let body = Bytes::from(vec![b'x'; size]);
        let label = format!("{}KiB", size / 1024);
        let (http_ref, server_ref, id_ref, run_ref) = (&http, &server, &id, &run);
        let body_ref = &body;
        phases.push(
            timed(
                format!("server put {label}"),
                count,
                size,
                concurrency,
                |i| async move {
                    let r = http_ref
                        .post(format!(
                            "{server_ref}/{run_ref}/cache/{id_ref}/data/store/binary/s{size}/o{i}"
                        ))
                        .body(body_ref.clone())
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    if r.status().is_success() {
                        Ok(())
                    } else {
                        Err(format!("{}", r.status()))
                    }
                },
            )
            .await,
        );
        phases.push(
            timed(
                format!("server get {label}"),
                count,
                size,
                concurrency,
                |i| async move {
                    let r = http_ref
                        .get(format!(
                            "{server_ref}/{run_ref}/cache/{id_ref}/data/binary/s{size}/o{i}"
                        ))
                        .send()
                        .await
                        .map_err(|e| e.to_string())?;
                    if !r.status().is_success() {
                        return Err(format!("{}", r.status()));
                    }
                    let got = r.bytes().await.map_err(|e| e.to_string())?;
                    if got.len() == size {
                        Ok(())
                    } else {
                        Err(format!("{} bytes", got.len()))
                    }
                },
            )
            .await,
        );
        let direct_ref = &direct;
        phases.push(
            timed(
                format!("direct put {label}"),
                count,
                size,
                concurrency,
                |i| async move {
                    let path = Path::from(format!("{run_ref}-direct/s{size}/o{i}.bin"));
                    direct_put(direct_ref, &path, body_ref).await
                },
            )
            .await,
        );
        phases.push(
            timed(
                format!("direct get {label}"),
                count,
                size,
                concurrency,
                |i| async move {
                    let path = Path::from(format!("{run_ref}-direct/s{size}/o{i}.bin"));
                    direct_get(direct_ref, &path, Some(size)).await
                },
            )
            .await,
        );
        // What the engine allows a server that must look up the entry on every request: the
        // same GET plus a read of one small reference (as the server's by-id check), sequential
        // (what a lookup-then-read costs) and concurrent (HEAD: the cheapest check S3 offers).
        let reference = &reference;
        phases.push(
            timed(
                format!("direct ref+get {label}"),
                count,
                size,
                concurrency,
                |i| async move {
                    direct_get(direct_ref, reference, None).await?;
                    let path = Path::from(format!("{run_ref}-direct/s{size}/o{i}.bin"));
                    direct_get(direct_ref, &path, Some(size)).await
                },
            )
            .await,
        );
        phases.push(
            timed(
                format!("direct head||get {label}"),
                count,
                size,
                concurrency,
                |i| async move {
                    let path = Path::from(format!("{run_ref}-direct/s{size}/o{i}.bin"));
                    let (head, got) = futures::join!(
                        direct_ref.head(reference),
                        direct_get(direct_ref, &path, Some(size))
                    );
                    head.map_err(|e| e.to_string())?;
                    got
                },
            )
            .await,
        );
        // The same ceiling for writes: the reference read then the PUT, and a HEAD beside it.
        phases.push(
            timed(
                format!("direct ref+put {label}"),
                count,
                size,
                concurrency,
                |i| async move {
                    direct_get(direct_ref, reference, None).await?;
                    let path = Path::from(format!("{run_ref}-ceiling/s{size}/o{i}.bin"));
                    direct_put(direct_ref, &path, body_ref).await
                },
            )
            .await,
        );
        phases.push(
            timed(
                format!("direct head||put {label}"),
                count,
                size,
                concurrency,
                |i| async move {
                    let path = Path::from(format!("{run_ref}-ceiling/s{size}/p{i}.bin"));
                    let (head, put) = futures::join!(
                        direct_ref.head(reference),
                        direct_put(direct_ref, &path, body_ref)
                    );
                    head.map_err(|e| e.to_string())?;
                    put
                },
            )
            .await,
        );
    }
    println!("concurrency {concurrency}");
    println!(
        "{:<22} {:>8} {:>10} {:>10} {:>7}",
        "phase", "objects", "objects/s", "MiB/s", "errors"
    );
    for p in &phases {
        println!(
            "{:<22} {:>8} {:>10.0} {:>10.1} {:>7}",
            p.name,
            p.objects,
            p.per_second(),
            p.bytes as f64 / p.seconds / (1 << 20) as f64,
            p.errors
        );
    }
    let mut ratios = Vec::new();
    for server_phase in phases.iter().filter(|p| p.name.starts_with("server")) {
        let twin = server_phase.name.replacen("server", "direct", 1);
        if let Some(direct_phase) = phases.iter().find(|p| p.name == twin) {
            let ratio = server_phase.per_second() / direct_phase.per_second();
            println!(
                "ratio {:<16} server/direct = {ratio:.2}",
                &server_phase.name[7..]
            );
            ratios.push(serde_json::json!({"phase": &server_phase.name[7..], "ratio": ratio}));
        }
    }
    // The ceiling of a server that checks the entry on every request, relative to the plain
    // request: `direct ref+get 4KiB` against `direct get 4KiB`, and so on.
    for ceiling in phases
        .iter()
        .filter(|p| p.name.starts_with("direct ref+") || p.name.starts_with("direct head||"))
    {
        let plain = ceiling
            .name
            .replacen("ref+", "", 1)
            .replacen("head||", "", 1);
        if let Some(plain_phase) = phases.iter().find(|p| p.name == plain) {
            let ratio = ceiling.per_second() / plain_phase.per_second();
            println!(
                "ceiling {:<24} /{} = {ratio:.2}",
                &ceiling.name[7..],
                &plain[7..]
            );
            ratios.push(serde_json::json!({"phase": &ceiling.name, "ratio": ratio}));
        }
    }
    if let Ok(path) = std::env::var("BENCH_JSON") {
        let json = serde_json::json!({
            "concurrency": concurrency,
            "phases": phases.iter().map(|p| serde_json::json!({
                "phase": p.name, "objects": p.objects, "seconds": p.seconds,
                "objects_per_s": p.per_second(), "errors": p.errors,
            })).collect::<Vec<_>>(),
            "ratios": ratios,
        });
        std::fs::write(&path, serde_json::to_string_pretty(&json).expect("json")).expect("write");
    }
    assert!(
        phases.iter().all(|p| p.errors == 0),
        "errors during the run"
    );
}
