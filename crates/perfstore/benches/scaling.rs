//! How cost grows with the size of the store, side by side on every backend in one run: memory,
//! local disk, our server over loopback (memory and disk storage) and, when
//! `PERFSTORE_REFERENCE_URL` is set, the Python reference (smallest size only).
//!
//! 1. import of N ~1 KB JSON files (`perfstore::transfer::import_dir`, what `perfstore import`
//!    runs) into one target vs the same N over 100 targets;
//! 2. single put / get / head / exists in a target holding N artifacts vs a fresh target;
//! 3. the same key stored K times: rate of the first 10 % vs the last 10 % of stores (through
//!    perfstore, and on our server also `POST /{ns}/key_based/store/json/{key}` directly, plus
//!    retrieve-by-hash with a refs list of 1 id vs K ids);
//! 4. `session info` (`perfstore::session::session_info`) of an N-artifact session.
//!
//! `cargo bench -p perfstore --bench scaling` (or `scripts/bench-scaling.sh`) prints a table
//! with ratios checked against goals and writes `target/scaling/results.json` (env
//! `SCALING_OUT`). Env: `SCALING_SIZES` (default 1000,10000; 100000 added by `SCALING_FULL=1`),
//! `SCALING_REPEATS` (K, default 20000), `SCALING_OPS` (single ops per median, default 200),
//! `SCALING_BACKENDS` (comma list of memory,local,server-mem,server-disk,reference).
//! Under `cargo test` (no `--bench`; a debug build) it runs N = 200, 2000, K = 2000 (300 on our
//! servers, where a debug request costs ~1 ms) and 20 ops per median, writes
//! `target/scaling/results-test.json`, and panics when growth is clearly worse than linear (a
//! quadratic path), with thresholds loose enough for a loaded 2-core box; `SCALING_NO_ASSERT=1`
//! reports without panicking.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cache_client::{CacheClient, LocalServer, RemoteConfig, Strategy};
use perfstore::cache_service::CacheServiceStorage;
use perfstore::session::session_info;
use perfstore::transfer::{ImportOptions, import_dir};
use perfstore::{Artifact, SessionName, Store, TargetHandle};
use serde_json::{Value, json};

const SESSION: &str = "scaling";
const ONE_TARGET: &str = "one";
const SPREAD_TARGETS: usize = 100;
const SAME_KEY: &str = "results/same.json";
const IMPORT_METHOD: &str =
    "perfstore::transfer::import_dir (what `perfstore import` runs), default concurrency";

// ── configuration ────────────────────────────────────────────────────────────────────────

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    Local,
    ServerMem,
    ServerDisk,
    Reference,
}

impl Backend {
    const ALL: [Backend; 5] = [
        Backend::Memory,
        Backend::Local,
        Backend::ServerMem,
        Backend::ServerDisk,
        Backend::Reference,
    ];

    fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Local => "local",
            Backend::ServerMem => "server-mem",
            Backend::ServerDisk => "server-disk",
            Backend::Reference => "reference",
        }
    }

    fn is_server(self) -> bool {
        matches!(
            self,
            Backend::ServerMem | Backend::ServerDisk | Backend::Reference
        )
    }
}

struct Config {
    bench: bool,
    sizes: Vec<usize>,
    repeats: usize,
    /// K on our servers: in test mode (a debug build, ~1 ms a request) fewer unless set.
    server_repeats: usize,
    ops: usize,
    backends: Vec<Backend>,
    reference: Option<String>,
    out: PathBuf,
    assert: bool,
}

fn env_list(name: &str) -> Option<Vec<usize>> {
    let raw = std::env::var(name).ok()?;
    let list: Vec<usize> = raw
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .replace('_', "")
                .parse()
                .unwrap_or_else(|_| panic!("{name}: not a number: {s:?}"))
        })
        .collect();
    (!list.is_empty()).then_some(list)
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name).ok().map(|s| {
        s.trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}: not a number: {s:?}"))
    })
}

