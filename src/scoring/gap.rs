//! Perception gap on RATING questions (SPEC §5): per-role figures from a
//! score histogram, and the comparison of two roles; in the submodules the
//! net-score intervals (§10.1), false discovery rate control over a
//! response (§10.2), and the groups of a `group_by` against the rest with
//! complementary suppression (§10.3, §10.5).

pub use crate::domain::enums::Role;
use serde::{Deserialize, Serialize};

use super::stats::{Interval, newcombe_diff_interval, pooled_z_test_p_value, wilson_interval};

mod fdr;
mod net_score;
mod segments;

pub use fdr::{FdrControl, Tested, control_fdr};
pub use net_score::{AdjustedNet, NetDifference, net_difference};
pub use segments::{
    RestComparison, add_histogram, compare_to_rest, complementary_cell, rest_figures,
};

/// One value per role; what a per-question report holds for each side.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ByRole<T> {
    pub leadership: T,
    pub staff: T,
    pub customer: T,
}

impl<T> ByRole<T> {
    pub fn get(&self, role: Role) -> &T {
        match role {
            Role::Leadership => &self.leadership,
            Role::Staff => &self.staff,
            Role::Customer => &self.customer,
        }
    }

    pub fn get_mut(&mut self, role: Role) -> &mut T {
        match role {
            Role::Leadership => &mut self.leadership,
            Role::Staff => &mut self.staff,
            Role::Customer => &mut self.customer,
        }
    }

    pub fn map<U>(&self, mut f: impl FnMut(Role, &T) -> U) -> ByRole<U> {
        ByRole {
            leadership: f(Role::Leadership, &self.leadership),
            staff: f(Role::Staff, &self.staff),
            customer: f(Role::Customer, &self.customer),
        }
    }
}

/// The scoring-relevant part of a RATING question (SPEC §4).
///
/// Invariants (checked by the catalog on upsert): `scale_min < scale_max`,
/// `favorable_min` within the scale, `unfavorable_max < favorable_min`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingQuestion {
    pub scale_min: i32,
    pub scale_max: i32,
    /// A score `≥ favorable_min` is favorable (top-box).
    pub favorable_min: i32,
    /// A score `≤ unfavorable_max` is unfavorable, when the question has one.
    pub unfavorable_max: Option<i32>,
}

impl RatingQuestion {
    pub fn is_favorable(&self, score: i32) -> bool {
        score >= self.favorable_min
    }

    pub fn is_unfavorable(&self, score: i32) -> bool {
        self.unfavorable_max.is_some_and(|max| score <= max)
    }
}

/// One role's figures on one RATING question.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RoleFigures {
    /// n: respondents of this role who answered the question.
    pub respondents: u64,
    /// True when `respondents < max(min_group_size, 1)`, or when withheld
    /// by complementary suppression ([`RoleFigures::withheld`]): only the
    /// count may be shown, and no comparison uses this role.
    pub suppressed: bool,
    /// The shares; `None` exactly when `suppressed`.
    pub shares: Option<RoleShares>,
}

/// The figures of a role that is not suppressed (so `n ≥ 1`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RoleShares {
    /// f: respondents with score ≥ favorable_min.
    pub favorable: u64,
    /// p = f/n.
    pub favorable_share: f64,
    /// Wilson score interval of p.
    pub favorable_ci: Interval,
    /// Respondents with score ≤ unfavorable_max; `None` when the question
    /// declares no unfavorable_max.
    pub unfavorable: Option<u64>,
    pub unfavorable_share: Option<f64>,
    /// Wilson score interval of the unfavorable share.
    pub unfavorable_ci: Option<Interval>,
    /// (favorable_share − unfavorable_share) × 100; NPS for
    /// `likelihood_to_recommend`. Without unfavorable_max the unfavorable
    /// share counts as 0, so this is favorable_share × 100.
    pub net_score: f64,
    /// Interval of `net_score` in points (SPEC §10.1): the adjusted-Wald
    /// interval ([`AdjustedNet::interval`]) when the question declares
    /// unfavorable_max, else the Wilson interval of the favorable share
    /// × 100.
    pub net_score_ci: Interval,
    /// Mean raw score.
    pub mean_score: f64,
    /// (mean − scale_min)/(scale_max − scale_min) × 100, comparable across
    /// scales.
    pub mean_normalized: f64,
}

