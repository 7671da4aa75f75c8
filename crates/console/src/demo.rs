//! A small demo store: eight nightly sessions of two targets, a step regression in one metric,
//! two baselines, and one artifact of every kind the console shows (including hostile HTML,
//! SVG and Markdown). `perfstore ui --seed-demo` writes it, so a memory store has something to
//! show; the tests and the benchmark's small size use it too.

use std::collections::BTreeMap;

use perfstore::baseline::{BaselineName, set_baseline};
use perfstore::session::ensure_session;
use perfstore::{SessionName, Store};
use serde_json::json;

/// The demo's sessions, oldest first.
pub const SESSIONS: [&str; 8] = [
    "nightly-01",
    "nightly-02",
    "nightly-03",
    "nightly-04",
    "nightly-05",
    "nightly-06",
    "nightly-07",
    "nightly-08",
];
/// Where the regression appears: `parser`'s `latency.p99_ms` steps up by about 30 %.
pub const REGRESSED_SESSION: &str = "nightly-06";
/// `@main` points here (the session before the regression).
pub const MAIN_BASELINE_SESSION: &str = "nightly-05";

/// Markdown with raw HTML and a `javascript:` link, which the console must not pass through.
pub const SUMMARY_MD: &str = "# Parser nightly summary\n\n\
The **p99 latency** rose after the tokenizer change.\n\n\
| metric | base | now |\n|---|---|---|\n| p99_ms | 9.1 | 12.1 |\n\n\
- checked on 2 cores\n- [x] flame graph attached\n\n\
<b>raw html stays text</b>\n\n\
<script>document.title = 'pwned by markdown'</script>\n\n\
[a harmless link](https://example.com/perf) and [a hostile one](javascript:alert(1))\n";

/// HTML whose script tries to reach the console; the sandbox must stop it.
pub const FLAME_HTML: &str = "<!DOCTYPE html><html><body>\
<h1 id=\"status\">flame graph (static)</h1><p>parse → tokenize → emit</p>\
<script>document.getElementById('status').textContent = 'SCRIPT RAN';\
try { parent.document.title = 'pwned by html'; parent.document.body.innerHTML = 'pwned'; } catch (e) {}\
</script></body></html>";

/// SVG with a script element: shown only through `<img>`, where scripts never run.
pub const TREND_SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"160\" height=\"60\" viewBox=\"0 0 160 60\">\
<script>parent.document.title = 'pwned by svg'</script>\
<rect width=\"160\" height=\"60\" fill=\"#f5f7fa\"/>\
<polyline points=\"5,50 30,45 55,47 80,40 105,20 130,22 155,18\" fill=\"none\" stroke=\"#d1382e\" stroke-width=\"3\"/></svg>";

/// A small bar chart.
pub const THROUGHPUT_PNG: &[u8] = include_bytes!("../assets/demo-throughput.png");

fn parser_metrics(i: usize) -> serde_json::Value {
    let wobble = [0.0, 0.02, -0.01, 0.01, -0.02, 0.0, 0.01, -0.01][i % 8];
    let p99 = if i >= 5 { 12.1 + wobble } else { 9.1 + wobble };
    json!({
        "latency": { "p50_ms": 1.5 + wobble, "p99_ms": p99 },
        "throughput_rps": 52000.0 + 300.0 * wobble * 100.0,
    })
}

fn lexer_metrics(i: usize) -> serde_json::Value {
    let wobble = [0.0, 0.01, -0.01, 0.02, 0.0, -0.02, 0.01, 0.0][i % 8];
    json!({
        "latency": { "p50_ms": 0.42 + wobble / 10.0 },
        "tokens_per_s": 1_200_000.0 * (1.0 + wobble),
    })
}

/// Writes the demo into `store` (idempotent: the same data again).
pub async fn seed_demo(store: &Store) -> perfstore::Result<()> {
    for (i, name) in SESSIONS.iter().enumerate() {
        let session = SessionName::new(*name)?;
        let labels = BTreeMap::from([
            ("branch".to_owned(), "main".to_owned()),
            (
                "commit".to_owned(),
                format!("{:07x}", 0x3f2a1c0 + i * 0x1f3d),
            ),
        ]);
        ensure_session(store, &session, &labels).await?;
        let parser = store.target(name, "parser")?;
        parser
            .save("results/metrics.json", &parser_metrics(i))
            .await?;
        parser
            .save_string(
                "logs/run.txt",
                &format!("run {name}: 1000 iterations, ok\n"),
            )
            .await?;
        store
            .target(name, "lexer")?
            .save("results/metrics.json", &lexer_metrics(i))
            .await?;
    }
    let latest = store.target(SESSIONS[SESSIONS.len() - 1], "parser")?;
    latest.save_string("reports/summary.md", SUMMARY_MD).await?;
    latest.save_string("reports/flame.html", FLAME_HTML).await?;
    latest.save_string("charts/trend.svg", TREND_SVG).await?;
    latest
        .save_bytes(
            "charts/throughput.png",
            bytes::Bytes::from_static(THROUGHPUT_PNG),
        )
        .await?;
    latest
        .save_bytes(
            "data/profile.bin",
            bytes::Bytes::from_static(&[0, 159, 146, 150, 255, 1, 2, 3]),
        )
        .await?;
    set_baseline(
        store,
        &BaselineName::new("main")?,
        &SessionName::new(MAIN_BASELINE_SESSION)?,
    )
    .await?;
    set_baseline(
        store,
        &BaselineName::new("release-1")?,
        &SessionName::new(SESSIONS[1])?,
    )
    .await?;
    Ok(())
}
