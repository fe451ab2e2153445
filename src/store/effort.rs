//! Effort aggregates over the journeys and `ease` answers in scope (SPEC §6).
//!
//! The heavy lifting is three aggregate queries, run in one read-only
//! snapshot so the parts of a report agree:
//!
//! 1. over journeys: each journey's effort index and component points under
//!    the tenant's model, then counts, sums and percentiles over them:
//!    without labels or intent, from the per-journey rows kept under the
//!    model in force and their daily rollup (`store::journey_efforts`),
//!    else (or while a model change is being recomputed) from the journeys
//!    (`effort_index_sql`, `effort_points_sql`, `percentile_cont`);
//! 2. over the customer touchpoints of those journeys, per channel: without
//!    labels or intent, whole UTC days from the `effort_daily` rollup
//!    (`store::effort_rollup`) and the partial edge days raw;
//! 3. the histogram of CUSTOMER `ease` answers in scope: without labels,
//!    from the perception gap's `gap_daily` rollup the same way.
//!
//! The rollup parts are exact (they sum the same rows, split by
//! `rollup::split_days`); tests hold them equal to the raw queries, which
//! stay for the scopes the rollups cannot answer
//! (docs/decisions/effort-rollup.md).
//!
//! The statistics (shares, Wilson intervals, drivers) are computed from
//! these sums in `scoring::effort`.

use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};

use super::{
    StoreResult,
    effort_sql::{effort_index_sql, effort_points_sql, effort_tier_sql},
    gap::{self, GapQuery},
    journey_efforts, rollup,
};
use crate::{
    domain::{
        Numbered, Scope, TenantId,
        enums::{Initiator, Role, TouchpointOutcome},
    },
    scoring::effort::{EffortModel, EffortSums},
};

/// The built-in CES question (SPEC §4).
pub const EASE_QUESTION: &str = "ease";

/// Customer touchpoints of one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelSums {
    /// `gapscore.v1.Channel` value.
    pub channel: i16,
    pub touchpoints: i64,
    /// Touchpoints whose outcome is not `RESOLVED`.
    pub unresolved: i64,
    /// Σ wait_seconds.
    pub wait_seconds: i64,
}

/// Everything `GetEffortIndex` needs from the database.
#[derive(Debug, Clone, PartialEq)]
pub struct EffortData {
    pub journeys: EffortSums,
    /// Distinct customers of the journeys in scope.
    pub customers: i64,
    /// Ordered by channel.
    pub channels: Vec<ChannelSums>,
    /// `(score, answers)` of CUSTOMER `ease` answers in scope, by score.
    pub ease_histogram: Vec<(i32, u64)>,
}

/// Reads the effort data of `scope` under `model`, in one snapshot. With
/// the model's `etag`, query 1 comes from the per-journey rows and their
/// rollup (`store::journey_efforts`) when they answer the scope, else
/// from the journeys.
pub async fn effort_data(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    (model, etag): (&EffortModel, Option<&str>),
) -> StoreResult<EffortData> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let kept = match etag {
        Some(etag) => journey_efforts::journey_sums(&mut tx, tenant, scope, etag).await?,
        None => None,
    };
    let (journeys, customers) = match kept {
        Some(sums) => sums,
        None => journey_sums(&mut tx, tenant, scope, model).await?,
    };
    let channels = channel_sums(&mut tx, tenant, scope).await?;
    let ease_histogram = ease_histogram(&mut tx, tenant, scope).await?;
    tx.commit().await?;
    Ok(EffortData {
        journeys,
        customers,
        channels,
        ease_histogram,
    })
}