impl Config {
    fn from_env() -> Self {
        let bench = std::env::args().any(|a| a == "--bench");
        let full = std::env::var("SCALING_FULL").is_ok_and(|v| v == "1");
        let mut sizes = env_list("SCALING_SIZES").unwrap_or_else(|| match (bench, full) {
            (false, _) => vec![200, 2000],
            (true, false) => vec![1000, 10_000],
            (true, true) => vec![1000, 10_000, 100_000],
        });
        sizes.sort_unstable();
        sizes.dedup();
        let repeats_set = env_usize("SCALING_REPEATS");
        let repeats = repeats_set.unwrap_or(if bench { 20_000 } else { 2000 });
        let ops = env_usize("SCALING_OPS").unwrap_or(if bench { 200 } else { 20 });
        let reference = std::env::var("PERFSTORE_REFERENCE_URL")
            .ok()
            .filter(|u| !u.is_empty());
        let wanted = std::env::var("SCALING_BACKENDS").ok();
        let backends = Backend::ALL
            .into_iter()
            .filter(|b| *b != Backend::Reference || reference.is_some())
            .filter(|b| {
                wanted
                    .as_deref()
                    .is_none_or(|w| w.split(',').any(|n| n.trim() == b.name()))
            })
            .collect();
        let out = std::env::var_os("SCALING_OUT").map_or_else(
            || {
                let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
                    || {
                        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
                        root.canonicalize().unwrap_or(root).join("target")
                    },
                    PathBuf::from,
                );
                // A test run must not overwrite the last bench run's results.
                target.join(if bench {
                    "scaling/results.json"
                } else {
                    "scaling/results-test.json"
                })
            },
            PathBuf::from,
        );
        let assert = !std::env::var("SCALING_NO_ASSERT").is_ok_and(|v| v == "1");
        Config {
            bench,
            sizes: sizes.into_iter().filter(|n| *n > 0).collect(),
            repeats: repeats.max(20),
            server_repeats: repeats_set.map_or(if bench { repeats } else { 300 }, |k| k.max(20)),
            ops: ops.max(5),
            backends,
            reference,
            out,
            assert,
        }
    }

    /// The sizes a backend runs: the reference only the smallest.
    fn sizes_for(&self, backend: Backend) -> Vec<usize> {
        if backend == Backend::Reference {
            self.sizes.iter().take(1).copied().collect()
        } else {
            self.sizes.clone()
        }
    }

    /// K for a backend: the reference at most the smallest size (it stores ~50/s).
    fn repeats_for(&self, backend: Backend) -> usize {
        match backend {
            Backend::Reference => self.repeats.min(self.sizes[0]).max(20),
            Backend::ServerMem | Backend::ServerDisk => self.server_repeats,
            Backend::Memory | Backend::Local => self.repeats,
        }
    }
}

// ── backends ─────────────────────────────────────────────────────────────────────────────

/// One fresh instance of a backend: its store, and for a server the raw client and namespace.
struct Instance {
    store: Store,
    client: Option<CacheClient>,
    namespace: String,
    server: Option<LocalServer>,
    _dir: Option<tempfile::TempDir>,
}

fn fresh_namespace() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("scaling-{}", &id[..12])
}

impl Instance {
    async fn open(backend: Backend, config: &Config) -> Instance {
        let namespace = fresh_namespace();
        let (server, dir) = match backend {
            Backend::Memory => {
                return Instance {
                    store: Store::memory(),
                    client: None,
                    namespace,
                    server: None,
                    _dir: None,
                };
            }
            Backend::Local => {
                let dir = tempfile::tempdir().expect("temp dir");
                return Instance {
                    store: Store::local(dir.path()),
                    client: None,
                    namespace,
                    server: None,
                    _dir: Some(dir),
                };
            }
            Backend::ServerMem => (LocalServer::in_memory().await.expect("local server"), None),
            Backend::ServerDisk => {
                use cache_service::service::CacheService;
                use cache_service::store::FileStore;
                use cache_service::{AppState, AuthSettings};
                let dir = tempfile::tempdir().expect("temp dir");
                let files = FileStore::local_disk(dir.path()).expect("disk storage");
                let state = AppState::new(CacheService::new(files, 24), AuthSettings::disabled());
                (
                    LocalServer::start(state).await.expect("local server"),
                    Some(dir),
                )
            }
            Backend::Reference => {
                let url = config.reference.as_deref().expect("reference URL");
                let client = CacheClient::remote(RemoteConfig::new(url)).expect("reference client");
                assert!(
                    client.info().health().await.unwrap_or(false),
                    "the reference at {url} is not healthy"
                );
                let store = Store::new(CacheServiceStorage::new(client.clone(), &namespace));
                return Instance {
                    store,
                    client: Some(client),
                    namespace,
                    server: None,
                    _dir: None,
                };
            }
        };
        let client = server.client();
        assert!(
            client.info().health().await.expect("health"),
            "server not healthy"
        );
        Instance {
            store: Store::new(CacheServiceStorage::new(client.clone(), &namespace)),
            client: Some(client),
            namespace,
            server: Some(server),
            _dir: dir,
        }
    }

    async fn close(self) {
        let Instance {
            store,
            client,
            server,
            _dir,
            ..
        } = self;
        drop(store);
        drop(client);
        if let Some(server) = server {
            server.stop().await.expect("stop server");
        }
    }
}

