//! What the gaps between answer frames share (SPEC §16.2, §16.3): sums of
//! paired answers, differences in normalized points with their t-test, the
//! suppression threshold of a test, and the false-discovery-rate step over
//! every test of one response (§10.2).
//!
//! Normalized points put every scale on 0–100: a raw difference `d` on a
//! question scaled `scale_min..=scale_max` is `d / (scale_max − scale_min) ×
//! 100` points, so "20 points short" means the same on a 1–5 and a 0–10
//! question. The factor is positive, so intervals scale with it and
//! p-values do not change.

use super::{
    RatingQuestion,
    stats::{self, Interval, Moments, TTest},
};

/// Sums over the respondents who answered one question in EXPERIENCE and
/// in another frame (EXPECTATION, or COMPETITOR for one competitor), in
/// raw score units; differences are experience − framed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairedSums {
    pub respondents: u64,
    pub sum_experience: i64,
    pub sum_framed: i64,
    /// Σ (experience − framed)².
    pub sum_sq_difference: i64,
    /// Respondents whose experience score is above the framed one.
    pub above: u64,
    /// Respondents whose experience score is below the framed one.
    pub below: u64,
}

impl PairedSums {
    /// Σ (experience − framed).
    pub fn sum_difference(&self) -> i64 {
        self.sum_experience - self.sum_framed
    }

    /// Respondents whose two scores are equal (never negative, whatever
    /// the input).
    pub fn ties(&self) -> u64 {
        self.respondents.saturating_sub(self.above + self.below)
    }

    /// Mean experience and mean framed score; `None` without respondents.
    pub fn means(&self) -> Option<(f64, f64)> {
        let n = (self.respondents > 0).then_some(self.respondents as f64)?;
        Some((self.sum_experience as f64 / n, self.sum_framed as f64 / n))
    }
}

/// The fewest respondents a test of SPEC §16 is shown for: the model's
/// `min_group_size` (§5), and never fewer than 2, the fewest a t-test (a
/// sample variance) needs.
pub fn shown_from(min_group_size: u64) -> u64 {
    min_group_size.max(2)
}

/// Normalized points per raw score unit: `100 / (scale_max − scale_min)`.
/// `None` for a scale without span (the catalog never stores one).
pub fn points_per_unit(scale: &RatingQuestion) -> Option<f64> {
    let span = i64::from(scale.scale_max) - i64::from(scale.scale_min);
    (span > 0).then(|| 100.0 / span as f64)
}

/// A difference of means in normalized points and its test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointsTest {
    /// The difference, in points.
    pub points: f64,
    /// Its t interval at the requested confidence, in points.
    pub ci: Interval,
    /// Two-sided p-value of "the difference is 0".
    pub p_value: f64,
    /// The interval excludes 0.
    pub significant: bool,
    /// Benjamini–Hochberg q-value over the tests of the response
    /// ([`control_fdr`]); a test on its own is a family of one, q = p.
    pub q_value: f64,
    /// `q_value < 1 − confidence`.
    pub significant_after_fdr: bool,
}

impl PointsTest {
    /// The test of a t-test in raw units, scaled by `per_unit` points;
    /// alone in its family until [`control_fdr`] runs over the response.
    /// `None` when the t-test has no interval or p-value (one value).
    fn in_points(t: TTest, per_unit: f64, confidence: f64) -> Option<Self> {
        let t = t.scaled(per_unit);
        let (ci, p_value) = (t.interval?, t.p_value?);
        Some(PointsTest {
            points: t.estimate,
            ci,
            p_value,
            significant: ci.excludes_zero(),
            q_value: p_value,
            significant_after_fdr: p_value < 1.0 - confidence,
        })
    }
}

/// The paired t-test of the differences experience − framed, in points:
/// the one-sample t-test of the differences against 0 (scipy `ttest_rel`),
/// from n, Σd and Σd² ([`stats::paired_t`]; without variance, the point
/// interval and a p-value of 0, or 1 when every difference is 0).
///
/// `None` with fewer than 2 respondents (no variance, no test) or a scale
/// without span.
pub fn paired_test(
    sums: &PairedSums,
    scale: &RatingQuestion,
    confidence: f64,
) -> Option<PointsTest> {
    let per_unit = points_per_unit(scale)?;
    let differences = Moments::new(
        sums.respondents,
        sums.sum_difference() as f64,
        sums.sum_sq_difference as f64,
    );
    PointsTest::in_points(
        stats::paired_t(differences, confidence)?,
        per_unit,
        confidence,
    )
}

/// Welch's t-test of mean(a) − mean(b), in points (scipy
/// `ttest_ind(equal_var=False)`), from each side's n, Σx and Σx²
/// ([`stats::welch_t`]; one side without variance is an ordinary test,
/// both without it the point interval as [`paired_test`]).
///
/// `None` when either side has fewer than 2 respondents or the scale has
/// no span.
pub fn welch_test(
    a: Moments,
    b: Moments,
    scale: &RatingQuestion,
    confidence: f64,
) -> Option<PointsTest> {
    let per_unit = points_per_unit(scale)?;
    PointsTest::in_points(stats::welch_t(a, b, confidence)?, per_unit, confidence)
}

