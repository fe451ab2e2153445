//! The groups of a `group_by` against each other: each group's customers
//! against the rest (SPEC §10.3), and the complementary suppression that
//! keeps a small group's figures from being recovered by subtraction
//! (§10.5).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{FdrControl, RoleFigures, Tested, compare, role_figures};
use crate::scoring::{RatingQuestion, stats::Interval};

/// Which cell, besides the ones suppressed by size, must be suppressed so
/// that no cell equals "overall minus the rest" (SPEC §10.5).
///
/// `cells` are one question and role's figures in every group of a
/// response, in group order. A cell hides something when it is suppressed
/// with at least one respondent: its count is shown, its shares are not.
/// When exactly one cell hides something, the overall figure minus the
/// shown cells would reveal it, so the smallest shown cell (fewest
/// respondents; on a tie the first in group order, i.e. the label value
/// first in byte order) must be suppressed as well: then only the sum of
/// the two can be recovered. With two or more hiding cells no single one
/// can be.
///
/// A suppressed cell of 0 respondents hides nothing (there is no share to
/// recover) and does not count; counting it would leave the one real
/// hidden cell recoverable.
///
/// `None` when nothing more needs suppressing, including when no cell is
/// shown (the hidden cell is then at most the overall less the responses
/// without the label, which no report shows).
pub fn complementary_cell<'a>(cells: impl IntoIterator<Item = &'a RoleFigures>) -> Option<usize> {
    let mut hiding = 0;
    let mut smallest: Option<(usize, u64)> = None;
    for (i, cell) in cells.into_iter().enumerate() {
        if cell.suppressed {
            hiding += usize::from(cell.respondents > 0);
        } else if smallest.is_none_or(|(_, n)| cell.respondents < n) {
            smallest = Some((i, cell.respondents));
        }
    }
    (hiding == 1).then_some(smallest).flatten().map(|(i, _)| i)
}

/// A group's customers against the customers of every other group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RestComparison {
    /// Customers of the other groups who answered the question.
    pub rest_respondents: u64,
    /// (p_group − p_rest) × 100; negative: the group is worse.
    pub gap_points: f64,
    /// Newcombe hybrid score interval of p_group − p_rest, × 100.
    pub gap_points_ci: Interval,
    /// Two-sided pooled two-proportion z-test of p_group = p_rest.
    pub p_value: f64,
    /// True when `gap_points_ci` excludes 0.
    pub significant: bool,
    /// Over every `vs_rest` of the response, a family of its own.
    pub fdr: FdrControl,
}

impl Tested for RestComparison {
    fn p_value(&self) -> f64 {
        self.p_value
    }
    fn set_fdr(&mut self, fdr: FdrControl) {
        self.fdr = fdr;
    }
}

/// The group against the rest (SPEC §10.3), from the two favorable shares
/// exactly as a comparison of two roles (§5):
///
/// ```text
/// gap_points    = (p_group − p_rest) × 100
/// gap_points_ci = Newcombe(f_group, n_group, f_rest, n_rest) × 100
/// p_value       = pooled z-test, two-sided
/// ```
///
/// `group` is the group's figures as reported (so a group suppressed by
/// complementary suppression has no comparison either: with the overall
/// figure, its gap to the rest would give its favorable count back);
/// `rest` the figures of the rest, suppressed below `min_group_size` like
/// any other. `None` when either is suppressed (§10.5).
pub fn compare_to_rest(
    group: &RoleFigures,
    rest: &RoleFigures,
    confidence: f64,
) -> Option<RestComparison> {
    let c = compare(group, rest, confidence)?;
    Some(RestComparison {
        rest_respondents: rest.respondents,
        gap_points: c.gap_points,
        gap_points_ci: c.gap_points_ci,
        p_value: c.p_value,
        significant: c.significant,
        fdr: FdrControl::alone(c.p_value, confidence),
    })
}

/// The figures of the rest: the histogram of every group together
/// (`all`, score → respondents) less this group's own histogram, scored
/// like any role (SPEC §5).
///
/// Every group's histogram is already aggregated, so the rest of each of
/// G groups costs one subtraction instead of a sum over G − 1 groups.
pub fn rest_figures(
    question: &RatingQuestion,
    all: &BTreeMap<i32, u64>,
    own: &[(i32, u64)],
    min_group_size: u64,
    confidence: f64,
) -> RoleFigures {
    let mut rest = all.clone();
    for &(score, count) in own {
        if let Some(n) = rest.get_mut(&score) {
            *n = n.saturating_sub(count);
        }
    }
    let histogram: Vec<(i32, u64)> = rest.into_iter().collect();
    role_figures(question, &histogram, min_group_size, confidence)
}

