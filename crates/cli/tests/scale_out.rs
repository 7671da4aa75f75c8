//! Scale-out with real processes (issue 14): three `perfstore serve --storage s3` instances over
//! one bucket of a multi-process SeaweedFS (two S3 gateways), and writer *processes* (this test
//! binary run again as `writer_process`) storing through them at once.
//!
//! Needs the engine's environment from `scripts/seaweedfs.sh run cluster -- …` (see
//! `crates/cache-service/tests/s3.rs`); without it a test skips with a printed reason, or fails
//! when `CI` or `PERFSTORE_REQUIRE_S3` is set. `SCALE_OUT_WRITES` sets the writes per writer
//! process (default 300: 8 × 300 = 2,400 in CI; the long run uses 1,300: 10,400 writes).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use perfstore::Store;
use perfstore::cache_service::CacheServiceStorage;

const WRITERS: usize = 8;
const INSTANCES: usize = 3;
const TARGETS: usize = 2;
/// Keys each writer overwrites with its own content (last acknowledged write must win).
const OWN_KEYS: usize = 6;
/// Keys every writer stores with identical content.
const SAME_KEYS: usize = 3;

struct Engine {
    endpoints: Vec<String>,
    bucket: String,
}

fn engine(test: &str) -> Option<Engine> {
    let Some(endpoint) = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|e| !e.is_empty())
    else {
        let reason = "no S3 engine: AWS_ENDPOINT_URL is not set (run under \
                      `scripts/seaweedfs.sh run cluster -- cargo test -p perfstore-cli --test scale_out`)";
        if std::env::var_os("CI").is_some() || std::env::var_os("PERFSTORE_REQUIRE_S3").is_some() {
            panic!("{test}: {reason}; CI must run the scale-out tests");
        }
        eprintln!("SKIPPED {test}: {reason}");
        return None;
    };
    let mut endpoints: Vec<String> = std::env::var("SEAWEEDFS_S3_ENDPOINTS")
        .unwrap_or_default()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_owned)
        .collect();
    if endpoints.is_empty() {
        endpoints.push(endpoint);
    }
    let bucket = std::env::var("SEAWEEDFS_BUCKET").unwrap_or_else(|_| "perfstore-test".into());
    Some(Engine { endpoints, bucket })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Status and body of a plain HTTP/1.1 request (the server's JSON replies carry a length).
fn http(method: &str, url: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// One `perfstore serve --storage s3` process.
struct Server {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path, n: usize, endpoint: &str, bucket: &str) -> Server {
        let port = free_port();
        let log = dir.join(format!("server{n}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_perfstore"))
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--storage", "s3", "--bucket", bucket, "--no-auth"])
            .env("AWS_ENDPOINT_URL", endpoint)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("server log"))
            .spawn()
            .expect("spawn perfstore serve");
        let mut server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = http("GET", &format!("{}/info/health", server.url), b"") {
                break;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("server {n} exited ({status}): {}", server.log_text());
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "server {n} not ready: {}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Fleet {
    servers: Vec<Server>,
    _dir: tempfile::TempDir,
}

impl Fleet {
    /// Three servers, spread over the engine's gateways.
    fn start(engine: &Engine) -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        let servers = (0..INSTANCES)
            .map(|n| {
                let endpoint = &engine.endpoints[n % engine.endpoints.len()];
                Server::start(dir.path(), n, endpoint, &engine.bucket)
            })
            .collect();
        Fleet { servers, _dir: dir }
    }

    fn urls(&self) -> Vec<String> {
        self.servers.iter().map(|s| s.url.clone()).collect()
    }
}

fn store_at(url: &str, ns: &str) -> Store {
    Store::new(CacheServiceStorage::connect(Some(url), None, ns).expect("client"))
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default()
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{:x}",
        now_ns() ^ (u128::from(std::process::id()) << 40)
    )
}

/// One acknowledged write, as a writer process reports it on stdout.
#[derive(Debug, Clone)]
enum Ack {
    /// `put TARGET KEY VALUE START END`: an artifact write through the storage layer.
    Put {
        target: String,
        key: String,
        value: String,
        start: u128,
        end: u128,
    },
    /// `store HASH ID`: a key-based store of identical content through the cache API.
    Store { hash: String, id: String },
}