/// One role's figures from its score histogram.
///
/// `histogram` is `(score, count)` as aggregated in SQL (`GROUP BY score`);
/// repeated scores are summed, zero counts ignored. Scores are assumed to lie
/// within the question's scale (validated at ingest).
///
/// ```text
/// n = Σ count;  f = Σ count [score ≥ favorable_min];  p = f/n
/// u = Σ count [score ≤ unfavorable_max];  net = (f − u)/n × 100
/// mean = Σ score·count / n
/// mean_normalized = (mean − scale_min)/(scale_max − scale_min) × 100
/// net_score_ci = AdjustedNet(f, u, n).interval   (with unfavorable_max)
///              = Wilson(f, n) × 100               (without)
/// ```
///
/// A role is suppressed when `n < min_group_size` (SPEC §5, anonymity), and
/// also when `n = 0` even if `min_group_size` is 0: with no respondents there
/// is no share to report, and "suppressed" already means "count only".
///
/// # Panics
/// If `scale_min ≥ scale_max` (the catalog rejects such questions).
pub fn role_figures(
    question: &RatingQuestion,
    histogram: &[(i32, u64)],
    min_group_size: u64,
    confidence: f64,
) -> RoleFigures {
    assert!(
        question.scale_min < question.scale_max,
        "a rating question needs scale_min < scale_max"
    );
    let mut n: u64 = 0;
    let mut favorable: u64 = 0;
    let mut unfavorable: u64 = 0;
    // i128 keeps Σ score·count exact for any realistic volume.
    let mut score_sum: i128 = 0;
    for &(score, count) in histogram {
        n += count;
        score_sum += i128::from(score) * i128::from(count);
        if question.is_favorable(score) {
            favorable += count;
        }
        if question.is_unfavorable(score) {
            unfavorable += count;
        }
    }

    if n == 0 || n < min_group_size {
        return RoleFigures {
            respondents: n,
            suppressed: true,
            shares: None,
        };
    }

    let n_f = n as f64;
    let favorable_share = favorable as f64 / n_f;
    let has_unfavorable = question.unfavorable_max.is_some();
    let unfavorable_share = has_unfavorable.then(|| unfavorable as f64 / n_f);
    let mean_score = score_sum as f64 / n_f;
    let span = f64::from(question.scale_max - question.scale_min);
    let favorable_ci = wilson_interval(favorable, n, confidence).expect("n > 0 and f ≤ n");
    let net_score_ci = if has_unfavorable {
        AdjustedNet::new(favorable, unfavorable, n)
            .and_then(|a| a.interval(confidence))
            .expect("f + u ≤ n and a checked level")
    } else {
        favorable_ci.scaled(100.0)
    };
    RoleFigures {
        respondents: n,
        suppressed: false,
        shares: Some(RoleShares {
            favorable,
            favorable_share,
            favorable_ci,
            unfavorable: has_unfavorable.then_some(unfavorable),
            unfavorable_share,
            unfavorable_ci: has_unfavorable
                .then(|| wilson_interval(unfavorable, n, confidence).expect("n > 0 and u ≤ n")),
            net_score: (favorable_share - unfavorable_share.unwrap_or(0.0)) * 100.0,
            net_score_ci,
            mean_score,
            mean_normalized: (mean_score - f64::from(question.scale_min)) / span * 100.0,
        }),
    }
}

impl RoleFigures {
    /// The same role with everything but its count withheld, exactly as a
    /// role suppressed by size is reported (SPEC §10.5: the two must be
    /// indistinguishable).
    pub fn withheld(self) -> RoleFigures {
        RoleFigures {
            respondents: self.respondents,
            suppressed: true,
            shares: None,
        }
    }
}

