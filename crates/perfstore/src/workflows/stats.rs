//! Statistics over repeated samples of one metric: median, a distribution-free confidence
//! interval of the median, and the Mann–Whitney U test of two sample sets.
//!
//! A JSON array of two or more numbers is a *distribution* (so `{"samples": [...]}` is the
//! distribution `samples`, and `{"latency_ms": [...]}` the distribution `latency_ms`). A diff
//! calls its change a regression only if the medians differ beyond the threshold **and** the
//! Mann–Whitney U test finds the difference significant (p < alpha).
//!
//! The test uses the normal approximation with tie correction and continuity correction, as
//! `scipy.stats.mannwhitneyu(x, y, method="asymptotic")` does, two-sided. With fewer than about
//! four samples per side no difference can reach p < 0.05: record five or more.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Median and confidence interval of one set of samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Their median.
    pub median: f64,
    /// Lower end of the (1 − alpha) confidence interval of the median (order statistics;
    /// the minimum when there are too few samples for a tighter one).
    pub ci_low: f64,
    /// Upper end of that interval.
    pub ci_high: f64,
}

/// The Mann–Whitney U test of base against candidate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UTest {
    /// U of the base samples (scipy's `statistic` for `mannwhitneyu(base, candidate)`).
    pub u: f64,
    /// Two-sided p-value (normal approximation, tie and continuity corrected).
    pub p_value: f64,
}

/// The numbers of a JSON value, if it is an array of at least two numbers.
pub fn samples_of(value: &Value) -> Option<Vec<f64>> {
    match value {
        Value::Array(items) if items.len() >= 2 => items
            .iter()
            .map(|v| v.as_f64().filter(|x| v.is_number() && x.is_finite()))
            .collect(),
        _ => None,
    }
}

/// Whether a JSON value is a distribution (an array of at least two numbers); no allocation.
pub fn is_distribution(value: &Value) -> bool {
    matches!(value, Value::Array(items) if items.len() >= 2 && items.iter().all(Value::is_number))
}

/// Median of `sorted` (ascending, non-empty).
fn median_sorted(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// Median of `samples` (any order); `None` when empty.
pub fn median(samples: &[f64]) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(median_sorted(&sorted))
}

/// Median and its (1 − alpha) confidence interval; `None` when empty.
///
/// The interval is between the order statistics at ranks `(n − z·√n)/2` and
/// `1 + (n + z·√n)/2` (z the two-sided normal quantile of alpha), clamped to the samples.
pub fn summarize(samples: &[f64], alpha: f64) -> Option<Summary> {
    summarize_with_z(samples, normal_quantile(1.0 - alpha / 2.0))
}

/// [`summarize`] with the normal quantile `z` of the interval given (so a diff computes it
/// once, not per metric).
pub fn summarize_with_z(samples: &[f64], z: f64) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let half = z * (n as f64).sqrt() / 2.0;
    let nf = n as f64;
    let low_rank = ((nf / 2.0 - half).floor() as usize).clamp(1, n);
    let high_rank = ((1.0 + nf / 2.0 + half).ceil() as usize).clamp(1, n);
    Some(Summary {
        n,
        median: median_sorted(&sorted),
        ci_low: sorted[low_rank - 1],
        ci_high: sorted[high_rank - 1],
    })
}

