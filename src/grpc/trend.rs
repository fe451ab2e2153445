//! `GetTrend` (SPEC §8): one metric per UTC bucket.
//!
//! Each bucket is scored by the same function as the matching RPC, over the
//! bucket's part of the requested window, so a trend point always equals the
//! figure the RPC returns for that bucket's window.

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use super::{
    ApiError, ApiResult, AppState, effort, gap, loyalty,
    scope::scope_from_filter,
    validate::{Violations, utc_to_timestamp},
};
use crate::{
    proto::v1::*,
    scoring::trend::{self as buckets, TrendBucket as Bucket},
    store::tenants::TenantId,
};

/// Buckets scored concurrently; bounded so one trend cannot take the pool.
const CONCURRENT_BUCKETS: usize = 4;

/// What a validated request asks for.
#[derive(Debug, Clone)]
enum Metric {
    FavorableShare {
        question: String,
        role: RespondentRole,
    },
    NetScore {
        question: String,
        role: RespondentRole,
    },
    GapPoints {
        question: String,
        from: RespondentRole,
        to: RespondentRole,
    },
    EffortIndexMean,
    HighEffortShare,
    CesMean,
    NegativeWordOfMouthShare,
}

fn role_of(value: i32) -> Option<RespondentRole> {
    RespondentRole::try_from(value)
        .ok()
        .filter(|r| *r != RespondentRole::Unspecified)
}

fn parse(request: &GetTrendRequest) -> Result<(Metric, Bucket), ApiError> {
    let mut v = Violations::default();
    let bucket = match TrendBucket::try_from(request.bucket) {
        Ok(TrendBucket::Day) => Some(Bucket::Day),
        Ok(TrendBucket::Week) => Some(Bucket::Week),
        Ok(TrendBucket::Month) => Some(Bucket::Month),
        _ => {
            v.add(
                "bucket",
                "must be TREND_BUCKET_DAY, TREND_BUCKET_WEEK or TREND_BUCKET_MONTH",
            );
            None
        }
    };
    let needs_question = |v: &mut Violations| {
        if request.question.is_empty() {
            v.add("question", "is required for this metric");
        }
        request.question.clone()
    };
    let needs_role = |v: &mut Violations, field: &str, value: i32| {
        role_of(value).unwrap_or_else(|| {
            v.add(field, "is required for this metric");
            RespondentRole::Unspecified
        })
    };
    let metric = match TrendMetric::try_from(request.metric) {
        Ok(TrendMetric::FavorableShare) => Some(Metric::FavorableShare {
            question: needs_question(&mut v),
            role: needs_role(&mut v, "role", request.role),
        }),
        Ok(TrendMetric::NetScore) => Some(Metric::NetScore {
            question: needs_question(&mut v),
            role: needs_role(&mut v, "role", request.role),
        }),
        Ok(TrendMetric::GapPoints) => Some(Metric::GapPoints {
            question: needs_question(&mut v),
            from: needs_role(&mut v, "role", request.role),
            to: needs_role(&mut v, "to_role", request.to_role),
        }),
        Ok(TrendMetric::EffortIndexMean) => Some(Metric::EffortIndexMean),
        Ok(TrendMetric::HighEffortShare) => Some(Metric::HighEffortShare),
        Ok(TrendMetric::CesMean) => Some(Metric::CesMean),
        Ok(TrendMetric::NegativeWordOfMouthShare) => Some(Metric::NegativeWordOfMouthShare),
        _ => {
            v.add("metric", "must be set to a TREND_METRIC_* value");
            None
        }
    };
    let filter = request.filter.as_ref();
    if filter.and_then(|f| f.start_time.as_ref()).is_none() {
        v.add("filter.start_time", "is required for a trend");
    }
    if filter.and_then(|f| f.end_time.as_ref()).is_none() {
        v.add("filter.end_time", "is required for a trend");
    }
    v.into_result()?;
    Ok((metric.expect("checked"), bucket.expect("checked")))
}

/// Computes a trend.
pub async fn trend(
    state: &AppState,
    tenant: TenantId,
    request: GetTrendRequest,
) -> ApiResult<GetTrendResponse> {
    let (metric, bucket) = parse(&request)?;
    let scope = scope_from_filter(request.filter.as_ref(), "filter")?;
    let (start, end) = (
        scope.window.start.expect("validated"),
        scope.window.end.expect("validated"),
    );
    let starts = buckets::bucket_starts(start, end, bucket)
        .map_err(|e| ApiError::invalid("filter", format!("cannot bucket this window: {e}")))?;
    let windows: Vec<(DateTime<Utc>, DateTime<Utc>)> = starts
        .iter()
        .map(|&s| (s, buckets::next_bucket_start(s, bucket).unwrap_or(end)))
        .collect();
    let base = request.filter.clone().unwrap_or_default();
    let confidence_level = request.confidence_level;
    let points = futures::stream::iter(windows)
        .map(|(bucket_start, bucket_end)| {
            // The bucket's part of the requested window.
            let mut filter = base.clone();
            filter.start_time = Some(utc_to_timestamp(bucket_start.max(start)));
            filter.end_time = Some(utc_to_timestamp(bucket_end.min(end)));
            let metric = metric.clone();
            async move {
                let mut point = point_for(state, tenant, &metric, filter, confidence_level).await?;
                point.bucket_start = Some(utc_to_timestamp(bucket_start));
                point.bucket_end = Some(utc_to_timestamp(bucket_end));
                Ok::<_, ApiError>(point)
            }
        })
        .buffered(CONCURRENT_BUCKETS)
        .try_collect()
        .await?;
    Ok(GetTrendResponse { points })
}

