//! `perfstore report`: one HTML file holding a session's comparison and its targets' history
//! charts, with its CSS inline and no script or external reference, so it opens from disk
//! offline (what a CI job uploads).

use perfstore::Store;
use perfstore::workflows::history::{HistoryQuery, history};

use crate::error::ConsoleError;
use crate::pages::{self, Mode};
use crate::render::esc;
use crate::views::{self, CompareQuery};

/// What the report covers.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// The session reported on (a name or `@baseline`).
    pub session: String,
    /// Compare it against this session or `@baseline`.
    pub against: Option<String>,
    /// Relative threshold for the comparison (default: the library's 5 %).
    pub threshold: Option<f64>,
    /// History over at most this many most recent sessions (default: all).
    pub last: Option<usize>,
}

/// The report as one HTML document.
pub async fn report(store: &Store, options: &ReportOptions) -> Result<String, ConsoleError> {
    let session = views::session(store, &options.session).await?;
    let name = session.session.session.as_str();
    let mut body = format!(
        "<h1>Session <span class=\"mono\">{}</span></h1><p class=\"muted\">{} targets · {} artifacts{}</p>",
        esc(name),
        session.session.targets,
        session.session.artifacts,
        session
            .session
            .git_commit
            .as_deref()
            .map(|c| format!(" · commit <span class=\"mono\">{}</span>", esc(c)))
            .unwrap_or_default()
    );
    if let Some(against) = &options.against {
        let view = views::compare(
            store,
            &CompareQuery {
                base: against.clone(),
                candidate: options.session.clone(),
                threshold: options.threshold,
                ..CompareQuery::default()
            },
        )
        .await?;
        body.push_str(&pages::compare_section(Mode::Report, &view));
    }
    let query = HistoryQuery {
        metric_glob: None,
        last: options.last,
    };
    for target in &session.targets {
        let (store, target, query) = (store.clone(), target.target.clone(), query.clone());
        let h = views::off_runtime(move || async move { history(&store, &target, &query).await })
            .await??;
        body.push_str(&pages::history_section(&h));
    }
    Ok(pages::page(Mode::Report, &format!("Report {name}"), &body))
}
