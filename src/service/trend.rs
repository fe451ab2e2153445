//! Trends (SPEC §8): one metric per UTC bucket.
//!
//! The model and catalog are read once per trend ([`Context`]); each bucket
//! is scored by the same domain function as the matching score, over the
//! bucket's part of the requested window, so a trend point always equals
//! the figure that score gives for that bucket's window. Each bucket is
//! still its own set of queries, at most [`CONCURRENT_BUCKETS`] at a time.
//! Each point's change from the previous point with a value (SPEC §10.4)
//! is computed from what those queries returned, with no further query.

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};

use super::{
    ServiceError, ServiceResult, Services,
    context::Context,
    effort::{self, EffortQuery},
    gap::{self, GapPlan, GapQuery},
    loyalty::{self, LoyaltyQuery},
    scorecard::comparison,
};
use crate::{
    domain::{Scope, TenantId, Violations, Window},
    scoring::{
        Interval, Role,
        change::{Change, WindowSample, changes_from_previous},
        loyalty::OutcomeKind,
        trend::{self as buckets, TrendBucket},
    },
};

/// Buckets scored concurrently; bounded so one trend cannot take the pool.
pub const CONCURRENT_BUCKETS: usize = 4;

/// What a trend follows.
#[derive(Debug, Clone, PartialEq)]
pub enum Metric {
    FavorableShare {
        question: String,
        role: Role,
    },
    NetScore {
        question: String,
        role: Role,
    },
    GapPoints {
        question: String,
        from: Role,
        to: Role,
    },
    EffortIndexMean,
    HighEffortShare,
    CesMean,
    NegativeWordOfMouthShare,
}

/// What a caller asks for.
#[derive(Debug, Clone)]
pub struct TrendQuery {
    pub metric: Metric,
    pub bucket: TrendBucket,
    /// Its window has both bounds.
    pub scope: Scope,
    /// The requested confidence level (`None`: the model's).
    pub confidence: Option<f64>,
}

/// One bucket's figure.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TrendPoint {
    /// The whole bucket, even where the window cuts it.
    pub bucket_start: Option<DateTime<Utc>>,
    pub bucket_end: Option<DateTime<Utc>>,
    /// `None` without data (or when suppressed).
    pub value: Option<f64>,
    pub interval: Option<Interval>,
    /// What the value is computed from (respondents, journeys, answers or
    /// customers).
    pub sample_size: u64,
    /// Against the previous point with a value (SPEC §10.4).
    pub change_from_previous: Option<PointChange>,
}

/// A trend point's change from the previous point with a value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointChange {
    /// The previous point's figure (its own `change_from_previous` unset).
    pub previous: WindowFigure,
    pub change: Change,
    /// Benjamini–Hochberg over every change of the trend; `None` without a
    /// p-value.
    pub q_value: Option<f64>,
}

/// One window's figure: a trend point's value and what a change test
/// needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WindowFigure {
    pub value: Option<f64>,
    pub interval: Option<Interval>,
    pub sample_size: u64,
}

impl From<&TrendPoint> for WindowFigure {
    fn from(p: &TrendPoint) -> Self {
        WindowFigure {
            value: p.value,
            interval: p.interval,
            sample_size: p.sample_size,
        }
    }
}

impl Metric {
    /// The question of a perception-gap metric.
    fn question(&self) -> Option<&str> {
        match self {
            Metric::FavorableShare { question, .. }
            | Metric::NetScore { question, .. }
            | Metric::GapPoints { question, .. } => Some(question),
            _ => None,
        }
    }
}

/// Computes a trend under `ctx`, each point with its change from the
/// previous point with a value.
pub async fn trend(
    services: &Services,
    tenant: TenantId,
    query: &TrendQuery,
    ctx: &Context,
) -> ServiceResult<Vec<TrendPoint>> {
    let (Some(start), Some(end)) = (query.scope.window.start, query.scope.window.end) else {
        return Err(ServiceError::invalid(
            "filter",
            "a trend needs start_time and end_time",
        ));
    };
    let starts = buckets::bucket_starts(start, end, query.bucket)
        .map_err(|e| ServiceError::invalid("filter", format!("cannot bucket this window: {e}")))?;
    // Validated once for the whole trend; each bucket only narrows the window.
    let (plan, confidence) = plan(query, ctx)?;
    let plan = plan.as_ref();
    let scored: Vec<(TrendPoint, Option<WindowSample>)> = futures::stream::iter(starts)
        .map(|bucket_start| {
            let bucket_end = buckets::bucket_end(bucket_start, query.bucket);
            // The bucket's part of the requested window.
            let scope = Scope {
                window: Window {
                    start: Some(bucket_start.max(start)),
                    end: Some(bucket_end.min(end)),
                },
                ..query.scope.clone()
            };
            async move {
                let (mut point, sample) =
                    point_for(services, tenant, query, plan, scope, ctx).await?;
                point.bucket_start = Some(bucket_start);
                point.bucket_end = Some(bucket_end);
                Ok::<_, ServiceError>((point, sample))
            }
        })
        .buffered(CONCURRENT_BUCKETS)
        .try_collect()
        .await?;
    let samples: Vec<Option<WindowSample>> = scored.iter().map(|(_, s)| *s).collect();
    let changes = changes_from_previous(&samples, confidence);
    let mut previous: Option<WindowFigure> = None;
    Ok(scored
        .into_iter()
        .zip(changes)
        .map(|((mut point, sample), change)| {
            point.change_from_previous =
                change
                    .zip(previous)
                    .map(|((change, q_value), previous)| PointChange {
                        previous,
                        change,
                        q_value,
                    });
            if sample.is_some() {
                previous = Some(WindowFigure::from(&point));
            }
            point
        })
        .collect())
}

