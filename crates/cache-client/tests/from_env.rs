//! `CacheClient::from_env()`: the only test in this binary, because it changes the process
//! environment.

use cache_client::{
    CacheClient, CacheClientError, ENV_KEY_NAME, ENV_KEY_VALUE, ENV_URL, LocalServer, TransportKind,
};

fn set(name: &str, value: Option<&str>) {
    // SAFETY: this test binary runs a single test, and the variables are changed only while no
    // other thread of ours reads the environment.
    unsafe {
        match value {
            Some(v) => std::env::set_var(name, v),
            None => std::env::remove_var(name),
        }
    }
}

#[test]
fn from_env_picks_the_transport_like_the_official_client() {
    set(ENV_URL, None);
    set(ENV_KEY_NAME, None);
    set(ENV_KEY_VALUE, None);
    let client = CacheClient::from_env().unwrap();
    assert_eq!(client.transport_kind(), TransportKind::InProcess);

    set(ENV_URL, Some("http://127.0.0.1:9/"));
    let client = CacheClient::from_env().unwrap();
    assert_eq!(client.transport_kind(), TransportKind::Remote);
    assert_eq!(client.base_url(), Some("http://127.0.0.1:9"));

    set(ENV_KEY_NAME, Some("x-api-key"));
    let err = CacheClient::from_env().unwrap_err();
    assert!(matches!(err, CacheClientError::Config { .. }), "{err}");
    assert!(err.to_string().contains(ENV_KEY_VALUE), "{err}");

    set(ENV_URL, Some("not a url"));
    set(ENV_KEY_VALUE, Some("secret123"));
    let err = CacheClient::from_env().unwrap_err();
    assert!(err.to_string().contains("not a URL"), "{err}");

    // End to end: a server requiring the key, found through the environment.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let state = cache_service::AppState::new(
            cache_service::service::CacheService::new(
                cache_service::store::FileStore::memory(),
                24,
            ),
            cache_service::AuthSettings::api_key("x-api-key", "secret123"),
        );
        let server = LocalServer::start(state).await.unwrap();
        set(ENV_URL, Some(server.base_url()));
        let client = CacheClient::from_env().unwrap();
        assert!(client.info().health().await.unwrap());
        set(ENV_KEY_VALUE, Some("wrong"));
        let wrong = CacheClient::from_env().unwrap();
        assert_eq!(wrong.info().health().await.unwrap_err().status(), Some(401));
        server.stop().await.unwrap();
    });
}
