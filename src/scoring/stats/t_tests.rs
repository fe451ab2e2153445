//! t tests from sums (SPEC §16.2–16.3, §10.4): the one-sample test of a
//! mean against 0, which applied to paired differences is the paired t
//! test, and Welch's test of two independent means.

use serde::{Deserialize, Serialize};

use super::moments::Moments;
use super::student_t::{t_for_confidence, t_two_sided_p_value};
use super::{Interval, z_for_confidence};

/// A t-based estimate and what can be said about it: the mean (one-sample
/// and paired tests) or the difference of two means (Welch), its standard
/// error, the t distribution's degrees of freedom, the two-sided interval
/// and the two-sided p-value of "the true value is 0".
///
/// The `Option`s are `None` when the data cannot carry them: with a
/// single value there is no spread, so only the estimate exists.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TTest {
    pub estimate: f64,
    pub standard_error: Option<f64>,
    pub degrees_of_freedom: Option<f64>,
    pub interval: Option<Interval>,
    pub p_value: Option<f64>,
}

impl TTest {
    /// The same test in other units: estimate, standard error and interval
    /// multiplied by `factor` (e.g. 100/(scale_max − scale_min) for
    /// normalized points), degrees of freedom and p-value unchanged.
    /// `factor` must be positive to keep `lower ≤ upper`.
    pub fn scaled(self, factor: f64) -> Self {
        TTest {
            estimate: self.estimate * factor,
            standard_error: self.standard_error.map(|se| se * factor),
            interval: self.interval.map(|ci| ci.scaled(factor)),
            ..self
        }
    }

    fn estimate_only(estimate: f64) -> Self {
        TTest {
            estimate,
            standard_error: None,
            degrees_of_freedom: None,
            interval: None,
            p_value: None,
        }
    }

    /// The interval and p-value of an estimate with standard error `se`
    /// from a t distribution with `df` degrees of freedom:
    ///
    /// ```text
    /// t = estimate / se
    /// interval = estimate ± t_{df, (1 + c)/2} · se
    /// p = P(|T_df| ≥ |t|)
    /// ```
    ///
    /// With `se = 0` the t statistic is ±∞ or 0/0 (scipy answers inf and
    /// nan); here the interval is the point `[estimate, estimate]` and the
    /// p-value is 1 when the estimate is exactly 0 (no evidence of a
    /// difference: every value is 0) and 0 otherwise (every value lies on
    /// the same side of 0).
    fn from_standard_error(
        estimate: f64,
        se: f64,
        df: Option<f64>,
        confidence: f64,
    ) -> Option<Self> {
        if se == 0.0 {
            return Some(TTest {
                estimate,
                standard_error: Some(0.0),
                degrees_of_freedom: df,
                interval: Some(Interval::new(estimate, estimate)),
                p_value: Some(if estimate == 0.0 { 1.0 } else { 0.0 }),
            });
        }
        let df = df?;
        let half = t_for_confidence(confidence, df)? * se;
        Some(TTest {
            estimate,
            standard_error: Some(se),
            degrees_of_freedom: Some(df),
            interval: Some(Interval::new(estimate - half, estimate + half)),
            p_value: Some(t_two_sided_p_value(estimate / se, df)?),
        })
    }
}

/// One-sample t test of a mean against 0, from `n`, `Σx` and `Σx²`:
///
/// ```text
/// x̄ = Σx / n
/// s² = Σ(x − x̄)² / (n − 1),   se = s / √n,   df = n − 1
/// interval = x̄ ± t_{n−1, (1 + c)/2} · se
/// p = P(|T_{n−1}| ≥ |x̄ / se|)
/// ```
///
/// as scipy's `ttest_1samp` and `t.interval(c, n − 1, x̄, se)`.
/// `Σ(x − x̄)²` comes from [`Moments::sum_sq_deviations`], exact for
/// integer scores.
///
/// - `n = 0`: `None` (no mean);
/// - `n = 1`: the mean only;
/// - zero variance (every value equal): standard error 0, the interval
///   `[x̄, x̄]`, and p = 1 when `x̄ = 0`, 0 otherwise (see
///   `TTest::from_standard_error`; scipy answers nan there).
///
/// `None` as well for a confidence level outside `(0, 1)`.
pub fn mean_t(sample: Moments, confidence: f64) -> Option<TTest> {
    // The level is checked even where no interval will be computed.
    z_for_confidence(confidence)?;
    let mean = sample.mean()?;
    let Some(variance) = sample.variance() else {
        return Some(TTest::estimate_only(mean));
    };
    let n = sample.n as f64;
    TTest::from_standard_error(mean, (variance / n).sqrt(), Some(n - 1.0), confidence)
}

