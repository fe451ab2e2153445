//! Change between two windows (SPEC §10.4): is the current window's figure
//! really different from the baseline's, or is it sampling noise?
//!
//! Each metric brings its own test, built from the statistics the scores
//! already use (`stats`, `gap::net_score`), so a change always agrees with
//! the intervals each window reports on its own:
//! - a share: Newcombe's hybrid interval and the pooled z-test (§5);
//! - a net score: the two-sample adjusted Wald (§10.1);
//! - a mean: Welch's t-test;
//! - a gap: the sum of the two gaps' variances, each recovered from its
//!   Newcombe interval, and a normal p-value.

use statrs::function::erf::erfc;

use super::gap::{AdjustedNet, net_difference};
use super::stats::{
    Interval, Moments, benjamini_hochberg, newcombe_diff_interval, pooled_z_test_p_value, welch_t,
    z_for_confidence,
};

/// What one window's figure is computed from: all a change test needs.
/// `None` in its place means the window has no figure (empty, suppressed,
/// or a metric without a test).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowSample {
    /// `successes` of `n` (a role's favorable answers, HIGH journeys).
    Proportion { successes: u64, n: u64 },
    /// A net score from `favorable` and `unfavorable` of `n`;
    /// `unfavorable` is `None` for a question without `unfavorable_max`,
    /// whose net score is its favorable share in points (§10.1).
    Net {
        favorable: u64,
        unfavorable: Option<u64>,
        n: u64,
    },
    /// A comparison's gap points and their Newcombe interval (points).
    Gap { points: f64, ci: Interval },
    /// The values behind a mean.
    Mean(Moments),
}

/// The change from a baseline window to the current one.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// current − baseline: in points for shares, net scores and gaps; in
    /// the metric's own unit for means.
    pub difference: f64,
    /// Interval of the difference, same unit; `None` where the data cannot
    /// carry one (a mean of a single value).
    pub difference_ci: Option<Interval>,
    /// Two-sided p-value of "no change"; `None` with `difference_ci`.
    pub p_value: Option<f64>,
    /// True when `difference_ci` excludes 0.
    pub significant: bool,
}

impl Change {
    fn new(difference: f64, ci: Option<Interval>, p_value: Option<f64>) -> Change {
        Change {
            difference,
            difference_ci: ci,
            p_value,
            significant: ci.is_some_and(|ci| ci.excludes_zero()),
        }
    }
}

/// Tests the change from `baseline` to `current` at `confidence`:
///
/// ```text
/// Proportion:  d = (p_c − p_b) × 100
///              ci = Newcombe(x_c, n_c, x_b, n_b) × 100;  p = pooled z-test
/// Net (with U): d = (net_c − net_b) × 100, unadjusted
///              ci, p = adjusted Wald of NPS'_c − NPS'_b (§10.1)
/// Net (no U):  as Proportion of the favorable answers
/// Mean:        d = x̄_c − x̄_b;  ci, p = Welch's t-test (Welch–Satterthwaite df)
/// Gap:         d = g_c − g_b
///              varᵢ = ((upperᵢ − lowerᵢ)/(2z))²,  se = √(var_c + var_b)
///              ci = d ± z·se;  p = 2(1 − Φ(|d|/se)) = erfc(|d|/(se·√2))
/// ```
///
/// `None` when the two samples are of different kinds (a caller's bug),
/// either has no data, or the confidence level is outside (0, 1).
pub fn change(baseline: &WindowSample, current: &WindowSample, confidence: f64) -> Option<Change> {
    z_for_confidence(confidence)?;
    match (*baseline, *current) {
        (
            WindowSample::Proportion {
                successes: xb,
                n: nb,
            },
            WindowSample::Proportion {
                successes: xc,
                n: nc,
            },
        ) => proportion_change(xb, nb, xc, nc, confidence),
        (
            WindowSample::Net {
                favorable: fb,
                unfavorable: ub,
                n: nb,
            },
            WindowSample::Net {
                favorable: fc,
                unfavorable: uc,
                n: nc,
            },
        ) => match (ub, uc) {
            (Some(ub), Some(uc)) => {
                if nb == 0 || nc == 0 {
                    return None;
                }
                let net = |f: u64, u: u64, n: u64| (f as f64 - u as f64) / n as f64 * 100.0;
                let tested = net_difference(
                    AdjustedNet::new(fc, uc, nc)?,
                    AdjustedNet::new(fb, ub, nb)?,
                    confidence,
                )?;
                Some(Change::new(
                    net(fc, uc, nc) - net(fb, ub, nb),
                    Some(tested.ci),
                    Some(tested.p_value),
                ))
            }
            (None, None) => proportion_change(fb, nb, fc, nc, confidence),
            _ => None,
        },
        (WindowSample::Mean(b), WindowSample::Mean(c)) => {
            let t = welch_t(c, b, confidence)?;
            Some(Change::new(t.estimate, t.interval, t.p_value))
        }
        (
            WindowSample::Gap {
                points: gb,
                ci: cib,
            },
            WindowSample::Gap {
                points: gc,
                ci: cic,
            },
        ) => gap_change(gb, cib, gc, cic, confidence),
        _ => None,
    }
}

