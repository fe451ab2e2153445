//! `GetChange` (SPEC §10.4): one metric over the request's window (the
//! current one) against a baseline window with the same labels.
//!
//! Each window is scored exactly as a trend scores a bucket
//! (`trend::point_for`), so the two figures equal what the matching score
//! and trend report for those windows, suppression included; the test
//! between them is `scoring::change`.

use chrono::{DateTime, Utc};

use super::{
    ServiceError, ServiceResult, Services,
    context::Context,
    trend::{self, Metric, TrendQuery, WindowFigure},
};
use crate::{
    domain::{Scope, TenantId, Window},
    scoring::change::{Change, change},
};

/// What a caller asks for: a trend query's metric, scope (the current
/// window, both bounds set) and confidence, and the baseline window.
#[derive(Debug, Clone)]
pub struct ChangeQuery {
    pub metric: Metric,
    pub scope: Scope,
    pub baseline_start: DateTime<Utc>,
    pub baseline_end: DateTime<Utc>,
    pub confidence: Option<f64>,
}

/// The two windows and the change between them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangeReport {
    pub baseline: WindowFigure,
    pub current: WindowFigure,
    /// `None` unless both windows have a value.
    pub change: Option<Change>,
}

/// Checks the two windows: each non-empty, and not overlapping (a
/// respondent in both would be compared with itself, and the two samples
/// would not be independent, as every test here assumes). The violation
/// names the baseline bound that reaches into the current window.
pub fn check_windows(
    current: (DateTime<Utc>, DateTime<Utc>),
    baseline: (DateTime<Utc>, DateTime<Utc>),
) -> Result<(), ServiceError> {
    let (cs, ce) = current;
    let (bs, be) = baseline;
    if ce <= cs {
        return Err(ServiceError::invalid(
            "filter.end_time",
            "must be after filter.start_time",
        ));
    }
    if be <= bs {
        return Err(ServiceError::invalid(
            "baseline_end_time",
            "must be after baseline_start_time",
        ));
    }
    if bs < ce && cs < be {
        return Err(if (bs, be) == (cs, ce) {
            ServiceError::invalid(
                "baseline_start_time",
                "the baseline window is the current window; a change needs two windows",
            )
        } else if bs < cs {
            ServiceError::invalid(
                "baseline_end_time",
                "the baseline window overlaps the current window (filter.start_time..filter.end_time)",
            )
        } else {
            ServiceError::invalid(
                "baseline_start_time",
                "the baseline window overlaps the current window (filter.start_time..filter.end_time)",
            )
        });
    }
    Ok(())
}

/// Computes the change of `query` under `ctx`.
pub async fn change_between(
    services: &Services,
    tenant: TenantId,
    query: &ChangeQuery,
    ctx: &Context,
) -> ServiceResult<ChangeReport> {
    let (Some(start), Some(end)) = (query.scope.window.start, query.scope.window.end) else {
        return Err(ServiceError::invalid(
            "filter",
            "a change needs start_time and end_time",
        ));
    };
    if matches!(query.metric, Metric::NegativeWordOfMouthShare) {
        return Err(ServiceError::invalid(
            "metric",
            "NEGATIVE_WORD_OF_MOUTH_SHARE is a model's expectation, not a sample; it has no change test",
        ));
    }
    check_windows((start, end), (query.baseline_start, query.baseline_end))?;
    let trend_query = TrendQuery {
        metric: query.metric.clone(),
        bucket: crate::scoring::trend::TrendBucket::Day,
        scope: query.scope.clone(),
        confidence: query.confidence,
    };
    let (plan, confidence) = trend::plan(&trend_query, ctx)?;
    let baseline_scope = Scope {
        window: Window {
            start: Some(query.baseline_start),
            end: Some(query.baseline_end),
        },
        ..query.scope.clone()
    };
    let ((baseline, b), (current, c)) = futures::try_join!(
        trend::point_for(
            services,
            tenant,
            &trend_query,
            plan.as_ref(),
            baseline_scope,
            ctx
        ),
        trend::point_for(
            services,
            tenant,
            &trend_query,
            plan.as_ref(),
            query.scope.clone(),
            ctx
        ),
    )?;
    Ok(ChangeReport {
        baseline: WindowFigure::from(&baseline),
        current: WindowFigure::from(&current),
        change: b.zip(c).and_then(|(b, c)| change(&b, &c, confidence)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn field(r: Result<(), ServiceError>) -> String {
        let Err(ServiceError::InvalidArgument(v)) = r else {
            panic!("accepted")
        };
        v.items()[0].0.clone()
    }

    #[test]
    fn windows_must_not_overlap() {
        let march = (utc("2026-03-01T00:00:00Z"), utc("2026-04-01T00:00:00Z"));
        let april = (utc("2026-04-01T00:00:00Z"), utc("2026-05-01T00:00:00Z"));
        // Adjacent windows share no instant (ends are exclusive).
        assert!(check_windows(april, march).is_ok());
        assert!(check_windows(march, april).is_ok());
        assert_eq!(field(check_windows(march, march)), "baseline_start_time");
        let late_february = (utc("2026-02-20T00:00:00Z"), utc("2026-03-02T00:00:00Z"));
        assert_eq!(
            field(check_windows(march, late_february)),
            "baseline_end_time"
        );
        let mid_march = (utc("2026-03-10T00:00:00Z"), utc("2026-03-11T00:00:00Z"));
        assert_eq!(
            field(check_windows(march, mid_march)),
            "baseline_start_time"
        );
        let around = (utc("2026-02-01T00:00:00Z"), utc("2026-05-01T00:00:00Z"));
        assert_eq!(field(check_windows(march, around)), "baseline_end_time");
        let empty = (march.0, march.0);
        assert_eq!(field(check_windows(april, empty)), "baseline_end_time");
        assert_eq!(field(check_windows(empty, april)), "filter.end_time");
    }
}
