//! # perfstore-console
//!
//! The web console (`perfstore ui`) and the self-contained HTML report (`perfstore report`)
//! over any [`perfstore::Store`].
//!
//! | module | what |
//! |---|---|
//! | [`views`] | what each page shows, as serialisable data gathered with the library's workflows |
//! | [`routes`] | the axum router: HTML pages (state in the query string), `/api/*` JSON, artifact bytes |
//! | [`pages`], [`render`], [`chart`] | HTML: pages, escaping and Markdown, server-side SVG charts |
//! | [`report`] | the one-file report |
//! | [`demo`] | a small demo store (`perfstore ui --seed-demo`) |
//!
//! Untrusted artifact content never runs in the console's origin: HTML is shown only in a
//! `sandbox=""` iframe from `/artifact`, which also answers with a CSP `sandbox`; SVG only
//! through `<img>`; Markdown without raw HTML; every name escaped. Pages carry no script.

pub mod chart;
pub mod demo;
pub mod error;
pub mod pages;
pub mod render;
pub mod report;
pub mod routes;
pub mod views;

use std::net::SocketAddr;

pub use error::ConsoleError;
pub use report::{ReportOptions, report};
pub use routes::router;

/// Serves the console over `store` on `addr` until `shutdown` completes; `on_bound` gets the
/// address actually bound (port 0 picks a free one).
pub async fn serve(
    store: perfstore::Store,
    addr: SocketAddr,
    on_bound: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    on_bound(listener.local_addr()?);
    axum::serve(listener, router(store))
        .with_graceful_shutdown(shutdown)
        .await
}