/// The gap between two roles on one question, "from" the inside view "to"
/// the outside one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// (p_from − p_to) × 100; positive: the inside view is rosier.
    pub gap_points: f64,
    /// Newcombe hybrid score interval of p_from − p_to, × 100.
    pub gap_points_ci: Interval,
    /// Two-sided pooled two-proportion z-test of p_from = p_to.
    pub p_value: f64,
    /// True when `gap_points_ci` excludes 0.
    pub significant: bool,
    /// mean_normalized_from − mean_normalized_to.
    pub mean_gap_points: f64,
    /// p_to / p_from: "for every 10 leaders who think we are superior, 1
    /// customer agrees". `None` when p_from = 0.
    pub agreement_ratio: Option<f64>,
    /// net_score_from − net_score_to, from the unadjusted net scores.
    pub net_gap_points: f64,
    /// Adjusted-Wald interval of the net gap ([`net_difference`]), in
    /// points.
    pub net_gap_points_ci: Interval,
    /// Two-sided p-value of the adjusted-Wald net gap.
    pub net_p_value: f64,
    /// `p_value` within the family of every comparison of the response
    /// (SPEC §10.2); a family of one until [`control_fdr`] sets it.
    pub fdr: FdrControl,
}

impl Tested for Comparison {
    fn p_value(&self) -> f64 {
        self.p_value
    }
    fn set_fdr(&mut self, fdr: FdrControl) {
        self.fdr = fdr;
    }
}

/// Compares two roles' favorable shares (SPEC §5):
///
/// ```text
/// gap_points      = (p_from − p_to) × 100
/// gap_points_ci   = Newcombe(f_from, n_from, f_to, n_to) × 100
/// p_value         = pooled z-test, two-sided
/// significant     = 0 ∉ gap_points_ci
/// mean_gap_points = mean_normalized_from − mean_normalized_to
/// agreement_ratio = p_to / p_from
/// ```
///
/// and the net scores (SPEC §10.1), when the question declares
/// unfavorable_max:
///
/// ```text
/// net_gap_points    = net_from − net_to
/// net_gap_points_ci = (NPS'_from − NPS'_to) ± z·√(SE'²_from + SE'²_to), × 100
/// net_p_value       = 2·(1 − Φ(|NPS'_from − NPS'_to| / √(SE'²_from + SE'²_to)))
/// ```
///
/// Without unfavorable_max the net score is the favorable share in points,
/// and the three equal `gap_points`, `gap_points_ci` and `p_value`.
///
/// Significance is read from the interval, not the p-value, so the two
/// numbers a user sees side by side (gap and interval) always agree; the
/// score-based interval and the z-test can disagree at the margin.
///
/// `None` when either role is suppressed.
///
/// Example (SPEC §5): leadership 80/100, customers 8/100 → gap 72.0,
/// interval [60.69, 79.72], agreement ratio 0.10.
pub fn compare(from: &RoleFigures, to: &RoleFigures, confidence: f64) -> Option<Comparison> {
    let a = from.shares.as_ref()?;
    let b = to.shares.as_ref()?;
    let (n_from, n_to) = (from.respondents, to.respondents);
    let ci = newcombe_diff_interval(a.favorable, n_from, b.favorable, n_to, confidence)?;
    let gap_points_ci = ci.scaled(100.0);
    let gap_points = (a.favorable_share - b.favorable_share) * 100.0;
    let p_value = pooled_z_test_p_value(a.favorable, n_from, b.favorable, n_to);
    let (net_gap_points, net_gap_points_ci, net_p_value) = match (a.unfavorable, b.unfavorable) {
        (Some(u_from), Some(u_to)) => {
            let net = net_difference(
                AdjustedNet::new(a.favorable, u_from, n_from)?,
                AdjustedNet::new(b.favorable, u_to, n_to)?,
                confidence,
            )?;
            (a.net_score - b.net_score, net.ci, net.p_value)
        }
        _ => (gap_points, gap_points_ci, p_value),
    };
    Some(Comparison {
        gap_points,
        gap_points_ci,
        p_value,
        significant: gap_points_ci.excludes_zero(),
        mean_gap_points: a.mean_normalized - b.mean_normalized,
        agreement_ratio: (a.favorable_share > 0.0).then(|| b.favorable_share / a.favorable_share),
        net_gap_points,
        net_gap_points_ci,
        net_p_value,
        fdr: FdrControl::alone(p_value, confidence),
    })
}

