//! General statistics used by every score: normal quantiles, binomial
//! proportion intervals, the two-proportion test, Beta posteriors, cosine
//! similarity and continuous percentiles; and, in the submodules, the
//! significance tests of SPEC §10.2 and §16: t tests from sums, the exact
//! sign test and Benjamini–Hochberg q-values.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Beta, ContinuousCDF, Normal};
use statrs::function::erf::erfc;

mod fdr;
mod incomplete_beta;
mod moments;
mod sign_test;
mod student_t;
mod t_tests;

pub use fdr::benjamini_hochberg;
pub use moments::Moments;
pub(crate) use moments::centred_product;
pub use sign_test::sign_test_p_value;
pub use student_t::{MAX_DEGREES_OF_FREEDOM, t_for_confidence, t_two_sided_p_value};
pub use t_tests::{TTest, mean_t, paired_t, welch_t};

/// A closed interval `[lower, upper]`: a confidence interval, a credible
/// interval, or either scaled to points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    pub fn new(lower: f64, upper: f64) -> Self {
        Interval { lower, upper }
    }

    /// Both bounds multiplied by `factor` (e.g. 100 to turn shares into
    /// points). `factor` must be non-negative to keep `lower ≤ upper`.
    pub fn scaled(self, factor: f64) -> Self {
        Interval::new(self.lower * factor, self.upper * factor)
    }

    /// Both bounds clamped into `[min, max]`.
    pub fn clamped(self, min: f64, max: f64) -> Self {
        Interval::new(self.lower.clamp(min, max), self.upper.clamp(min, max))
    }

    pub fn contains(&self, value: f64) -> bool {
        self.lower <= value && value <= self.upper
    }

    /// True when 0 lies outside the interval: the difference it describes is
    /// statistically significant at the interval's level.
    pub fn excludes_zero(&self) -> bool {
        self.lower > 0.0 || self.upper < 0.0
    }
}

/// Two-sided standard normal quantile for a confidence level:
///
/// ```text
/// z = Φ⁻¹(1 − (1 − level)/2) = Φ⁻¹((1 + level)/2)
/// ```
///
/// e.g. 0.95 → 1.959964, 0.90 → 1.644854, 0.99 → 2.575829.
///
/// `None` unless `level` is strictly between 0 and 1 (every level a caller
/// can ask for is checked against `domain::violations::CONFIDENCE_LEVELS`
/// first; nothing reachable from a request may panic, so this says so
/// rather than asserting).
pub fn z_for_confidence(level: f64) -> Option<f64> {
    (level > 0.0 && level < 1.0).then(|| standard_normal().inverse_cdf(0.5 + level / 2.0))
}

fn standard_normal() -> Normal {
    Normal::standard()
}

/// Wilson score interval for a binomial proportion `p = x/n`, without
/// continuity correction (Wilson 1927):
///
/// ```text
/// centre = (p + z²/(2n)) / (1 + z²/n)
/// half   = z / (1 + z²/n) · sqrt(p(1 − p)/n + z²/(4n²))
/// [centre − half, centre + half]
/// ```
///
/// Chosen over the Wald interval because it stays inside `[0, 1]` and keeps
/// its coverage for small groups and for shares near 0 or 1 — exactly the
/// "8% of customers agree" case. At `x = 0` the lower bound is exactly 0 and
/// at `x = n` the upper bound is exactly 1.
///
/// `None` when `n = 0` (no share exists), `x > n` or the confidence level
/// is outside `(0, 1)` (invalid input).
pub fn wilson_interval(successes: u64, n: u64, confidence: f64) -> Option<Interval> {
    if n == 0 || successes > n {
        return None;
    }
    let z = z_for_confidence(confidence)?;
    let n_f = n as f64;
    let p = successes as f64 / n_f;
    let z2 = z * z;
    let denom = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denom;
    let half = z / denom * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt();
    // At the boundaries centre and half are equal mathematically; pin them so
    // rounding can never report a lower bound of 1e-17 for "nobody agrees".
    let lower = if successes == 0 {
        0.0
    } else {
        (centre - half).clamp(0.0, 1.0)
    };
    let upper = if successes == n {
        1.0
    } else {
        (centre + half).clamp(0.0, 1.0)
    };
    Some(Interval::new(lower, upper))
}

/// Newcombe's hybrid score interval for a difference of two independent
/// proportions `d = p1 − p2` (Newcombe 1998, method 10), built from the two
/// Wilson intervals `[l1, u1]` and `[l2, u2]`:
///
/// ```text
/// lower = d − sqrt((p1 − l1)² + (u2 − p2)²)
/// upper = d + sqrt((u1 − p1)² + (p2 − l2)²)
/// ```
///
/// It inherits Wilson's good behaviour at 0 and 1 and never leaves
/// `[−1, 1]`. SPEC §5 example: 80/100 vs 8/100 at 95% → [0.6069, 0.7972].
///
/// `None` when either group is empty or has more successes than members.
pub fn newcombe_diff_interval(
    x1: u64,
    n1: u64,
    x2: u64,
    n2: u64,
    confidence: f64,
) -> Option<Interval> {
    let w1 = wilson_interval(x1, n1, confidence)?;
    let w2 = wilson_interval(x2, n2, confidence)?;
    let p1 = x1 as f64 / n1 as f64;
    let p2 = x2 as f64 / n2 as f64;
    let d = p1 - p2;
    let lower = d - ((p1 - w1.lower).powi(2) + (w2.upper - p2).powi(2)).sqrt();
    let upper = d + ((w1.upper - p1).powi(2) + (p2 - w2.lower).powi(2)).sqrt();
    Some(Interval::new(lower, upper).clamped(-1.0, 1.0))
}

