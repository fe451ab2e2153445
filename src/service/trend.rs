//! Trends (SPEC §8): one metric per UTC bucket.
//!
//! The model and catalog are read once per trend ([`Context`]), and the
//! data once: one grouped statement over the whole window returns every
//! bucket's aggregates (`store::trend`: score histograms from the gap
//! rollup and the edge days' answers, journey sums, or tier counts per
//! bucket), and each bucket is scored from its aggregates by the same
//! domain functions the matching score applies to one window. So a trend
//! point equals the figure that score gives for the bucket's part of the
//! requested window ([`point_for`], which `GetChange` uses, computes it
//! that way; a test holds the two equal). Each point's change from the
//! previous point with a value (SPEC §10.4) is computed from the same
//! aggregates, with no further query.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::{
    ServiceError, ServiceResult, Services,
    context::Context,
    effort::{self, EffortQuery},
    gap::{self, GapPlan, GapQuery},
    loyalty::{self, LoyaltyQuery, posteriors},
    questions,
    scorecard::comparison,
};
use crate::{
    domain::{Numbered, Scope, TenantId, Violations},
    scoring::{
        self, ByRole, Interval, QuestionGap, Role,
        change::{Change, WindowSample, changes_from_previous, histogram_moments},
        effort::{EffortAggregate, EffortSums, SurveyEffort},
        gap::question_gap,
        loyalty::{LoyaltyRisk, OutcomeKind, TierCounts},
        stats::Moments,
        trend::{self as buckets, TrendBucket},
    },
    store::{effort::EASE_QUESTION, trend as store},
};

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
    // Validated once for the whole trend.
    let (plan, confidence) = plan(query, ctx)?;
    let mut scored = grouped_points(
        services,
        tenant,
        query,
        plan.as_ref(),
        confidence,
        &starts,
        ctx,
    )
    .await?;
    for ((point, _), bucket_start) in scored.iter_mut().zip(&starts) {
        point.bucket_start = Some(*bucket_start);
        point.bucket_end = Some(buckets::bucket_end(*bucket_start, query.bucket));
    }
    Ok(with_changes(scored, confidence))
}

/// Each point with its change from the previous point with a sample.
fn with_changes(
    scored: Vec<(TrendPoint, Option<WindowSample>)>,
    confidence: f64,
) -> Vec<TrendPoint> {
    let samples: Vec<Option<WindowSample>> = scored.iter().map(|(_, s)| *s).collect();
    let changes = changes_from_previous(&samples, confidence);
    let mut previous: Option<WindowFigure> = None;
    scored
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
        .collect()
}

