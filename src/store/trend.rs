//! A trend's aggregates in one grouped statement per trend (SPEC §8): the
//! same sums the matching score reads for one window, grouped by UTC
//! bucket, so a year by week is one pass over the window instead of 52
//! queries.
//!
//! Every bucket edge (midnight of a day, of a Monday, of a month's first)
//! is a UTC midnight, so the trend's window splits into whole days and at
//! most two partial edge days exactly as one window does
//! ([`rollup::split_days`]): each part lies inside one bucket, the parts of
//! one bucket are exactly the split of that bucket's share of the window,
//! and grouping the parts by `date_trunc(unit, …)` gives every bucket the
//! counts a query over its own share would. Buckets come back as the start
//! `date_trunc` gives, the same instant as `scoring::trend::bucket_floor`
//! (PostgreSQL weeks are ISO weeks), in no particular order (tier counts: by bucket);
//! buckets without data have no rows.
//!
//! The result is bounded by the trend's bucket count (at most
//! `MAX_TREND_BUCKETS`) times a few rows per bucket, never by the rows in
//! the window.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};

use super::{
    StoreResult, assessments,
    effort_sql::{effort_index_sql, effort_tier_sql},
    rollup,
};
use crate::{
    domain::{Numbered, Scope, TenantId, enums::Role},
    scoring::{
        effort::{EASE_HIGH_EFFORT_MAX, EASE_LOW_EFFORT_MIN, EffortModel, EffortTier},
        loyalty::TierCounts,
        trend::{TrendBucket, bucket_floor},
    },
};

/// One bar of one bucket's score histogram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketScoreCount {
    pub bucket: DateTime<Utc>,
    pub question: String,
    /// `gapscore.v1.RespondentRole` value.
    pub role: i16,
    pub score: i32,
    /// Answers (one per response and question) with this score.
    pub answers: u64,
}

fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Score histograms of `questions` per (bucket, question, role) over
/// `scope`, as `store::gap::rating_histograms` gives for one window: whole
/// UTC days from the `gap_daily` rollup and the partial edge days from
/// `answers` when the scope has no labels, else every answer in scope
/// (joined to its response for the labels). `survey_id` is on both tables;
/// `intent` does not scope answers. One statement, one snapshot.
pub async fn bucket_histograms(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    questions: &[String],
    bucket: TrendBucket,
) -> StoreResult<Vec<BucketScoreCount>> {
    if questions.is_empty() {
        return Ok(Vec::new());
    }
    let unit = bucket.date_trunc_unit();
    let mut qb = QueryBuilder::<Postgres>::new(
        "SELECT bucket, question, role, score, sum(n)::bigint AS answers FROM (",
    );
    if scope.labels.is_some() {
        push_raw_answers(&mut qb, tenant, scope, questions, unit, true);
    } else {
        let split = rollup::split_days(scope.window);
        // `split` always has at least one part.
        let mut separator = "";
        if let Some((from, until)) = split.days {
            qb.push(format_args!(
                "SELECT date_trunc('{unit}', day::timestamp) AS bucket, question, role, score, \
                   answers AS n FROM gap_daily WHERE tenant_id = "
            ))
            .push_bind(tenant.0)
            .push(" AND question = ANY(")
            .push_bind(questions.to_vec())
            .push(")");
            if let Some(from) = from {
                qb.push(" AND day >= ").push_bind(from);
            }
            if let Some(until) = until {
                qb.push(" AND day < ").push_bind(until);
            }
            if let Some(survey) = &scope.survey_id {
                qb.push(" AND survey_id = ").push_bind(survey.clone());
            }
            separator = " UNION ALL ";
        }
        for window in split.raw.iter().flatten() {
            qb.push(separator);
            let edge = Scope {
                window: *window,
                survey_id: scope.survey_id.clone(),
                ..Scope::default()
            };
            push_raw_answers(&mut qb, tenant, &edge, questions, unit, false);
            separator = " UNION ALL ";
        }
    }
    qb.push(") parts GROUP BY bucket, question, role, score HAVING sum(n) <> 0");
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(BucketScoreCount {
                bucket: utc(row.try_get("bucket")?),
                question: row.try_get("question")?,
                role: row.try_get("role")?,
                score: row.try_get("score")?,
                answers: count(row.try_get("answers")?),
            })
        })
        .collect()
}

