//! The usage brief's before/after workflow: for each page, store the original HTML, the parsed
//! and transformed graphs, the rendered output, and a `results/comparison.json` summarising
//! what the transform did.
//!
//! Run: `cargo run -p perfstore --example before_after` (storage from `PERF_STORAGE_MODE`
//! and friends; local `./perf_results` by default).

use perfstore::{Result, SessionName, StorageConfig, Store, TargetName, TargetPath};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What `results/comparison.json` holds (the brief's fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub original_nodes: usize,
    pub transformed_nodes: usize,
    pub original_size: usize,
    pub output_size: usize,
    pub size_reduction_pct: f64,
}

/// Sample pages: URL and the number of paragraphs their HTML has.
pub const PAGES: [(&str, usize); 3] = [
    ("https://example.com/", 12),
    ("https://example.com/blog/perf", 40),
    ("https://example.com/about", 3),
];

fn original_html(paragraphs: usize) -> String {
    let body: String = (0..paragraphs)
        .map(|i| format!("<div class=\"wrap\"><p>paragraph {i}</p></div>\n"))
        .collect();
    format!("<html><body>\n{body}</body></html>\n")
}

/// The "transform": unwraps every `div.wrap`, halving the nodes.
fn transform(html: &str) -> String {
    html.replace("<div class=\"wrap\">", "")
        .replace("</div>", "")
}

fn nodes(html: &str) -> usize {
    html.matches('<').count() - html.matches("</").count()
}

/// Runs the workflow for every sample page in `session`; returns each target's comparison.
pub async fn run(store: &Store, session: &SessionName) -> Result<Vec<(TargetName, Comparison)>> {
    let mut out = Vec::new();
    for (url, paragraphs) in PAGES {
        let target =
            TargetName::sanitized(url.trim_start_matches("https://").trim_end_matches('/'))?;
        let page = store.target_at(TargetPath::new(session.clone(), target.clone()));
        let original = original_html(paragraphs);
        let rendered = transform(&original);
        page.save_string("source/original.html", &original).await?;
        page.save(
            "graphs/original.json",
            &json!({"url": url, "nodes": nodes(&original)}),
        )
        .await?;
        page.save(
            "graphs/transformed.json",
            &json!({"url": url, "nodes": nodes(&rendered)}),
        )
        .await?;
        page.save_string("output/rendered.html", &rendered).await?;
        let comparison = Comparison {
            original_nodes: nodes(&original),
            transformed_nodes: nodes(&rendered),
            original_size: original.len(),
            output_size: rendered.len(),
            size_reduction_pct: (1.0 - rendered.len() as f64 / original.len() as f64) * 100.0,
        };
        page.save("results/comparison.json", &comparison).await?;
        out.push((target, comparison));
    }
    Ok(out)
}

#[allow(dead_code)] // the tests include this file for `run`, not `main`
#[tokio::main]
async fn main() -> Result<()> {
    let store = StorageConfig::from_env()?.open()?;
    let session = SessionName::new("before-after")?;
    println!(
        "{:<24} {:>6} {:>6} {:>8} {:>8} {:>9}",
        "target", "nodes", "after", "bytes", "after", "reduction"
    );
    for (target, c) in run(&store, &session).await? {
        println!(
            "{target:<24} {:>6} {:>6} {:>8} {:>8} {:>8.1}%",
            c.original_nodes,
            c.transformed_nodes,
            c.original_size,
            c.output_size,
            c.size_reduction_pct
        );
    }
    Ok(())
}
