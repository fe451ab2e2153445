//! The reports of the groups of a `group_by` (SPEC §5), with complementary
//! suppression across them (§10.5) and each group's customers against the
//! rest (§10.3), all from the histograms already aggregated: the rest of a
//! group is the sum over groups less its own, so no query is added.
//!
//! Decisions where SPEC §10.5 is silent:
//! - "The smallest other unsuppressed group" is the one with the fewest
//!   respondents of that role on that question; on a tie, the first by
//!   label value in byte order (the order the groups are reported in).
//! - A group with no respondents of that role is suppressed but hides
//!   nothing, so it does not count as the one suppressed group (with a
//!   second group of 0 the small one would stay recoverable).
//! - The overall report is the margin of the table, not one of its cells:
//!   it is never suppressed to protect a group. Responses without the label
//!   are in the overall report only, so a cell is recoverable only up to
//!   them; the rule is applied all the same.
//! - `vs_rest` is absent for a group whose customers are withheld, by size
//!   or by complementary suppression: with the overall figure, the gap to
//!   the rest would give the group's favorable count back.

use std::collections::BTreeMap;

use super::{GapPlan, GapReport, GroupData, RatingGap};
use crate::scoring::{
    ByRole, QuestionGap, Role, RoleFigures,
    gap::{add_histogram, compare_to_rest, complementary_cell, rest_figures},
    role_figures,
};

/// One group's data on one RATING question.
struct Cell {
    /// Index of the group in the response.
    group: usize,
    /// The customers' (score, respondents), for the rest of the others.
    customers: Vec<(i32, u64)>,
    roles: ByRole<RoleFigures>,
}

/// The report of every group, in the order given (byte order of the label
/// value), each listing its questions by key.
pub(super) fn group_reports(
    plan: &GapPlan,
    groups: BTreeMap<String, GroupData>,
) -> Vec<(String, GapReport)> {
    // question → the groups that report it, in group order.
    let mut by_question: BTreeMap<String, Vec<Cell>> = BTreeMap::new();
    let mut reports = Vec::with_capacity(groups.len());
    for (group, (value, data)) in groups.into_iter().enumerate() {
        let GroupData {
            mut ratings,
            themes,
        } = data;
        for (question, scale) in plan.rating_questions(&ratings) {
            let histograms = ratings.remove(&question).unwrap_or_default();
            let roles =
                histograms.map(|_, h| role_figures(scale, h, plan.min_group_size, plan.confidence));
            by_question.entry(question).or_default().push(Cell {
                group,
                customers: histograms.customer,
                roles,
            });
        }
        let report = GapReport {
            questions: Vec::new(),
            themes: plan.themes_report(themes),
        };
        reports.push((value, report));
    }

    // Questions in key order, so each report lists its own in key order.
    for (question, mut cells) in by_question {
        let scale = &plan.rating[&question];
        for role in Role::ALL {
            if let Some(i) = complementary_cell(cells.iter().map(|c| c.roles.get(role))) {
                let figures = cells[i].roles.get_mut(role);
                *figures = figures.withheld();
            }
        }
        let mut customers = BTreeMap::new();
        for cell in &cells {
            add_histogram(&mut customers, &cell.customers);
        }
        for cell in cells {
            let rest = rest_figures(
                scale,
                &customers,
                &cell.customers,
                plan.min_group_size,
                plan.confidence,
            );
            let mut gap = QuestionGap::from_roles(cell.roles, plan.confidence);
            gap.vs_rest = compare_to_rest(&gap.roles.customer, &rest, plan.confidence);
            reports[cell.group].1.questions.push(RatingGap {
                question: question.clone(),
                gap,
            });
        }
    }
    reports
}
