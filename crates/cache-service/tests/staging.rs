//! Staging files of streamed uploads on local disk (issue 12 W2): those of uploads that died
//! (the process was killed) are reclaimed at start-up and periodically; a live upload's, even
//! a slow one whose file has not changed for longer than the grace, is left alone.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use cache_service::{AuthSettings, RunningServer, ServerConfig, StorageConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn disk_server(root: &Path, grace: Duration) -> RunningServer {
    cache_service::start(ServerConfig {
        auth: AuthSettings::disabled(),
        staging_grace: grace,
        ..ServerConfig::new(
            "127.0.0.1",
            0,
            StorageConfig::Disk {
                path: root.to_path_buf(),
            },
        )
    })
    .await
    .unwrap()
}

fn write_aged(path: &Path, bytes: &[u8], age: Duration) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// Every file under `root` whose name has a `#`.
fn staging_files(root: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut folders = vec![root.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(folder).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.file_name().unwrap().to_string_lossy().contains('#') {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < Duration::from_secs(10), "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn staging_files_of_dead_uploads_are_reclaimed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let hour = Duration::from_secs(3600);
    let dead = root.join("demo/data/key-based/runs/big/data/big_dbin.bin#1");
    let dead_too = root.join("demo/data/direct/ab/cd/abcd.bin#2");
    let recent = root.join("demo/data/direct/ef/01/ef01.bin#1");
    let stored = root.join("demo/data/direct/ef/01/keep#notes.json");
    write_aged(&dead, &[1; 4096], 2 * hour);
    write_aged(&dead_too, b"x", 2 * hour);
    write_aged(&recent, b"y", Duration::from_secs(60));
    write_aged(&stored, b"{}", 2 * hour);

    let server = disk_server(root, hour).await;
    wait_for("old staging files reclaimed", || {
        !dead.exists() && !dead_too.exists()
    })
    .await;
    assert!(
        recent.exists(),
        "a staging file younger than the grace stays"
    );
    assert!(stored.exists(), "a stored file whose name has a '#' stays");
    // The folders they alone held are gone too (folders exist only while they hold files).
    assert!(!root.join("demo/data/key-based").exists());
    assert!(!root.join("demo/data/direct/ab").exists());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_live_slow_upload_keeps_its_staging_file() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // A grace of one second: the reclaimer runs every second and the slow upload's staging
    // file is not modified for several seconds (parts of 5 MiB are written as they fill).
    let server = disk_server(root, Duration::from_secs(1)).await;
    let addr = server.addr();
    let body = r#"{"a":1}"#;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(format!("POST /demo/key_based/store/json/runs/one HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let id = response.split("\"cache_id\":\"").nth(1).unwrap()[..36].to_owned();

    let total = 40 * 1024;
    let mut upload = TcpStream::connect(addr).await.unwrap();
    upload.write_all(format!("POST /demo/cache/{id}/data/store/binary/slow HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    upload.write_all(&[7; 1024]).await.unwrap();
    wait_for("the upload's staging file appears", || {
        !staging_files(root).is_empty()
    })
    .await;
    let staging = staging_files(root);
    for _ in 1..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        upload.write_all(&[7; 1024]).await.unwrap();
        assert_eq!(
            staging_files(root),
            staging,
            "the live upload's staging file stays"
        );
    }
    let mut response = String::new();
    upload.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(staging_files(root).is_empty());
    let stored = staging[0]
        .to_string_lossy()
        .rsplit_once('#')
        .unwrap()
        .0
        .to_owned();
    assert_eq!(std::fs::read(stored).unwrap().len(), total);
    server.shutdown().await.unwrap();
}
