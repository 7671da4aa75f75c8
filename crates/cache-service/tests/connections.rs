//! Timeouts and the connection cap over real sockets on 127.0.0.1 (issue 12 W3): half-sent
//! headers, silent keep-alive connections and stalled bodies are cut; slow bodies that keep
//! moving are not; beyond the cap, idle connections make room for a fresh health check.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cache_service::{AuthSettings, ConnectionLimits, RunningServer, ServerConfig, StorageConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const LONG: Duration = Duration::from_secs(60);

async fn server(limits: ConnectionLimits) -> RunningServer {
    cache_service::start(ServerConfig {
        auth: AuthSettings::disabled(),
        limits,
        ..ServerConfig::new("127.0.0.1", 0, StorageConfig::Memory)
    })
    .await
    .unwrap()
}

fn limits(header: Duration, body_idle: Duration, keep_alive: Duration) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout: header,
        body_idle_timeout: body_idle,
        keep_alive_timeout: keep_alive,
        max_connections: 1024,
    }
}

/// Reads until the server closes the connection (or `bound` passes: `None`); returns what
/// was read and when the connection ended.
async fn until_closed(stream: &mut TcpStream, bound: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let result = tokio::time::timeout(bound, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    result.ok().map(|()| {
        (
            String::from_utf8_lossy(&out).into_owned(),
            started.elapsed(),
        )
    })
}

/// Reads one response with a `content-length` (the connection stays open).
async fn one_response(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("response in time")
            .unwrap();
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&out).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if out.len() >= end + 4 + length {
                return text;
            }
        }
    }
}

async fn health(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /info/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("health answered in time")
        .0
}

#[tokio::test]
async fn half_sent_headers_and_silent_connections_are_cut_after_the_header_timeout() {
    let server = server(limits(Duration::from_secs(1), LONG, LONG)).await;
    let mut half = TcpStream::connect(server.addr()).await.unwrap();
    half.write_all(b"GET /info/health HTTP/1.1\r\nHost: t\r\n")
        .await
        .unwrap();
    let mut silent = TcpStream::connect(server.addr()).await.unwrap();
    let silent_since = Instant::now();
    let (text, after) = until_closed(&mut half, Duration::from_secs(5))
        .await
        .expect("half-sent headers are cut");
    assert!(text.is_empty(), "{text}");
    assert!(after >= Duration::from_millis(700), "{after:?}");
    until_closed(&mut silent, Duration::from_secs(5))
        .await
        .expect("a silent connection is cut");
    let after = silent_since.elapsed();
    assert!(after >= Duration::from_millis(700), "{after:?}");
    // Headers trickling in one byte at a time do not extend the deadline.
    let mut trickle = TcpStream::connect(server.addr()).await.unwrap();
    let started = Instant::now();
    for b in b"GET /info/health HTTP/1.1\r\nHost: t\r\nX-Slow: 0123456789012345678901234567890123456789\r\n" {
        if trickle.write_all(&[*b]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    let closed = until_closed(&mut trickle, Duration::from_secs(3)).await;
    assert!(closed.is_some() && started.elapsed() < Duration::from_secs(6));
    assert!(health(server.addr()).await.starts_with("HTTP/1.1 200"));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed_after_the_keep_alive_timeout() {
    let server = server(limits(LONG, LONG, Duration::from_secs(1))).await;
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    for _ in 0..2 {
        stream
            .write_all(b"GET /info/health HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        assert!(one_response(&mut stream).await.starts_with("HTTP/1.1 200"));
        // Within the keep-alive timeout the connection is reused.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_, after) = until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("idle keep-alive connection closed");
    assert!(after >= Duration::from_millis(400), "{after:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_stalled_body_is_cut_and_a_slow_steady_body_is_not() {
    let server = server(limits(
        Duration::from_secs(1),
        Duration::from_secs(1),
        Duration::from_secs(1),
    ))
    .await;
    // Stalled: 10 of 1000 bytes, then nothing.
    let mut stalled = TcpStream::connect(server.addr()).await.unwrap();
    stalled
        .write_all(b"POST /demo/direct/store/binary HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n0123456789")
        .await
        .unwrap();
    let (text, after) = until_closed(&mut stalled, Duration::from_secs(5))
        .await
        .expect("a stalled body is cut");
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(
        text.contains("There was an error parsing the body"),
        "{text}"
    );
    assert!(after >= Duration::from_millis(700), "{after:?}");

    // Slow but steady: 16 KiB in 256-byte pieces every 60 ms (about 4 s, four times the
    // body idle timeout and the header timeout).
    let mut slow = TcpStream::connect(server.addr()).await.unwrap();
    let total = 64 * 256;
    slow.write_all(format!("POST /demo/direct/store/binary HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\nContent-Length: {total}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    for i in 0..64u8 {
        slow.write_all(&[i; 256]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    assert!(started.elapsed() > Duration::from_secs(3));
    let text = one_response(&mut slow).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains(&format!("\"size\":{total}")), "{text}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn beyond_the_cap_the_longest_idle_connections_make_room_for_a_health_check() {
    let cap = 8;
    let server = server(ConnectionLimits {
        max_connections: cap,
        ..limits(LONG, LONG, LONG)
    })
    .await;
    // cap + 4 connections that never finish their headers (a slowloris), oldest first.
    let mut idle = Vec::new();
    for i in 0..cap + 4 {
        let mut stream = TcpStream::connect(server.addr()).await.unwrap();
        if i % 2 == 0 {
            stream
                .write_all(b"GET /info/health HTTP/1.1\r\nHost: t\r\n")
                .await
                .unwrap();
        }
        idle.push(stream);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let answer = health(server.addr()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The oldest ones were closed to make room (5 of them: 12 + 1 - 8), the newest are open.
    let mut closed = Vec::new();
    for (i, stream) in idle.iter_mut().enumerate() {
        if until_closed(stream, Duration::from_millis(100))
            .await
            .is_some()
        {
            closed.push(i);
        }
    }
    assert_eq!(closed, vec![0, 1, 2, 3, 4], "closed connections");
    server.shutdown().await.unwrap();
}
