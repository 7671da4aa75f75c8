//! The server over a real socket on 127.0.0.1: start on port 0, learn the address, shut down.

use std::time::Duration;

use cache_service::{AuthSettings, ConfigError, ServeError, ServerConfig, StorageConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One HTTP/1.1 request with `Connection: close`; returns the raw response text.
async fn http(addr: std::net::SocketAddr, request: &str) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn config(auth: AuthSettings) -> ServerConfig {
    ServerConfig {
        auth,
        ..ServerConfig::new("127.0.0.1", 0, StorageConfig::Memory)
    }
}

#[tokio::test]
async fn serves_on_an_ephemeral_port_and_shuts_down() {
    let server = cache_service::start(config(AuthSettings::disabled()))
        .await
        .unwrap();
    let addr = server.addr();
    assert_ne!(addr.port(), 0);
    assert_eq!(server.base_url(), format!("http://{addr}"));
    let body = r#"{"name":"Alice","age":30}"#;
    let response = http(
        addr,
        &format!(
            "POST /demo/key_based/store/json/users/alice?file_id=profile HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(
        response.contains("\"cache_hash\":\"58954ab6bb1eca61\""),
        "{response}"
    );
    assert!(
        response
            .to_ascii_lowercase()
            .contains("fast-api-request-id: ")
    );
    let response = http(
        addr,
        &format!("GET /info/health/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 307"), "{response}");
    assert!(
        response.contains(&format!("location: http://{addr}/info/health")),
        "{response}"
    );
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown finished")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn api_key_over_the_socket() {
    let server = cache_service::start(config(AuthSettings::api_key("x-api-key", "secret123")))
        .await
        .unwrap();
    let addr = server.addr();
    let denied = http(
        addr,
        "GET /info/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
    assert!(denied.contains("Client API key is missing"), "{denied}");
    let allowed = http(
        addr,
        "GET /info/health HTTP/1.1\r\nHost: x\r\nx-api-key: secret123\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(allowed.starts_with("HTTP/1.1 200"), "{allowed}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn refuses_to_start_without_complete_auth() {
    let none = AuthSettings {
        enabled: true,
        key_name: None,
        key_value: None,
    };
    match cache_service::start(config(none)).await {
        Err(ServeError::Config(ConfigError::AuthNotConfigured)) => {}
        other => panic!(
            "expected AuthNotConfigured, got {:?}",
            other.map(|s| s.addr())
        ),
    }
    let half = AuthSettings {
        enabled: true,
        key_name: Some("x-api-key".into()),
        key_value: None,
    };
    let err = cache_service::start(config(half)).await.err().unwrap();
    assert!(
        err.to_string()
            .contains("FAST_API__AUTH__API_KEY__VALUE is not set"),
        "{err}"
    );
}

#[tokio::test]
async fn disk_root_that_cannot_be_created_is_reported() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut cfg = config(AuthSettings::disabled());
    cfg.storage = StorageConfig::Disk {
        path: file.path().join("sub"),
    };
    let err = cache_service::start(cfg).await.err().unwrap();
    assert!(err.to_string().contains("cannot use"), "{err}");
}