/// Scores one bucket.
async fn point_for(
    state: &AppState,
    tenant: TenantId,
    metric: &Metric,
    filter: ScoreFilter,
    confidence_level: Option<f64>,
) -> ApiResult<TrendPoint> {
    let mut point = TrendPoint::default();
    match metric {
        Metric::FavorableShare { question, role } | Metric::NetScore { question, role } => {
            let report = gap_report(state, tenant, question, filter, confidence_level).await?;
            if let Some(figures) =
                report.and_then(|q| q.roles.into_iter().find(|r| r.role == *role as i32))
            {
                point.sample_size = figures.respondents;
                if !figures.suppressed && figures.respondents > 0 {
                    if matches!(metric, Metric::FavorableShare { .. }) {
                        point.value = Some(figures.favorable_share);
                        point.interval = figures.favorable_share_ci;
                    } else {
                        point.value = Some(figures.net_score);
                    }
                }
            }
        }
        Metric::GapPoints { question, from, to } => {
            let report = gap_report(state, tenant, question, filter, confidence_level).await?;
            if let Some(q) = report {
                let n = |role: RespondentRole| {
                    q.roles
                        .iter()
                        .find(|r| r.role == role as i32)
                        .map_or(0, |r| r.respondents)
                };
                point.sample_size = n(*from) + n(*to);
                if let Some(c) = q
                    .comparisons
                    .iter()
                    .find(|c| c.from_role == *from as i32 && c.to_role == *to as i32)
                {
                    point.value = Some(c.gap_points);
                    point.interval = c.gap_points_ci;
                }
            }
        }
        Metric::EffortIndexMean | Metric::HighEffortShare | Metric::CesMean => {
            let report = effort::effort_index(
                state,
                tenant,
                GetEffortIndexRequest {
                    filter: Some(filter),
                    confidence_level,
                },
            )
            .await?;
            match metric {
                Metric::CesMean => {
                    if let Some(ces) = report.survey_effort {
                        point.sample_size = ces.responses;
                        point.value = (ces.responses > 0).then_some(ces.mean);
                    }
                }
                _ => {
                    if let Some(s) = report.summary {
                        point.sample_size = s.journeys;
                        if s.journeys > 0 {
                            if matches!(metric, Metric::EffortIndexMean) {
                                point.value = Some(s.effort_index_mean);
                            } else {
                                point.value = Some(s.high_effort_share);
                                point.interval = s.high_effort_share_ci;
                            }
                        }
                    }
                }
            }
        }
        Metric::NegativeWordOfMouthShare => {
            let risk = loyalty::loyalty_risk(
                state,
                tenant,
                GetLoyaltyRiskRequest {
                    filter: Some(filter),
                    confidence_level,
                },
            )
            .await?;
            point.sample_size = risk.customers;
            if risk.customers > 0
                && let Some(o) = risk
                    .outcomes
                    .iter()
                    .find(|o| o.kind == OutcomeKind::NegativeWordOfMouth as i32)
            {
                point.value = Some(o.expected_share);
                point.interval = o.expected_share_ci;
            }
        }
    }
    Ok(point)
}

/// The gap report of one question over `filter`, if it has data.
async fn gap_report(
    state: &AppState,
    tenant: TenantId,
    question: &str,
    filter: ScoreFilter,
    confidence_level: Option<f64>,
) -> ApiResult<Option<QuestionGap>> {
    let response = gap::perception_gap(
        state,
        tenant,
        GetPerceptionGapRequest {
            filter: Some(filter),
            questions: vec![question.to_owned()],
            confidence_level,
            group_by: String::new(),
        },
    )
    .await
    .map_err(|err| match err {
        // Name the trend's own field, not the inner request's.
        ApiError::InvalidArgument(v)
            if v.items().iter().any(|(f, _)| f.starts_with("questions")) =>
        {
            ApiError::invalid("question", v.items()[0].1.clone())
        }
        other => other,
    })?;
    Ok(response
        .overall
        .and_then(|r| r.questions.into_iter().find(|q| q.question == question)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_name_every_missing_field() {
        let request = GetTrendRequest {
            metric: TrendMetric::GapPoints as i32,
            ..Default::default()
        };
        let Err(ApiError::InvalidArgument(v)) = parse(&request) else {
            panic!("accepted")
        };
        let fields: Vec<_> = v.items().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "bucket",
                "question",
                "role",
                "to_role",
                "filter.start_time",
                "filter.end_time"
            ]
        );
    }
}
