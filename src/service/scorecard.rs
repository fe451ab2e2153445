//! The scorecard (SPEC §8): the headline figures in one call, composed from
//! the same domain functions the individual scores use, under one
//! [`Context`] (model and catalog read once), so a dashboard and a
//! drill-down never disagree. `top_priority` is the first CONCENTRATE_HERE
//! question of the scope's priority map and `largest_shortfall` the largest
//! customer expectation gap significant after FDR control (SPEC §16.4).

use super::{
    ServiceResult, Services,
    context::Context,
    effort::{self, EffortQuery, EffortReport},
    expectation::{self, ExpectationGap, ExpectationPlan, QuestionExpectation},
    gap::{self, GapQuery, PerceptionGap},
    loyalty::{self, LoyaltyQuery, LoyaltyReport},
    priority::{self, PriorityMap},
};
use crate::{
    domain::{Scope, TenantId, Violations},
    scoring::{Comparison, Role, RoleComparison, RoleFigures},
};

/// How many significant gaps the scorecard lists.
pub const LARGEST_GAPS: usize = 3;

/// The question whose LEADERSHIP→CUSTOMER gap is the headline.
pub const DELIVERY_GAP_QUESTION: &str = "overall_experience";

/// The NPS question.
pub const NPS_QUESTION: &str = "likelihood_to_recommend";

/// One comparison of one question.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionComparison {
    pub question: String,
    pub from: Role,
    pub to: Role,
    pub comparison: Comparison,
}

/// The scorecard of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecard {
    /// The LEADERSHIP→CUSTOMER comparison of [`DELIVERY_GAP_QUESTION`].
    pub delivery_gap: Option<Comparison>,
    /// The [`LARGEST_GAPS`] comparisons with the largest absolute gap
    /// among those significant after FDR control (SPEC §10.2).
    pub largest_gaps: Vec<QuestionComparison>,
    /// CUSTOMER figures of [`NPS_QUESTION`].
    pub customer_nps: Option<RoleFigures>,
    pub effort: EffortReport,
    pub loyalty: LoyaltyReport,
    /// The perception gap of the scope over every question (default
    /// confidence, no groups) the figures above come from.
    pub gaps: PerceptionGap,
    /// The priority map of the scope (from `gaps`); its first
    /// CONCENTRATE_HERE question is the scorecard's top priority.
    pub priority: PriorityMap,
    /// The expectation gaps of the scope over every question with
    /// EXPECTATION answers (as GetExpectationGap without `questions`).
    pub expectations: ExpectationGap,
}

impl Scorecard {
    /// The question whose customers' gap 5 is the most negative among
    /// those significant after FDR control: what customers most clearly
    /// got less of than they expected. Ties by key.
    pub fn largest_shortfall(&self) -> Option<&QuestionExpectation> {
        let points = |q: &QuestionExpectation| {
            q.figures
                .customers
                .figures
                .as_ref()
                .filter(|f| f.gap.significant_after_fdr && f.gap.points < 0.0)
                .map(|f| f.gap.points)
        };
        self.expectations
            .questions
            .iter()
            .filter_map(|q| points(q).map(|p| (p, q)))
            .min_by(|(a, qa), (b, qb)| a.total_cmp(b).then_with(|| qa.question.cmp(&qb.question)))
            .map(|(_, q)| q)
    }
}

/// Computes the scorecard of `scope` under `ctx`.
pub async fn scorecard(
    services: &Services,
    tenant: TenantId,
    scope: &Scope,
    ctx: &Context,
) -> ServiceResult<Scorecard> {
    let plan = GapQuery {
        scope: scope.clone(),
        ..GapQuery::default()
    }
    .plan(Violations::default(), ctx)?
    // The scorecard reports no theme: none is aggregated.
    .without_themes();
    let effort_query = EffortQuery {
        scope: scope.clone(),
        confidence: None,
    };
    let loyalty_query = LoyaltyQuery {
        scope: scope.clone(),
        confidence: None,
    };
    let expectation_plan = ExpectationPlan::plan_for(scope.clone(), &[], plan.confidence, ctx);
    // Two stages, so the call never asks for more of its tenant's
    // connection permits at once than the default budget (4) holds: the
    // perception and expectation gaps take two each, then effort (one) and
    // loyalty (its tiers and its calibration, one each). All four at once
    // asked for six or seven; once a part ran longer than the acquire
    // timeout (at 10M answers every part does) the last ones were refused
    // and the scorecard failed RESOURCE_EXHAUSTED on its own.
    let (gaps, expectations) = tokio::try_join!(
        gap::perception_gap(services, tenant, &plan),
        expectation::expectation_gap(services, tenant, &expectation_plan),
    )?;
    let (effort, loyalty) = tokio::try_join!(
        effort::effort_index(
            services,
            tenant,
            &effort_query,
            (&ctx.model, Some(&ctx.etag))
        ),
        loyalty::loyalty_risk(
            services,
            tenant,
            &loyalty_query,
            (&ctx.model, Some(&ctx.etag))
        ),
    )?;
    let delivery_gap = gaps
        .overall
        .question(DELIVERY_GAP_QUESTION)
        .and_then(|q| comparison(&q.comparisons, Role::Leadership, Role::Customer))
        .copied();
    let customer_nps = gaps
        .overall
        .question(NPS_QUESTION)
        .map(|q| *q.roles.get(Role::Customer));
    // From the perception gap above: performance and delivery gaps are not
    // aggregated twice.
    let priority =
        priority::priority_map_from_gaps(services, tenant, scope, ctx, &gaps, &expectations)
            .await?;
    Ok(Scorecard {
        delivery_gap,
        largest_gaps: largest_significant_gaps(&gaps, LARGEST_GAPS),
        customer_nps,
        effort,
        loyalty,
        gaps,
        priority,
        expectations,
    })
}

