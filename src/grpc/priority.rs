//! `GetPriorityMap` (SPEC §16.4) over gRPC: the filter and confidence level
//! checked, the map computed by `service::priority`, and its protobuf form
//! (shared with the scorecard's `top_priority`).
//!
//! A suppressed question carries only its counts (`respondents`,
//! `importance_respondents`) and `suppressed = true`, as a suppressed role
//! does in `GetPerceptionGap`.

use super::scoring::{scope_and_confidence, signed};
use crate::{
    domain::TenantId,
    proto::v1::*,
    scoring::priority::{ImportanceSource as Source, Quadrant},
    service::{
        ServiceResult, Services,
        context::Context,
        priority::{self as service, PriorityMap, PriorityQuery},
    },
};

/// `GetPriorityMap`.
pub async fn priority_map(
    services: &Services,
    tenant: TenantId,
    request: GetPriorityMapRequest,
) -> ServiceResult<GetPriorityMapResponse> {
    let (scope, confidence) =
        scope_and_confidence(request.filter.as_ref(), request.confidence_level)?;
    let ctx = Context::load(services, tenant).await?;
    let map =
        service::priority_map(services, tenant, &PriorityQuery { scope, confidence }, &ctx).await?;
    Ok(response(&map))
}

/// The protobuf form of a priority map.
pub fn response(map: &PriorityMap) -> GetPriorityMapResponse {
    GetPriorityMapResponse {
        questions: map.questions.iter().map(question_to_proto).collect(),
        importance_source: match map.source {
            Some(Source::Stated) => ImportanceSource::Stated,
            Some(Source::Derived) => ImportanceSource::Derived,
            None => ImportanceSource::Unspecified,
        }
        .into(),
        importance_mean: map.importance_mean,
        performance_mean: map.performance_mean,
        derived_r_squared: map.derived.map(|d| d.r_squared),
        derived_cases: signed(map.derived_cases),
        confidence_level: map.confidence,
        min_group_size: i32::try_from(map.min_group_size).unwrap_or(i32::MAX),
    }
}

/// One question of the map; a suppressed one carries only its counts.
pub fn question_to_proto(q: &service::PriorityQuestion) -> PriorityQuestion {
    let mut out = PriorityQuestion {
        question: q.question.clone(),
        respondents: signed(q.respondents),
        suppressed: q.suppressed,
        importance_respondents: signed(q.importance_respondents),
        ..PriorityQuestion::default()
    };
    if q.suppressed {
        return out;
    }
    out.stated_importance = q.stated_importance.map(|s| s.value);
    out.stated_importance_ci = q.stated_importance.and_then(|s| s.ci).map(Into::into);
    out.derived_importance = q.derived_importance;
    if let Some(p) = q.performance {
        out.performance = p.value;
        out.performance_ci = Some(p.ci.into());
    }
    out.expectation_gap_points = q.expectation_gap_points;
    out.delivery_gap_points = q.delivery_gap_points;
    out.quadrant = match q.quadrant {
        Some(Quadrant::ConcentrateHere) => PriorityQuadrant::ConcentrateHere,
        Some(Quadrant::KeepUpTheGoodWork) => PriorityQuadrant::KeepUpTheGoodWork,
        Some(Quadrant::LowPriority) => PriorityQuadrant::LowPriority,
        Some(Quadrant::PossibleOverkill) => PriorityQuadrant::PossibleOverkill,
        None => PriorityQuadrant::Unspecified,
    }
    .into();
    out
}
