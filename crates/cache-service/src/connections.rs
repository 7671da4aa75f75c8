//! The accept loop: HTTP/1.1 connections with timeouts and a connection cap (issue 12 W3;
//! COMPAT.md D37).
//!
//! `axum::serve` keeps every connection for as long as the client wants: a client that sends
//! half its headers, half a body, or nothing at all between keep-alive requests holds a file
//! descriptor for good, and 20,000 of them exhausted the process's limit. Here each connection
//! is served by hyper's HTTP/1 machinery under a watchdog that knows, from its socket and its
//! requests, what the connection is waiting for:
//!
//! - **header timeout**: from a fresh connection's accept, or from the first byte of a
//!   keep-alive connection's next request, the request head must be complete within it;
//! - **keep-alive timeout**: a connection with no request in progress that sends nothing is
//!   closed after it;
//! - **body idle timeout**: while a handler waits for the request body, each wait for the
//!   next bytes is bounded by it (a slow body that keeps moving is never cut; a body that
//!   stops is answered 400, as a body that breaks off); likewise a response that the client
//!   does not read for that long is abandoned;
//! - **connection cap**: at most `max_connections` connections are open. A new connection
//!   beyond it closes the connection that has been idle longest (no request in progress:
//!   between keep-alive requests, or still sending its request head), so health checks and
//!   other fresh clients are served at once however many idle or half-open connections
//!   there are; when every connection has a request in progress, new connections wait in the
//!   listen backlog until one ends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// Default [`ConnectionLimits::header_timeout`]: 10 s.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ConnectionLimits::body_idle_timeout`]: 30 s.
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`ConnectionLimits::keep_alive_timeout`]: 60 s.
pub const DEFAULT_KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default [`ConnectionLimits::max_connections`]: 1024.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// How long connections may wait for the client, and how many may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// A request head (request line and headers) must arrive within this, counted from the
    /// accept of a fresh connection or from the first byte of a keep-alive connection's next
    /// request.
    pub header_timeout: Duration,
    /// Longest wait for the next bytes of a request body the server is reading (and for the
    /// client to take more of a response).
    pub body_idle_timeout: Duration,
    /// How long a connection with no request in progress may stay silent after a response.
    pub keep_alive_timeout: Duration,
    /// Most connections open at once (at least 1); see the module documentation for what
    /// happens beyond.
    pub max_connections: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            keep_alive_timeout: DEFAULT_KEEP_ALIVE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ConnectionLimits {
    /// How often a connection's watchdog looks at its state.
    fn tick(&self) -> Duration {
        let shortest = self
            .header_timeout
            .min(self.body_idle_timeout)
            .min(self.keep_alive_timeout);
        (shortest / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
    }
}

/// `active` of a connection chosen for eviction: no request may start on it any more.
const EVICTED: usize = usize::MAX / 2;

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Milliseconds since [`EPOCH`], plus one (0 means "never" in the fields below).
fn now_ms() -> u64 {
    EPOCH.elapsed().as_millis() as u64 + 1
}

/// What a connection is doing, shared by its socket wrapper, its requests and its watchdog.
#[derive(Debug)]
struct Conn {
    /// Requests dispatched to the router whose responses are not finished ([`EVICTED`] and
    /// more once evicted).
    active: AtomicUsize,
    /// When the connection last had no request in progress (accept, or end of a response).
    idle_since: AtomicU64,
    /// When the first byte arrived since `idle_since` (0: none yet).
    first_byte: AtomicU64,
    /// Responses finished on this connection.
    served: AtomicU64,
    /// Since when a write to the client has been pending (0: none).
    write_blocked_since: AtomicU64,
    /// Notified to close the connection now (eviction).
    close: Notify,
}

impl Conn {
    fn new() -> Self {
        Conn {
            active: AtomicUsize::new(0),
            idle_since: AtomicU64::new(now_ms()),
            first_byte: AtomicU64::new(0),
            served: AtomicU64::new(0),
            write_blocked_since: AtomicU64::new(0),
            close: Notify::new(),
        }
    }

    /// Whether the connection has waited too long for its client, as of `now`.
    fn expired(&self, limits: &ConnectionLimits, now: u64) -> bool {
        let ms = |d: Duration| d.as_millis() as u64;
        let active = self.active.load(Ordering::SeqCst);
        if active > 0 {
            // Reading a body is bounded by `TimeoutBody`; here only a stalled response.
            let blocked = self.write_blocked_since.load(Ordering::SeqCst);
            return blocked != 0 && now.saturating_sub(blocked) > ms(limits.body_idle_timeout);
        }
        let first_byte = self.first_byte.load(Ordering::SeqCst);
        let idle_since = self.idle_since.load(Ordering::SeqCst);
        if self.served.load(Ordering::SeqCst) == 0 {
            // A fresh connection: its first request head is due from the accept.
            now.saturating_sub(idle_since) > ms(limits.header_timeout)
        } else if first_byte != 0 {
            now.saturating_sub(first_byte) > ms(limits.header_timeout)
        } else {
            now.saturating_sub(idle_since) > ms(limits.keep_alive_timeout)
        }
    }
}

/// Ends a request's activity on its connection when the response body is dropped (sent, or
/// abandoned).
struct ActiveGuard(Arc<Conn>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let conn = &self.0;
        conn.served.fetch_add(1, Ordering::SeqCst);
        conn.write_blocked_since.store(0, Ordering::SeqCst);
        conn.first_byte.store(0, Ordering::SeqCst);
        conn.idle_since.store(now_ms(), Ordering::SeqCst);
        conn.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The socket, noting when bytes arrive and when writes stall.
struct Tracked<T> {
    io: T,
    conn: Arc<Conn>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before
            && self.conn.active.load(Ordering::SeqCst) == 0
            && self.conn.first_byte.load(Ordering::SeqCst) == 0
        {
            self.conn.first_byte.store(now_ms(), Ordering::SeqCst);
        }
        result
    }
}

impl<T> Tracked<T> {
    fn note_write<R>(&self, result: &Poll<io::Result<R>>) {
        match result {
            Poll::Pending => {
                let _ = self.conn.write_blocked_since.compare_exchange(
                    0,
                    now_ms(),
                    Ordering::SeqCst,
                    Ordering::SeqCst,
                );
            }
            Poll::Ready(_) => self.conn.write_blocked_since.store(0, Ordering::SeqCst),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write(cx, buf);
        self.note_write(&result);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.note_write(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let result = Pin::new(&mut self.io).poll_flush(cx);
        self.note_write(&result);
        result
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The open connections, for eviction at the cap.
#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Conn>>>,
}

impl Registry {
    fn add(&self, conn: Arc<Conn>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, conn);
        id
    }

    fn remove(&self, id: u64) {
        self.open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Closes the connection idle longest (no request in progress); `false` if every
    /// connection is busy.
    fn evict_idlest(&self) -> bool {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut idle: Vec<&Arc<Conn>> = open
            .values()
            .filter(|c| c.active.load(Ordering::SeqCst) == 0)
            .collect();
        idle.sort_by_key(|c| c.idle_since.load(Ordering::SeqCst));
        for conn in idle {
            if conn
                .active
                .compare_exchange(0, EVICTED, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                conn.close.notify_one();
                return true;
            }
        }
        false
    }
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes; then stops
/// accepting, lets requests in progress finish, and returns once every connection is closed.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let cap = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let permits = Arc::new(Semaphore::new(cap));
    let registry = Arc::new(Registry::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: wait a
                    // little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                if registry.evict_idlest() {
                    tracing::debug!("connection cap reached: closed the longest idle connection");
                } else {
                    tracing::warn!(
                        cap,
                        "connection cap reached and every connection is busy: new connections wait"
                    );
                }
                tokio::select! {
                    permit = Arc::clone(&permits).acquire_owned() => match permit {
                        Ok(permit) => permit,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let conn = Arc::new(Conn::new());
        let id = registry.add(Arc::clone(&conn));
        let registry = Arc::clone(&registry);
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            serve_connection(stream, app, limits, Arc::clone(&conn), &mut stop).await;
            registry.remove(id);
            drop(permit);
        });
    }
    // Graceful shutdown: idle connections close now, busy ones after their response.
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(cap).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    app: Router,
    limits: ConnectionLimits,
    conn: Arc<Conn>,
    stop: &mut watch::Receiver<bool>,
) {
    let io = TokioIo::new(Tracked {
        io: stream,
        conn: Arc::clone(&conn),
    });
    let body_idle = limits.body_idle_timeout;
    let service_conn = Arc::clone(&conn);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let conn = Arc::clone(&service_conn);
        let app = app.clone();
        async move {
            if conn.active.fetch_add(1, Ordering::SeqCst) >= EVICTED {
                conn.active.fetch_sub(1, Ordering::SeqCst);
                return Ok::<_, Infallible>(closing(StatusCode::SERVICE_UNAVAILABLE));
            }
            let guard = ActiveGuard(Arc::clone(&conn));
            let request = request.map(|body| Body::new(TimeoutBody::new(body_idle, body)));
            let response = match app.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            // The request stays active until its response body is dropped (sent or abandoned).
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _active = &guard;
                    frame
                }))
            }))
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    // The watchdog below does what hyper's header timeout would (and keep-alive idle, which
    // hyper's cannot tell apart).
    builder.header_read_timeout(None);
    let connection = builder.serve_connection(io, service);
    let mut connection = std::pin::pin!(connection);
    let tick = limits.tick();
    let mut stopping = *stop.borrow();
    if stopping {
        return;
    }
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::trace!(error = %e, "connection ended with an error");
                }
                return;
            }
            () = conn.close.notified() => return,
            changed = stop.changed(), if !stopping => {
                stopping = true;
                // No request in progress (idle, or a head still arriving): close now.
                if conn
                    .active
                    .compare_exchange(0, EVICTED, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    return;
                }
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep(tick) => {
                if conn.expired(&limits, now_ms()) {
                    tracing::debug!("closing a connection that waited too long for its client");
                    return;
                }
            }
        }
    }
}

/// An empty response that closes the connection.
fn closing(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONNECTION,
        axum::http::HeaderValue::from_static("close"),
    );
    response
}
