//! Aggregates of framed answers (SPEC §16): expectation, importance and
//! competitor scores, alone or paired with the EXPERIENCE answer of the
//! same response and question.
//!
//! Like every scoring read, each query is one pass in PostgreSQL that
//! returns sums, never answer rows: a paired test needs only n, Σd and Σd²
//! of the differences, an independent one n, Σx and Σx² per side. The
//! statistics on them are pure functions in `scoring`.
//!
//! Framed answers live in `framed_answers` (migration 0011); a pair is the
//! framed answer and the `answers` row of the same `(tenant_id, rid,
//! question)`, found through the primary key of `answers`.
//!
//! Those sums are additive per day, so for a scope without labels the
//! whole UTC days of the window are read from the daily rollup
//! `frame_daily` (migration 0021, `store::frame_rollup`) and only the
//! partial edge days from the raw rows, as `store::gap` reads
//! `gap_daily`: the cost of a read is then bounded by the days and keys in
//! the window, not by the answers. A scope with labels reads the raw rows
//! ([`raw_paired_sums`], [`raw_moments`]): the rollup keeps no label set.
//! Both paths give the same sums; property tests hold them equal.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{StoreResult, rollup};
use crate::domain::{Numbered, Scope, TenantId, enums::AnswerFrame, enums::Role};

/// Most competitors one competitive-gap response reports; the paired query
/// returns at most this many + 1, in byte order, so the caller can tell
/// "too many" (and ask for one `competitor`) without loading them all.
pub const MAX_COMPETITORS: usize = 100;

/// Which framed answers to aggregate.
#[derive(Debug, Clone, Copy)]
pub struct FrameQuery<'a> {
    pub scope: &'a Scope,
    pub frame: AnswerFrame,
    /// Question keys; `None` for every question with answers in the frame.
    pub questions: Option<&'a [String]>,
    /// Only this competitor (COMPETITOR frame).
    pub competitor: Option<&'a str>,
}

/// Sums over the respondents of one role who answered a question both in
/// EXPERIENCE and in the query's frame; differences are experience −
/// framed, in raw score units.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct PairedSums {
    pub question: String,
    /// `""` unless the frame is COMPETITOR.
    pub competitor: String,
    pub respondents: i64,
    pub sum_experience: i64,
    pub sum_framed: i64,
    /// Σ (experience − framed)².
    pub sum_sq_difference: i64,
    /// Respondents whose experience score is above the framed one.
    pub above: i64,
    /// Respondents whose experience score is below the framed one.
    pub below: i64,
}

impl PairedSums {
    /// Σ (experience − framed).
    pub fn sum_difference(&self) -> i64 {
        self.sum_experience - self.sum_framed
    }

    /// Respondents whose two scores are equal.
    pub fn ties(&self) -> i64 {
        self.respondents - self.above - self.below
    }
}

/// n, Σx and Σx² of one role's scores on one question in one frame.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FrameMoments {
    pub question: String,
    /// `gapscore.v1.RespondentRole`.
    pub role: i16,
    pub respondents: i64,
    pub sum: i64,
    pub sum_sq: i64,
}

/// Appends the tenant, frame, question, competitor and scope conditions on
/// the `framed_answers f` of the query (joined to `survey_responses r` when
/// the scope needs it).
fn push_conditions(qb: &mut QueryBuilder<Postgres>, tenant: TenantId, q: &FrameQuery<'_>) {
    qb.push(" WHERE f.tenant_id = ").push_bind(tenant.0);
    qb.push(" AND f.frame = ").push_bind(q.frame.db());
    if let Some(questions) = q.questions {
        qb.push(" AND f.question = ANY(")
            .push_bind(questions.to_vec())
            .push(")");
    }
    if let Some(competitor) = q.competitor {
        qb.push(" AND f.competitor = ")
            .push_bind(competitor.to_owned());
    }
    q.scope
        .push_answer_conditions(qb, "f", q.scope.needs_response_row());
}

fn push_response_join(qb: &mut QueryBuilder<Postgres>, scope: &Scope) {
    if scope.needs_response_row() {
        qb.push(" JOIN survey_responses r ON r.tenant_id = f.tenant_id AND r.rid = f.rid");
    }
}

/// Paired sums per (question, competitor) over `role`'s responses in scope
/// that answered the question in EXPERIENCE and in `q.frame`, in no
/// particular order. At most [`MAX_COMPETITORS`] + 1 competitors (the
/// first in byte order) are returned.
///
/// Without labels in scope from the rollup ([`rollup_paired_sums`]),
/// otherwise from the raw rows ([`raw_paired_sums`]).
pub async fn paired_sums(
    pool: &PgPool,
    tenant: TenantId,
    q: FrameQuery<'_>,
    role: Role,
) -> StoreResult<Vec<PairedSums>> {
    if q.scope.labels.is_none() {
        rollup_paired_sums(pool, tenant, q, role).await
    } else {
        raw_paired_sums(pool, tenant, q, role).await
    }
}