/// `SELECT bucket, question, role, score, count(*) AS n` over the scored
/// answers of `questions` in `scope`, grouped; joined to the response row
/// when `join` (labels, and then survey_id there too).
fn push_raw_answers(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    scope: &Scope,
    questions: &[String],
    unit: &str,
    join: bool,
) {
    qb.push(format_args!(
        "SELECT date_trunc('{unit}', a.submitted_at AT TIME ZONE 'UTC') AS bucket, \
           a.question, a.role, a.score, count(*) AS n FROM answers a"
    ));
    if join {
        qb.push(" JOIN survey_responses r ON r.tenant_id = a.tenant_id AND r.rid = a.rid");
    }
    qb.push(" WHERE a.tenant_id = ")
        .push_bind(tenant.0)
        .push(" AND a.question = ANY(")
        .push_bind(questions.to_vec())
        .push(") AND a.score IS NOT NULL");
    if join {
        scope.push_answer_conditions(qb, "a", true);
    } else {
        scope.push_window(qb, "a.submitted_at");
        if let Some(survey) = &scope.survey_id {
            qb.push(" AND a.survey_id = ").push_bind(survey.clone());
        }
    }
    qb.push(" GROUP BY 1, 2, 3, 4");
}

/// What the journey metrics of one bucket need: the counts and sums
/// `store::effort` reads for one window (the rest of an effort report is
/// not charted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketJourneySums {
    pub bucket: DateTime<Utc>,
    pub journeys: u64,
    /// Σ effort index and Σ effort index² under the model.
    pub effort_index_sum: f64,
    pub effort_index_sum_sq: f64,
    pub high_journeys: u64,
    pub medium_journeys: u64,
    pub low_journeys: u64,
}

/// Journey counts and effort-index sums per bucket of `started_at` over
/// `scope` (window, labels, intent) under `model`: one pass over the
/// journeys in the window.
pub async fn bucket_journey_sums(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
    bucket: TrendBucket,
) -> StoreResult<Vec<BucketJourneySums>> {
    let unit = bucket.date_trunc_unit();
    let index = effort_index_sql("j", model);
    let tier = effort_tier_sql("e.effort_index", model);
    let mut qb = QueryBuilder::<Postgres>::new(format!(
        "WITH e AS (SELECT date_trunc('{unit}', j.started_at AT TIME ZONE 'UTC') AS bucket, \
           {index} AS effort_index FROM journeys j WHERE j.tenant_id = "
    ));
    qb.push_bind(tenant.0);
    scope.push_journey_conditions(&mut qb, "j");
    // `OFFSET 0`: the index expression is evaluated once per journey,
    // not once per reference below (as in `store::effort`'s journey sums).
    qb.push(format_args!(
        " OFFSET 0) SELECT bucket, count(*) AS journeys, \
           coalesce(sum(e.effort_index), 0)::float8 AS index_sum, \
           coalesce(sum(e.effort_index * e.effort_index), 0)::float8 AS index_sum_sq, \
           count(*) FILTER (WHERE {tier} = 3) AS high, \
           count(*) FILTER (WHERE {tier} = 2) AS medium, \
           count(*) FILTER (WHERE {tier} = 1) AS low \
         FROM e GROUP BY bucket"
    ));
    let rows = qb.build().fetch_all(pool).await?;
    rows.iter()
        .map(|row| {
            Ok(BucketJourneySums {
                bucket: utc(row.try_get("bucket")?),
                journeys: count(row.try_get("journeys")?),
                effort_index_sum: row.try_get("index_sum")?,
                effort_index_sum_sq: row.try_get("index_sum_sq")?,
                high_journeys: count(row.try_get("high")?),
                medium_journeys: count(row.try_get("medium")?),
                low_journeys: count(row.try_get("low")?),
            })
        })
        .collect()
}