fn parse_ack(line: &str) -> Option<Ack> {
    let parts: Vec<&str> = line.split(' ').collect();
    match parts.as_slice() {
        ["put", target, key, value, start, end] => Some(Ack::Put {
            target: (*target).to_owned(),
            key: (*key).to_owned(),
            value: (*value).to_owned(),
            start: start.parse().ok()?,
            end: end.parse().ok()?,
        }),
        ["store", hash, id] => Some(Ack::Store {
            hash: (*hash).to_owned(),
            id: (*id).to_owned(),
        }),
        _ => None,
    }
}

/// Not a test on its own: the body of one writer process, run by the tests below as
/// `scale_out writer_process --exact --ignored --nocapture` with `SCALE_OUT_*` set. Writes
/// through `SCALE_OUT_URLS` (its own instance first, the next one after a failure), prints one
/// line per acknowledged write, and `failed …` for a write no instance acknowledged.
#[test]
#[ignore = "the writer process of the scale-out tests, run by them"]
fn writer_process() {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let urls: Vec<String> = var("SCALE_OUT_URLS")
        .split(',')
        .map(str::to_owned)
        .collect();
    let ns = var("SCALE_OUT_NS");
    let id: usize = var("SCALE_OUT_ID").parse().expect("SCALE_OUT_ID");
    let writes: usize = var("SCALE_OUT_WRITES").parse().expect("SCALE_OUT_WRITES");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let stores: Vec<Store> = urls.iter().map(|u| store_at(u, &ns)).collect();
        let clients: Vec<cache_client::CacheClient> = urls
            .iter()
            .map(|u| {
                cache_client::CacheClient::remote(cache_client::RemoteConfig::new(u))
                    .expect("client")
            })
            .collect();
        let mut current = id % urls.len();
        let out = std::io::stdout();
        for seq in 0..writes {
            let target = format!("t{}", seq % TARGETS);
            let (key, value, same) = match seq % 5 {
                0 => (
                    format!("same{}.json", seq % SAME_KEYS),
                    "same".to_owned(),
                    true,
                ),
                4 => (String::new(), String::new(), true),
                _ => (
                    format!("own{}.json", seq % OWN_KEYS),
                    format!("w{id}s{seq}"),
                    false,
                ),
            };
            let mut done = None;
            for attempt in 0..urls.len() * 2 {
                let n = (current + attempt) % urls.len();
                let start = now_ns();
                let result = if key.is_empty() {
                    clients[n]
                        .store()
                        .json_with_key(
                            &ns,
                            cache_client::Strategy::KeyBased,
                            "shared/identical",
                            None,
                            None,
                            &serde_json::json!({"identical": true}),
                        )
                        .await
                        .map(|r| format!("store {} {}", r.cache_hash, r.cache_id))
                        .map_err(|e| e.to_string())
                } else {
                    let body = if same {
                        serde_json::json!({"same": key})
                    } else {
                        serde_json::json!({"value": value})
                    };
                    match stores[n].target("scale", &target) {
                        Ok(handle) => handle
                            .save_json(key.as_str(), &body)
                            .await
                            .map(|_| format!("put {target} {key} {value} {start} {}", now_ns()))
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                };
                match result {
                    Ok(line) => {
                        done = Some(line);
                        current = n;
                        break;
                    }
                    Err(e) => {
                        eprintln!("writer {id}: write {seq} through {}: {e}", urls[n]);
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
            let mut out = out.lock();
            match done {
                Some(line) => writeln!(out, "{line}").expect("stdout"),
                None => writeln!(out, "failed {seq}").expect("stdout"),
            }
        }
    });
}

/// Runs the writers to the end (bounded), returning every acknowledged write and the number
/// of writes no instance acknowledged.
fn run_writers(
    urls: &[String],
    ns: &str,
    writes: usize,
    during: impl FnOnce(),
) -> (Vec<Ack>, usize) {
    let exe = std::env::current_exe().expect("test binary");
    let mut children: Vec<Child> = (0..WRITERS)
        .map(|id| {
            // Each writer starts on its own instance; the others follow in its list.
            Command::new(&exe)
                .args([
                    "writer_process",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "-q",
                ])
                .env("SCALE_OUT_URLS", urls.join(","))
                .env("SCALE_OUT_NS", ns)
                .env("SCALE_OUT_ID", id.to_string())
                .env("SCALE_OUT_WRITES", writes.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn writer")
        })
        .collect();
    let readers: Vec<_> = children
        .iter_mut()
        .map(|c| {
            let stdout = c.stdout.take().expect("stdout");
            std::thread::spawn(move || {
                std::io::BufReader::new(stdout)
                    .lines()
                    .map_while(Result::ok)
                    .collect::<Vec<String>>()
            })
        })
        .collect();
    during();
    let deadline = Instant::now() + Duration::from_secs(600);
    for child in &mut children {
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                assert!(status.success(), "a writer process failed: {status}");
                break;
            }
            if Instant::now() > deadline {
                for c in &mut children {
                    let _ = c.kill();
                }
                panic!("writers still running after 600 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let mut acks = Vec::new();
    let mut failed = 0;
    for reader in readers {
        for line in reader.join().expect("reader") {
            if line.starts_with("failed ") {
                failed += 1;
            } else if let Some(ack) = parse_ack(&line) {
                acks.push(ack);
            }
        }
    }
    (acks, failed)
}

/// Every acknowledged write is there through every url: each key holds the last acknowledged
/// content (a write no other write started after), listings hold every key once, and the
/// by-hash reference of the identical stores lists every acknowledged id exactly once, plus at
/// most `may_land` ids of stores whose answer was lost (a store that completed on an instance
/// killed before it replied; its writer retried elsewhere), each of them a whole entry.
/// Per (target, key): each acknowledged put's content with its start and end times.
type PutsByKey = BTreeMap<(String, String), Vec<(String, u128, u128)>>;

fn verify(urls: &[String], ns: &str, acks: &[Ack], may_land: usize) {
    let mut puts: PutsByKey = BTreeMap::new();
    let mut stored: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ack in acks {
        match ack {
            Ack::Put {
                target,
                key,
                value,
                start,
                end,
            } => puts
                .entry((target.clone(), key.clone()))
                .or_default()
                .push((value.clone(), *start, *end)),
            Ack::Store { hash, id } => stored.entry(hash.clone()).or_default().push(id.clone()),
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        for url in urls {
            let store = store_at(url, ns);
            let mut keys: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for ((target, key), writes) in &puts {
                keys.entry(target.clone()).or_default().insert(key.clone());
                let handle = store.target("scale", target).expect("target");
                let found = handle
                    .load_json(key.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{url}: load {target}/{key}: {e}"))
                    .unwrap_or_else(|| panic!("{url}: acknowledged {target}/{key} is missing"));
                if key.starts_with("same") {
                    assert_eq!(found, serde_json::json!({"same": key}), "{url}: {target}/{key}");
                    continue;
                }
                let value = found["value"].as_str().unwrap_or_default();
                let write = writes
                    .iter()
                    .find(|(v, _, _)| v == value)
                    .unwrap_or_else(|| panic!("{url}: {target}/{key} holds {found}, never acknowledged"));
                // The value's write must not be followed by another write that started after
                // it was acknowledged (that one would be the last acknowledged content).
                if let Some(later) = writes.iter().find(|(_, start, _)| *start > write.2) {
                    panic!(
                        "{url}: {target}/{key} holds {value}, but {} was written after it was acknowledged",
                        later.0
                    );
                }
            }
            for (target, expected) in &keys {
                let listed = store
                    .target("scale", target)
                    .expect("target")
                    .list_keys("")
                    .await
                    .unwrap_or_else(|e| panic!("{url}: list {target}: {e}"));
                let names: Vec<String> = listed.iter().map(|k| k.to_string()).collect();
                let unique: BTreeSet<String> = names.iter().cloned().collect();
                assert_eq!(unique.len(), names.len(), "{url}: {target} lists a key twice");
                assert_eq!(&unique, expected, "{url}: keys of {target}");
            }
            let client = cache_client::CacheClient::remote(cache_client::RemoteConfig::new(url))
                .expect("client");
            for (hash, ids) in &stored {
                let refs = client
                    .retrieve()
                    .by_hash_refs(ns, hash)
                    .await
                    .unwrap_or_else(|e| panic!("{url}: refs of {hash}: {e}"))
                    .unwrap_or_else(|| panic!("{url}: the by-hash reference {hash} is missing"));
                let listed: Vec<&str> = refs.cache_ids.iter().map(|e| e.cache_id.as_str()).collect();
                let unique: BTreeSet<&str> = listed.iter().copied().collect();
                assert_eq!(unique.len(), listed.len(), "{url}: an id is listed twice");
                let expected: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
                let lost: Vec<_> = expected.difference(&unique).collect();
                assert!(lost.is_empty(), "{url}: {} acknowledged ids lost from {hash}: {lost:?}", lost.len());
                let unanswered: Vec<&str> = unique.difference(&expected).copied().collect();
                assert!(
                    unanswered.len() <= may_land,
                    "{url}: {hash} lists {} ids no writer was told of (at most {may_land} stores lost their answer): {unanswered:?}",
                    unanswered.len()
                );
                for id in unanswered {
                    let entry = client
                        .retrieve()
                        .by_id_json(ns, id)
                        .await
                        .unwrap_or_else(|e| panic!("{url}: retrieve {id}: {e}"));
                    assert_eq!(
                        entry,
                        Some(serde_json::json!({"identical": true})),
                        "{url}: {id} (a store whose answer was lost) is not a whole entry"
                    );
                }
                assert_eq!(refs.total_versions as usize, unique.len(), "{url}: total_versions");
            }
        }
    });
}

fn writes_per_writer() -> usize {
    std::env::var("SCALE_OUT_WRITES")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(300)
}

#[test]
fn eight_writer_processes_over_three_instances_lose_no_write() {
    let Some(engine) = engine("eight_writer_processes_over_three_instances_lose_no_write") else {
        return;
    };
    let fleet = Fleet::start(&engine);
    let ns = unique("fleet");
    let writes = writes_per_writer();
    let started = Instant::now();
    let (acks, failed) = run_writers(&fleet.urls(), &ns, writes, || {});
    let elapsed = started.elapsed();
    assert_eq!(failed, 0, "writes no instance acknowledged");
    assert_eq!(
        acks.len(),
        WRITERS * writes,
        "every write acknowledged once"
    );
    eprintln!(
        "scale-out: {} writes by {WRITERS} processes through {INSTANCES} instances in {:.1} s ({:.0}/s)",
        acks.len(),
        elapsed.as_secs_f64(),
        acks.len() as f64 / elapsed.as_secs_f64()
    );
    verify(&fleet.urls(), &ns, &acks, 0);
}

#[test]
fn killing_one_instance_mid_load_loses_no_acknowledged_write() {
    let Some(engine) = engine("killing_one_instance_mid_load_loses_no_acknowledged_write") else {
        return;
    };
    let mut fleet = Fleet::start(&engine);
    let ns = unique("kill");
    let urls = fleet.urls();
    let victim = fleet.servers.pop().expect("three servers");
    let (acks, failed) = run_writers(&urls, &ns, writes_per_writer() / 2, move || {
        std::thread::sleep(Duration::from_millis(1500));
        let mut victim = victim;
        victim.kill();
    });
    // Writers of the killed instance fail over: every write is acknowledged by another one.
    assert_eq!(failed, 0, "writes no remaining instance acknowledged");
    // A writer has one request in flight: at most one store per writer completed on the victim
    // without its answer reaching the writer, which then stored again elsewhere.
    verify(&urls[..INSTANCES - 1], &ns, &acks, WRITERS);
}

/// The storage layer's conformance suite passes through each instance of the fleet (the three
/// run at once, each scenario in a fresh namespace of the shared bucket).
#[test]
fn the_conformance_suite_passes_through_each_instance() {
    let Some(engine) = engine("the_conformance_suite_passes_through_each_instance") else {
        return;
    };
    let fleet = Fleet::start(&engine);
    let ns = unique("conf");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let instances = fleet.urls().into_iter().enumerate().map(|(n, url)| {
            let ns = ns.clone();
            tokio::spawn(async move {
                let scenarios = std::sync::atomic::AtomicUsize::new(0);
                perfstore::conformance_sequence!(|_scenario: &'static str| {
                    let i = scenarios.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let store = store_at(&url, &format!("{ns}-{n}-{i}"));
                    async move { (store, ()) }
                })
                .await;
                scenarios.into_inner()
            })
        });
        for (n, ran) in join_spawned(instances).await.into_iter().enumerate() {
            let ran =
                ran.unwrap_or_else(|e| panic!("instance {n}: a conformance scenario failed: {e}"));
            assert!(ran >= 30, "instance {n} ran only {ran} scenarios");
        }
    });
}

/// Awaits every task in order (the tasks themselves already run concurrently).
async fn join_spawned<T>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<Result<T, tokio::task::JoinError>> {
    let mut results = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        results.push(task.await);
    }
    results
}

/// A target written through one instance is read, listed, diffed and deleted through others.
#[test]
fn a_target_written_through_one_instance_is_served_by_the_others() {
    let Some(engine) = engine("a_target_written_through_one_instance_is_served_by_the_others")
    else {
        return;
    };
    let fleet = Fleet::start(&engine);
    let ns = unique("cross");
    let urls = fleet.urls();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (a, b, c) = (
            store_at(&urls[0], &ns),
            store_at(&urls[1], &ns),
            store_at(&urls[2], &ns),
        );
        for (session, p50) in [("base", 10.0), ("cand", 20.0)] {
            let t = a.target(session, "parser").expect("target");
            t.save_json("results/m.json", &serde_json::json!({"p50_ms": p50}))
                .await
                .expect("save");
            t.save_string("notes.txt", "hello").await.expect("save");
        }
        let t = b.target("cand", "parser").expect("target");
        assert_eq!(
            t.load_json("results/m.json").await.expect("load"),
            Some(serde_json::json!({"p50_ms": 20.0}))
        );
        let keys: Vec<String> = t
            .list_keys("")
            .await
            .expect("list")
            .iter()
            .map(|k| k.to_string())
            .collect();
        assert_eq!(keys, vec!["notes.txt", "results/m.json"]);
        let diff = perfstore::diff::diff_sessions(
            &c,
            &"base".parse().expect("session"),
            &"cand".parse().expect("session"),
            &perfstore::diff::DiffOptions::default(),
        )
        .await
        .expect("diff");
        assert!(
            diff.metrics()
                .any(|(_, _, change)| format!("{change:?}").contains("20")),
            "the diff through a third instance sees both sessions"
        );
        let deleted = c
            .target("cand", "parser")
            .expect("target")
            .delete_all()
            .await
            .expect("delete");
        assert_eq!(deleted, 2);
        assert_eq!(
            a.target("cand", "parser")
                .expect("target")
                .load_json("results/m.json")
                .await
                .expect("load"),
            None
        );
    });
}