/// Adds a histogram to a running total (score → respondents).
pub fn add_histogram(total: &mut BTreeMap<i32, u64>, histogram: &[(i32, u64)]) {
    for &(score, count) in histogram {
        *total.entry(score).or_default() += count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::stats::{newcombe_diff_interval, pooled_z_test_p_value};

    const Q: RatingQuestion = RatingQuestion {
        scale_min: 1,
        scale_max: 5,
        favorable_min: 4,
        unfavorable_max: Some(2),
    };

    fn cell(favorable: u64, n: u64) -> RoleFigures {
        role_figures(&Q, &[(5, favorable), (3, n - favorable)], 5, 0.95)
    }

    fn sizes(ns: &[u64]) -> Vec<RoleFigures> {
        ns.iter().map(|&n| cell(n / 2, n)).collect()
    }

    #[test]
    fn one_hidden_cell_takes_the_smallest_shown_one_with_it() {
        // One of two.
        assert_eq!(complementary_cell(&sizes(&[3, 40])), Some(1));
        assert_eq!(complementary_cell(&sizes(&[40, 3])), Some(0));
        // One of three: the smaller of the others.
        assert_eq!(complementary_cell(&sizes(&[30, 2, 9])), Some(2));
        assert_eq!(complementary_cell(&sizes(&[8, 12, 1])), Some(0));
        // A tie: the first in group order.
        assert_eq!(complementary_cell(&sizes(&[9, 4, 9, 20])), Some(0));
        assert_eq!(complementary_cell(&sizes(&[20, 9, 4, 9])), Some(1));
    }

    #[test]
    fn nothing_more_is_suppressed_otherwise() {
        // Nothing hidden.
        assert_eq!(complementary_cell(&sizes(&[5, 40])), None);
        assert_eq!(complementary_cell(&sizes(&[])), None);
        // Two hidden: neither can be recovered alone.
        assert_eq!(complementary_cell(&sizes(&[3, 4, 40])), None);
        // Nothing shown to suppress.
        assert_eq!(complementary_cell(&sizes(&[3])), None);
        assert_eq!(complementary_cell(&sizes(&[3, 0])), None);
    }

    #[test]
    fn an_empty_cell_hides_nothing() {
        // 0 respondents is suppressed but shows everything there is: the 3
        // are still the only hidden cell.
        assert_eq!(complementary_cell(&sizes(&[0, 3, 40])), Some(2));
        assert_eq!(complementary_cell(&sizes(&[0, 0, 40])), None);
    }

    #[test]
    fn the_rest_is_every_other_group() {
        let groups: [&[(i32, u64)]; 3] = [&[(5, 6), (1, 14)], &[(5, 9), (4, 3), (2, 8)], &[(4, 2)]];
        let mut all = BTreeMap::new();
        for h in groups {
            add_histogram(&mut all, h);
        }
        let rest = rest_figures(&Q, &all, groups[0], 5, 0.95);
        // 9 + 3 + 2 favorable of 22.
        assert_eq!(
            rest,
            role_figures(&Q, &[(5, 9), (4, 5), (2, 8), (1, 0)], 5, 0.95)
        );
        let s = rest.shares.unwrap();
        assert_eq!((rest.respondents, s.favorable), (22, 14));

        let group = role_figures(&Q, groups[0], 5, 0.95);
        let c = compare_to_rest(&group, &rest, 0.95).unwrap();
        assert_eq!(c.rest_respondents, 22);
        assert!((c.gap_points - (6.0 / 20.0 - 14.0 / 22.0) * 100.0).abs() < 1e-12);
        let ci = newcombe_diff_interval(6, 20, 14, 22, 0.95)
            .unwrap()
            .scaled(100.0);
        assert_eq!(c.gap_points_ci, ci);
        assert_eq!(c.p_value, pooled_z_test_p_value(6, 20, 14, 22));
        assert_eq!(c.significant, ci.excludes_zero());
        assert_eq!(c.fdr, FdrControl::alone(c.p_value, 0.95));
    }

    #[test]
    fn no_comparison_against_a_small_rest_or_from_a_hidden_group() {
        let big = cell(20, 40);
        assert_eq!(compare_to_rest(&big, &cell(2, 4), 0.95), None);
        assert_eq!(compare_to_rest(&cell(2, 4), &big, 0.95), None);
        assert_eq!(compare_to_rest(&big.withheld(), &big, 0.95), None);
        assert!(compare_to_rest(&big, &cell(2, 5), 0.95).is_some());
        // A rest with nobody in it.
        let rest = rest_figures(
            &Q,
            &BTreeMap::from([(5, 20), (3, 20)]),
            &[(5, 20), (3, 20)],
            5,
            0.95,
        );
        assert_eq!((rest.respondents, rest.suppressed), (0, true));
    }
}
