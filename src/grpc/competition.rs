//! `GetCompetitiveGap` (SPEC §16.3) over gRPC: the request checked against
//! the tenant's catalog (`service::competition::CompetitionQuery::plan`),
//! the leads computed by `service::competition`, and their conversion to
//! protobuf. A suppressed lead carries only its respondents.

use super::{convert, scoring::signed};
use crate::{
    domain::{TenantId, Violations},
    proto::v1::*,
    service::{
        ServiceResult, Services,
        competition::{self as service, CompetitionQuery, QuestionLead},
        context::Context,
    },
};

/// `GetCompetitiveGap`.
pub async fn competitive_gap(
    services: &Services,
    tenant: TenantId,
    request: GetCompetitiveGapRequest,
) -> ServiceResult<GetCompetitiveGapResponse> {
    let ctx = Context::load(services, tenant).await?;
    let mut v = Violations::default();
    let scope = convert::scope(&mut v, "filter", request.filter.as_ref());
    let plan = CompetitionQuery {
        scope,
        questions: request.questions,
        competitor: (!request.competitor.is_empty()).then_some(request.competitor),
        confidence: request.confidence_level,
    }
    .plan(v, &ctx)?;
    let gap = service::competitive_gap(services, tenant, &plan).await?;
    Ok(GetCompetitiveGapResponse {
        gaps: gap.gaps.iter().map(lead_to_proto).collect(),
        confidence_level: gap.confidence,
        min_group_size: i32::try_from(gap.min_group_size).unwrap_or(i32::MAX),
    })
}

/// One (question, competitor) lead.
pub fn lead_to_proto(g: &QuestionLead) -> CompetitorGap {
    let mut out = CompetitorGap {
        question: g.question.clone(),
        competitor: g.competitor.clone(),
        respondents: signed(g.lead.respondents),
        suppressed: g.lead.suppressed,
        ..CompetitorGap::default()
    };
    if let Some(f) = &g.lead.figures {
        out.mean_us = f.mean_us;
        out.mean_competitor = f.mean_competitor;
        out.mean_lead_points = f.lead.points;
        out.mean_lead_points_ci = Some(f.lead.ci.into());
        out.p_value = f.lead.p_value;
        out.q_value = f.lead.q_value;
        out.significant = f.lead.significant;
        out.significant_after_fdr = f.lead.significant_after_fdr;
        out.wins = signed(f.wins);
        out.losses = signed(f.losses);
        out.ties = signed(f.ties);
        out.win_share = f.win_share.map(|(share, _)| share);
        out.win_share_ci = f.win_share.map(|(_, ci)| ci.into());
        out.sign_test_p_value = f.sign_test_p_value;
    }
    out
}