/// Every bucket's point (in `starts` order, bucket bounds unset) from one
/// grouped statement over the whole window (`store::trend`), scored per
/// bucket by the same functions as [`point_for`] scores one window.
async fn grouped_points(
    services: &Services,
    tenant: TenantId,
    query: &TrendQuery,
    plan: Option<&GapPlan>,
    confidence: f64,
    starts: &[DateTime<Utc>],
    ctx: &Context,
) -> ServiceResult<Vec<(TrendPoint, Option<WindowSample>)>> {
    let scope = &query.scope;
    let bucket = query.bucket;
    let empty = || vec![(TrendPoint::default(), None); starts.len()];
    if let (Some(plan), Some(question)) = (plan, query.metric.question()) {
        // The plan lists only RATING questions with a usable scale; any
        // other question has no figures in any window (see `point_for`).
        let Some(scale) = ctx
            .catalog
            .iter()
            .find(|q| q.key == question)
            .and_then(questions::rating_scale)
        else {
            return Ok(empty());
        };
        let keys = [question.to_owned()];
        let rows = read!(services, tenant, 1, |db| {
            Ok(store::bucket_histograms(db, tenant, scope, &keys, bucket).await?)
        })?;
        let mut histograms: BTreeMap<DateTime<Utc>, ByRole<Vec<(i32, u64)>>> = BTreeMap::new();
        for row in rows {
            if let Some(role) = Role::from_db(row.role) {
                histograms
                    .entry(row.bucket)
                    .or_default()
                    .get_mut(role)
                    .push((row.score, row.answers));
            }
        }
        return Ok(starts
            .iter()
            .map(|start| {
                let h = histograms.remove(start).unwrap_or_default();
                let gap = question_gap(
                    &scale,
                    ByRole {
                        leadership: &h.leadership,
                        staff: &h.staff,
                        customer: &h.customer,
                    },
                    plan.min_group_size,
                    plan.confidence,
                );
                gap_point(&query.metric, Some(&gap))
            })
            .collect());
    }
    match &query.metric {
        Metric::NegativeWordOfMouthShare => {
            let effort_model = ctx.model.effort_model();
            let (counts, posteriors) = tokio::try_join!(
                async {
                    read!(services, tenant, 1, |db| {
                        Ok(store::bucket_tier_counts(
                            db,
                            tenant,
                            scope,
                            (&effort_model, Some(&ctx.etag)),
                            bucket,
                        )
                        .await?)
                    })
                },
                posteriors(services, tenant, &ctx.model, confidence),
            )?;
            let mut counts: BTreeMap<DateTime<Utc>, TierCounts> = counts.into_iter().collect();
            Ok(starts
                .iter()
                .map(|start| {
                    let tiers = counts.remove(start).unwrap_or_default();
                    let risk = scoring::loyalty::loyalty_risk(tiers, &posteriors, confidence);
                    (loyalty_point(&risk), None)
                })
                .collect())
        }
        Metric::CesMean => {
            let keys = [EASE_QUESTION.to_owned()];
            let rows = read!(services, tenant, 1, |db| {
                Ok(store::bucket_histograms(db, tenant, scope, &keys, bucket).await?)
            })?;
            let customer = crate::domain::enums::Role::Customer.db();
            let mut histograms: BTreeMap<DateTime<Utc>, Vec<(i32, u64)>> = BTreeMap::new();
            for row in rows.into_iter().filter(|r| r.role == customer) {
                histograms
                    .entry(row.bucket)
                    .or_default()
                    .push((row.score, row.answers));
            }
            Ok(starts
                .iter()
                .map(|start| {
                    let h = histograms.remove(start).unwrap_or_default();
                    ces_point(
                        &SurveyEffort::from_histogram(&h, confidence),
                        histogram_moments(&h),
                    )
                })
                .collect())
        }
        metric => {
            let effort_model = ctx.model.effort_model();
            let rows = read!(services, tenant, 1, |db| {
                Ok(store::bucket_journey_sums(db, tenant, scope, &effort_model, bucket).await?)
            })?;
            let mut sums: BTreeMap<DateTime<Utc>, store::BucketJourneySums> =
                rows.into_iter().map(|r| (r.bucket, r)).collect();
            Ok(starts
                .iter()
                .map(|start| {
                    let s = sums.remove(start);
                    let sums = EffortSums {
                        journeys: s.map_or(0, |s| s.journeys),
                        effort_index_sum: s.map_or(0.0, |s| s.effort_index_sum),
                        effort_index_sum_sq: s.map_or(0.0, |s| s.effort_index_sum_sq),
                        high_journeys: s.map_or(0, |s| s.high_journeys),
                        medium_journeys: s.map_or(0, |s| s.medium_journeys),
                        low_journeys: s.map_or(0, |s| s.low_journeys),
                        ..EffortSums::default()
                    };
                    journey_point(
                        metric,
                        &EffortAggregate::from_sums(&sums, confidence),
                        Moments::new(
                            sums.journeys,
                            sums.effort_index_sum,
                            sums.effort_index_sum_sq,
                        ),
                    )
                })
                .collect())
        }
    }
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

/// Scores one window (a window of `GetChange`) with the same domain
/// function as the matching score; `plan` is set for the perception-gap
/// metrics. Returns the point and, when it has a value and the metric a
/// test (SPEC §10.4), what that test needs of it. A trend scores its
/// buckets from one grouped statement instead ([`grouped_points`]), through
/// the same point functions below.
pub(super) async fn point_for(
    services: &Services,
    tenant: TenantId,
    query: &TrendQuery,
    plan: Option<&GapPlan>,
    scope: Scope,
    ctx: &Context,
) -> ServiceResult<(TrendPoint, Option<WindowSample>)> {
    if let (Some(plan), Some(question)) = (plan, query.metric.question()) {
        let report = gap::perception_gap(services, tenant, &plan.with_scope(scope)).await?;
        return Ok(gap_point(&query.metric, report.overall.question(question)));
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
                (&ctx.model, Some(&ctx.etag)),
            )
            .await?;
            Ok((loyalty_point(&report.risk), None))
        }
        metric => {
            let report = effort::effort_index(
                services,
                tenant,
                &EffortQuery {
                    scope,
                    confidence: query.confidence,
                },
                (&ctx.model, Some(&ctx.etag)),
            )
            .await?;
            Ok(if matches!(metric, Metric::CesMean) {
                ces_point(&report.survey, report.ease_moments)
            } else {
                journey_point(metric, &report.journeys, report.effort_index_moments)
            })
        }
    }
}