/// [`paired_sums`] from the raw rows alone: every framed answer in scope
/// joined to its EXPERIENCE answer.
pub async fn raw_paired_sums(
    pool: &PgPool,
    tenant: TenantId,
    q: FrameQuery<'_>,
    role: Role,
) -> StoreResult<Vec<PairedSums>> {
    let mut qb = QueryBuilder::new(
        "SELECT question, competitor, respondents, sum_experience, sum_framed,
                sum_sq_difference, above, below
         FROM (
           SELECT f.question, f.competitor, count(*) AS respondents,
                  sum(e.score)::bigint AS sum_experience, sum(f.score)::bigint AS sum_framed,
                  sum((e.score - f.score) * (e.score - f.score))::bigint AS sum_sq_difference,
                  count(*) FILTER (WHERE e.score > f.score) AS above,
                  count(*) FILTER (WHERE e.score < f.score) AS below,
                  dense_rank() OVER (ORDER BY f.competitor COLLATE \"C\") AS competitor_rank
           FROM framed_answers f
           JOIN answers e ON e.tenant_id = f.tenant_id AND e.rid = f.rid
                         AND e.question = f.question",
    );
    push_response_join(&mut qb, q.scope);
    push_conditions(&mut qb, tenant, &q);
    qb.push(" AND f.role = ").push_bind(role.db());
    qb.push(
        " AND e.score IS NOT NULL GROUP BY f.question, f.competitor) p WHERE competitor_rank <= ",
    )
    .push_bind(MAX_COMPETITORS as i64 + 1);
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// n, Σx and Σx² per (question, role) of the answers in `q.frame` in
/// scope, in no particular order (at most questions × 3 rows). For the
/// EXPECTATION and IMPORTANCE frames: COMPETITOR answers are not split by
/// competitor here.
///
/// Without labels in scope from the rollup ([`rollup_moments`]), otherwise
/// from the raw rows ([`raw_moments`]).
pub async fn moments(
    pool: &PgPool,
    tenant: TenantId,
    q: FrameQuery<'_>,
) -> StoreResult<Vec<FrameMoments>> {
    if q.scope.labels.is_none() {
        rollup_moments(pool, tenant, q).await
    } else {
        raw_moments(pool, tenant, q).await
    }
}

/// [`moments`] from the raw rows alone.
pub async fn raw_moments(
    pool: &PgPool,
    tenant: TenantId,
    q: FrameQuery<'_>,
) -> StoreResult<Vec<FrameMoments>> {
    let mut qb = QueryBuilder::new(
        "SELECT f.question, f.role, count(*) AS respondents, sum(f.score)::bigint AS sum,
                sum(f.score::bigint * f.score)::bigint AS sum_sq
         FROM framed_answers f",
    );
    push_response_join(&mut qb, q.scope);
    push_conditions(&mut qb, tenant, &q);
    qb.push(" GROUP BY f.question, f.role");
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// Appends the conditions of `q` (and of `role`, when given) on the
/// `frame_daily` rows of the whole days `[from, until)`.
fn push_rollup_conditions(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    q: &FrameQuery<'_>,
    role: Option<Role>,
    (from, until): (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>),
) {
    qb.push(" WHERE tenant_id = ").push_bind(tenant.0);
    qb.push(" AND frame = ").push_bind(q.frame.db());
    if let Some(questions) = q.questions {
        qb.push(" AND question = ANY(")
            .push_bind(questions.to_vec())
            .push(")");
    }
    if let Some(competitor) = q.competitor {
        qb.push(" AND competitor = ")
            .push_bind(competitor.to_owned());
    }
    if let Some(role) = role {
        qb.push(" AND role = ").push_bind(role.db());
    }
    if let Some(from) = from {
        qb.push(" AND day >= ").push_bind(from);
    }
    if let Some(until) = until {
        qb.push(" AND day < ").push_bind(until);
    }
    if let Some(survey) = &q.scope.survey_id {
        qb.push(" AND survey_id = ").push_bind(survey.clone());
    }
}

/// Appends the conditions of `q` (and of `role`, when given) on the
/// `framed_answers f` of one edge range of the window. `survey_id` is on
/// the framed answer itself (a copy of the response's), so no join.
fn push_edge_conditions(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    q: &FrameQuery<'_>,
    role: Option<Role>,
    window: crate::domain::Window,
) {
    qb.push(" WHERE f.tenant_id = ").push_bind(tenant.0);
    qb.push(" AND f.frame = ").push_bind(q.frame.db());
    if let Some(questions) = q.questions {
        qb.push(" AND f.question = ANY(")
            .push_bind(questions.to_vec())
            .push(")");
    }
    if let Some(competitor) = q.competitor {
        qb.push(" AND f.competitor = ")
            .push_bind(competitor.to_owned());
    }
    if let Some(role) = role {
        qb.push(" AND f.role = ").push_bind(role.db());
    }
    super::scope::push_window(qb, "f.submitted_at", &window);
    if let Some(survey) = &q.scope.survey_id {
        qb.push(" AND f.survey_id = ").push_bind(survey.clone());
    }
}

/// [`paired_sums`] for a scope without labels: the paired rows of
/// `frame_daily` for the window's whole days plus the edge days' raw
/// pairs, summed in one query (one snapshot). Keys whose deltas sum to no
/// respondent are dropped before competitors are ranked, so the
/// [`MAX_COMPETITORS`] cut counts the competitors the raw rows have, as
/// [`raw_paired_sums`] does.
pub async fn rollup_paired_sums(
    pool: &PgPool,
    tenant: TenantId,
    q: FrameQuery<'_>,
    role: Role,
) -> StoreResult<Vec<PairedSums>> {
    debug_assert!(q.scope.labels.is_none());
    let split = rollup::split_days(q.scope.window);
    let mut qb = QueryBuilder::new(
        "SELECT question, competitor, respondents, sum_experience, sum_framed,
                sum_sq_difference, above, below
         FROM (
           SELECT question, competitor, sum(n)::bigint AS respondents,
                  sum(se)::bigint AS sum_experience, sum(sf)::bigint AS sum_framed,
                  sum(sd)::bigint AS sum_sq_difference, sum(ab)::bigint AS above,
                  sum(be)::bigint AS below,
                  dense_rank() OVER (ORDER BY competitor COLLATE \"C\") AS competitor_rank
           FROM (",
    );
    // `split` always has at least one part.
    let mut separator = "";
    if let Some(days) = split.days {
        qb.push(
            "SELECT question, competitor, answers AS n, sum_experience AS se,
                    sum_framed AS sf, sum_sq_difference AS sd, above AS ab, below AS be
             FROM frame_daily",
        );
        push_rollup_conditions(&mut qb, tenant, &q, Some(role), days);
        qb.push(" AND paired");
        separator = " UNION ALL ";
    }
    for window in split.raw.iter().flatten() {
        qb.push(separator).push(
            "SELECT f.question, f.competitor, count(*) AS n, sum(e.score)::bigint AS se,
                    sum(f.score)::bigint AS sf,
                    sum((e.score - f.score)::bigint * (e.score - f.score))::bigint AS sd,
                    count(*) FILTER (WHERE e.score > f.score) AS ab,
                    count(*) FILTER (WHERE e.score < f.score) AS be
             FROM framed_answers f
             JOIN answers e ON e.tenant_id = f.tenant_id AND e.rid = f.rid
                           AND e.question = f.question",
        );
        push_edge_conditions(&mut qb, tenant, &q, Some(role), *window);
        qb.push(" AND e.score IS NOT NULL GROUP BY f.question, f.competitor");
        separator = " UNION ALL ";
    }
    qb.push(
        ") parts GROUP BY question, competitor HAVING sum(n) <> 0
         ) p WHERE competitor_rank <= ",
    )
    .push_bind(MAX_COMPETITORS as i64 + 1);
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// [`moments`] for a scope without labels: `frame_daily` (paired and
/// unpaired rows) for the window's whole days plus the edge days' raw
/// framed answers, summed in one query (one snapshot).
pub async fn rollup_moments(
    pool: &PgPool,
    tenant: TenantId,
    q: FrameQuery<'_>,
) -> StoreResult<Vec<FrameMoments>> {
    debug_assert!(q.scope.labels.is_none());
    let split = rollup::split_days(q.scope.window);
    let mut qb = QueryBuilder::new(
        "SELECT question, role, sum(n)::bigint AS respondents, sum(s)::bigint AS sum,
                sum(s2)::bigint AS sum_sq
         FROM (",
    );
    // `split` always has at least one part.
    let mut separator = "";
    if let Some(days) = split.days {
        qb.push(
            "SELECT question, role, answers AS n, sum_framed AS s, sum_sq_framed AS s2
             FROM frame_daily",
        );
        push_rollup_conditions(&mut qb, tenant, &q, None, days);
        separator = " UNION ALL ";
    }
    for window in split.raw.iter().flatten() {
        qb.push(separator).push(
            "SELECT f.question, f.role, count(*) AS n, sum(f.score)::bigint AS s,
                    sum(f.score::bigint * f.score)::bigint AS s2
             FROM framed_answers f",
        );
        push_edge_conditions(&mut qb, tenant, &q, None, *window);
        qb.push(" GROUP BY f.question, f.role");
        separator = " UNION ALL ";
    }
    qb.push(") parts GROUP BY question, role HAVING sum(n) <> 0");
    Ok(qb.build_query_as().fetch_all(pool).await?)
}