/// The comparison `from` → `to`, if both sides are shown.
pub fn comparison(
    comparisons: &[RoleComparison<Comparison>],
    from: Role,
    to: Role,
) -> Option<&Comparison> {
    comparisons
        .iter()
        .find(|c| c.from == from && c.to == to)
        .and_then(|c| c.comparison.as_ref())
}

/// The `n` comparisons with the largest absolute gap, across questions,
/// among those significant after FDR control over every comparison of
/// `gaps` (SPEC §10.2) whose interval also excludes 0 (q < α implies
/// p < α, so this drops only gaps where the z-test and the Newcombe
/// interval disagree at the margin: a listed gap's interval never contains
/// 0); ties by question key, then by comparison order.
fn largest_significant_gaps(gaps: &PerceptionGap, n: usize) -> Vec<QuestionComparison> {
    let mut all: Vec<QuestionComparison> = gaps
        .overall
        .questions
        .iter()
        .flat_map(|q| {
            q.gap.comparisons.iter().filter_map(|c| {
                let comparison = c
                    .comparison
                    .filter(|c| c.significant && c.fdr.significant_after_fdr)?;
                Some(QuestionComparison {
                    question: q.question.clone(),
                    from: c.from,
                    to: c.to,
                    comparison,
                })
            })
        })
        .collect();
    let size = |g: &QuestionComparison| g.comparison.gap_points.abs();
    // A stable sort keeps question-key order among equal gaps.
    all.sort_by(|a, b| size(b).total_cmp(&size(a)));
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{
        ByRole, Interval, QuestionGap,
        gap::{FdrControl, RatingQuestion},
    };

    /// A comparison significant by its interval or not, and after FDR
    /// control or not.
    fn comparison(
        from: Role,
        to: Role,
        gap: f64,
        (significant, significant_after_fdr): (bool, bool),
    ) -> RoleComparison<Comparison> {
        let gap_points_ci = Interval {
            lower: gap,
            upper: gap,
        };
        RoleComparison {
            from,
            to,
            comparison: Some(Comparison {
                gap_points: gap,
                gap_points_ci,
                p_value: 0.0,
                significant,
                mean_gap_points: 0.0,
                agreement_ratio: None,
                net_gap_points: gap,
                net_gap_points_ci: gap_points_ci,
                net_p_value: 0.0,
                fdr: FdrControl {
                    q_value: if significant_after_fdr { 0.0 } else { 1.0 },
                    significant_after_fdr,
                },
            }),
        }
    }

    fn question(key: &str, comparisons: Vec<RoleComparison<Comparison>>) -> gap::RatingGap {
        let empty = crate::scoring::role_figures(
            &RatingQuestion {
                scale_min: 1,
                scale_max: 5,
                favorable_min: 4,
                unfavorable_max: None,
            },
            &[],
            1,
            0.95,
        );
        gap::RatingGap {
            question: key.into(),
            gap: QuestionGap {
                roles: ByRole {
                    leadership: empty,
                    staff: empty,
                    customer: empty,
                },
                comparisons,
                vs_rest: None,
            },
        }
    }

    #[test]
    fn only_gaps_significant_after_fdr_rank_by_absolute_size() {
        use Role::*;
        let gaps = |questions| PerceptionGap {
            overall: gap::GapReport {
                questions,
                themes: vec![],
            },
            groups: vec![],
            confidence: 0.95,
            min_group_size: 1,
        };
        let both = (true, true);
        let all = gaps(vec![
            question(
                "a",
                vec![
                    comparison(Leadership, Customer, 10.0, both),
                    comparison(Staff, Customer, 90.0, (false, false)),
                ],
            ),
            question(
                "b",
                vec![
                    comparison(Leadership, Customer, -40.0, both),
                    // Nominally significant, not after FDR control.
                    comparison(Staff, Customer, 30.0, (true, false)),
                    comparison(Leadership, Staff, 20.0, both),
                ],
            ),
            question(
                "c",
                vec![
                    comparison(Staff, Customer, 5.0, both),
                    // The z-test and the interval disagree: left out.
                    comparison(Leadership, Customer, 50.0, (false, true)),
                ],
            ),
        ]);
        let top = largest_significant_gaps(&all, 3);
        let got: Vec<_> = top
            .iter()
            .map(|g| (g.question.as_str(), g.comparison.gap_points))
            .collect();
        assert_eq!(got, [("b", -40.0), ("b", 20.0), ("a", 10.0)]);
        assert!(largest_significant_gaps(&gaps(vec![]), 3).is_empty());
    }
}
