//! Latency summaries from the raw per-request durations of one phase.

use std::time::Duration;

use serde::Serialize;

/// Nearest-rank percentiles and the mean of a set of request latencies, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Arithmetic mean.
    pub mean_ms: f64,
    /// Slowest request.
    pub max_ms: f64,
}

impl LatencySummary {
    /// Summarises `samples` (sorted in place). All zeros for an empty set.
    pub fn from_samples(samples: &mut [Duration]) -> Self {
        if samples.is_empty() {
            return LatencySummary {
                p50_ms: 0.0,
                p99_ms: 0.0,
                mean_ms: 0.0,
                max_ms: 0.0,
            };
        }
        samples.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let total: Duration = samples.iter().sum();
        LatencySummary {
            p50_ms: ms(percentile(samples, 50.0)),
            p99_ms: ms(percentile(samples, 99.0)),
            mean_ms: ms(total) / samples.len() as f64,
            max_ms: ms(samples[samples.len() - 1]),
        }
    }
}

/// Nearest-rank percentile `p` (0..=100] of sorted, non-empty `sorted`.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of `values` (sorted in place); `None` when empty.
pub fn median(values: &mut [Duration]) -> Option<Duration> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[values.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut samples: Vec<Duration> = (1..=100).rev().map(ms).collect();
        let s = LatencySummary::from_samples(&mut samples);
        assert_eq!(s.p50_ms, 50.0);
        assert_eq!(s.p99_ms, 99.0);
        assert_eq!(s.max_ms, 100.0);
        assert!((s.mean_ms - 50.5).abs() < 1e-9);
    }

    #[test]
    fn small_sets() {
        let mut one = vec![ms(7)];
        let s = LatencySummary::from_samples(&mut one);
        assert_eq!((s.p50_ms, s.p99_ms), (7.0, 7.0));
        let mut none: Vec<Duration> = Vec::new();
        assert_eq!(LatencySummary::from_samples(&mut none).max_ms, 0.0);
        assert_eq!(median(&mut [ms(3), ms(1), ms(2)]), Some(ms(2)));
        assert_eq!(median(&mut []), None);
    }
}