/// Two-sided p-value of the pooled two-proportion z-test of `p1 = p2`:
///
/// ```text
/// p̂ = (x1 + x2)/(n1 + n2)
/// z = (p1 − p2) / sqrt(p̂(1 − p̂)(1/n1 + 1/n2))
/// p-value = 2(1 − Φ(|z|)) = erfc(|z|/√2)
/// ```
///
/// Returns 1.0 when the test is undefined: a group is empty (or has more
/// successes than members), or the pooled share is 0 or 1 (both groups
/// answered identically, so there is no evidence of a difference).
pub fn pooled_z_test_p_value(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 || x1 > n1 || x2 > n2 {
        return 1.0;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let pooled = (x1 + x2) as f64 / (n1f + n2f);
    if pooled <= 0.0 || pooled >= 1.0 {
        return 1.0;
    }
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    let z = (x1 as f64 / n1f - x2 as f64 / n2f) / se;
    // erfc keeps precision in the far tail where 1 − Φ(|z|) would round to 0.
    erfc(z.abs() / std::f64::consts::SQRT_2).clamp(0.0, 1.0)
}

/// Mean of a Beta(α, β) distribution: `α / (α + β)`.
///
/// `None` unless `α ≥ 0`, `β ≥ 0` and `0 < α + β < ∞` (see
/// [`beta_parameters_valid`]).
pub fn beta_mean(alpha: f64, beta: f64) -> Option<f64> {
    beta_parameters_valid(alpha, beta).then(|| alpha / (alpha + beta))
}

/// Variance of a Beta(α, β) distribution:
///
/// ```text
/// αβ / ((α + β)² (α + β + 1))  =  m (1 − m) / (α + β + 1),  m = α / (α + β)
/// ```
///
/// computed in the second form: with a tiny prior strength (a tenant may
/// set one, SPEC §7.5) `(α + β)²` underflows to 0 and the first form is
/// 0/0 = NaN, while the mean stays exact.
///
/// `None` on the parameters [`beta_mean`] refuses.
pub fn beta_variance(alpha: f64, beta: f64) -> Option<f64> {
    let mean = beta_mean(alpha, beta)?;
    Some(mean * (1.0 - mean) / (alpha + beta + 1.0))
}

/// Equal-tailed credible interval of a Beta(α, β) distribution:
///
/// ```text
/// [F⁻¹((1 − c)/2), F⁻¹((1 + c)/2)]
/// ```
///
/// with `F⁻¹` the Beta quantile function ([`beta_quantile`]).
///
/// statrs's quantile is used only where it is known to answer (both shapes
/// from [`SMALL_SHAPE`] to [`LARGE_SHAPE`]: outside, it loops without end,
/// e.g. Beta(0.5, 1e7) or Beta(1e-300, 1e6), or returns bounds out of
/// order). Elsewhere the interval is the distribution's limit, so that no
/// input a tenant's model and outcomes can produce hangs or panics a call:
/// - a shape above [`LARGE_SHAPE`] (a prior strength near its maximum, or
///   millions of outcomes): the normal limit, `mean ± z·sd` clipped to
///   `[0, 1]` (sd ≤ 0.0005 there, so the bounds are off by less than that);
/// - a shape below [`SMALL_SHAPE`] (including zero, a prior mean of exactly
///   0 or 1, SPEC §7.5): the small-shape limit, two point masses at 0 and 1
///   with P(1) = α/(α + β), each bound 0 or 1 by which masses the tails
///   leave out — `[0, 0]` for α → 0, `[1, 1]` for β → 0.
///
/// `None` on the parameters [`beta_mean`] refuses, or a confidence level
/// outside `(0, 1)`.
pub fn beta_credible_interval(alpha: f64, beta: f64, confidence: f64) -> Option<Interval> {
    let mean = beta_mean(alpha, beta)?;
    let z = z_for_confidence(confidence)?;
    let tail = (1.0 - confidence) / 2.0;
    let normal = || {
        let sd = (mean * (1.0 - mean) / (alpha + beta + 1.0)).sqrt();
        Interval::new(mean - z * sd, mean + z * sd).clamped(0.0, 1.0)
    };
    if alpha.max(beta) > LARGE_SHAPE {
        return Some(normal());
    }
    if alpha.min(beta) < SMALL_SHAPE {
        let bound = |at_one: bool| if at_one { 1.0 } else { 0.0 };
        return Some(Interval::new(bound(1.0 - mean <= tail), bound(mean > tail)));
    }
    let quantiles = Beta::new(alpha, beta)
        .ok()
        .map(|dist| Interval::new(beta_quantile(&dist, tail), beta_quantile(&dist, 1.0 - tail)))
        .filter(|ci| 0.0 <= ci.lower && ci.lower <= ci.upper && ci.upper <= 1.0);
    Some(quantiles.unwrap_or_else(normal))
}

/// The `q`-quantile of `dist`, `inf {x : F(x) ≥ q}`: statrs's
/// `inverse_cdf` where its answer checks out (`F(x)` within 1e-9 of `q`,
/// `F` by [`beta_cdf`]), else found by bisection on `F`. statrs's search
/// stops early where the quantile lies closer to 0 or 1 than an `f64` can
/// tell apart: for Beta(0.998, 0.00226) every quantile above about 0.08
/// rounds to 1.0 (the 0.218-quantile is 1 − 5e-48), and statrs answered
/// 0.99999999999996 for the 0.218-quantile (`F` there is 0.067) and
/// 0.99999999999989 for the median, below it (found by
/// `beta_interval_is_ordered_and_holds_the_median`).
pub fn beta_quantile(dist: &Beta, q: f64) -> f64 {
    let cdf = |x: f64| beta_cdf(dist, x);
    let x = dist.inverse_cdf(q);
    if x.is_finite() && (cdf(x) - q).abs() <= 1e-9 {
        return x;
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    // Each step halves [lo, hi]; 1,100 steps reach adjacent floats
    // anywhere in [0, 1], subnormals included.
    for _ in 0..1_100 {
        let mid = lo + (hi - lo) / 2.0;
        if mid <= lo || mid >= hi {
            break;
        }
        if cdf(mid) >= q {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    hi
}

/// `F(x)` of `dist` by [`incomplete_beta`] (statrs's `cdf` answers 1 at
/// the float below 1 for Beta(0.998, 0.00226), where `F` is about 0.08).
pub fn beta_cdf(dist: &Beta, x: f64) -> f64 {
    incomplete_beta::regularized_incomplete_beta(dist.shape_a(), dist.shape_b(), x, 1.0 - x)
}

/// The smallest Beta shape whose quantiles statrs is asked for (see
/// [`beta_credible_interval`]). Probed: from here to [`LARGE_SHAPE`] at
/// every confidence level from 0.5 to 0.999 it answers at once.
pub const SMALL_SHAPE: f64 = 1e-6;

/// The largest Beta shape whose quantiles statrs is asked for; at 1e7 it
/// loops without end against a small other shape.
pub const LARGE_SHAPE: f64 = 1e6;

/// Whether (α, β) are the shape parameters of a Beta distribution or of
/// its point-mass limits: `α ≥ 0`, `β ≥ 0`, `0 < α + β < ∞`. A valid prior
/// model (`prior_strength` from [`crate::domain::model::MIN_PRIOR_STRENGTH`])
/// always gives them; a row stored before that bound may not.
pub fn beta_parameters_valid(alpha: f64, beta: f64) -> bool {
    alpha >= 0.0 && beta >= 0.0 && alpha + beta > 0.0 && (alpha + beta).is_finite()
}

/// Cosine similarity of two vectors:
///
/// ```text
/// cos(a, b) = Σ aᵢbᵢ / (sqrt(Σ aᵢ²) · sqrt(Σ bᵢ²))
/// ```
///
/// For non-negative vectors (theme shares) it lies in `[0, 1]`: 1 when the
/// two profiles are proportional, 0 when they share nothing. The result is
/// clamped to `[−1, 1]` against rounding.
///
/// `None` when either vector is empty or all zeros (no direction to
/// compare), or when their lengths differ (both must be indexed by the same
/// themes; a mismatch is a bug, answered without a panic).
pub fn cosine_similarity(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() {
        return None;
    }
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm_a = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let norm_b = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if norm_a == 0.0 || norm_b == 0.0 {
        return None;
    }
    Some((dot / (norm_a * norm_b)).clamp(-1.0, 1.0))
}

/// Continuous percentile of sorted values, exactly as PostgreSQL's
/// `percentile_cont(q) WITHIN GROUP (ORDER BY v)`:
///
/// ```text
/// pos = q · (n − 1);  lo = ⌊pos⌋;  hi = ⌈pos⌉
/// value = v[lo] + (pos − lo) · (v[hi] − v[lo])
/// ```
///
/// `None` when `sorted` is empty or `q` is outside `[0, 1]` (PostgreSQL
/// raises an error for the latter). `sorted` must be in ascending order.
pub fn percentile_cont(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    debug_assert!(
        sorted.windows(2).all(|w| w[0] <= w[1]),
        "percentile_cont needs ascending input"
    );
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor();
    let hi = pos.ceil();
    let lo_value = sorted[lo as usize];
    let hi_value = sorted[hi as usize];
    Some(lo_value + (pos - lo) * (hi_value - lo_value))
}

/// `numerator / denominator` as a share, `None` when the denominator is 0
/// (a share of nobody is undefined, not 0 and not NaN).
pub fn share(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

#[cfg(test)]
pub(crate) mod tests;
