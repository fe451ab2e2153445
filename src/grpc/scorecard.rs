//! `GetScorecard` (SPEC §8) over gRPC: the filter as a scope, the
//! scorecard composed by `service::scorecard`, and its protobuf form (the
//! same conversions as the individual RPCs).

use super::{convert, effort, expectation, gap, priority, scoring::signed};
use crate::{
    domain::{TenantId, Violations, enums::EffortTier},
    proto::v1::*,
    scoring::Role,
    service::{
        ServiceResult, Services,
        context::Context,
        scorecard::{self as service, Scorecard},
    },
};

/// `GetScorecard`.
pub async fn scorecard(
    services: &Services,
    tenant: TenantId,
    request: GetScorecardRequest,
) -> ServiceResult<GetScorecardResponse> {
    let mut v = Violations::default();
    let scope = convert::scope(&mut v, "filter", request.filter.as_ref());
    v.into_result()?;
    let ctx = Context::load(services, tenant).await?;
    let card = service::scorecard(services, tenant, &scope, &ctx).await?;
    Ok(response(&card))
}

/// The protobuf form of a scorecard.
pub fn response(card: &Scorecard) -> GetScorecardResponse {
    let loyalty = &card.loyalty;
    GetScorecardResponse {
        delivery_gap: card
            .delivery_gap
            .map(|c| gap::comparison_to_proto(Role::Leadership, Role::Customer, &c)),
        largest_gaps: card
            .largest_gaps
            .iter()
            .map(|g| ScorecardGap {
                question: g.question.clone(),
                comparison: Some(gap::comparison_to_proto(g.from, g.to, &g.comparison)),
            })
            .collect(),
        customer_nps: card
            .customer_nps
            .map(|f| gap::role_figures_to_proto(Role::Customer, &f)),
        customer_ces: Some(effort::survey_effort(&card.effort.survey)),
        effort: Some(effort::summary(
            &card.effort.journeys,
            card.effort.customers,
        )),
        loyalty: Some(LoyaltyHeadline {
            customers: signed(loyalty.risk.customers),
            high_effort_customers: signed(loyalty.customers(EffortTier::High)),
            likely_detractors: loyalty.risk.likely_detractors,
            headline: loyalty.headline.clone(),
        }),
        confidence_level: card.gaps.confidence,
        top_priority: card
            .priority
            .top_priority()
            .map(priority::question_to_proto),
        largest_shortfall: card.largest_shortfall().map(expectation::question_to_proto),
    }
}
