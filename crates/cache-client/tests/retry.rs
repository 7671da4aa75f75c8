//! The remote transport: bounded retries with backoff for idempotent calls only, on connection
//! errors and 5xx; timeouts; connection pooling. The 5xx and pooling cases wrap our real
//! server in a layer that injects failures or records the peer of each request.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cache_client::{CacheClient, CacheClientError, RemoteConfig, RetryPolicy, Strategy};
use serde_json::json;

fn tiny_backoff(attempts: u32) -> RetryPolicy {
    RetryPolicy::attempts(attempts, Duration::from_millis(1))
}

/// An address nothing listens on.
fn refused_addr() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
    // dropped here: connections to it are refused
}

fn attempts_of(err: &CacheClientError) -> u32 {
    match err {
        CacheClientError::Transport { attempts, .. } => *attempts,
        other => panic!("expected a transport error, got {other}"),
    }
}

#[tokio::test]
async fn refused_connections_are_retried_then_reported() {
    let addr = refused_addr();
    let client = CacheClient::remote(
        RemoteConfig::new(format!("http://{addr}")).with_retries(tiny_backoff(3)),
    )
    .unwrap();
    let started = Instant::now();

    let err = client.info().health().await.unwrap_err();
    assert_eq!(attempts_of(&err), 3, "{err}");
    assert_eq!(err.call().unwrap().op, "info().health");
    assert_eq!(err.call().unwrap().path, "/info/health");
    let err = client
        .data()
        .delete(
            "demo",
            "00000000-0000-4000-8000-000000000000",
            cache_client::DataType::Json,
            None,
            "f",
        )
        .await
        .unwrap_err();
    assert_eq!(attempts_of(&err), 3, "{err}");
    // Entry stores create something new each time: never retried.
    let err = client
        .store()
        .string("demo", Strategy::Direct, "x")
        .await
        .unwrap_err();
    assert_eq!(attempts_of(&err), 1, "{err}");
    // A lookup that can miss still reports the failure (it is not a `None`).
    let err = client
        .retrieve()
        .hash_cache_id("demo", "0123456789abcdef")
        .await
        .unwrap_err();
    assert_eq!(attempts_of(&err), 3, "{err}");
    assert!(!client.health().await);

    let none = CacheClient::remote(
        RemoteConfig::new(format!("http://{addr}")).with_retries(RetryPolicy::none()),
    )
    .unwrap();
    assert_eq!(attempts_of(&none.info().health().await.unwrap_err()), 1);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

/// Counts requests and answers 503 to the next `fail_next` of them.
#[derive(Default)]
struct Faults {
    fail_next: AtomicUsize,
    seen: AtomicUsize,
}

impl Faults {
    fn fail(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
        self.seen.store(0, Ordering::SeqCst);
    }

    fn seen(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

/// Our in-memory server behind the fault layer, on 127.0.0.1.
async fn flaky_server() -> (String, Arc<Faults>, tokio::task::JoinHandle<()>) {
    let faults = Arc::new(Faults::default());
    let layer_faults = faults.clone();
    let router = cache_service::router(cache_service::AppState::in_memory()).layer(
        axum::middleware::from_fn(move |request: Request, next: Next| {
            let faults = layer_faults.clone();
            async move {
                faults.seen.fetch_add(1, Ordering::SeqCst);
                let failing = faults
                    .fail_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if failing {
                    return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "try again")
                        .into_response();
                }
                let response: Response = next.run(request).await;
                response
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    (url, faults, task)
}

#[tokio::test]
async fn server_errors_are_retried_for_idempotent_calls_only() {
    let (url, faults, task) = flaky_server().await;
    let client = CacheClient::remote(RemoteConfig::new(url).with_retries(tiny_backoff(3))).unwrap();

    // Two failures, three attempts: the GET succeeds on the third.
    faults.fail(2);
    assert!(client.info().health().await.unwrap());
    assert_eq!(faults.seen(), 3);

    // More failures than attempts: bounded, the last 503 is reported.
    faults.fail(10);
    let err = client.namespaces().list().await.unwrap_err();
    assert!(
        matches!(err, CacheClientError::Server { status: 503, .. }),
        "{err}"
    );
    assert_eq!(faults.seen(), 3);

    // POST store: one attempt only.
    faults.fail(1);
    let err = client
        .store()
        .string("demo", Strategy::Direct, "x")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(faults.seen(), 1);
    faults.fail(0);
    let entry = client
        .store()
        .string("demo", Strategy::Direct, "x")
        .await
        .unwrap();

    // Child-data store naming its file overwrites in place: retried. Without an id: not.
    faults.fail(1);
    client
        .data()
        .store_json(
            "demo",
            &entry.cache_id,
            Some("k"),
            Some("f"),
            &json!({"a": 1}),
        )
        .await
        .unwrap();
    assert_eq!(faults.seen(), 2);
    faults.fail(1);
    let err = client
        .data()
        .store_json("demo", &entry.cache_id, None, None, &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503), "{err}");
    assert_eq!(faults.seen(), 1);

    // Updates and deletes are idempotent.
    faults.fail(1);
    client
        .update()
        .string("demo", &entry.cache_id, "y")
        .await
        .unwrap();
    assert_eq!(faults.seen(), 2);
    faults.fail(2);
    assert!(
        client
            .data()
            .delete(
                "demo",
                &entry.cache_id,
                cache_client::DataType::Json,
                Some("k"),
                "f"
            )
            .await
            .unwrap()
    );
    assert_eq!(faults.seen(), 3);

    // Client errors are answers, not failures: never retried.
    faults.fail(0);
    let err = client.retrieve().by_id("demo", "nope").await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(faults.seen(), 1);
    assert!(
        client
            .retrieve()
            .by_id("demo", "00000000-0000-4000-8000-000000000000")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(faults.seen(), 2);

    task.abort();
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts connections and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let client = CacheClient::remote(
        RemoteConfig::new(url)
            .with_timeout(Duration::from_millis(150))
            .with_retries(tiny_backoff(2)),
    )
    .unwrap();
    let started = Instant::now();
    let err = client.info().health().await.unwrap_err();
    assert_eq!(attempts_of(&err), 2, "{err}");
    let source = match &err {
        CacheClientError::Transport { source, .. } => source,
        _ => unreachable!(),
    };
    let reqwest_error = source
        .downcast_ref::<reqwest::Error>()
        .expect("a reqwest error");
    assert!(reqwest_error.is_timeout(), "{reqwest_error:?}");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    task.abort();
}

#[tokio::test]
async fn sequential_calls_reuse_one_pooled_connection() {
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::sync::Mutex;

    use axum::extract::ConnectInfo;

    let peers: Arc<Mutex<HashSet<SocketAddr>>> = Arc::default();
    let layer_peers = peers.clone();
    let router = cache_service::router(cache_service::AppState::in_memory()).layer(
        axum::middleware::from_fn(move |request: Request, next: Next| {
            let peers = layer_peers.clone();
            async move {
                if let Some(ConnectInfo(peer)) =
                    request.extensions().get::<ConnectInfo<SocketAddr>>()
                {
                    peers.lock().unwrap().insert(*peer);
                }
                next.run(request).await
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });

    let client = CacheClient::remote(RemoteConfig::new(url)).unwrap();
    let clone = client.clone();
    for i in 0..10 {
        let stored = client
            .store()
            .string("demo", Strategy::Direct, &format!("v{i}"))
            .await
            .unwrap();
        assert!(
            clone
                .retrieve()
                .by_id_string("demo", &stored.cache_id)
                .await
                .unwrap()
                .is_some()
        );
    }
    assert_eq!(
        peers.lock().unwrap().len(),
        1,
        "{:?}",
        peers.lock().unwrap()
    );
    task.abort();
}