/// Sets `q_value` and `significant_after_fdr` of every test of one
/// response: the Benjamini–Hochberg adjusted p-values over all of them
/// (SPEC §10.2; statsmodels `multipletests(method='fdr_bh')`), significant
/// after FDR control when `q < 1 − confidence`. Callers pass every test
/// they show, and no suppressed one (a suppressed figure has no test).
pub fn control_fdr<'a>(tests: impl IntoIterator<Item = &'a mut PointsTest>, confidence: f64) {
    let mut tests: Vec<&mut PointsTest> = tests.into_iter().collect();
    let p: Vec<f64> = tests.iter().map(|t| t.p_value).collect();
    let q = stats::benjamini_hochberg(&p);
    for (t, q) in tests.iter_mut().zip(q) {
        t.q_value = q;
        t.significant_after_fdr = q < 1.0 - confidence;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::scoring::stats::tests::assert_close;

    const TOL: f64 = 1e-9;

    pub(crate) fn scale(min: i32, max: i32) -> RatingQuestion {
        RatingQuestion {
            scale_min: min,
            scale_max: max,
            favorable_min: max,
            unfavorable_max: None,
        }
    }

    /// Experience [3,2,4,3,5,2] against expectation [4,4,4,5,5,4].
    pub(crate) const SHORT_SPEED: PairedSums = PairedSums {
        respondents: 6,
        sum_experience: 19,
        sum_framed: 26,
        sum_sq_difference: 13,
        above: 0,
        below: 4,
    };

    #[test]
    fn points_put_every_scale_on_0_to_100() {
        assert_eq!(points_per_unit(&scale(1, 5)), Some(25.0));
        assert_eq!(points_per_unit(&scale(0, 10)), Some(10.0));
        assert_close(points_per_unit(&scale(1, 7)).unwrap(), 100.0 / 6.0, TOL);
        assert_eq!(points_per_unit(&scale(3, 3)), None);
    }

    #[test]
    fn paired_sums_know_their_differences_ties_and_means() {
        assert_eq!(SHORT_SPEED.sum_difference(), -7);
        assert_eq!(SHORT_SPEED.ties(), 2);
        let (e, x) = SHORT_SPEED.means().unwrap();
        assert_close(e, 19.0 / 6.0, TOL);
        assert_close(x, 26.0 / 6.0, TOL);
        assert_eq!(PairedSums::default().means(), None);
        let inconsistent = PairedSums {
            respondents: 1,
            above: 1,
            below: 1,
            ..PairedSums::default()
        };
        assert_eq!(inconsistent.ties(), 0);
    }

    #[test]
    fn a_test_needs_two_respondents_whatever_the_model_allows() {
        assert_eq!(shown_from(0), 2);
        assert_eq!(shown_from(1), 2);
        assert_eq!(shown_from(5), 5);
    }

    // Reference values: tests/reference/frames_reference.out.txt ("unit").

    #[test]
    fn the_paired_test_matches_scipy_ttest_rel_in_points() {
        let t = paired_test(&SHORT_SPEED, &scale(1, 5), 0.95).unwrap();
        assert_close(t.points, -29.166666666666668, TOL);
        assert_close(t.ci.lower, -54.96158691361683, TOL);
        assert_close(t.ci.upper, -3.3717464197165086, TOL);
        assert_close(t.p_value, 0.0335323976037179, TOL);
        assert!(t.significant);
        // Alone, a family of one.
        assert_eq!(t.q_value, t.p_value);
        assert!(t.significant_after_fdr);
    }

    #[test]
    fn the_paired_test_needs_a_variance() {
        let one = PairedSums {
            respondents: 1,
            sum_experience: 3,
            sum_framed: 4,
            sum_sq_difference: 1,
            above: 0,
            below: 1,
        };
        assert_eq!(paired_test(&one, &scale(1, 5), 0.95), None);
        assert_eq!(
            paired_test(&PairedSums::default(), &scale(1, 5), 0.95),
            None
        );
        assert_eq!(paired_test(&SHORT_SPEED, &scale(2, 2), 0.95), None);
    }

    #[test]
    fn fdr_control_matches_statsmodels_fdr_bh() {
        let test = |p_value| PointsTest {
            points: 1.0,
            ci: Interval::new(0.5, 1.5),
            p_value,
            significant: true,
            q_value: p_value,
            significant_after_fdr: p_value < 0.05,
        };
        let mut tests = [0.01, 0.04, 0.03, 0.5].map(test);
        control_fdr(tests.iter_mut(), 0.95);
        let want = [0.04, 0.05333333333333334, 0.05333333333333334, 0.5];
        for (t, q) in tests.iter().zip(want) {
            assert_close(t.q_value, q, TOL);
        }
        let after: Vec<bool> = tests.iter().map(|t| t.significant_after_fdr).collect();
        assert_eq!(after, [true, false, false, false]);
        // Before: 0.04 and 0.03 were significant on their own.
        assert_eq!(tests.map(|t| t.significant), [true; 4]);
        // Nothing to control: nothing happens.
        control_fdr(std::iter::empty(), 0.95);
    }
}