// ── payloads and input folders ───────────────────────────────────────────────────────────

/// ~1 KB of JSON, different for every `i`.
fn doc(i: usize) -> Value {
    let samples: Vec<f64> = (0..64)
        .map(|j| ((i * 64 + j) % 100_000) as f64 * 0.37)
        .collect();
    json!({"item": i, "url": format!("https://example.com/page/{i}"), "nodes": 1290 + i % 7,
           "env": {"host": "bench", "cores": 2}, "samples_ms": samples})
}

fn payload(i: usize) -> Artifact {
    Artifact::json(&doc(i))
}

/// Key of item `i` inside its target.
fn item_key(i: usize) -> String {
    format!("results/{:02}/item-{i:06}.json", (i / SPREAD_TARGETS) % 100)
}

fn spread_target(i: usize) -> String {
    format!("t{:03}", i % SPREAD_TARGETS)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layout {
    OneTarget,
    Spread,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::OneTarget => "one target",
            Layout::Spread => "100 targets",
        }
    }
    fn id(self) -> &'static str {
        match self {
            Layout::OneTarget => "one_target",
            Layout::Spread => "100_targets",
        }
    }
}

/// Writes `DIR/<target>/<key>` for N items (not timed); returns the bytes written.
fn write_input(dir: &Path, n: usize, layout: Layout) -> u64 {
    let mut bytes = 0;
    let mut made = std::collections::HashSet::new();
    for i in 0..n {
        let target = match layout {
            Layout::OneTarget => ONE_TARGET.to_owned(),
            Layout::Spread => spread_target(i),
        };
        let path = dir.join(&target).join(item_key(i));
        let parent = path.parent().expect("parent").to_path_buf();
        if made.insert(parent.clone()) {
            std::fs::create_dir_all(&parent).expect("mkdir");
        }
        let artifact = payload(i);
        bytes += artifact.bytes().len() as u64;
        std::fs::write(&path, artifact.bytes()).expect("write input");
    }
    bytes
}

// ── measurements ─────────────────────────────────────────────────────────────────────────

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn median_us(samples: &mut [Duration]) -> f64 {
    samples.sort_unstable();
    let n = samples.len();
    let mid = if n % 2 == 1 {
        secs(samples[n / 2])
    } else {
        (secs(samples[n / 2 - 1]) + secs(samples[n / 2])) / 2.0
    };
    mid * 1e6
}

/// ops/s of each of `buckets` equal slices of `times` (in order).
fn bucket_rates(times: &[Duration], buckets: usize) -> Vec<f64> {
    (0..buckets)
        .map(|b| {
            let slice = &times[b * times.len() / buckets..(b + 1) * times.len() / buckets];
            let total: f64 = slice.iter().map(|d| secs(*d)).sum();
            slice.len() as f64 / total.max(1e-12)
        })
        .collect()
}

/// (first 10 % rate, last 10 % rate) in ops/s.
fn first_last(times: &[Duration]) -> (f64, f64) {
    let tenth = (times.len() / 10).max(1);
    let rate = |s: &[Duration]| s.len() as f64 / s.iter().map(|d| secs(*d)).sum::<f64>().max(1e-12);
    (rate(&times[..tenth]), rate(&times[times.len() - tenth..]))
}

async fn import(store: &Store, dir: &Path, n: usize) -> Duration {
    let session = SessionName::new(SESSION).expect("name");
    // Earlier imports' writeback must not be billed to this one (untimed).
    let _ = std::process::Command::new("sync").status();
    let start = Instant::now();
    let report = import_dir(store, &session, dir, &ImportOptions::default())
        .await
        .expect("import");
    let took = start.elapsed();
    assert_eq!(
        (report.moved.items, report.failed.items),
        (n as u64, 0),
        "import moved {} of {n}, failures: {:?}",
        report.moved.items,
        report.failures.iter().take(3).collect::<Vec<_>>()
    );
    took
}