/// Stopping the S3 engine under load: clients get 5xx naming the storage, nothing partial is
/// visible, and the service recovers by itself once the engine is back. Uses its own
/// single-process engine (`scripts/seaweedfs.sh start mini`), so the shared one stays up.
#[test]
fn the_engine_stopping_gives_clear_errors_and_the_service_recovers() {
    if engine("the_engine_stopping_gives_clear_errors_and_the_service_recovers").is_none() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/seaweedfs.sh");
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("engine");
    let run = |args: &[&str]| {
        let out = Command::new(&script)
            .args(args)
            .env("SEAWEEDFS_BUCKET", "faults")
            .output()
            .expect("seaweedfs.sh");
        assert!(
            out.status.success(),
            "seaweedfs.sh {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["start", "mini", state.to_str().expect("path")]);
    struct StopEngine<'a>(&'a Path, &'a Path);
    impl Drop for StopEngine<'_> {
        fn drop(&mut self) {
            let _ = Command::new(self.0).arg("stop").arg(self.1).status();
        }
    }
    let _stop = StopEngine(&script, &state);
    let endpoint = std::fs::read_to_string(state.join("endpoints"))
        .expect("endpoints")
        .lines()
        .next()
        .expect("one endpoint")
        .to_owned();
    let server = Server::start(dir.path(), 0, &endpoint, "faults");
    let store = |key: &str| {
        http(
            "POST",
            &format!("{}/faults/key_based/store/json/{key}", server.url),
            br#"{"v":1}"#,
        )
        .expect("the server answers")
    };
    assert_eq!(store("before").0, 200);
    run(&["stop", state.to_str().expect("path")]);
    let (status, body) = store("during");
    assert!((500..600).contains(&status), "{status}: {body}");
    assert!(
        body.contains("storage backend error"),
        "the error names the storage: {body}"
    );
    let (status, body) = http(
        "GET",
        &format!("{}/faults/retrieve/hash/x", server.url),
        b"",
    )
    .expect("the server answers");
    assert!(status >= 400, "{status}: {body}");
    run(&["restart", state.to_str().expect("path")]);
    // No restart of the server: it recovers by itself.
    let started = Instant::now();
    loop {
        let (status, body) = store("after");
        if status == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not recovered: {status} {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Nothing of the failed store is visible: its key has no entry.
    let (status, body) = http(
        "GET",
        &format!(
            "{}/admin/storage/files/all/faults/data/key-based",
            server.url
        ),
        b"",
    )
    .expect("list");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("before") && body.contains("after"), "{body}");
    assert!(
        !body.contains("during"),
        "a failed store left files: {body}"
    );
}