/// The point of a perception-gap metric from its question's figures
/// (`None`: the question is not reported, no value).
fn gap_point(metric: &Metric, q: Option<&QuestionGap>) -> (TrendPoint, Option<WindowSample>) {
    let mut point = TrendPoint::default();
    let mut sample = None;
    let Some(q) = q else {
        return (point, None);
    };
    match metric {
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
                if matches!(metric, Metric::FavorableShare { .. }) {
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
    (point, sample)
}

/// The NEGATIVE_WORD_OF_MOUTH_SHARE point of a loyalty risk (a model's
/// expectation: no sample, no change test).
fn loyalty_point(risk: &LoyaltyRisk) -> TrendPoint {
    let mut point = TrendPoint {
        sample_size: risk.customers,
        ..TrendPoint::default()
    };
    if risk.customers > 0
        && let Some(o) = risk
            .outcomes
            .iter()
            .find(|o| o.kind == OutcomeKind::NegativeWordOfMouth)
    {
        point.value = Some(o.expected_share.unwrap_or(0.0));
        point.interval = o.interval;
    }
    point
}

/// The CES_MEAN point of the `ease` answers' figures and moments.
fn ces_point(ces: &SurveyEffort, moments: Moments) -> (TrendPoint, Option<WindowSample>) {
    let point = TrendPoint {
        sample_size: ces.responses,
        value: (ces.responses > 0).then(|| ces.mean.unwrap_or(0.0)),
        ..TrendPoint::default()
    };
    (
        point,
        (ces.responses > 0).then_some(WindowSample::Mean(moments)),
    )
}

/// The EFFORT_INDEX_MEAN or HIGH_EFFORT_SHARE point of the journeys'
/// aggregate (`moments`: of their effort indexes).
fn journey_point(
    metric: &Metric,
    a: &EffortAggregate,
    moments: Moments,
) -> (TrendPoint, Option<WindowSample>) {
    let mut point = TrendPoint {
        sample_size: a.journeys,
        ..TrendPoint::default()
    };
    let mut sample = None;
    if a.journeys > 0 {
        if matches!(metric, Metric::EffortIndexMean) {
            point.value = Some(a.effort_index_mean.unwrap_or(0.0));
            sample = Some(WindowSample::Mean(moments));
        } else {
            point.value = Some(a.high_share.unwrap_or(0.0));
            point.interval = a.high_share_ci;
            sample = Some(WindowSample::Proportion {
                successes: a.high_journeys,
                n: a.journeys,
            });
        }
    }
    (point, sample)
}