struct SingleOps {
    /// op → (big target samples, fresh target samples)
    results: Vec<(&'static str, f64, f64)>,
}

/// Single put/get/head/exists into the big target (holding `n` items) and a fresh one,
/// interleaved so load on the machine hits both alike.
async fn single_ops(big: &TargetHandle, fresh: &TargetHandle, n: usize, ops: usize) -> SingleOps {
    let mut put = (Vec::with_capacity(ops), Vec::with_capacity(ops));
    for j in 0..ops {
        let key = format!("probe/put-{j:04}.json");
        for (target, out) in [(big, &mut put.0), (fresh, &mut put.1)] {
            let artifact = payload(1_000_000 + j);
            let start = Instant::now();
            target.put(key.as_str(), artifact).await.expect("put");
            out.push(start.elapsed());
        }
    }
    // Reads: in the big target, existing items spread over it; in the fresh one, the probes.
    let big_keys: Vec<String> = (0..ops).map(|j| item_key(j * n / ops)).collect();
    let fresh_keys: Vec<String> = (0..ops).map(|j| format!("probe/put-{j:04}.json")).collect();
    let mut results = vec![("put", median_us(&mut put.0), median_us(&mut put.1))];
    for op in ["get", "head", "exists"] {
        let (mut b, mut f) = (Vec::with_capacity(ops), Vec::with_capacity(ops));
        for j in 0..ops {
            for (target, key, out) in [(big, &big_keys[j], &mut b), (fresh, &fresh_keys[j], &mut f)]
            {
                let start = Instant::now();
                let found = match op {
                    "get" => target.get(key.as_str()).await.expect("get").is_some(),
                    "head" => target.head(key.as_str()).await.expect("head").is_some(),
                    _ => target.exists(key.as_str()).await.expect("exists"),
                };
                out.push(start.elapsed());
                assert!(found, "{op} {key}: missing");
            }
        }
        results.push((op, median_us(&mut b), median_us(&mut f)));
    }
    SingleOps { results }
}

/// The same key put K times through perfstore; per-op times.
async fn same_key_puts(store: &Store, k: usize) -> Vec<Duration> {
    let target = store.target(SESSION, "same").expect("names");
    let mut times = Vec::with_capacity(k);
    for i in 0..k {
        let artifact = payload(i);
        let start = Instant::now();
        target.put(SAME_KEY, artifact).await.expect("put");
        times.push(start.elapsed());
    }
    times
}

struct DirectKeyed {
    stores: Vec<Duration>,
    retrieve_refs_1: f64,
    retrieve_refs_k: f64,
    refs_after: usize,
}

/// `POST /{ns}/key_based/store/json/{key}?file_id=e&json_field_path=cache_key` K times with a
/// changing body (one hash, so one refs list that grows), and retrieve-by-hash before and after.
async fn direct_key_based(client: &CacheClient, ns: &str, k: usize, ops: usize) -> DirectKeyed {
    let key = "scaling/repeated-key";
    let body = |i: usize| {
        let mut d = doc(i);
        d["cache_key"] = json!(key);
        d
    };
    let store = |i: usize| {
        let b = body(i);
        async move {
            client
                .store()
                .json_with_key(
                    ns,
                    Strategy::KeyBased,
                    key,
                    Some("e"),
                    Some("cache_key"),
                    &b,
                )
                .await
                .expect("key-based store")
        }
    };
    let retrieve_rate = |hash: String| async move {
        let start = Instant::now();
        for _ in 0..ops {
            let found = client
                .retrieve()
                .by_hash(ns, &hash)
                .await
                .expect("retrieve");
            assert!(found.is_some(), "retrieve by hash {hash}: missing");
        }
        ops as f64 / secs(start.elapsed()).max(1e-12)
    };
    let start = Instant::now();
    let first = store(0).await;
    let mut stores = vec![start.elapsed()];
    let hash = first.cache_hash.clone();
    let retrieve_refs_1 = retrieve_rate(hash.clone()).await;
    for i in 1..k {
        let start = Instant::now();
        let stored = store(i).await;
        stores.push(start.elapsed());
        assert_eq!(stored.cache_hash, hash, "the repeated key changed hash");
    }
    let retrieve_refs_k = retrieve_rate(hash.clone()).await;
    let refs_after = client
        .retrieve()
        .by_hash_refs(ns, &hash)
        .await
        .expect("refs")
        .map_or(0, |r| r.cache_ids.len());
    DirectKeyed {
        stores,
        retrieve_refs_1,
        retrieve_refs_k,
        refs_after,
    }
}

// ── results ──────────────────────────────────────────────────────────────────────────────

#[derive(Default)]
struct Results {
    import: Vec<Value>,
    single: Vec<Value>,
    same_key: Vec<Value>,
    retrieve: Vec<Value>,
    listing: Vec<Value>,
    checks: Vec<Check>,
}

struct Check {
    case: &'static str,
    what: String,
    value: f64,
    goal: f64,
    /// Whether lower values are better (goal is a maximum).
    lower_better: bool,
    /// Test mode: panic past this value (lower_better: above; else below), if any.
    hard: Option<f64>,
    /// For latency ratios: the absolute difference in µs; under [`NOISE_US`] counts as a pass.
    tolerance_us: Option<f64>,
}

/// A latency difference this small passes whatever the ratio (timer and cache noise).
const NOISE_US: f64 = 5.0;

impl Check {
    fn pass(&self) -> bool {
        if self.tolerance_us.is_some_and(|d| d < NOISE_US) {
            return true;
        }
        if self.lower_better {
            self.value <= self.goal
        } else {
            self.value >= self.goal
        }
    }
    fn broken(&self) -> bool {
        self.hard.is_some_and(|h| {
            if self.lower_better {
                self.value > h
            } else {
                self.value < h
            }
        })
    }
}

fn lookup(rows: &[Value], pred: impl Fn(&Value) -> bool) -> Option<&Value> {
    rows.iter().find(|r| pred(r))
}

fn fmt_s(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

// ── the run ──────────────────────────────────────────────────────────────────────────────

async fn run(config: &Config) -> Results {
    let mut r = Results::default();
    let progress = |msg: String| eprintln!("scaling: {msg}");

    // 1 + 2 + 4: per size, write both input folders once, then every backend.
    for &n in &config.sizes {
        let input = tempfile::tempdir().expect("temp dir");
        let (one_dir, spread_dir) = (input.path().join("one"), input.path().join("spread"));
        let start = Instant::now();
        let bytes = write_input(&one_dir, n, Layout::OneTarget);
        write_input(&spread_dir, n, Layout::Spread);
        progress(format!(
            "N = {n}: wrote input folders ({:.0} bytes/artifact avg) in {:.1} s",
            bytes as f64 / n as f64,
            secs(start.elapsed())
        ));
        for &backend in &config.backends {
            if !config.sizes_for(backend).contains(&n) {
                continue;
            }
            // One target: import, then single ops against it.
            let inst = Instance::open(backend, config).await;
            progress(format!(
                "N = {n}: {} import into one target",
                backend.name()
            ));
            let t_one = import(&inst.store, &one_dir, n).await;
            let big = inst.store.target(SESSION, ONE_TARGET).expect("names");
            let fresh = inst.store.target(SESSION, "fresh").expect("names");
            let ops = single_ops(&big, &fresh, n, config.ops).await;
            inst.close().await;
            // 100 targets: import, then the session listing.
            let inst = Instance::open(backend, config).await;
            progress(format!(
                "N = {n}: {} import into 100 targets",
                backend.name()
            ));
            let t_spread = import(&inst.store, &spread_dir, n).await;
            let session = SessionName::new(SESSION).expect("name");
            let runs = if n <= 10_000 && config.bench { 3 } else { 1 };
            let mut listing = Vec::new();
            let mut info = None;
            for _ in 0..runs {
                let start = Instant::now();
                info = Some(session_info(&inst.store, &session).await.expect("info"));
                listing.push(start.elapsed());
            }
            let info = info.expect("ran");
            assert_eq!(
                (info.targets, info.artifacts),
                (SPREAD_TARGETS.min(n), n),
                "session info"
            );
            inst.close().await;

            for (layout, t) in [(Layout::OneTarget, t_one), (Layout::Spread, t_spread)] {
                r.import.push(
                    json!({"backend": backend.name(), "n": n, "layout": layout.id(),
                    "seconds": secs(t), "per_item_us": secs(t) * 1e6 / n as f64}),
                );
            }
            for (op, big_us, fresh_us) in ops.results {
                r.single
                    .push(json!({"backend": backend.name(), "n": n, "op": op,
                    "big_median_us": big_us, "fresh_median_us": fresh_us,
                    "ratio": big_us / fresh_us.max(1e-9), "ops": config.ops}));
            }
            r.listing.push(json!({"backend": backend.name(), "n": n,
                "seconds": median_us(&mut listing) / 1e6, "runs": runs,
                "targets": info.targets, "artifacts": info.artifacts, "bytes": info.bytes}));
        }
    }

    // 3: the same key over time.
    for &backend in &config.backends {
        let k = config.repeats_for(backend);
        let inst = Instance::open(backend, config).await;
        progress(format!("{}: the same key stored {k} times", backend.name()));
        let times = same_key_puts(&inst.store, k).await;
        let (first, last) = first_last(&times);
        r.same_key.push(
            json!({"backend": backend.name(), "workload": "perfstore put", "k": k,
            "first_rate": first, "last_rate": last, "ratio": last / first,
            "total_seconds": times.iter().map(|d| secs(*d)).sum::<f64>(),
            "rate_buckets": bucket_rates(&times, 20)}),
        );
        if let Some(client) = inst.client.as_ref().filter(|_| backend.is_server()) {
            progress(format!(
                "{}: POST key_based/store/json on one key {k} times",
                backend.name()
            ));
            let d = direct_key_based(client, &inst.namespace, k, config.ops).await;
            let (first, last) = first_last(&d.stores);
            r.same_key.push(
                json!({"backend": backend.name(), "workload": "key_based store", "k": k,
                "first_rate": first, "last_rate": last, "ratio": last / first,
                "total_seconds": d.stores.iter().map(|t| secs(*t)).sum::<f64>(),
                "rate_buckets": bucket_rates(&d.stores, 20)}),
            );
            r.retrieve.push(
                json!({"backend": backend.name(), "k": k, "refs_after": d.refs_after,
                "rate_refs_1": d.retrieve_refs_1, "rate_refs_k": d.retrieve_refs_k,
                "ratio": d.retrieve_refs_k / d.retrieve_refs_1, "ops": config.ops}),
            );
        }
        inst.close().await;
    }
    checks(config, &mut r);
    let order = |c: &Check| {
        CASES
            .iter()
            .position(|k| *k == c.case)
            .unwrap_or(CASES.len())
    };
    r.checks.sort_by_key(order); // stable: backends and sizes keep their order within a case
    r
}

/// The cases of the checks table, in the order printed.
const CASES: [&str; 5] = [
    "import growth",
    "one vs 100 targets",
    "big vs fresh target",
    "same key over time",
    "session listing",
];

fn num(v: &Value, field: &str) -> f64 {
    v[field].as_f64().unwrap_or(f64::NAN)
}

fn checks(config: &Config, r: &mut Results) {
    let test = !config.bench;
    for &backend in &config.backends {
        let b = backend.name();
        let sizes = config.sizes_for(backend);
        // Import growth between consecutive sizes: goal ≤ 1.2 × the size ratio (12 for 10×).
        for layout in [Layout::OneTarget, Layout::Spread] {
            for pair in sizes.windows(2) {
                let t = |n: usize| {
                    lookup(&r.import, |v| {
                        v["backend"] == b && v["n"] == n && v["layout"] == layout.id()
                    })
                    .map(|v| num(v, "seconds"))
                };
                if let (Some(t0), Some(t1)) = (t(pair[0]), t(pair[1])) {
                    let size_ratio = pair[1] as f64 / pair[0] as f64;
                    r.checks.push(Check {
                        case: "import growth",
                        what: format!("{b}, {}: t({})/t({})", layout.name(), pair[1], pair[0]),
                        value: t1 / t0,
                        goal: 1.2 * size_ratio,
                        lower_better: true,
                        // Quadratic would be ~size_ratio²; allow 3× linear, and ignore runs
                        // too short to say anything.
                        hard: (test && t1 > 0.1).then_some(3.0 * size_ratio),
                        tolerance_us: None,
                    });
                }
            }
        }
        for &n in &sizes {
            let one = lookup(&r.import, |v| {
                v["backend"] == b && v["n"] == n && v["layout"] == "one_target"
            });
            let spread = lookup(&r.import, |v| {
                v["backend"] == b && v["n"] == n && v["layout"] == "100_targets"
            });
            if let (Some(one), Some(spread)) = (one, spread) {
                let (t1, t100) = (num(one, "seconds"), num(spread, "seconds"));
                r.checks.push(Check {
                    case: "one vs 100 targets",
                    what: format!("{b}, N={n}: import one target / 100 targets"),
                    value: t1 / t100,
                    goal: 1.5,
                    lower_better: true,
                    hard: (test && t1 > 0.1 && n == *sizes.last().expect("sizes")).then_some(5.0),
                    tolerance_us: None,
                });
            }
            for row in r.single.iter().filter(|v| v["backend"] == b && v["n"] == n) {
                let op = row["op"].as_str().unwrap_or("?").to_owned();
                let (big, fresh) = (num(row, "big_median_us"), num(row, "fresh_median_us"));
                r.checks.push(Check {
                    case: "big vs fresh target",
                    what: format!("{b}, N={n}: {op} median, target of N / fresh"),
                    value: num(row, "ratio"),
                    goal: 1.5,
                    lower_better: true,
                    // Sub-µs memory operations: a few µs more is cache misses, not growth.
                    tolerance_us: Some(big - fresh),
                    // A difference of under 50 µs is noise here, whatever the ratio.
                    hard: (test && big > 50.0).then_some(5.0),
                });
            }
        }
        for row in r.same_key.iter().filter(|v| v["backend"] == b) {
            r.checks.push(Check {
                case: "same key over time",
                what: format!(
                    "{b}, {} x{}: rate last 10% / first 10%",
                    row["workload"].as_str().unwrap_or("?"),
                    row["k"]
                ),
                value: num(row, "ratio"),
                goal: 0.8,
                lower_better: false,
                hard: test.then_some(0.2),
                tolerance_us: None,
            });
        }
        for row in r.retrieve.iter().filter(|v| v["backend"] == b) {
            r.checks.push(Check {
                case: "same key over time",
                what: format!(
                    "{b}, retrieve by hash: rate with {} refs / with 1",
                    row["refs_after"]
                ),
                value: num(row, "ratio"),
                goal: 0.8,
                lower_better: false,
                hard: test.then_some(0.2),
                tolerance_us: None,
            });
        }
    }
    // Session listing through a server vs local disk.
    for &n in &config.sizes {
        let Some(local) = lookup(&r.listing, |v| v["backend"] == "local" && v["n"] == n) else {
            continue;
        };
        for row in r.listing.iter().filter(|v| {
            v["n"] == n
                && v["backend"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("server") || s == "reference")
        }) {
            r.checks.push(Check {
                case: "session listing",
                what: format!(
                    "{}, N={n}: session_info server / local disk",
                    row["backend"].as_str().unwrap_or("?")
                ),
                value: num(row, "seconds") / num(local, "seconds"),
                goal: 10.0,
                lower_better: true,
                hard: None,
                tolerance_us: None,
            });
        }
    }
}

fn report(config: &Config, r: &Results) -> String {
    let mut s = String::new();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let _ = writeln!(
        s,
        "\nscaling ({} mode, {cores} cores): sizes {:?}, same key x{}, {} single ops per median",
        if config.bench { "bench" } else { "test" },
        config.sizes,
        config.repeats,
        config.ops
    );
    let _ = writeln!(s, "import: {IMPORT_METHOD}; ~1 KB JSON per artifact");

    let _ = writeln!(s, "\n1. import time (per artifact)");
    let _ = writeln!(
        s,
        "{:<12} {:>8} {:>22} {:>22} {:>9}",
        "backend", "N", "one target", "100 targets", "one/100"
    );
    for &backend in &config.backends {
        for n in config.sizes_for(backend) {
            let get = |layout: &str| {
                lookup(&r.import, |v| {
                    v["backend"] == backend.name() && v["n"] == n && v["layout"] == layout
                })
            };
            if let (Some(one), Some(spread)) = (get("one_target"), get("100_targets")) {
                let cell = |v: &Value| {
                    format!(
                        "{} ({:.0} µs)",
                        fmt_s(num(v, "seconds")),
                        num(v, "per_item_us")
                    )
                };
                let _ = writeln!(
                    s,
                    "{:<12} {n:>8} {:>22} {:>22} {:>8.2}x",
                    backend.name(),
                    cell(one),
                    cell(spread),
                    num(one, "seconds") / num(spread, "seconds")
                );
            }
        }
    }

    let _ = writeln!(
        s,
        "\n2. single operations, median µs: target holding N / fresh target (ratio)"
    );
    let _ = writeln!(
        s,
        "{:<12} {:>8} {:>22} {:>22} {:>22} {:>22}",
        "backend", "N", "put", "get", "head", "exists"
    );
    for &backend in &config.backends {
        for n in config.sizes_for(backend) {
            let mut line = format!("{:<12} {n:>8}", backend.name());
            for op in ["put", "get", "head", "exists"] {
                if let Some(v) = lookup(&r.single, |v| {
                    v["backend"] == backend.name() && v["n"] == n && v["op"] == op
                }) {
                    let cell = format!(
                        "{:.0} / {:.0} ({:.2}x)",
                        num(v, "big_median_us"),
                        num(v, "fresh_median_us"),
                        num(v, "ratio")
                    );
                    let _ = write!(line, " {cell:>22}");
                }
            }
            let _ = writeln!(s, "{line}");
        }
    }

    let _ = writeln!(
        s,
        "\n3. the same key stored K times: ops/s in the first vs last 10%"
    );
    let _ = writeln!(
        s,
        "{:<12} {:<16} {:>7} {:>10} {:>10} {:>8} {:>9}",
        "backend", "workload", "K", "first/s", "last/s", "last/1st", "total"
    );
    for v in &r.same_key {
        let _ = writeln!(
            s,
            "{:<12} {:<16} {:>7} {:>10.0} {:>10.0} {:>7.2}x {:>9}",
            v["backend"].as_str().unwrap_or("?"),
            v["workload"].as_str().unwrap_or("?"),
            v["k"],
            num(v, "first_rate"),
            num(v, "last_rate"),
            num(v, "ratio"),
            fmt_s(num(v, "total_seconds"))
        );
    }
    for v in &r.retrieve {
        let _ = writeln!(
            s,
            "{:<12} retrieve by hash: {:.0}/s with 1 ref, {:.0}/s with {} refs ({:.2}x)",
            v["backend"].as_str().unwrap_or("?"),
            num(v, "rate_refs_1"),
            num(v, "rate_refs_k"),
            v["refs_after"],
            num(v, "ratio")
        );
    }

    let _ = writeln!(
        s,
        "\n4. session info (list_targets + list_keys + head of every artifact), N artifacts in 100 targets"
    );
    let _ = writeln!(
        s,
        "{:<12} {:>8} {:>12} {:>10}",
        "backend", "N", "time", "vs local"
    );
    for v in &r.listing {
        let local = lookup(&r.listing, |l| l["backend"] == "local" && l["n"] == v["n"])
            .map_or(f64::NAN, |l| num(l, "seconds"));
        let _ = writeln!(
            s,
            "{:<12} {:>8} {:>12} {:>9.2}x",
            v["backend"].as_str().unwrap_or("?"),
            v["n"],
            fmt_s(num(v, "seconds")),
            num(v, "seconds") / local
        );
    }

    let _ = writeln!(s, "\nchecks (goal; PASS/FAIL)");
    let mut case = "";
    for c in &r.checks {
        if c.case != case {
            case = c.case;
            let _ = writeln!(s, "  {case}:");
        }
        let goal = if c.lower_better {
            format!("≤ {:.1}", c.goal)
        } else {
            format!("≥ {:.1}", c.goal)
        };
        let _ = writeln!(
            s,
            "    {:<62} {:>8.2}  goal {:<7} {}{}",
            c.what,
            c.value,
            goal,
            if c.pass() { "PASS" } else { "FAIL" },
            if c.broken() {
                "  (past the test-mode limit)"
            } else if c.tolerance_us.is_some_and(|d| d < NOISE_US) && c.value > c.goal {
                "  (differs by < 5 µs)"
            } else {
                ""
            }
        );
    }
    let failed = r.checks.iter().filter(|c| !c.pass()).count();
    let _ = writeln!(
        s,
        "{} of {} checks pass",
        r.checks.len() - failed,
        r.checks.len()
    );
    s
}

fn write_json(config: &Config, r: &Results) {
    let checks: Vec<Value> = r
        .checks
        .iter()
        .map(|c| {
            json!({"case": c.case, "what": c.what, "value": c.value, "goal": c.goal,
                   "goal_is_max": c.lower_better, "pass": c.pass(), "test_limit": c.hard})
        })
        .collect();
    let doc = json!({
        "mode": if config.bench { "bench" } else { "test" },
        "machine": {
            "cores": std::thread::available_parallelism().map_or(1, usize::from),
            "os": std::env::consts::OS, "arch": std::env::consts::ARCH,
        },
        "sizes": config.sizes, "repeats": config.repeats, "ops": config.ops,
        "backends": config.backends.iter().map(|b| b.name()).collect::<Vec<_>>(),
        "reference_url": config.reference,
        "import_method": IMPORT_METHOD,
        "import": r.import, "single_ops": r.single, "same_key": r.same_key,
        "retrieve_by_hash": r.retrieve, "session_listing": r.listing, "checks": checks,
    });
    if let Some(parent) = config.out.parent() {
        std::fs::create_dir_all(parent).expect("create output folder");
    }
    let text = serde_json::to_string_pretty(&doc).expect("json");
    std::fs::write(&config.out, text + "\n").expect("write results");
}

fn main() {
    let config = Config::from_env();
    assert!(!config.sizes.is_empty(), "SCALING_SIZES is empty");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let results = runtime.block_on(run(&config));
    print!("{}", report(&config, &results));
    write_json(&config, &results);
    println!("wrote {}", config.out.display());
    let broken: Vec<String> = results
        .checks
        .iter()
        .filter(|c| c.broken())
        .map(|c| {
            format!(
                "{}: {} = {:.2} (limit {:?})",
                c.case, c.what, c.value, c.hard
            )
        })
        .collect();
    if !broken.is_empty() {
        let message = format!(
            "scaling: growth clearly worse than linear in {} check(s):\n  {}",
            broken.len(),
            broken.join("\n  ")
        );
        if config.assert {
            panic!("{message}\n(SCALING_NO_ASSERT=1 reports without failing)");
        }
        eprintln!("{message}\n(not failing: SCALING_NO_ASSERT=1)");
    }
}
