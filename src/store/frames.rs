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

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::StoreResult;
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
pub async fn paired_sums(
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
pub async fn moments(
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
