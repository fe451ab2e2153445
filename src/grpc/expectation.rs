//! `GetExpectationGap` (SPEC §16.2) over gRPC: the request checked against
//! the tenant's catalog (`service::expectation::ExpectationQuery::plan`),
//! the gaps computed by `service::expectation`, and their conversion to
//! protobuf. A suppressed figure carries only its counts.

use super::{convert, scoring::signed};
use crate::{
    domain::{Numbered, TenantId, Violations},
    proto::v1::*,
    scoring::expectation::{Belief, CustomerGap},
    service::{
        ServiceResult, Services,
        context::Context,
        expectation::{self as service, ExpectationQuery, QuestionExpectation},
    },
};

/// `GetExpectationGap`.
pub async fn expectation_gap(
    services: &Services,
    tenant: TenantId,
    request: GetExpectationGapRequest,
) -> ServiceResult<GetExpectationGapResponse> {
    let ctx = Context::load(services, tenant).await?;
    let mut v = Violations::default();
    let scope = convert::scope(&mut v, "filter", request.filter.as_ref());
    let plan = ExpectationQuery {
        scope,
        questions: request.questions,
        confidence: request.confidence_level,
    }
    .plan(v, &ctx)?;
    let gap = service::expectation_gap(services, tenant, &plan).await?;
    Ok(GetExpectationGapResponse {
        questions: gap.questions.iter().map(question_to_proto).collect(),
        confidence_level: gap.confidence,
        min_group_size: i32::try_from(gap.min_group_size).unwrap_or(i32::MAX),
    })
}

/// One question's expectation gaps (also the scorecard's
/// `largest_shortfall`).
pub fn question_to_proto(q: &QuestionExpectation) -> ExpectationQuestion {
    ExpectationQuestion {
        question: q.question.clone(),
        customers: Some(customers_to_proto(&q.figures.customers)),
        beliefs: q
            .figures
            .beliefs
            .iter()
            .map(|(role, b)| belief_to_proto(role.number(), b))
            .collect(),
    }
}

fn customers_to_proto(g: &CustomerGap) -> CustomerExpectationGap {
    let mut out = CustomerExpectationGap {
        respondents: signed(g.respondents),
        suppressed: g.suppressed,
        ..CustomerExpectationGap::default()
    };
    if let Some(f) = &g.figures {
        out.mean_expectation = f.mean_expectation;
        out.mean_experience = f.mean_experience;
        out.mean_gap_points = f.gap.points;
        out.mean_gap_points_ci = Some(f.gap.ci.into());
        out.p_value = f.gap.p_value;
        out.q_value = f.gap.q_value;
        out.significant = f.gap.significant;
        out.significant_after_fdr = f.gap.significant_after_fdr;
        out.shortfalls = signed(f.shortfalls);
        out.shortfall_share = f.shortfall_share;
        out.shortfall_share_ci = Some(f.shortfall_share_ci.into());
    }
    out
}

fn belief_to_proto(role: i32, b: &Belief) -> ExpectationBelief {
    let mut out = ExpectationBelief {
        role,
        respondents: signed(b.respondents),
        customer_respondents: signed(b.customer_respondents),
        suppressed: b.suppressed,
        ..ExpectationBelief::default()
    };
    if let Some(f) = &b.figures {
        out.mean_expectation = f.mean_expectation;
        out.customer_mean_expectation = f.customer_mean_expectation;
        out.gap_points = f.gap.points;
        out.gap_points_ci = Some(f.gap.ci.into());
        out.p_value = f.gap.p_value;
        out.q_value = f.gap.q_value;
        out.significant = f.gap.significant;
        out.significant_after_fdr = f.gap.significant_after_fdr;
    }
    out
}