/// The two-sided Mann–Whitney U test of `x` against `y`; `None` when either is empty.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Option<UTest> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return None;
    }
    let mut all: Vec<(f64, bool)> = x
        .iter()
        .map(|v| (*v, true))
        .chain(y.iter().map(|v| (*v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = all.len();
    let (mut rank_sum_x, mut tie_term) = (0.0, 0.0);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && all[j].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their average.
        let average_rank = (i + 1 + j) as f64 / 2.0;
        let in_x = all[i..j].iter().filter(|(_, from_x)| *from_x).count();
        rank_sum_x += average_rank * in_x as f64;
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        i = j;
    }
    let (n1f, n2f, nf) = (n1 as f64, n2 as f64, n as f64);
    let u1 = rank_sum_x - n1f * (n1f + 1.0) / 2.0;
    let mean = n1f * n2f / 2.0;
    let variance = n1f * n2f / 12.0 * ((nf + 1.0) - tie_term / (nf * (nf - 1.0)));
    let p_value = if variance <= 0.0 {
        1.0
    } else {
        let u = u1.max(n1f * n2f - u1);
        let z = (u - mean - 0.5) / variance.sqrt();
        (2.0 * normal_sf(z)).min(1.0)
    };
    Some(UTest { u: u1, p_value })
}

/// P(Z > z) for a standard normal Z.
pub fn normal_sf(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The z with P(Z ≤ z) = p, by bisection (to f64 precision; for once per diff, not per metric).
pub fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    let (mut low, mut high) = (-40.0_f64, 40.0_f64);
    for _ in 0..100 {
        let mid = (low + high) / 2.0;
        if 1.0 - normal_sf(mid) < p {
            low = mid;
        } else {
            high = mid;
        }
    }
    (low + high) / 2.0
}

/// The complementary error function (W. J. Cody's rational approximations, relative error
/// below 1e-15 over the whole line).
fn erfc(x: f64) -> f64 {
    let ax = x.abs();
    if ax < 0.5 {
        return 1.0 - erf_small(x);
    }
    let r = if ax < 4.0 {
        erfc_mid(ax)
    } else {
        erfc_large(ax)
    };
    if x < 0.0 { 2.0 - r } else { r }
}

fn erf_small(x: f64) -> f64 {
    const A: [f64; 5] = [
        3.161_123_743_870_565_6,
        113.864_154_151_050_16,
        377.485_237_685_302,
        3_209.377_589_138_469_5,
        0.185_777_706_184_603_15,
    ];
    const B: [f64; 4] = [
        23.601_290_952_344_122,
        244.024_637_934_444_17,
        1_282.616_526_077_372_3,
        2_844.236_833_439_171,
    ];
    let z = x * x;
    let mut num = A[4] * z;
    let mut den = z;
    for i in 0..3 {
        num = (num + A[i]) * z;
        den = (den + B[i]) * z;
    }
    x * (num + A[3]) / (den + B[3])
}

fn erfc_mid(x: f64) -> f64 {
    const C: [f64; 9] = [
        0.564_188_496_988_670_1,
        8.883_149_794_388_376,
        66.119_190_637_141_63,
        298.635_138_197_400_1,
        881.952_221_241_769,
        1_712.047_612_634_070_7,
        2_051.078_377_826_071_6,
        1_230.339_354_797_997_2,
        2.153_115_354_744_038_3e-8,
    ];
    const D: [f64; 8] = [
        15.744_926_110_709_835,
        117.693_950_891_312_5,
        537.181_101_862_009_9,
        1_621.389_574_566_690_3,
        3_290.799_235_733_459_7,
        4_362.619_090_143_247,
        3_439.367_674_143_721_6,
        1_230.339_354_803_749_5,
    ];
    let mut num = C[8] * x;
    let mut den = x;
    for i in 0..7 {
        num = (num + C[i]) * x;
        den = (den + D[i]) * x;
    }
    let r = (num + C[7]) / (den + D[7]);
    (-x * x).exp() * r
}

fn erfc_large(x: f64) -> f64 {
    const P: [f64; 6] = [
        0.305_326_634_961_232_36,
        0.360_344_899_949_804_45,
        0.125_781_726_111_229_25,
        0.016_083_785_148_742_275,
        6.587_491_615_298_378e-4,
        0.016_315_387_137_302_097,
    ];
    const Q: [f64; 5] = [
        2.568_520_192_289_822,
        1.872_952_849_923_460_4,
        0.527_905_102_951_428_4,
        0.060_518_341_312_441_32,
        0.002_335_204_976_268_691_8,
    ];
    const FRAC_1_SQRT_PI: f64 = 0.564_189_583_547_756_3;
    let z = 1.0 / (x * x);
    let mut num = P[5] * z;
    let mut den = z;
    for i in 0..4 {
        num = (num + P[i]) * z;
        den = (den + Q[i]) * z;
    }
    let r = z * (num + P[4]) / (den + Q[4]);
    let r = (FRAC_1_SQRT_PI - r) / x;
    (-x * x).exp() * r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance * b.abs().max(1e-300)
    }

    #[test]
    fn erfc_matches_known_values() {
        // erfc(x) for x = 0, 0.3, 1, 2, 3, 5 (Abramowitz & Stegun; mpmath).
        for (x, want) in [
            (0.0, 1.0),
            (0.3, 0.671_373_240_540_872_7),
            (1.0, 0.157_299_207_050_285_13),
            (2.0, 0.004_677_734_981_047_266),
            (3.0, 2.209_049_699_858_544e-5),
            (5.0, 1.537_459_794_428_035e-12),
            (-1.0, 1.842_700_792_949_715),
        ] {
            assert!(close(erfc(x), want, 1e-9), "erfc({x}) = {}", erfc(x));
        }
        assert!(close(normal_quantile(0.975), 1.959_963_984_540_054, 1e-9));
    }

    #[test]
    fn mann_whitney_matches_scipy() {
        // scipy.stats.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
        let cases: [(&[f64], &[f64], f64, f64); 5] = [
            (
                &[1.0, 2.0, 3.0, 4.0, 5.0],
                &[6.0, 7.0, 8.0, 9.0, 10.0],
                0.0,
                0.012_185_780_355_344_813,
            ),
            (
                &[10.1, 10.3, 9.9, 10.0, 10.2, 10.4],
                &[11.0, 10.9, 11.3, 10.8, 11.1, 11.2],
                0.0,
                0.005_074_868_097_940_253,
            ),
            (
                &[1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0],
                &[2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0, 6.0],
                11.0,
                0.049_884_436_979_925_88,
            ),
            (&[5.0, 5.0, 5.0], &[5.0, 5.0, 5.0, 5.0], 6.0, 1.0),
            (
                &[1.0, 1.1, 0.9, 1.05],
                &[1.02, 0.98, 1.07, 0.95],
                9.0,
                0.885_233_914_473_201_5,
            ),
        ];
        for (x, y, u, p) in cases {
            let test = mann_whitney_u(x, y).unwrap();
            assert_eq!(test.u, u, "{x:?} vs {y:?}");
            assert!(close(test.p_value, p, 1e-9), "{x:?} vs {y:?}: {test:?}");
        }
        assert_eq!(mann_whitney_u(&[], &[1.0]), None);
    }

    #[test]
    fn medians_and_intervals() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let few = summarize(&[3.0, 1.0, 2.0], 0.05).unwrap();
        assert_eq!(
            (few.n, few.median, few.ci_low, few.ci_high),
            (3, 2.0, 1.0, 3.0)
        );
        // n = 20, z = 1.96: ranks floor(10 - 4.38) = 5 and ceil(11 + 4.38) = 16.
        let many: Vec<f64> = (1..=20).map(f64::from).collect();
        let s = summarize(&many, 0.05).unwrap();
        assert_eq!((s.median, s.ci_low, s.ci_high), (10.5, 5.0, 16.0));
        // A wider alpha gives a narrower interval.
        let s10 = summarize(&many, 0.10).unwrap();
        assert!(s10.ci_low >= s.ci_low && s10.ci_high <= s.ci_high);
    }

    #[test]
    fn distributions_are_arrays_of_two_or_more_numbers() {
        use serde_json::json;
        assert_eq!(samples_of(&json!([1, 2.5])), Some(vec![1.0, 2.5]));
        assert!(is_distribution(&json!([1, 2])));
        for not in [
            json!([1]),
            json!([1, "a"]),
            json!({"a": 1}),
            json!(3),
            json!([]),
        ] {
            assert_eq!(samples_of(&not), None, "{not}");
            assert!(!is_distribution(&not), "{not}");
        }
    }
}
