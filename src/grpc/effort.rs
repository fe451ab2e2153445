//! `GetEffortIndex` (SPEC §6) over gRPC: the request as a
//! `service::effort::EffortQuery`, the report as protobuf. Every part of the
//! response is present; with no data in scope its counts and figures are 0
//! and its intervals absent (never NaN).

use super::scoring::{scope_and_confidence, signed};
use crate::{
    domain::TenantId,
    proto::v1::*,
    scoring::effort::{EffortAggregate, SurveyEffort as SurveyEffortFigures},
    service::{
        ServiceResult, Services, context,
        effort::{self as service, EffortQuery, EffortReport},
    },
    store::effort::ChannelSums,
};

/// `GetEffortIndex`.
pub async fn effort_index(
    services: &Services,
    tenant: TenantId,
    request: GetEffortIndexRequest,
) -> ServiceResult<GetEffortIndexResponse> {
    let (scope, confidence) =
        scope_and_confidence(request.filter.as_ref(), request.confidence_level)?;
    let query = EffortQuery { scope, confidence };
    let (model, etag) = context::scoring_model_and_etag(services, tenant).await?;
    let report = service::effort_index(services, tenant, &query, (&model, Some(&etag))).await?;
    Ok(response(&report))
}

/// The protobuf form of an effort report.
pub fn response(r: &EffortReport) -> GetEffortIndexResponse {
    GetEffortIndexResponse {
        summary: Some(summary(&r.journeys, r.customers)),
        by_channel: r.channels.iter().map(channel).collect(),
        survey_effort: Some(survey_effort(&r.survey)),
        confidence_level: r.confidence,
    }
}

/// The proto `EffortSummary` of journey figures.
pub fn summary(a: &EffortAggregate, customers: i64) -> EffortSummary {
    EffortSummary {
        journeys: signed(a.journeys),
        customers,
        effort_index_mean: a.effort_index_mean.unwrap_or(0.0),
        effort_index_p50: a.effort_index_p50.unwrap_or(0.0),
        effort_index_p90: a.effort_index_p90.unwrap_or(0.0),
        high_effort_journeys: signed(a.high_journeys),
        high_effort_share: a.high_share.unwrap_or(0.0),
        high_effort_share_ci: a.high_share_ci.map(Into::into),
        low_effort_journeys: signed(a.low_journeys),
        low_effort_share: a.low_share.unwrap_or(0.0),
        mean_customer_contacts: a.mean_contacts.unwrap_or(0.0),
        mean_channel_switches: a.mean_channel_switches.unwrap_or(0.0),
        mean_customer_minutes: a.mean_customer_minutes.unwrap_or(0.0),
        unresolved_share: a.unresolved_share.unwrap_or(0.0),
        drivers: a
            .drivers
            .iter()
            .map(|d| EffortDriver {
                component: d.component.as_str().to_owned(),
                points: d.points,
                share: d.share,
            })
            .collect(),
        company_fcr_rate: a.company_fcr_rate.unwrap_or(0.0),
        one_touch_rate: a.one_touch_rate.unwrap_or(0.0),
        hidden_effort_gap_points: a.hidden_effort_gap_points.unwrap_or(0.0),
        assisted_journeys: signed(a.assisted_journeys),
    }
}

fn channel(c: &ChannelSums) -> ChannelEffort {
    let n = c.touchpoints.max(0) as f64;
    let per = |x: i64| if n > 0.0 { x as f64 / n } else { 0.0 };
    ChannelEffort {
        channel: i32::from(c.channel),
        touchpoints: c.touchpoints,
        unresolved_share: per(c.unresolved),
        mean_wait_seconds: per(c.wait_seconds),
    }
}

/// The proto `SurveyEffort` of CES figures (0 and absent intervals
/// without answers).
pub fn survey_effort(s: &SurveyEffortFigures) -> SurveyEffort {
    SurveyEffort {
        responses: signed(s.responses),
        mean: s.mean.unwrap_or(0.0),
        low_effort_share: s.low_effort_share.unwrap_or(0.0),
        low_effort_share_ci: s.low_effort_ci.map(Into::into),
        high_effort_share: s.high_effort_share.unwrap_or(0.0),
        high_effort_share_ci: s.high_effort_ci.map(Into::into),
        net_ease: s.net_ease.unwrap_or(0.0),
    }
}