/// Customers assessed per bucket and tier, each bucket's share of the
/// window assessed on its own as SPEC §7.1 assesses one window (the
/// latest CUSTOMER `ease` answer in the bucket decides, ties broken by
/// the greater response id, else the worst journey started in it; labels
/// on both sources; `survey_id` and `intent` do not scope loyalty), the
/// same rules as `store::loyalty`'s assessment, grouped by bucket.
///
/// `etag` is `model`'s when the caller knows it. When the whole-history
/// rows answer the scope (`store::assessments::whole_history_span`, in the
/// same snapshot) and every record falls in one bucket, that bucket's
/// share of the window holds every record, so its counts are the rows'
/// (and no other bucket has data): read from the rows. Otherwise assessed
/// from the records.
pub async fn bucket_tier_counts(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    (model, etag): (&EffortModel, Option<&str>),
    bucket: TrendBucket,
) -> StoreResult<Vec<(DateTime<Utc>, TierCounts)>> {
    let Some(etag) = etag else {
        let mut conn = pool.acquire().await?;
        return assessed_bucket_tier_counts(&mut conn, tenant, scope, model, bucket).await;
    };
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let span = assessments::whole_history_span(&mut tx, tenant, scope, etag).await?;
    let one_bucket = span.and_then(|span| match (span.first, span.last) {
        (Some(first), Some(last)) => {
            let start = bucket_floor(first, bucket);
            (bucket_floor(last, bucket) == start).then_some(Some(start))
        }
        // No record: no bucket has data.
        _ => Some(None),
    });
    let counts = match one_bucket {
        Some(Some(start)) => vec![(start, assessments::tier_counts(&mut tx, tenant).await?)],
        Some(None) => Vec::new(),
        None => assessed_bucket_tier_counts(&mut tx, tenant, scope, model, bucket).await?,
    };
    tx.commit().await?;
    Ok(counts)
}

/// [`bucket_tier_counts`] assessed from the records.
async fn assessed_bucket_tier_counts(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
    bucket: TrendBucket,
) -> StoreResult<Vec<(DateTime<Utc>, TierCounts)>> {
    let unit = bucket.date_trunc_unit();
    let mut qb = QueryBuilder::<Postgres>::new(format!(
        "WITH ces AS (SELECT DISTINCT ON (1, r.respondent_id) \
           date_trunc('{unit}', r.submitted_at AT TIME ZONE 'UTC') AS bucket, \
           r.respondent_id AS customer_id, a.score AS latest_ease \
         FROM survey_responses r \
         JOIN answers a ON a.tenant_id = r.tenant_id AND a.rid = r.rid \
         WHERE r.tenant_id = "
    ));
    qb.push_bind(tenant.0)
        .push(format_args!(
            " AND a.role = {} AND r.respondent_id IS NOT NULL \
              AND a.score IS NOT NULL AND a.question = ",
            Role::Customer.db()
        ))
        .push_bind(super::effort::EASE_QUESTION);
    scope.push_window(&mut qb, "a.submitted_at");
    scope.push_window(&mut qb, "r.submitted_at");
    scope.push_labels(&mut qb, "r.labels");
    qb.push(format_args!(
        " ORDER BY 1, r.respondent_id, r.submitted_at DESC, r.id COLLATE \"C\" DESC), \
         worst AS (SELECT date_trunc('{unit}', j.started_at AT TIME ZONE 'UTC') AS bucket, \
           j.customer_id, max({index}) AS worst_effort_index \
         FROM journeys j WHERE j.tenant_id = ",
        index = effort_index_sql("j", model),
    ))
    .push_bind(tenant.0);
    scope.push_window(&mut qb, "j.started_at");
    scope.push_labels(&mut qb, "j.labels");
    qb.push(format_args!(
        " GROUP BY 1, 2) \
         SELECT coalesce(c.bucket, w.bucket) AS bucket, \
           CASE WHEN c.customer_id IS NOT NULL THEN \
             (CASE WHEN c.latest_ease >= {EASE_LOW_EFFORT_MIN} THEN {low} \
                   WHEN c.latest_ease <= {EASE_HIGH_EFFORT_MAX} THEN {high} ELSE {medium} END) \
           ELSE {index_tier} END AS tier, count(*) AS customers \
         FROM ces c FULL JOIN worst w ON w.bucket = c.bucket AND w.customer_id = c.customer_id \
         GROUP BY 1, 2",
        low = EffortTier::Low.number(),
        medium = EffortTier::Medium.number(),
        high = EffortTier::High.number(),
        index_tier = effort_tier_sql("w.worst_effort_index", model),
    ));
    let rows: Vec<(NaiveDateTime, i32, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let mut out: BTreeMap<DateTime<Utc>, TierCounts> = BTreeMap::new();
    for (bucket, tier, n) in rows {
        let counts = out.entry(utc(bucket)).or_default();
        match EffortTier::from_number(tier) {
            Some(EffortTier::Low) => counts.low = count(n),
            Some(EffortTier::Medium) => counts.medium = count(n),
            Some(EffortTier::High) => counts.high = count(n),
            None => {}
        }
    }
    Ok(out.into_iter().collect())
}
