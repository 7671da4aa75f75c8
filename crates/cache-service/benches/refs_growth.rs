//! Cost of the hot routes as a by-hash reference grows (COMPAT.md D34), in process through the
//! router (`tower::ServiceExt::oneshot`, in-memory storage):
//!
//! - `retrieve_by_hash/ids/{1,N}`: `GET /{ns}/retrieve/hash/{h}/json` when the hash's
//!   reference lists 1 id or N ids;
//! - `store_same_key/prior/{0,N}`: `POST /{ns}/key_based/store/json/{key}` of the same body
//!   (so the same hash) after 0 or N earlier stores of it. Each sample starts from a fresh
//!   store holding exactly that many ids, and the reference grows by one id per iteration,
//!   so a sample of k iterations covers N … N+k ids.
//!
//! After each pair it prints operations per second and the ratio. Sizes (N) come from
//! `REFS_GROWTH_SIZES` (comma-separated, default `10000`); `REFS_GROWTH_SECONDS` sets the
//! measurement time per bench (default 2). Example:
//! `REFS_GROWTH_SIZES=1000,10000,100000 cargo bench -p cache-service --bench refs_growth`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use bytes::Bytes;
use cache_service::{AppState, router};
use cache_wire::schema::{HashRef, HashRefEntry};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;

const STORE_URI: &str = "/bench/key_based/store/json/runs/latest";
const BODY: &str = r#"{"metric":"p50_ms","value":1.5}"#;

/// Iterations and time spent per bench, for the printed ratios.
static TOTALS: Mutex<Option<HashMap<String, (u64, Duration)>>> = Mutex::new(None);

fn record(name: &str, iters: u64, elapsed: Duration) {
    let mut totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    let entry = totals
        .get_or_insert_with(HashMap::new)
        .entry(name.to_owned())
        .or_default();
    entry.0 += iters;
    entry.1 += elapsed;
}

fn ops_per_second(name: &str) -> f64 {
    let totals = TOTALS.lock().unwrap_or_else(|e| e.into_inner());
    match totals.as_ref().and_then(|t| t.get(name)) {
        Some((iters, elapsed)) if !elapsed.is_zero() => *iters as f64 / elapsed.as_secs_f64(),
        _ => f64::NAN,
    }
}

fn report(what: &str, small: &str, large: &str) {
    let (a, b) = (ops_per_second(small), ops_per_second(large));
    println!(
        "refs_growth: {what}: {small} {a:.0} ops/s, {large} {b:.0} ops/s, ratio {:.2}",
        a / b
    );
}

async fn send(app: &Router, method: Method, uri: &str, body: &'static str) -> Bytes {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(status, StatusCode::OK, "{uri}: {bytes:?}");
    bytes
}

/// A fresh in-memory server holding one stored entry whose hash reference lists `ids` ids
/// (the last being the real entry, so retrieves find it), as `ids` earlier stores leave it.
/// The reference is written directly in `json.dumps(indent=2)` form, which is much faster than
/// `ids` stores. Returns the router and the hash.
async fn server_with_ids(ids: usize) -> (Router, String) {
    let state = AppState::in_memory();
    let app = router(state.clone());
    let stored: serde_json::Value =
        serde_json::from_slice(&send(&app, Method::POST, STORE_URI, BODY).await).expect("json");
    let hash = stored["cache_hash"].as_str().expect("hash").to_owned();
    let real = stored["cache_id"].as_str().expect("id").to_owned();
    if ids > 1 {
        let mut cache_ids: Vec<HashRefEntry> = (1..ids)
            .map(|i| HashRefEntry {
                cache_id: format!("00000000-0000-4000-8000-{i:012}"),
                timestamp: 1_700_000_000_000 + i as i64,
            })
            .collect();
        cache_ids.push(HashRefEntry {
            cache_id: real.clone(),
            timestamp: 1_800_000_000_000,
        });
        let hash_ref = HashRef {
            cache_hash: hash.clone(),
            cache_ids,
            latest_id: real,
            total_versions: ids as i64,
        };
        let text = serde_json::to_string_pretty(&hash_ref).expect("json");
        let path = format!(
            "bench/refs/by-hash/{}/{}/{hash}.json",
            &hash[0..2],
            &hash[2..4]
        );
        state
            .service
            .store()
            .put(&path, Bytes::from(text))
            .await
            .expect("put");
    }
    (app, hash)
}

fn sizes() -> Vec<usize> {
    std::env::var("REFS_GROWTH_SIZES")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|s| s.trim().replace('_', "").parse().ok())
                .filter(|n| *n > 1)
                .collect::<Vec<usize>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![10_000])
}

fn refs_growth(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    for n in sizes() {
        let mut group = c.benchmark_group("retrieve_by_hash");
        for ids in [1, n] {
            let (app, hash) = rt.block_on(server_with_ids(ids));
            let uri = format!("/bench/retrieve/hash/{hash}/json");
            let name = format!("retrieve_by_hash/ids/{ids}");
            group.bench_function(BenchmarkId::new("ids", ids), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let (app, uri, name) = (app.clone(), uri.clone(), name.clone());
                    async move {
                        let started = Instant::now();
                        for _ in 0..iters {
                            std::hint::black_box(send(&app, Method::GET, &uri, "").await);
                        }
                        let elapsed = started.elapsed();
                        record(&name, iters, elapsed);
                        elapsed
                    }
                })
            });
        }
        group.finish();
        report(
            "retrieve by hash",
            "retrieve_by_hash/ids/1",
            &format!("retrieve_by_hash/ids/{n}"),
        );

        let mut group = c.benchmark_group("store_same_key");
        for prior in [0, n] {
            let name = format!("store_same_key/prior/{prior}");
            group.bench_function(BenchmarkId::new("prior", prior), |b| {
                b.to_async(&rt).iter_custom(|iters| {
                    let name = name.clone();
                    async move {
                        // Untimed: a fresh store with `prior` ids, and this instance's first
                        // append (it reads the file once; later ones use the kept copy).
                        let app = if prior == 0 {
                            router(AppState::in_memory())
                        } else {
                            let (app, _) = server_with_ids(prior).await;
                            send(&app, Method::POST, STORE_URI, BODY).await;
                            app
                        };
                        let started = Instant::now();
                        for _ in 0..iters {
                            std::hint::black_box(send(&app, Method::POST, STORE_URI, BODY).await);
                        }
                        let elapsed = started.elapsed();
                        record(&name, iters, elapsed);
                        elapsed
                    }
                })
            });
        }
        group.finish();
        report(
            "same-key store",
            "store_same_key/prior/0",
            &format!("store_same_key/prior/{n}"),
        );
    }
}

fn config() -> Criterion {
    let seconds = std::env::var("REFS_GROWTH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0_f64);
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs_f64(seconds))
}

criterion_group! {
    name = benches;
    config = config();
    targets = refs_growth
}
criterion_main!(benches);
