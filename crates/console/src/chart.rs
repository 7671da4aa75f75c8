//! Line charts as inline SVG, drawn on the server: no chart library, no script, so a page and a
//! report file look the same and work offline. Hovering a point shows its session and value
//! (an SVG `<title>`).

use std::fmt::Write as _;

use crate::render::{esc, num};

/// One metric across sessions.
#[derive(Debug, Clone, Copy)]
pub struct LineChart<'a> {
    /// What is plotted (`results/metrics.json: latency.p99_ms`).
    pub title: &'a str,
    /// Which way is worse, for the caption.
    pub direction: &'a str,
    /// One label per x position (session names, oldest first).
    pub x_labels: &'a [String],
    /// One value per x position; `None` where the session lacks the metric.
    pub points: &'a [Option<f64>],
    /// Positions the library judged regressions.
    pub regressions: &'a [usize],
    /// Positions holding a baseline, with its names.
    pub baselines: &'a [(usize, String)],
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 56.0;
/// Beyond this many points, plain points shrink so the line stays readable.
const DENSE: usize = 60;
/// At most this many x labels, so names do not overlap.
const MAX_X_LABELS: usize = 8;

impl LineChart<'_> {
    /// The chart as a `<figure>` holding an `<svg>`.
    pub fn to_html(&self) -> String {
        let n = self.points.len();
        let values: Vec<f64> = self.points.iter().flatten().copied().collect();
        let (mut lo, mut hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        if values.is_empty() {
            (lo, hi) = (0.0, 1.0);
        } else if lo == hi {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo, hi) = (lo - pad, hi + pad);
        }
        // Round the axis out to "nice" ticks (1, 2, 2.5 or 5 times a power of ten).
        let step = nice_step((hi - lo) / 4.0);
        let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
        let ticks = ((hi - lo) / step).round() as usize;
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        // Points keep clear of the y labels on the left and the edge on the right.
        let inset = 14.0;
        let x = |i: usize| {
            if n <= 1 {
                LEFT + plot_w / 2.0
            } else {
                LEFT + inset + (plot_w - 2.0 * inset) * i as f64 / (n - 1) as f64
            }
        };
        let y = |v: f64| TOP + plot_h * (1.0 - (v - lo) / (hi - lo));

        let mut svg = String::new();
        let _ = write!(
            svg,
            "<svg class=\"line-chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\">",
            esc(self.title)
        );
        for t in 0..=ticks {
            let v = lo + step * t as f64;
            let yy = y(v);
            let _ = write!(
                svg,
                "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\"/>\
                 <text class=\"y-tick\" x=\"{}\" y=\"{:.1}\">{}</text>",
                WIDTH - RIGHT,
                LEFT - 6.0,
                yy + 4.0,
                esc(&num(v))
            );
        }
        for (i, name) in self.baselines {
            let xx = x(*i);
            let _ = write!(
                svg,
                "<line class=\"baseline\" x1=\"{xx:.1}\" x2=\"{xx:.1}\" y1=\"{TOP}\" y2=\"{}\"><title>baseline {}</title></line>\
                 <text class=\"baseline-label\" x=\"{:.1}\" y=\"{}\">@{}</text>",
                HEIGHT - BOTTOM,
                esc(name),
                xx + 3.0,
                TOP - 6.0,
                esc(name)
            );
        }
        let mut path = String::new();
        let mut pen_down = false;
        for (i, p) in self.points.iter().enumerate() {
            match p {
                Some(v) => {
                    let _ = write!(
                        path,
                        "{}{:.1} {:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(i),
                        y(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let _ = write!(svg, "<path class=\"series\" d=\"{}\"/>", path.trim_end());
        for (i, p) in self.points.iter().enumerate() {
            let Some(v) = p else { continue };
            let regression = self.regressions.contains(&i);
            let label = self.x_labels.get(i).map(String::as_str).unwrap_or("");
            let _ = write!(
                svg,
                "<circle class=\"point{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"{}\" data-session=\"{}\" data-value=\"{}\">\
                 <title>{}: {}{}</title></circle>",
                if regression { " regression" } else { "" },
                x(i),
                y(*v),
                match (regression, n > DENSE) {
                    (true, _) => 6.0,
                    (false, false) => 4.0,
                    (false, true) => 2.5,
                },
                esc(label),
                v,
                esc(label),
                esc(&num(*v)),
                if regression { " (regression)" } else { "" }
            );
        }
        let step = n.div_ceil(MAX_X_LABELS).max(1);
        for (i, label) in self.x_labels.iter().enumerate() {
            if i % step != 0 && i + 1 != n {
                continue;
            }
            let xx = x(i);
            let yy = HEIGHT - BOTTOM + 14.0;
            let _ = write!(
                svg,
                "<text class=\"x-tick\" x=\"{xx:.1}\" y=\"{yy:.1}\" transform=\"rotate(-20 {xx:.1} {yy:.1})\">{}</text>",
                esc(label)
            );
        }
        svg.push_str("</svg>");
        format!(
            "<figure class=\"chart\" data-metric=\"{}\" data-points=\"{}\" data-regressions=\"{}\">\
             <figcaption><span class=\"metric\">{}</span> <span class=\"direction\">{}</span>{}</figcaption>{svg}</figure>",
            esc(self.title),
            values.len(),
            self.regressions.len(),
            esc(self.title),
            esc(self.direction),
            if self.regressions.is_empty() {
                String::new()
            } else {
                format!(
                    " <span class=\"badge regression\">{} regression{}</span>",
                    self.regressions.len(),
                    if self.regressions.len() == 1 { "" } else { "s" }
                )
            }
        )
    }
}

/// The smallest of 1, 2, 2.5, 5 (times a power of ten) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ticks_are_round_numbers() {
        assert_eq!(super::nice_step(0.73), 1.0);
        assert_eq!(super::nice_step(0.011), 0.02);
        assert_eq!(super::nice_step(2.2), 2.5);
        assert_eq!(super::nice_step(40.0), 50.0);
    }

    use super::*;

    #[test]
    fn points_gaps_regressions_and_baselines_are_drawn() {
        let labels: Vec<String> = ["a", "b", "<c>", "d"].map(String::from).to_vec();
        let html = LineChart {
            title: "m.json: p99",
            direction: "higher is worse",
            x_labels: &labels,
            points: &[Some(1.0), None, Some(3.0), Some(2.0)],
            regressions: &[2],
            baselines: &[(0, "main".to_owned())],
        }
        .to_html();
        assert_eq!(html.matches("<circle").count(), 3);
        assert_eq!(html.matches("point regression").count(), 1);
        assert!(html.contains("data-points=\"3\""));
        assert!(html.contains("&lt;c&gt;: 3 (regression)"));
        assert!(!html.contains("<c>"));
        assert!(html.contains("class=\"baseline\""));
        // The gap at "b" lifts the pen: two moves.
        assert_eq!(
            html.matches('M').count() - html.matches("M.json").count(),
            2
        );
    }

    #[test]
    fn a_flat_or_empty_series_still_draws() {
        let labels = vec!["a".to_owned()];
        for points in [&[Some(5.0)][..], &[None][..]] {
            let html = LineChart {
                title: "t",
                direction: "",
                x_labels: &labels,
                points,
                regressions: &[],
                baselines: &[],
            }
            .to_html();
            assert!(!html.contains("NaN"), "{html}");
        }
    }
}