/// A comparison between two roles, `None` when either is suppressed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleComparison<T> {
    pub from: Role,
    pub to: Role,
    pub comparison: Option<T>,
}

/// Everything SPEC §5 reports for one RATING question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuestionGap {
    pub roles: ByRole<RoleFigures>,
    /// In the order of [`Role::COMPARISONS`].
    pub comparisons: Vec<RoleComparison<Comparison>>,
    /// In a group's report, the group's customers against the other
    /// groups' (SPEC §10.3); `None` in the overall report and when either
    /// side is suppressed.
    pub vs_rest: Option<RestComparison>,
}

impl QuestionGap {
    /// The three comparisons of `roles`, as given (some perhaps withheld),
    /// and no `vs_rest`.
    pub fn from_roles(roles: ByRole<RoleFigures>, confidence: f64) -> QuestionGap {
        let comparisons = Role::COMPARISONS
            .iter()
            .map(|&(from, to)| RoleComparison {
                from,
                to,
                comparison: compare(roles.get(from), roles.get(to), confidence),
            })
            .collect();
        QuestionGap {
            roles,
            comparisons,
            vs_rest: None,
        }
    }
}

/// Figures for the three roles and their three comparisons on one question.
/// `histograms` holds each role's `(score, count)` rows (empty if none).
pub fn question_gap(
    question: &RatingQuestion,
    histograms: ByRole<&[(i32, u64)]>,
    min_group_size: u64,
    confidence: f64,
) -> QuestionGap {
    let roles = histograms.map(|_, h| role_figures(question, h, min_group_size, confidence));
    QuestionGap::from_roles(roles, confidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::stats::newcombe_diff_interval;
    use crate::scoring::stats::tests::assert_close;

    const FIVE_POINT: RatingQuestion = RatingQuestion {
        scale_min: 1,
        scale_max: 5,
        favorable_min: 4,
        unfavorable_max: Some(2),
    };

    const NPS: RatingQuestion = RatingQuestion {
        scale_min: 0,
        scale_max: 10,
        favorable_min: 9,
        unfavorable_max: Some(6),
    };

    /// `favorable` of `n` answered 4, the rest 3 (neutral).
    fn hist(favorable: u64, n: u64) -> Vec<(i32, u64)> {
        vec![(4, favorable), (3, n - favorable)]
    }

    #[test]
    fn delivery_gap_worked_example() {
        let leaders = role_figures(&FIVE_POINT, &hist(80, 100), 5, 0.95);
        let customers = role_figures(&FIVE_POINT, &hist(8, 100), 5, 0.95);
        let c = compare(&leaders, &customers, 0.95).unwrap();
        assert_close(c.gap_points, 72.0, 1e-12);
        assert_eq!((c.gap_points_ci.lower * 100.0).round() / 100.0, 60.69);
        assert_eq!((c.gap_points_ci.upper * 100.0).round() / 100.0, 79.72);
        assert_close(c.agreement_ratio.unwrap(), 0.10, 1e-12);
        assert!(c.significant);
        // statsmodels proportions_ztest, tests/reference/stats_reference.py
        assert!((c.p_value - 1.1069972132181755e-24).abs() < 1e-9 * 1.1069972132181755e-24);
        // Means: 0.8·4 + 0.2·3 = 3.8 → 70; 0.08·4 + 0.92·3 = 3.08 → 52.
        assert_close(c.mean_gap_points, 70.0 - 52.0, 1e-12);
    }

    #[test]
    fn role_figures_on_nps_scale() {
        // 0–10: 50 promoters (9, 10), 30 passives (7, 8), 20 detractors.
        let h = [(10, 20), (9, 30), (8, 20), (7, 10), (6, 5), (0, 15)];
        let f = role_figures(&NPS, &h, 5, 0.95);
        assert_eq!(f.respondents, 100);
        assert!(!f.suppressed);
        let s = f.shares.unwrap();
        assert_eq!(s.favorable, 50);
        assert_eq!(s.unfavorable, Some(20));
        assert_close(s.favorable_share, 0.5, 1e-15);
        assert_close(s.unfavorable_share.unwrap(), 0.2, 1e-15);
        assert_close(s.net_score, 30.0, 1e-12);
        let mean = (200.0 + 270.0 + 160.0 + 70.0 + 30.0) / 100.0;
        assert_close(s.mean_score, mean, 1e-15);
        assert_close(s.mean_normalized, mean * 10.0, 1e-12);
        assert_eq!(
            s.favorable_ci,
            crate::scoring::stats::wilson_interval(50, 100, 0.95).unwrap()
        );
        assert!(s.unfavorable_ci.unwrap().contains(0.2));
        // Adjusted Wald, tests/reference/nps_reference.out.txt (50, 20, 100, 0.95).
        assert_close(s.net_score_ci.lower, 14.051130178761607, 1e-9);
        assert_close(s.net_score_ci.upper, 44.20129700570441, 1e-9);
    }

    #[test]
    fn net_gaps_compare_the_adjusted_net_scores() {
        // 50 promoters and 20 detractors of 100 against 30 and 40 of 100.
        let from = role_figures(&NPS, &[(10, 50), (7, 30), (3, 20)], 5, 0.95);
        let to = role_figures(&NPS, &[(9, 30), (8, 30), (0, 40)], 5, 0.95);
        let c = compare(&from, &to, 0.95).unwrap();
        assert_close(c.net_gap_points, 30.0 - -10.0, 1e-12);
        // nps_reference.out.txt (50, 20, 100, 30, 40, 100, 0.95).
        assert_close(c.net_gap_points_ci.lower, 16.86587974532808, 1e-9);
        assert_close(c.net_gap_points_ci.upper, 60.80402316729327, 1e-9);
        assert!((c.net_p_value - 0.0005309253862366105).abs() < 1e-9 * 0.0005309253862366105);
        // The favorable-share figures are those of §5, unchanged.
        assert_close(c.gap_points, 20.0, 1e-12);
        assert_eq!(
            c.gap_points_ci,
            newcombe_diff_interval(50, 100, 30, 100, 0.95)
                .unwrap()
                .scaled(100.0)
        );
        assert_eq!(c.fdr, FdrControl::alone(c.p_value, 0.95));
    }

    #[test]
    fn without_unfavorable_max_the_net_figures_are_the_share_figures() {
        let q = RatingQuestion {
            unfavorable_max: None,
            ..FIVE_POINT
        };
        let from = role_figures(&q, &[(5, 17), (2, 13)], 5, 0.90);
        let to = role_figures(&q, &[(4, 9), (1, 31)], 5, 0.90);
        let s = from.shares.unwrap();
        assert_eq!(s.net_score_ci, s.favorable_ci.scaled(100.0));
        let c = compare(&from, &to, 0.90).unwrap();
        assert_eq!(c.net_gap_points, c.gap_points);
        assert_eq!(c.net_gap_points_ci, c.gap_points_ci);
        assert_eq!(c.net_p_value, c.p_value);
    }

    #[test]
    fn a_withheld_role_is_a_role_suppressed_by_size() {
        let shown = role_figures(&FIVE_POINT, &hist(2, 4), 0, 0.95);
        let by_size = role_figures(&FIVE_POINT, &hist(2, 4), 5, 0.95);
        assert!(!shown.suppressed);
        assert_eq!(shown.withheld(), by_size);
        let other = role_figures(&FIVE_POINT, &hist(20, 40), 0, 0.95);
        assert!(compare(&other, &shown, 0.95).is_some());
        assert_eq!(compare(&other, &shown.withheld(), 0.95), None);
    }

    #[test]
    fn question_without_unfavorable_max_counts_unfavorable_as_zero() {
        let q = RatingQuestion {
            unfavorable_max: None,
            ..FIVE_POINT
        };
        let s = role_figures(&q, &[(1, 6), (5, 4)], 5, 0.95).shares.unwrap();
        assert_eq!(s.unfavorable, None);
        assert_eq!(s.unfavorable_share, None);
        assert_eq!(s.unfavorable_ci, None);
        assert_close(s.net_score, 40.0, 1e-12);
    }

    #[test]
    fn small_and_empty_roles_are_suppressed() {
        let small = role_figures(&FIVE_POINT, &hist(3, 4), 5, 0.95);
        assert_eq!(small.respondents, 4);
        assert!(small.suppressed);
        assert_eq!(small.shares, None);

        let empty = role_figures(&FIVE_POINT, &[], 5, 0.95);
        assert_eq!((empty.respondents, empty.suppressed), (0, true));
        // n = 0 is "count only" even without an anonymity threshold.
        let empty = role_figures(&FIVE_POINT, &[(4, 0)], 0, 0.95);
        assert_eq!((empty.respondents, empty.suppressed), (0, true));
        // Exactly min_group_size is enough.
        assert!(!role_figures(&FIVE_POINT, &hist(3, 5), 5, 0.95).suppressed);
        // Without a threshold a single answer is shown.
        assert!(!role_figures(&FIVE_POINT, &[(5, 1)], 0, 0.95).suppressed);

        let big = role_figures(&FIVE_POINT, &hist(50, 100), 5, 0.95);
        assert_eq!(compare(&big, &small, 0.95), None);
        assert_eq!(compare(&small, &big, 0.95), None);
        assert_eq!(compare(&big, &empty, 0.95), None);
    }

    #[test]
    fn nobody_and_everybody_favorable() {
        let none = role_figures(&FIVE_POINT, &hist(0, 40), 5, 0.95);
        let all = role_figures(&FIVE_POINT, &hist(40, 40), 5, 0.95);
        let s = none.shares.unwrap();
        assert_eq!(s.favorable_share, 0.0);
        assert_eq!(s.favorable_ci.lower, 0.0);
        assert_eq!(all.shares.unwrap().favorable_ci.upper, 1.0);

        let c = compare(&all, &none, 0.95).unwrap();
        assert_eq!(c.gap_points, 100.0);
        assert!(c.gap_points_ci.upper <= 100.0 && c.significant);
        assert_eq!(c.agreement_ratio, Some(0.0));

        // From a role where nobody is favorable: no agreement ratio.
        let c = compare(&none, &all, 0.95).unwrap();
        assert_eq!(c.agreement_ratio, None);
        assert_eq!(c.gap_points, -100.0);

        // Identical extremes: pooled share 0 → p-value 1, not significant.
        let c = compare(&none, &none, 0.95).unwrap();
        assert_eq!((c.gap_points, c.p_value, c.significant), (0.0, 1.0, false));
    }

    #[test]
    fn other_confidence_levels_widen_and_narrow() {
        let a = role_figures(&FIVE_POINT, &hist(30, 40), 5, 0.90);
        let b = role_figures(&FIVE_POINT, &hist(45, 90), 5, 0.90);
        let c90 = compare(&a, &b, 0.90).unwrap();
        let c99 = compare(&a, &b, 0.99).unwrap();
        // statsmodels confint_proportions_2indep(method="newcomb")
        assert_close(c90.gap_points_ci.lower, 9.779865701683046, 1e-9);
        assert_close(c90.gap_points_ci.upper, 37.723145623453425, 1e-9);
        assert_close(c99.gap_points_ci.lower, 0.8624262734893973, 1e-9);
        assert_close(c99.gap_points_ci.upper, 43.56888222312442, 1e-9);
        assert_eq!(c90.p_value, c99.p_value);
    }

    #[test]
    fn question_gap_reports_three_comparisons() {
        let leaders = hist(80, 100);
        let staff = hist(2, 3);
        let customers = hist(8, 100);
        let g = question_gap(
            &FIVE_POINT,
            ByRole {
                leadership: &leaders,
                staff: &staff,
                customer: &customers,
            },
            5,
            0.95,
        );
        assert!(g.roles.staff.suppressed);
        let pairs: Vec<_> = g.comparisons.iter().map(|c| (c.from, c.to)).collect();
        assert_eq!(pairs, Role::COMPARISONS);
        assert_close(g.comparisons[0].comparison.unwrap().gap_points, 72.0, 1e-12);
        assert_eq!(g.comparisons[1].comparison, None);
        assert_eq!(g.comparisons[2].comparison, None);
        assert_eq!(g.vs_rest, None, "only a group's report has one");
    }
}
