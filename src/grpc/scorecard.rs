//! `GetScorecard` (SPEC §8): the headline figures in one call, composed
//! from the same functions the individual RPCs use, so a dashboard and a
//! drill-down never disagree.

use super::{ApiResult, AppState, effort, gap, loyalty};
use crate::{proto::v1::*, store::tenants::TenantId};

/// How many significant gaps the scorecard lists.
const LARGEST_GAPS: usize = 3;

/// The question whose LEADERSHIP→CUSTOMER gap is the headline.
const DELIVERY_GAP_QUESTION: &str = "overall_experience";

/// The NPS question.
const NPS_QUESTION: &str = "likelihood_to_recommend";

/// Computes the scorecard.
pub async fn scorecard(
    state: &AppState,
    tenant: TenantId,
    request: GetScorecardRequest,
) -> ApiResult<GetScorecardResponse> {
    let filter = request.filter;
    let gap_request = GetPerceptionGapRequest {
        filter: filter.clone(),
        questions: vec![],
        confidence_level: None,
        group_by: String::new(),
    };
    let effort_request = GetEffortIndexRequest {
        filter: filter.clone(),
        confidence_level: None,
    };
    let loyalty_request = GetLoyaltyRiskRequest {
        filter,
        confidence_level: None,
    };
    let (gaps, efforts, risk) = tokio::try_join!(
        gap::perception_gap(state, tenant, gap_request),
        effort::effort_index(state, tenant, effort_request),
        loyalty::loyalty_risk(state, tenant, loyalty_request),
    )?;
    let questions = gaps.overall.map(|r| r.questions).unwrap_or_default();

    let delivery_gap = questions
        .iter()
        .find(|q| q.question == DELIVERY_GAP_QUESTION)
        .and_then(|q| find_comparison(q, RespondentRole::Leadership, RespondentRole::Customer))
        .cloned();
    let customer_nps = questions
        .iter()
        .find(|q| q.question == NPS_QUESTION)
        .and_then(|q| {
            q.roles
                .iter()
                .find(|r| r.role == RespondentRole::Customer as i32)
        })
        .cloned();
    let largest_gaps = largest_significant_gaps(&questions, LARGEST_GAPS);
    let high = risk
        .tiers
        .iter()
        .find(|t| t.tier == EffortTier::High as i32)
        .map_or(0, |t| t.customers);

    Ok(GetScorecardResponse {
        delivery_gap,
        largest_gaps,
        customer_nps,
        customer_ces: efforts.survey_effort,
        effort: efforts.summary,
        loyalty: Some(LoyaltyHeadline {
            customers: risk.customers,
            high_effort_customers: high,
            likely_detractors: risk.likely_detractors,
            headline: risk.headline,
        }),
        confidence_level: gaps.confidence_level,
    })
}

fn find_comparison(
    q: &QuestionGap,
    from: RespondentRole,
    to: RespondentRole,
) -> Option<&RoleComparison> {
    q.comparisons
        .iter()
        .find(|c| c.from_role == from as i32 && c.to_role == to as i32)
}

/// The `n` significant comparisons with the largest absolute gap, across
/// questions; ties by question key, then by comparison order.
fn largest_significant_gaps(questions: &[QuestionGap], n: usize) -> Vec<ScorecardGap> {
    let mut all: Vec<ScorecardGap> = questions
        .iter()
        .flat_map(|q| {
            q.comparisons
                .iter()
                .filter(|c| c.significant)
                .map(|c| ScorecardGap {
                    question: q.question.clone(),
                    comparison: Some(*c),
                })
        })
        .collect();
    let size = |g: &ScorecardGap| g.comparison.as_ref().map_or(0.0, |c| c.gap_points.abs());
    // A stable sort keeps question-key order among equal gaps.
    all.sort_by(|a, b| size(b).total_cmp(&size(a)));
    all.truncate(n);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison(
        from: RespondentRole,
        to: RespondentRole,
        gap: f64,
        significant: bool,
    ) -> RoleComparison {
        RoleComparison {
            from_role: from as i32,
            to_role: to as i32,
            gap_points: gap,
            significant,
            ..Default::default()
        }
    }

    #[test]
    fn only_significant_gaps_rank_by_absolute_size() {
        use RespondentRole::*;
        let questions = vec![
            QuestionGap {
                question: "a".into(),
                roles: vec![],
                comparisons: vec![
                    comparison(Leadership, Customer, 10.0, true),
                    comparison(Staff, Customer, 90.0, false),
                ],
            },
            QuestionGap {
                question: "b".into(),
                roles: vec![],
                comparisons: vec![
                    comparison(Leadership, Customer, -40.0, true),
                    comparison(Leadership, Staff, 20.0, true),
                ],
            },
            QuestionGap {
                question: "c".into(),
                roles: vec![],
                comparisons: vec![comparison(Staff, Customer, 5.0, true)],
            },
        ];
        let top = largest_significant_gaps(&questions, 3);
        let got: Vec<_> = top
            .iter()
            .map(|g| {
                (
                    g.question.as_str(),
                    g.comparison.as_ref().unwrap().gap_points,
                )
            })
            .collect();
        assert_eq!(got, [("b", -40.0), ("b", 20.0), ("a", 10.0)]);
        assert!(largest_significant_gaps(&[], 3).is_empty());
    }
}