/// Paired t test: [`mean_t`] on the per-respondent differences (e.g.
/// experience − expectation of the same customer, SPEC §16.2; us − the
/// competitor, §16.3), from `n`, `Σd` and `Σd²`. Equal to scipy's
/// `ttest_rel(after, before)` and its `confidence_interval(c)`.
pub fn paired_t(differences: Moments, confidence: f64) -> Option<TTest> {
    mean_t(differences, confidence)
}

/// Welch's t test of `mean_a − mean_b` for independent samples with
/// unequal variances (Welch 1947), from each sample's moments:
///
/// ```text
/// vₐ = sₐ²/nₐ,  v_b = s_b²/n_b,  se = √(vₐ + v_b)
/// df = (vₐ + v_b)² / (vₐ²/(nₐ − 1) + v_b²/(n_b − 1))      (Welch–Satterthwaite)
/// interval = (x̄ₐ − x̄_b) ± t_{df, (1 + c)/2} · se
/// p = P(|T_df| ≥ |x̄ₐ − x̄_b| / se)
/// ```
///
/// as scipy's `ttest_ind(a, b, equal_var=False)` and its
/// `confidence_interval(c)`. `df` is computed as
/// `1 / (w²/(nₐ − 1) + (1 − w)²/(n_b − 1))` with `w = vₐ/(vₐ + v_b)`, which
/// neither overflows nor underflows, and kept within its proven bounds
/// `[min(nₐ, n_b) − 1, nₐ + n_b − 2]` against rounding.
///
/// - either sample empty: `None`;
/// - either sample of one value: the difference only (that sample's
///   variance is unknown);
/// - both variances 0: standard error 0, no degrees of freedom, the
///   interval `[d, d]`, p = 1 when `d = 0` and 0 otherwise (as
///   [`mean_t`]); one variance 0 is an ordinary case (`df = n − 1` of
///   the other sample).
///
/// `None` as well for a confidence level outside `(0, 1)`.
pub fn welch_t(a: Moments, b: Moments, confidence: f64) -> Option<TTest> {
    // The level is checked even where no interval will be computed.
    z_for_confidence(confidence)?;
    let difference = a.mean()? - b.mean()?;
    let (Some(var_a), Some(var_b)) = (a.variance(), b.variance()) else {
        return Some(TTest::estimate_only(difference));
    };
    let (n_a, n_b) = (a.n as f64, b.n as f64);
    let (v_a, v_b) = (var_a / n_a, var_b / n_b);
    let se = (v_a + v_b).sqrt();
    if se == 0.0 {
        return TTest::from_standard_error(difference, 0.0, None, confidence);
    }
    let w = v_a / (v_a + v_b);
    let df = 1.0 / (w * w / (n_a - 1.0) + (1.0 - w) * (1.0 - w) / (n_b - 1.0));
    let df = df.clamp(n_a.min(n_b) - 1.0, n_a + n_b - 2.0);
    TTest::from_standard_error(difference, se, Some(df), confidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::stats::tests::assert_close;
    use proptest::prelude::*;

    const TOL: f64 = 1e-9;

    /// A figure printed by significance_reference.py for one data set.
    struct Expected {
        estimate: f64,
        standard_error: f64,
        df: f64,
        p_value: f64,
        /// (confidence, (lower, upper)) at 0.90, 0.95 and 0.99.
        intervals: [(f64, (f64, f64)); 3],
    }

    #[track_caller]
    fn check(test: TTest, e: &Expected, interval: (f64, f64)) {
        assert_close(test.estimate, e.estimate, TOL);
        assert_close(test.standard_error.unwrap(), e.standard_error, TOL);
        assert_close(test.degrees_of_freedom.unwrap(), e.df, TOL);
        let p = test.p_value.unwrap();
        assert!(
            (p - e.p_value).abs() <= TOL * e.p_value,
            "p: expected {}, got {p}",
            e.p_value
        );
        let ci = test.interval.unwrap();
        assert_close(ci.lower, interval.0, TOL);
        assert_close(ci.upper, interval.1, TOL);
    }

    fn differences(expectation: &[i32], experience: &[i32]) -> Moments {
        assert_eq!(expectation.len(), experience.len());
        Moments::from_values(
            experience
                .iter()
                .zip(expectation)
                .map(|(x, e)| f64::from(x - e)),
        )
    }

    fn values(v: &[f64]) -> Moments {
        Moments::from_values(v.iter().copied())
    }

    // Reference values: tests/reference/significance_reference.out.txt
    // (scipy 1.17.1): ttest_rel / ttest_1samp, t.interval, ttest_ind
    // (equal_var=False) and its confidence_interval.

    #[test]
    fn paired_matches_scipy_ttest_rel() {
        type Case = (&'static [i32], &'static [i32], Expected);
        let cases: &[Case] = &[
            (
                &[6, 7, 5, 6, 7, 6, 5, 7, 6, 6, 7, 4],
                &[5, 6, 5, 4, 7, 5, 3, 6, 6, 4, 5, 4],
                Expected {
                    estimate: -1.0,
                    standard_error: 0.24618298195866548,
                    df: 11.0,
                    p_value: 0.001876741998199608,
                    intervals: [
                        (0.9, (-1.4421162799228588, -0.5578837200771414)),
                        (0.95, (-1.5418450899581304, -0.4581549100418696)),
                        (0.99, (-1.7645967093821122, -0.23540329061788767)),
                    ],
                },
            ),
            (
                &[
                    5, 7, 10, 8, 10, 6, 7, 6, 7, 7, 4, 6, 9, 5, 10, 8, 9, 6, 7, 7, 10, 8, 9, 9, 8,
                    5, 4, 9, 9, 9,
                ],
                &[
                    4, 9, 10, 7, 7, 4, 8, 6, 4, 7, 4, 4, 8, 3, 9, 6, 6, 6, 4, 8, 10, 7, 9, 6, 6, 2,
                    5, 10, 9, 10,
                ],
                Expected {
                    estimate: -0.8666666666666667,
                    standard_error: 0.27431558859385635,
                    df: 29.0,
                    p_value: 0.0036804402235207892,
                    intervals: [
                        (0.9, (-1.3327636970459322, -0.40056963628740144)),
                        (0.95, (-1.4277050397579014, -0.3056282935754321)),
                        (0.99, (-1.6227862882238773, -0.11054704510945612)),
                    ],
                },
            ),
            (
                &[3, 5],
                &[4, 7],
                Expected {
                    estimate: 1.5,
                    standard_error: 0.5,
                    df: 1.0,
                    p_value: 0.20483276469913345,
                    intervals: [
                        (0.9, (-1.6568757573375223, 4.656875757337518)),
                        (0.95, (-4.853102368087347, 7.853102368087347)),
                        (0.99, (-30.328370581435763, 33.32837058143576)),
                    ],
                },
            ),
            (
                &[5, 5, 5, 5, 5],
                &[4, 6, 5, 3, 7],
                Expected {
                    estimate: 0.0,
                    // scipy: 0.7071067811865476, which is 1/√2.
                    standard_error: std::f64::consts::FRAC_1_SQRT_2,
                    df: 4.0,
                    p_value: 1.0,
                    intervals: [
                        (0.9, (-1.5074433190623238, 1.5074433190623229)),
                        (0.95, (-1.9632431614775572, 1.9632431614775572)),
                        (0.99, (-3.2555867047577847, 3.2555867047577847)),
                    ],
                },
            ),
        ];
        for (expectation, experience, expected) in cases {
            let d = differences(expectation, experience);
            for &(c, interval) in &expected.intervals {
                check(paired_t(d, c).unwrap(), expected, interval);
            }
        }
    }

    #[test]
    fn paired_from_sums_of_millions_matches_scipy() {
        let cases = [
            (
                Moments::new(2_000_000, 12389.0, 39968773.0),
                Expected {
                    estimate: 0.0061945,
                    standard_error: 0.0031610408191249926,
                    df: 1999999.0,
                    p_value: 0.05003809644338724,
                    intervals: [
                        (0.9, (0.0009950481353700382, 0.01139395186462996)),
                        (0.95, (-1.0299085731772448e-06, 0.012390029908573179)),
                        (0.99, (-0.0019478093423310663, 0.014336809342331067)),
                    ],
                },
            ),
            (
                // 999,999 differences of 7 and one of 6 (scipy warns of
                // cancellation there; the sums here are exact).
                Moments::new(1_000_000, 6999999.0, 48999987.0),
                Expected {
                    estimate: 6.999999,
                    standard_error: 9.999999999999997e-07,
                    df: 999999.0,
                    p_value: 0.0,
                    intervals: [
                        (0.9, (6.999997355144849, 7.000000644855151)),
                        (0.95, (6.999997040033643, 7.000000959966357)),
                        (0.99, (6.99999642416578, 7.00000157583422)),
                    ],
                },
            ),
        ];
        for (d, expected) in &cases {
            for &(c, interval) in &expected.intervals {
                check(paired_t(*d, c).unwrap(), expected, interval);
            }
        }
        // The interval at 0.95 of the first case straddles 0 by a hair
        // (its p-value is 0.05004): the t quantile must be right to
        // better than 1e-6 for the two to agree.
        let t = paired_t(cases[0].0, 0.95).unwrap();
        assert!(t.interval.unwrap().contains(0.0) && t.p_value.unwrap() > 0.05);
    }

    #[test]
    fn welch_matches_scipy_ttest_ind() {
        let customers = [
            5.0, 6.0, 4.0, 7.0, 5.0, 6.0, 6.0, 3.0, 5.0, 7.0, 6.0, 5.0, 4.0, 6.0, 5.0, 7.0, 6.0,
            5.0, 2.0, 6.0, 5.0, 6.0, 7.0, 4.0, 5.0, 6.0, 5.0, 6.0, 3.0, 6.0, 5.0, 7.0, 6.0, 4.0,
            5.0, 6.0, 6.0, 5.0, 7.0, 4.0,
        ];
        let leaders = [
            6.0, 7.0, 7.0, 6.0, 7.0, 7.0, 6.0, 7.0, 5.0, 7.0, 6.0, 7.0, 7.0, 6.0, 7.0,
        ];
        let cases = [
            (
                values(&leaders),
                values(&customers),
                Expected {
                    estimate: 1.1833333333333336,
                    standard_error: 0.2502440810930403,
                    df: 46.01146128920805,
                    p_value: 2.1703875937943424e-05,
                    intervals: [
                        (0.9, (0.763260651122194, 1.603406015544473)),
                        (0.95, (0.67962150979878, 1.687045156867887)),
                        (0.99, (0.5109313179972172, 1.85573534866945)),
                    ],
                },
            ),
            (
                values(&[3.0, 9.0]),
                values(&[4.0, 5.0, 7.0]),
                Expected {
                    estimate: 0.666666666666667,
                    standard_error: 3.1269438398822866,
                    df: 1.1759167868802674,
                    p_value: 0.8621050271970153,
                    intervals: [
                        (0.9, (-14.746542302675945, 16.079875636009263)),
                        (0.95, (-27.438687189661767, 28.772020522995103)),
                        (0.99, (-110.30352425733179, 111.63685759066513)),
                    ],
                },
            ),
            (
                values(&[5.0, 5.0, 5.0, 5.0]),
                values(&[2.0, 4.0, 6.0, 3.0, 5.0, 7.0, 4.0]),
                Expected {
                    estimate: 0.5714285714285712,
                    standard_error: 0.6494372236659931,
                    df: 6.0,
                    p_value: 0.4127730253778149,
                    intervals: [
                        (0.9, (-0.6905450350317945, 1.833402177888936)),
                        (0.95, (-1.0176870677344394, 2.1605442105915817)),
                        (0.99, (-1.8363131896821177, 2.97917033253926)),
                    ],
                },
            ),
            (
                // Effort indices in half points, from sums (not integers:
                // the float form of the centred sums).
                Moments::new(200_000, 10014309.5, 670112173.75),
                Moments::new(1_500_000, 75132729.0, 5025220686.0),
                Expected {
                    estimate: -0.016938500000001966,
                    standard_error: 0.0691222606718154,
                    df: 256132.04042965436,
                    p_value: 0.8064169048221704,
                    intervals: [
                        (0.9, (-0.1306349123896452, 0.09675791238964121)),
                        (0.95, (-0.15241628165369825, 0.11853928165369432)),
                        (0.99, (-0.1949869714022322, 0.16110997140222827)),
                    ],
                },
            ),
        ];
        for (a, b, expected) in &cases {
            for &(c, interval) in &expected.intervals {
                check(welch_t(*a, *b, c).unwrap(), expected, interval);
            }
        }
    }

    #[test]
    fn welch_is_antisymmetric() {
        let a = values(&[3.0, 9.0]);
        let b = values(&[4.0, 5.0, 7.0]);
        let ab = welch_t(a, b, 0.95).unwrap();
        let ba = welch_t(b, a, 0.95).unwrap();
        assert_eq!(ab.estimate, -ba.estimate);
        assert_eq!(ab.p_value, ba.p_value);
        assert_eq!(ab.degrees_of_freedom, ba.degrees_of_freedom);
        let (x, y) = (ab.interval.unwrap(), ba.interval.unwrap());
        assert_close(x.lower, -y.upper, 1e-15);
        assert_close(x.upper, -y.lower, 1e-15);
    }

    #[test]
    fn no_values_no_test() {
        assert_eq!(mean_t(Moments::default(), 0.95), None);
        let some = values(&[1.0, 2.0]);
        assert_eq!(welch_t(Moments::default(), some, 0.95), None);
        assert_eq!(welch_t(some, Moments::default(), 0.95), None);
    }

    #[test]
    fn one_value_gives_the_estimate_only() {
        let one = values(&[4.0]);
        assert_eq!(mean_t(one, 0.95), Some(TTest::estimate_only(4.0)));
        let two = values(&[1.0, 2.0]);
        assert_eq!(welch_t(one, two, 0.95), Some(TTest::estimate_only(2.5)));
        assert_eq!(welch_t(two, one, 0.95), Some(TTest::estimate_only(-2.5)));
    }

    #[test]
    fn zero_variance_is_a_point_with_a_decided_p_value() {
        // Every customer's experience fell 2 short of their expectation.
        let short = paired_t(values(&[-2.0; 6]), 0.95).unwrap();
        assert_eq!(short.estimate, -2.0);
        assert_eq!(short.standard_error, Some(0.0));
        assert_eq!(short.degrees_of_freedom, Some(5.0));
        assert_eq!(short.interval, Some(Interval::new(-2.0, -2.0)));
        assert_eq!(short.p_value, Some(0.0));
        // Every customer got exactly what they expected.
        let met = paired_t(values(&[0.0; 6]), 0.95).unwrap();
        assert_eq!(met.interval, Some(Interval::new(0.0, 0.0)));
        assert_eq!(met.p_value, Some(1.0));
        // Both groups constant.
        let welch = welch_t(values(&[6.0; 3]), values(&[5.0; 8]), 0.95).unwrap();
        assert_eq!(welch.estimate, 1.0);
        assert_eq!(welch.standard_error, Some(0.0));
        assert_eq!(welch.degrees_of_freedom, None);
        assert_eq!(welch.interval, Some(Interval::new(1.0, 1.0)));
        assert_eq!(welch.p_value, Some(0.0));
        let same = welch_t(values(&[6.0; 3]), values(&[6.0; 8]), 0.95).unwrap();
        assert_eq!(same.p_value, Some(1.0));
    }

    #[test]
    fn an_invalid_confidence_level_is_refused() {
        let m = values(&[1.0, 2.0, 4.0]);
        for c in [0.0, 1.0, f64::NAN, 1.5] {
            assert_eq!(mean_t(m, c), None);
            assert_eq!(welch_t(m, m, c), None);
        }
        // Even where no interval would be computed.
        assert_eq!(mean_t(values(&[1.0]), 1.0), None);
    }

    #[test]
    fn scaling_turns_scores_into_points() {
        // Differences on a 1–7 scale in normalized points: × 100/6.
        let d = values(&[-1.0, 0.0, -2.0, -1.0, 1.0, -2.0]);
        let raw = paired_t(d, 0.95).unwrap();
        let points = raw.scaled(100.0 / 6.0);
        assert_close(points.estimate, raw.estimate * 100.0 / 6.0, 1e-15);
        assert_close(
            points.standard_error.unwrap(),
            raw.standard_error.unwrap() * 100.0 / 6.0,
            1e-15,
        );
        assert_eq!(
            points.interval,
            raw.interval.map(|ci| ci.scaled(100.0 / 6.0))
        );
        assert_eq!(points.p_value, raw.p_value);
        assert_eq!(points.degrees_of_freedom, raw.degrees_of_freedom);
    }

    proptest! {
        /// The interval holds the estimate, excludes 0 exactly when p is
        /// below 1 − c, and the p-value is a probability.
        #[test]
        fn interval_and_p_value_agree(
            diffs in proptest::collection::vec(-10i32..=10, 2..200),
            others in proptest::collection::vec(0i32..=10, 2..200),
            level in 0.5f64..0.999,
        ) {
            let d = Moments::from_values(diffs.iter().map(|&x| f64::from(x)));
            let o = Moments::from_values(others.iter().map(|&x| f64::from(x)));
            for test in [mean_t(d, level).unwrap(), welch_t(d, o, level).unwrap()] {
                let ci = test.interval.unwrap();
                let p = test.p_value.unwrap();
                prop_assert!((0.0..=1.0).contains(&p));
                prop_assert!(ci.contains(test.estimate));
                // Away from the boundary the two decisions agree.
                if (p - (1.0 - level)).abs() > 1e-9 {
                    prop_assert_eq!(ci.excludes_zero(), p < 1.0 - level, "{:?}", test);
                }
            }
        }
    }
}
