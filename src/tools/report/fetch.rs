//! The report's figures: one scorecard of all of a tenant's data, computed
//! by the scoring services under one read of the model and catalog, and
//! the monthly trends of its latest year ([`trends`]), all in one database
//! snapshot ([`Snapshot`]), in the protobuf form the API serves (the
//! scorecard's perception gap and priority map are the ones
//! `GetPerceptionGap` and `GetPriorityMap` return for the same data, the
//! trends `GetTrend`'s).

use anyhow::Context as _;
use sqlx::PgPool;

use chrono::{DateTime, Months, Utc};

use super::{
    html::render_html,
    snapshot::Snapshot,
    trend::{MAX_MONTHS, Trends},
};
use crate::{
    domain::{Numbered, Scope, TenantId, enums::Role},
    grpc::{self, convert::utc_to_timestamp},
    proto::v1::{
        GetPerceptionGapRequest, GetTrendRequest, RespondentRole, ScoreFilter, TrendBucket,
        TrendMetric, TrendPoint,
    },
    scoring::trend::{TrendBucket as Bucket, bucket_floor},
    service::{
        ServiceError, ServiceResult, Services,
        context::Context,
        scorecard,
        scorecard::{DELIVERY_GAP_QUESTION, NPS_QUESTION},
    },
    store::tenants,
};

/// Fetches a tenant's scorecard, perception gap and priority map over all
/// its data, in one snapshot ([`Snapshot`]), and renders them with
/// [`render_html`].
pub async fn build(pool: &PgPool, tenant_name: &str) -> anyhow::Result<String> {
    build_after(pool, tenant_name, async || {}).await
}

/// [`build`], running `after_snapshot` once the report's snapshot is taken
/// and before anything is read: a test commits a write there and sees it
/// in no part of the report.
pub async fn build_after(
    pool: &PgPool,
    tenant_name: &str,
    after_snapshot: impl AsyncFnOnce(),
) -> anyhow::Result<String> {
    let snapshot = Snapshot::take(pool).await?;
    after_snapshot().await;
    let html = render(snapshot.readers(), tenant_name).await;
    snapshot.release().await?;
    html
}

async fn render(pool: &PgPool, tenant_name: &str) -> anyhow::Result<String> {
    let Some(tenant) = tenants::find_tenant(pool, tenant_name).await? else {
        anyhow::bail!(
            "no tenant named {tenant_name:?} (load the demonstration data with `gapscore demo`, \
             then run `gapscore report --tenant demo`)"
        );
    };
    let tenant = TenantId(tenant.tenant_id);
    // No cache lifetime: the calibration is read once, fresh.
    let services = Services::new(pool.clone(), std::time::Duration::ZERO);
    let (card, gaps, priorities) = async {
        let ctx = Context::load(&services, tenant).await?;
        let card = scorecard::scorecard(&services, tenant, &Scope::default(), &ctx).await?;
        Ok::<_, ServiceError>((
            grpc::scorecard::response(&card),
            grpc::gap::response(&card.gaps),
            grpc::priority::response(&card.priority),
        ))
    }
    .await
    .with_context(|| format!("cannot compute the scorecard of tenant {tenant_name:?}"))?;
    let window = trend_window(pool, tenant).await?;
    let mut trends = match window {
        Some((start, end)) => trends(&services, tenant, start, end)
            .await
            .with_context(|| format!("cannot compute the trends of tenant {tenant_name:?}"))?,
        None => Trends::default(),
    };
    trends.confidence_level = card.confidence_level;
    Ok(render_html(&card, &gaps, &priorities, &trends, tenant_name))
}

/// The months the trends cover: from the first month with a survey
/// response, or [`MAX_MONTHS`] before the last one, to the end of the last;
/// `None` without responses. Two index lookups
/// (`survey_responses_time`), so the report's cost does not grow with the
/// tenant's data.
async fn trend_window(
    pool: &PgPool,
    tenant: TenantId,
) -> anyhow::Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
    let (first, last): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT min(submitted_at), max(submitted_at) FROM survey_responses WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .fetch_one(pool)
    .await
    .context("cannot read the span of the tenant's responses")?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(None);
    };
    let last_month = bucket_floor(last, Bucket::Month);
    let end = last_month
        .checked_add_months(Months::new(1))
        .context("responses too far in the future to chart")?;
    let earliest = last_month
        .checked_sub_months(Months::new(MAX_MONTHS - 1))
        .unwrap_or(last_month);
    Ok(Some((
        bucket_floor(first, Bucket::Month).max(earliest),
        end,
    )))
}

/// `GetTrend` by month over `[start, end)` of the delivery gap and of
/// customers' NPS, each NPS month with its `net_score_ci` from
/// `GetPerceptionGap` over that month (at most [`MAX_MONTHS`] calls).
async fn trends(
    services: &Services,
    tenant: TenantId,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> ServiceResult<Trends> {
    let filter = |start, end| {
        Some(ScoreFilter {
            start_time: Some(utc_to_timestamp(start)),
            end_time: Some(utc_to_timestamp(end)),
            ..Default::default()
        })
    };
    let request = |metric: TrendMetric, question: &str, role, to_role| GetTrendRequest {
        metric: metric as i32,
        bucket: TrendBucket::Month as i32,
        filter: filter(start, end),
        question: question.into(),
        role: role as i32,
        to_role: to_role as i32,
        confidence_level: None,
    };
    let delivery_gap = grpc::trend::trend(
        services,
        tenant,
        request(
            TrendMetric::GapPoints,
            DELIVERY_GAP_QUESTION,
            RespondentRole::Leadership,
            RespondentRole::Customer,
        ),
    )
    .await?
    .points;
    let mut nps: Vec<TrendPoint> = grpc::trend::trend(
        services,
        tenant,
        request(
            TrendMetric::NetScore,
            NPS_QUESTION,
            RespondentRole::Customer,
            RespondentRole::Unspecified,
        ),
    )
    .await?
    .points;
    for point in nps.iter_mut().filter(|p| p.value.is_some()) {
        let month = GetPerceptionGapRequest {
            filter: filter(
                point
                    .bucket_start
                    .map_or(start, |t| {
                        grpc::convert::timestamp_to_utc(&t).unwrap_or(start)
                    })
                    .max(start),
                point
                    .bucket_end
                    .map_or(end, |t| grpc::convert::timestamp_to_utc(&t).unwrap_or(end))
                    .min(end),
            ),
            questions: vec![NPS_QUESTION.into()],
            ..Default::default()
        };
        let gaps = grpc::gap::perception_gap(services, tenant, month).await?;
        point.interval = gaps
            .overall
            .iter()
            .flat_map(|r| &r.questions)
            .filter(|q| q.question == NPS_QUESTION)
            .flat_map(|q| &q.roles)
            .find(|r| r.role == Role::Customer.number() && !r.suppressed)
            .and_then(|r| r.net_score_ci);
    }
    Ok(Trends {
        delivery_gap,
        nps,
        ..Default::default()
    })
}
