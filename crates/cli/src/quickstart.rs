//! `perfstore quickstart`: stores a small sample session and prints it back.

use clap::Args;
use perfstore::{SessionName, StorageConfig, StorageMode, TargetName, TargetPath};
use serde_json::json;

use crate::failure::Failure;
use crate::stats::StatsArgs;

/// Arguments of `quickstart`.
#[derive(Debug, Args)]
pub struct QuickstartArgs {
    /// Session to store the sample in.
    #[arg(long, default_value = "quickstart")]
    pub session: String,
}

const PAGES: [(&str, u32, f64); 3] = [
    ("https://example.com/", 412, 18.5),
    ("https://example.com/blog/perf", 1290, 61.2),
    ("https://example.com/about", 97, 4.1),
];

/// Stores one target per sample page (source, metrics, report), then lists and reads it back.
pub async fn run(
    config: &StorageConfig,
    args: &QuickstartArgs,
    stats: &StatsArgs,
) -> Result<(), Failure> {
    let store = stats.measure("store", config.open()?);
    let session = SessionName::new(args.session.as_str())?;
    match config.mode {
        StorageMode::Local => println!(
            "perfstore quickstart: local storage at {}",
            config.local_path.display()
        ),
        StorageMode::Memory => println!(
            "perfstore quickstart: memory storage (nothing persists: it is gone when this command exits)"
        ),
        mode => println!("perfstore quickstart: {mode} storage"),
    }
    for (url, nodes, parse_ms) in PAGES {
        // Targets come from URLs, so use the explicit sanitising constructor.
        let name = TargetName::sanitized(url.trim_start_matches("https://").trim_end_matches('/'))?;
        let target = store.target_at(TargetPath::new(session.clone(), name));
        let html = format!(
            "<html><body><h1>{url}</h1>{}</body></html>",
            "<p>…</p>".repeat(3)
        );
        target.save_string("source/original.html", &html).await?;
        target
            .save(
                "results/metrics.json",
                &json!({"url": url, "nodes": nodes, "parse_ms": parse_ms}),
            )
            .await?;
        target
            .save_string(
                "reports/summary.md",
                &format!("# {url}\n\n{nodes} nodes parsed in {parse_ms} ms\n"),
            )
            .await?;
    }

    println!("\nsession {session}:");
    for target_name in store.list_targets(&session).await? {
        let target = store.target_at(TargetPath::new(session.clone(), target_name.clone()));
        println!("  {target_name}/");
        for key in target.list_keys("").await? {
            if let Some(meta) = target.head(&key).await? {
                println!(
                    "    {key:<24} {:>5} B  {:<6} {}",
                    meta.size, meta.kind, meta.hash
                );
            }
        }
    }
    let first = store.target(session.as_str(), "example_com")?;
    if let Some(metrics) = first.load_string("results/metrics.json").await? {
        println!("\n{session}/example_com/results/metrics.json:\n{metrics}");
    }
    println!(
        "\nTry: perfstore ls {session}    perfstore get {session} example_com reports/summary.md"
    );
    Ok(())
}