/// Newcombe and the pooled z-test of `x_c/n_c − x_b/n_b`, in points.
fn proportion_change(xb: u64, nb: u64, xc: u64, nc: u64, confidence: f64) -> Option<Change> {
    let ci = newcombe_diff_interval(xc, nc, xb, nb, confidence)?.scaled(100.0);
    let difference = (xc as f64 / nc as f64 - xb as f64 / nb as f64) * 100.0;
    Some(Change::new(
        difference,
        Some(ci),
        Some(pooled_z_test_p_value(xc, nc, xb, nb)),
    ))
}

/// The change of a gap, from the variances its two intervals imply.
fn gap_change(gb: f64, cib: Interval, gc: f64, cic: Interval, confidence: f64) -> Option<Change> {
    let z = z_for_confidence(confidence)?;
    let variance = |ci: Interval| ((ci.upper - ci.lower) / (2.0 * z)).powi(2);
    let se = (variance(cib) + variance(cic)).sqrt();
    let difference = gc - gb;
    if !se.is_finite() || !difference.is_finite() {
        return None;
    }
    if se == 0.0 {
        // Two point intervals: nothing to weigh the difference against,
        // the same convention as a t test of zero variance.
        let p = if difference == 0.0 { 1.0 } else { 0.0 };
        return Some(Change::new(
            difference,
            Some(Interval::new(difference, difference)),
            Some(p),
        ));
    }
    // erfc keeps precision in the far tail, where 1 − Φ would round to 0.
    let p = erfc(difference.abs() / (se * std::f64::consts::SQRT_2)).clamp(0.0, 1.0);
    Some(Change::new(
        difference,
        Some(Interval::new(difference - z * se, difference + z * se)),
        Some(p),
    ))
}

/// The moments of a `(score, count)` histogram: `n = Σ count`,
/// `Σx = Σ score·count`, `Σx² = Σ score²·count` (exact for integer scores
/// below 2⁵³).
pub fn histogram_moments(histogram: &[(i32, u64)]) -> Moments {
    let mut n = 0u64;
    let mut sum = 0i128;
    let mut sum_sq = 0i128;
    for &(score, count) in histogram {
        n += count;
        sum += i128::from(score) * i128::from(count);
        sum_sq += i128::from(score) * i128::from(score) * i128::from(count);
    }
    Moments::new(n, sum as f64, sum_sq as f64)
}

/// Each point's change against the previous point with a sample, in
/// order: the first sample and every `None` get no change. Returns the
/// changes and their Benjamini–Hochberg q-values over every change with a
/// p-value in the series (SPEC §10.4: a trend of twelve months runs eleven
/// tests, one of which is "significant" by chance at 0.95).
pub fn changes_from_previous(
    samples: &[Option<WindowSample>],
    confidence: f64,
) -> Vec<Option<(Change, Option<f64>)>> {
    let mut previous: Option<&WindowSample> = None;
    let changes: Vec<Option<Change>> = samples
        .iter()
        .map(|sample| {
            let sample = sample.as_ref()?;
            let change = previous.and_then(|before| change(before, sample, confidence));
            previous = Some(sample);
            change
        })
        .collect();
    let p_values: Vec<f64> = changes.iter().flatten().filter_map(|c| c.p_value).collect();
    let mut q_values = benjamini_hochberg(&p_values).into_iter();
    changes
        .into_iter()
        .map(|c| {
            let c = c?;
            let q = c.p_value.and_then(|_| q_values.next());
            Some((c, q))
        })
        .collect()
}

#[cfg(test)]
mod tests;
