//! A run's results: the human table and the JSON document.

use std::fmt::Write as _;

use serde::Serialize;

use crate::workload::PhaseResult;

/// Every phase of one run against one server.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// The name given with `--label`.
    pub label: String,
    /// The server's base URL.
    pub url: String,
    /// The namespace the run stored its data in.
    pub namespace: String,
    /// One entry per (workload, concurrency), in run order.
    pub phases: Vec<PhaseResult>,
}

impl RunReport {
    /// Failed or wrong requests over all phases.
    pub fn total_errors(&self) -> usize {
        self.phases.iter().map(|p| p.errors).sum()
    }

    /// The first error's text, if any phase had one.
    pub fn first_error(&self) -> Option<&str> {
        self.phases.iter().find_map(|p| p.first_error.as_deref())
    }

    /// A fixed-width table, one line per phase.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "{} ({})", self.label, self.url);
        let _ = writeln!(
            out,
            "{:<20} {:>5} {:>8} {:>11} {:>9} {:>9} {:>7}",
            "workload", "conc", "requests", "ops/s", "p50 ms", "p99 ms", "errors"
        );
        for p in &self.phases {
            let _ = writeln!(
                out,
                "{:<20} {:>5} {:>8} {:>11.0} {:>9.3} {:>9.3} {:>7}",
                p.workload.name(),
                p.concurrency,
                p.requests,
                p.ops_per_s,
                p.latency.p50_ms,
                p.latency.p99_ms,
                p.errors
            );
        }
        out
    }
}