/// The perception-gap plan of a question metric (validated once for every
/// window it is scored over), and the confidence level in force.
pub(super) fn plan(query: &TrendQuery, ctx: &Context) -> ServiceResult<(Option<GapPlan>, f64)> {
    let plan = match query.metric.question() {
        Some(question) => Some(
            GapQuery {
                scope: query.scope.clone(),
                questions: vec![question.to_owned()],
                confidence: query.confidence,
                group_by: None,
            }
            .plan(Violations::default(), ctx)
            .map_err(own_fields)?,
        ),
        None => None,
    };
    let confidence = super::context::confidence(query.confidence, &ctx.model)?;
    Ok((plan, confidence))
}

/// Names the trend's own field (`question`), not the inner query's.
fn own_fields(found: Violations) -> Violations {
    let mut v = Violations::default();
    for (field, description) in found.into_items() {
        if field.starts_with("questions") {
            v.add("question", description);
        } else {
            v.add(field, description);
        }
    }
    v
}

/// Scores one window (a bucket, or a window of `GetChange`) with the same
/// domain function as the matching score; `plan` is set for the
/// perception-gap metrics. Returns the point and, when it has a value and
/// the metric a test (SPEC §10.4), what that test needs of it.
pub(super) async fn point_for(
    services: &Services,
    tenant: TenantId,
    query: &TrendQuery,
    plan: Option<&GapPlan>,
    scope: Scope,
    ctx: &Context,
) -> ServiceResult<(TrendPoint, Option<WindowSample>)> {
    let mut point = TrendPoint::default();
    let mut sample = None;
    if let (Some(plan), Some(question)) = (plan, query.metric.question()) {
        let report = gap::perception_gap(services, tenant, &plan.with_scope(scope)).await?;
        let Some(q) = report.overall.question(question) else {
            return Ok((point, None));
        };
        match &query.metric {
            Metric::GapPoints { from, to, .. } => {
                point.sample_size = q.roles.get(*from).respondents + q.roles.get(*to).respondents;
                if let Some(c) = comparison(&q.comparisons, *from, *to) {
                    point.value = Some(c.gap_points);
                    point.interval = Some(c.gap_points_ci);
                    sample = Some(WindowSample::Gap {
                        points: c.gap_points,
                        ci: c.gap_points_ci,
                    });
                }
            }
            Metric::FavorableShare { role, .. } | Metric::NetScore { role, .. } => {
                let figures = q.roles.get(*role);
                point.sample_size = figures.respondents;
                if !figures.suppressed && figures.respondents > 0 {
                    let shares = figures.shares.as_ref();
                    if matches!(query.metric, Metric::FavorableShare { .. }) {
                        point.value = Some(shares.map_or(0.0, |s| s.favorable_share));
                        point.interval = shares.map(|s| s.favorable_ci);
                        sample = shares.map(|s| WindowSample::Proportion {
                            successes: s.favorable,
                            n: figures.respondents,
                        });
                    } else {
                        point.value = Some(shares.map_or(0.0, |s| s.net_score));
                        sample = shares.map(|s| WindowSample::Net {
                            favorable: s.favorable,
                            unfavorable: s.unfavorable,
                            n: figures.respondents,
                        });
                    }
                }
            }
            _ => {}
        }
        return Ok((point, sample));
    }
    match &query.metric {
        Metric::NegativeWordOfMouthShare => {
            let report = loyalty::loyalty_risk(
                services,
                tenant,
                &LoyaltyQuery {
                    scope,
                    confidence: query.confidence,
                },
                &ctx.model,
            )
            .await?;
            let risk = &report.risk;
            point.sample_size = risk.customers;
            if risk.customers > 0
                && let Some(o) = risk
                    .outcomes
                    .iter()
                    .find(|o| o.kind == OutcomeKind::NegativeWordOfMouth)
            {
                point.value = Some(o.expected_share.unwrap_or(0.0));
                point.interval = o.interval;
            }
        }
        metric => {
            let report = effort::effort_index(
                services,
                tenant,
                &EffortQuery {
                    scope,
                    confidence: query.confidence,
                },
                &ctx.model,
            )
            .await?;
            if matches!(metric, Metric::CesMean) {
                let ces = &report.survey;
                point.sample_size = ces.responses;
                point.value = (ces.responses > 0).then(|| ces.mean.unwrap_or(0.0));
                sample = (ces.responses > 0).then_some(WindowSample::Mean(report.ease_moments));
            } else {
                let a = &report.journeys;
                point.sample_size = a.journeys;
                if a.journeys > 0 {
                    if matches!(metric, Metric::EffortIndexMean) {
                        point.value = Some(a.effort_index_mean.unwrap_or(0.0));
                        sample = Some(WindowSample::Mean(report.effort_index_moments));
                    } else {
                        point.value = Some(a.high_share.unwrap_or(0.0));
                        point.interval = a.high_share_ci;
                        sample = Some(WindowSample::Proportion {
                            successes: a.high_journeys,
                            n: a.journeys,
                        });
                    }
                }
            }
        }
    }
    Ok((point, sample))
}
