//! `GetTrend` (SPEC §8) over gRPC: the request as a
//! `service::trend::TrendQuery` (every missing field named at once), the
//! points, each with its change from the previous point (§10.4), as
//! protobuf. The metric parsing and the change message are shared with
//! `GetChange` (`grpc::change`).

use super::{
    convert,
    scoring::{check_confidence, signed},
};
use crate::service::ServiceError;
use crate::{
    domain::{Numbered, TenantId, Violations},
    proto::v1::*,
    scoring::{Role, change::Change, trend::TrendBucket as Bucket},
    service::{
        ServiceResult, Services,
        context::Context,
        trend::{self as service, Metric, TrendQuery},
    },
};

/// `GetTrend`.
pub async fn trend(
    services: &Services,
    tenant: TenantId,
    request: GetTrendRequest,
) -> ServiceResult<GetTrendResponse> {
    let query = parse(&request)?;
    let ctx = Context::load(services, tenant).await?;
    let points = service::trend(services, tenant, &query, &ctx).await?;
    Ok(GetTrendResponse {
        points: points
            .into_iter()
            .map(|p| TrendPoint {
                bucket_start: p.bucket_start.map(convert::utc_to_timestamp),
                bucket_end: p.bucket_end.map(convert::utc_to_timestamp),
                value: p.value,
                interval: p.interval.map(Into::into),
                sample_size: signed(p.sample_size),
                change_from_previous: p.change_from_previous.map(|c| MetricChange {
                    q_value: c.q_value,
                    ..metric_change(&c.previous, &(&p).into(), Some(&c.change))
                }),
            })
            .collect(),
    })
}

fn parse(request: &GetTrendRequest) -> Result<TrendQuery, ServiceError> {
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
    let metric = metric(
        &mut v,
        request.metric,
        &request.question,
        request.role,
        request.to_role,
    );
    let filter = request.filter.as_ref();
    if filter.and_then(|f| f.start_time.as_ref()).is_none() {
        v.add("filter.start_time", "is required for a trend");
    }
    if filter.and_then(|f| f.end_time.as_ref()).is_none() {
        v.add("filter.end_time", "is required for a trend");
    }
    let scope = convert::scope(&mut v, "filter", filter);
    let confidence = check_confidence(&mut v, request.confidence_level);
    v.into_result()?;
    Ok(TrendQuery {
        metric: metric.expect("checked"),
        bucket: bucket.expect("checked"),
        scope,
        confidence,
    })
}

/// The metric of a trend or change request, its question and roles
/// checked (each missing one named in `v`).
pub(super) fn metric(
    v: &mut Violations,
    metric: i32,
    question: &str,
    role: i32,
    to_role: i32,
) -> Option<Metric> {
    let needs_question = |v: &mut Violations| {
        if question.is_empty() {
            v.add("question", "is required for this metric");
        }
        question.to_owned()
    };
    let needs_role = |v: &mut Violations, field: &str, value: i32| {
        let role = Role::from_number(value);
        if role.is_none() {
            v.add(field, "is required for this metric");
        }
        // Only read when every field was valid.
        role.unwrap_or(Role::Customer)
    };
    match TrendMetric::try_from(metric) {
        Ok(TrendMetric::FavorableShare) => Some(Metric::FavorableShare {
            question: needs_question(v),
            role: needs_role(v, "role", role),
        }),
        Ok(TrendMetric::NetScore) => Some(Metric::NetScore {
            question: needs_question(v),
            role: needs_role(v, "role", role),
        }),
        Ok(TrendMetric::GapPoints) => Some(Metric::GapPoints {
            question: needs_question(v),
            from: needs_role(v, "role", role),
            to: needs_role(v, "to_role", to_role),
        }),
        Ok(TrendMetric::EffortIndexMean) => Some(Metric::EffortIndexMean),
        Ok(TrendMetric::HighEffortShare) => Some(Metric::HighEffortShare),
        Ok(TrendMetric::CesMean) => Some(Metric::CesMean),
        Ok(TrendMetric::NegativeWordOfMouthShare) => Some(Metric::NegativeWordOfMouthShare),
        _ => {
            v.add("metric", "must be set to a TREND_METRIC_* value");
            None
        }
    }
}

/// A change as protobuf: the two windows and, when both have a value, the
/// test between them.
pub(super) fn metric_change(
    baseline: &service::WindowFigure,
    current: &service::WindowFigure,
    change: Option<&Change>,
) -> MetricChange {
    MetricChange {
        baseline: Some(window_figure(baseline)),
        current: Some(window_figure(current)),
        difference: change.map(|c| c.difference),
        difference_ci: change.and_then(|c| c.difference_ci).map(Into::into),
        p_value: change.and_then(|c| c.p_value),
        significant: change.is_some_and(|c| c.significant),
        q_value: None,
    }
}

fn window_figure(w: &service::WindowFigure) -> WindowFigure {
    WindowFigure {
        sample_size: signed(w.sample_size),
        value: w.value,
        interval: w.interval.map(Into::into),
    }
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
        let Err(ServiceError::InvalidArgument(v)) = parse(&request) else {
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
