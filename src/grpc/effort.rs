//! `GetEffortIndex` (SPEC §6).
//!
//! Three aggregate queries (`store::effort`) with the tenant's weights
//! applied in SQL, then the statistics of `scoring::effort` in Rust. Every
//! part of the response is present; with no data in scope its counts and
//! figures are 0 and its intervals absent (never NaN).

use super::{ApiResult, AppState, scope::scope_from_filter, validate::confidence_level};
use crate::{
    proto::v1::*,
    scoring::{
        effort::{EffortAggregate, SurveyEffort as SurveyEffortFigures},
        stats::Interval as Bounds,
    },
    store::{catalog, effort as store, tenants::TenantId},
};

/// Computes the effort report.
pub async fn effort_index(
    state: &AppState,
    tenant: TenantId,
    request: GetEffortIndexRequest,
) -> ApiResult<GetEffortIndexResponse> {
    let scope = scope_from_filter(request.filter.as_ref(), "filter")?;
    let (model, _) = catalog::get_scoring_model(&state.pool, tenant).await?;
    let confidence = confidence_level(request.confidence_level, model.confidence_level)?;
    let effort_model = model.effort_model();
    let data = store::effort_data(&state.pool, tenant, &scope, &effort_model).await?;

    let aggregate = EffortAggregate::from_sums(&data.journeys, confidence);
    let survey = SurveyEffortFigures::from_histogram(&data.ease_histogram, confidence);
    Ok(GetEffortIndexResponse {
        summary: Some(summary(&aggregate, data.customers)),
        by_channel: data.channels.iter().map(channel).collect(),
        survey_effort: Some(survey_effort(&survey)),
        confidence_level: confidence,
    })
}

/// A scoring interval as a proto `Interval`.
pub fn interval(i: Bounds) -> Interval {
    Interval {
        lower: i.lower,
        upper: i.upper,
    }
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn summary(a: &EffortAggregate, customers: i64) -> EffortSummary {
    EffortSummary {
        journeys: count(a.journeys),
        customers,
        effort_index_mean: a.effort_index_mean.unwrap_or(0.0),
        effort_index_p50: a.effort_index_p50.unwrap_or(0.0),
        effort_index_p90: a.effort_index_p90.unwrap_or(0.0),
        high_effort_journeys: count(a.high_journeys),
        high_effort_share: a.high_share.unwrap_or(0.0),
        high_effort_share_ci: a.high_share_ci.map(interval),
        low_effort_journeys: count(a.low_journeys),
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
        assisted_journeys: count(a.assisted_journeys),
    }
}

fn channel(c: &store::ChannelSums) -> ChannelEffort {
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
        responses: count(s.responses),
        mean: s.mean.unwrap_or(0.0),
        low_effort_share: s.low_effort_share.unwrap_or(0.0),
        low_effort_share_ci: s.low_effort_ci.map(interval),
        high_effort_share: s.high_effort_share.unwrap_or(0.0),
        high_effort_share_ci: s.high_effort_ci.map(interval),
        net_ease: s.net_ease.unwrap_or(0.0),
    }
}