fn count(row: &sqlx::postgres::PgRow, column: &str) -> StoreResult<u64> {
    let n: i64 = row.try_get(column)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Query 1 from the journeys alone, for any scope: one row of counts and
/// sums over the journeys in scope.
pub async fn journey_sums(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
) -> StoreResult<(EffortSums, i64)> {
    let points = effort_points_sql("j", model);
    let index = effort_index_sql("j", model);
    let tier = effort_tier_sql("e.effort_index", model);
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("WITH e AS (SELECT j.customer_id, ");
    qb.push(format_args!("{index} AS effort_index"));
    for (i, p) in points.iter().enumerate() {
        qb.push(format_args!(", {p} AS p{i}"));
    }
    qb.push(
        ", j.customer_touchpoints, j.channel_switches, j.customer_seconds, j.resolved, \
           j.has_assisted, j.first_assisted_resolved, j.first_customer_resolved \
         FROM journeys j WHERE j.tenant_id = ",
    )
    .push_bind(tenant.0);
    scope.push_journey_conditions(&mut qb, "j");
    // `OFFSET 0` keeps `e` a subquery of its own: inlined and pulled up,
    // every reference to `e.effort_index` in the aggregates below (eleven,
    // with the tier's) was the whole index expression again, evaluated per
    // journey each time (EXPLAIN ANALYZE at 1M answers: 300-440 ms, 80-110 ms
    // fenced). The distinct count compares customer ids byte by byte
    // (`COLLATE "C"`; equality under the database's deterministic
    // collation is byte equality, so the count is the same). The float
    // sums are taken in `numeric`, exactly, as `store::journey_efforts`
    // takes them: the report is the same, to the last bit, whichever
    // path answers it, and in any row order.
    qb.push(format_args!(
        " OFFSET 0) SELECT count(*) AS journeys, \
           count(DISTINCT e.customer_id COLLATE \"C\") AS customers, \
           coalesce(sum(e.effort_index::numeric), 0)::float8 AS index_sum, \
           coalesce(sum((e.effort_index * e.effort_index)::numeric), 0)::float8 AS index_sum_sq, \
           percentile_cont(0.5) WITHIN GROUP (ORDER BY e.effort_index) AS p50, \
           percentile_cont(0.9) WITHIN GROUP (ORDER BY e.effort_index) AS p90, \
           count(*) FILTER (WHERE {tier} = 3) AS high, \
           count(*) FILTER (WHERE {tier} = 2) AS medium, \
           count(*) FILTER (WHERE {tier} = 1) AS low, \
           coalesce(sum(e.customer_touchpoints), 0)::int8 AS contacts, \
           coalesce(sum(e.channel_switches), 0)::int8 AS switches, \
           coalesce(sum(e.customer_seconds), 0)::int8 AS seconds, \
           count(*) FILTER (WHERE NOT e.resolved) AS unresolved, \
           count(*) FILTER (WHERE e.has_assisted) AS assisted, \
           count(*) FILTER (WHERE e.has_assisted AND e.first_assisted_resolved) AS fcr, \
           count(*) FILTER (WHERE e.first_customer_resolved) AS one_touch"
    ));
    for i in 0..points.len() {
        qb.push(format_args!(
            ", coalesce(sum(e.p{i}::numeric), 0)::float8 AS s{i}"
        ));
    }
    qb.push(" FROM e");
    let row = qb.build().fetch_one(&mut *conn).await?;
    let mut component_points = [0.0; 7];
    for (i, sum) in component_points.iter_mut().enumerate() {
        *sum = row.try_get(format!("s{i}").as_str())?;
    }
    let sums = EffortSums {
        journeys: count(&row, "journeys")?,
        effort_index_sum: row.try_get("index_sum")?,
        effort_index_sum_sq: row.try_get("index_sum_sq")?,
        effort_index_p50: row.try_get("p50")?,
        effort_index_p90: row.try_get("p90")?,
        high_journeys: count(&row, "high")?,
        medium_journeys: count(&row, "medium")?,
        low_journeys: count(&row, "low")?,
        customer_touchpoints: row.try_get("contacts")?,
        channel_switches: row.try_get("switches")?,
        customer_seconds: row.try_get("seconds")?,
        unresolved_journeys: count(&row, "unresolved")?,
        component_points,
        assisted_journeys: count(&row, "assisted")?,
        first_assisted_resolved: count(&row, "fcr")?,
        first_customer_resolved: count(&row, "one_touch")?,
    };
    Ok((sums, row.try_get("customers")?))
}

/// Query 2: customer touchpoints of the journeys in scope, per channel.
///
/// Without labels or intent (conditions on the journey the rollup does not
/// keep), the whole UTC days of the window come from the `effort_daily`
/// rollup and only the partial days at its edges from the raw rows
/// ([`channel_sums_rollup`]); otherwise every journey in scope is joined
/// to its touchpoints ([`channel_sums_raw`]). Both give the same sums.
async fn channel_sums(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
) -> StoreResult<Vec<ChannelSums>> {
    if scope.labels.is_none() && scope.intent.is_none() {
        channel_sums_rollup(conn, tenant, scope).await
    } else {
        channel_sums_raw(conn, tenant, scope).await
    }
}

/// The raw part of query 2: `SELECT channel, touchpoints, unresolved,
/// wait_seconds` over the customer touchpoints of the journeys `scope`
/// selects, grouped by channel.
fn push_raw_channel_sums(qb: &mut QueryBuilder<Postgres>, tenant: TenantId, scope: &Scope) {
    qb.push(format_args!(
        "SELECT t.channel, count(*) AS touchpoints, \
           count(*) FILTER (WHERE t.outcome <> {resolved}) AS unresolved, \
           coalesce(sum(t.wait_seconds), 0)::int8 AS wait_seconds \
         FROM journeys j JOIN touchpoints t ON t.tenant_id = j.tenant_id AND t.jid = j.jid \
         WHERE t.initiator = {customer} AND j.tenant_id = ",
        resolved = TouchpointOutcome::Resolved.db(),
        customer = Initiator::Customer.db(),
    ));
    qb.push_bind(tenant.0);
    scope.push_journey_conditions(qb, "j");
    qb.push(" GROUP BY t.channel");
}

/// Query 2 from the raw rows alone, for any scope.
pub async fn channel_sums_raw(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
) -> StoreResult<Vec<ChannelSums>> {
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new("");
    push_raw_channel_sums(&mut qb, tenant, scope);
    qb.push(" ORDER BY t.channel");
    channel_rows(qb.build().fetch_all(&mut *conn).await?)
}

/// Query 2 for a scope without labels or intent: whole days from the
/// rollup plus the edge days' raw rows, summed in one query.
pub async fn channel_sums_rollup(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
) -> StoreResult<Vec<ChannelSums>> {
    debug_assert!(scope.labels.is_none() && scope.intent.is_none());
    let split = rollup::split_days(scope.window);
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(
        "SELECT channel, sum(touchpoints)::int8 AS touchpoints, \
           sum(unresolved)::int8 AS unresolved, sum(wait_seconds)::int8 AS wait_seconds \
         FROM (",
    );
    // `split` always has at least one part.
    let mut separator = "";
    if let Some((from, until)) = split.days {
        qb.push(
            "SELECT channel, touchpoints, unresolved, wait_seconds FROM effort_daily \
             WHERE tenant_id = ",
        )
        .push_bind(tenant.0);
        if let Some(from) = from {
            qb.push(" AND day >= ").push_bind(from);
        }
        if let Some(until) = until {
            qb.push(" AND day < ").push_bind(until);
        }
        separator = " UNION ALL ";
    }
    for window in split.raw.iter().flatten() {
        qb.push(separator);
        let edge = Scope {
            window: *window,
            ..Scope::default()
        };
        push_raw_channel_sums(&mut qb, tenant, &edge);
        separator = " UNION ALL ";
    }
    qb.push(") parts GROUP BY channel HAVING sum(touchpoints) <> 0 ORDER BY channel");
    channel_rows(qb.build().fetch_all(&mut *conn).await?)
}

fn channel_rows(rows: Vec<sqlx::postgres::PgRow>) -> StoreResult<Vec<ChannelSums>> {
    rows.iter()
        .map(|row| {
            Ok(ChannelSums {
                channel: row.try_get("channel")?,
                touchpoints: row.try_get("touchpoints")?,
                unresolved: row.try_get("unresolved")?,
                wait_seconds: row.try_get("wait_seconds")?,
            })
        })
        .collect()
}

/// Query 3: `(score, answers)` of `ease` answers by CUSTOMER respondents
/// in scope (window on `submitted_at`, labels, survey_id), by score.
///
/// Without labels, from the perception gap's daily rollup, which holds the
/// `ease` answers like any RATING question's, whole days from the rollup
/// and edge days raw (`gap::rollup_histograms`); with labels, from the
/// answers ([`ease_histogram_raw`]).
async fn ease_histogram(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
) -> StoreResult<Vec<(i32, u64)>> {
    if scope.labels.is_some() {
        ease_histogram_raw(conn, tenant, scope).await
    } else {
        ease_histogram_rollup(conn, tenant, scope).await
    }
}

/// Query 3 for a scope without labels, from the `gap_daily` rollup.
pub async fn ease_histogram_rollup(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
) -> StoreResult<Vec<(i32, u64)>> {
    debug_assert!(scope.labels.is_none());
    let questions = [EASE_QUESTION.to_owned()];
    let q = GapQuery {
        scope,
        questions: &questions,
        group_by: None,
    };
    let mut rows: Vec<(i32, u64)> = gap::rollup_histograms(&mut *conn, tenant, q)
        .await?
        .into_iter()
        .filter(|c| c.role == Role::Customer.db())
        .map(|c| (c.score, u64::try_from(c.respondents).unwrap_or(0)))
        .collect();
    rows.sort_unstable();
    Ok(rows)
}

/// Query 3 from the raw answers alone, for any scope.
pub async fn ease_histogram_raw(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
) -> StoreResult<Vec<(i32, u64)>> {
    let mut qb: QueryBuilder<Postgres> =
        QueryBuilder::new("SELECT a.score, count(*) FROM answers a");
    if scope.needs_response_row() {
        qb.push(" JOIN survey_responses r ON r.tenant_id = a.tenant_id AND r.rid = a.rid");
    }
    qb.push(" WHERE a.tenant_id = ")
        .push_bind(tenant.0)
        .push(" AND a.question = ")
        .push_bind(EASE_QUESTION)
        .push(format_args!(
            " AND a.role = {} AND a.score IS NOT NULL",
            Role::Customer.db()
        ));
    scope.push_response_conditions(&mut qb, "a.submitted_at", "r");
    if scope.needs_response_row() {
        // The same window on the response side of the join, so its time
        // index narrows the responses too (answers.submitted_at is a copy).
        scope.push_window(&mut qb, "r.submitted_at");
    }
    qb.push(" GROUP BY a.score ORDER BY a.score");
    let rows: Vec<(i32, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
    Ok(rows
        .into_iter()
        .map(|(score, n)| (score, u64::try_from(n).unwrap_or(0)))
        .collect())
}
