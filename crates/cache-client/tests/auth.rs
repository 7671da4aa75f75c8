//! API-key auth against our server with a key configured, in-process and over 127.0.0.1.

use cache_client::{CacheClient, CacheClientError, LocalServer, RemoteConfig, Strategy};
use cache_service::service::CacheService;
use cache_service::store::FileStore;
use cache_service::{AppState, AuthSettings};

const KEY_NAME: &str = "x-api-key";
const KEY_VALUE: &str = "secret123";

fn state_with_key() -> AppState {
    AppState::new(
        CacheService::new(FileStore::memory(), 24),
        AuthSettings::api_key(KEY_NAME, KEY_VALUE),
    )
}

fn unauthorized_message(err: CacheClientError) -> String {
    match err {
        CacheClientError::Unauthorized { message, .. } => message,
        other => panic!("expected Unauthorized, got {other}"),
    }
}

/// `with_key` sends the right key; every request without it (or with a wrong one) is refused,
/// including lookups that would otherwise be a quiet `None`.
async fn key_is_required(with_key: CacheClient) {
    assert!(with_key.info().health().await.unwrap());
    let stored = with_key
        .store()
        .string("demo", Strategy::Direct, "hello")
        .await
        .unwrap();

    let anonymous = with_key.without_api_key();
    let err = anonymous.info().health().await.unwrap_err();
    assert_eq!(err.call().unwrap().op, "info().health");
    assert_eq!(
        unauthorized_message(err),
        "Client API key is missing, you need to set it on a header or cookie"
    );
    assert!(!anonymous.health().await);
    let err = anonymous
        .retrieve()
        .by_id("demo", &stored.cache_id)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    let err = anonymous
        .data()
        .retrieve_string("demo", &stored.cache_id, None, "x")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");
    let err = anonymous
        .store()
        .string("demo", Strategy::Direct, "x")
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err}");

    let wrong = with_key.with_api_key(KEY_NAME, "wrong").unwrap();
    assert_eq!(
        unauthorized_message(wrong.namespaces().list().await.unwrap_err()),
        "Invalid API key value"
    );
    // The right key under another header name is no key at all.
    let renamed = with_key.with_api_key("x-other-key", KEY_VALUE).unwrap();
    assert_eq!(
        unauthorized_message(renamed.info().status().await.unwrap_err()),
        "Client API key is missing, you need to set it on a header or cookie"
    );
    // Header names are case-insensitive.
    let upper = with_key.with_api_key("X-API-KEY", KEY_VALUE).unwrap();
    assert_eq!(
        upper
            .retrieve()
            .by_id_string("demo", &stored.cache_id)
            .await
            .unwrap()
            .as_deref(),
        Some("hello")
    );
}

#[tokio::test]
async fn in_process_with_key() {
    let router = cache_service::router(state_with_key());
    let client = CacheClient::in_process(router)
        .with_api_key(KEY_NAME, KEY_VALUE)
        .unwrap();
    key_is_required(client).await;
}

#[tokio::test]
async fn loopback_with_key() {
    let server = LocalServer::start(state_with_key()).await.unwrap();
    // The server's client carries the state's key.
    key_is_required(server.client()).await;
    // So does a client built from its configuration; without the key it is refused.
    let config = server.remote_config();
    assert_eq!(
        config.api_key,
        Some((KEY_NAME.to_owned(), KEY_VALUE.to_owned()))
    );
    let built = CacheClient::remote(config.clone()).unwrap();
    assert!(built.info().health().await.unwrap());
    let bare = CacheClient::remote(RemoteConfig {
        api_key: None,
        ..config
    })
    .unwrap();
    assert_eq!(bare.info().health().await.unwrap_err().status(), Some(401));
    server.stop().await.unwrap();
}
