//! Perception-gap aggregates (SPEC §5), computed in PostgreSQL.
//!
//! Two queries, each one pass over the answers in scope that returns
//! aggregates, never answer rows:
//!
//! - [`rating_histograms`]: `(group, question, role, score) → respondents`
//!   for RATING answers. Every statistic of §5 (n, favorable, unfavorable,
//!   mean) follows from a role's score histogram, so at most
//!   `questions × 3 roles × (scale span + 1)` rows per group leave the
//!   database, however many answers there are.
//! - [`theme_counts`]: `(group, question, role, theme) → respondents
//!   mentioning it`, plus `(group, question, role) → respondents who
//!   answered`, for THEMES answers.
//!
//! With `group_by`, rows are grouped by the label value as well, with NULL
//! for responses that lack the label. Every response falls in exactly one
//! group, and all these counts are additive, so the caller gets the overall
//! figures exactly by summing the groups (NULL included). That is the same
//! single pass `GROUP BY GROUPING SETS ((…), (label, …))` would make, but
//! PostgreSQL (15) runs grouping sets in one process only, while a plain
//! `GROUP BY` can use parallel workers: on 1.2 million answers grouped by
//! region, 1.6–1.8 s for either form serially, 1.0 s for the plain form
//! with two workers.
//!
//! `survey_responses` is joined only when labels, `survey_id` or `group_by`
//! need it: `answers` carries copies of `role` and `submitted_at`, so the
//! common "window only" case reads nothing but the covering index
//! `answers_question_scores (tenant_id, question, submitted_at) INCLUDE
//! (role, score, rid)` — one range per requested question. With a join the
//! window is applied to both tables (the response's `submitted_at` equals
//! the answers' copy), so `survey_responses_time` limits the hash side too;
//! see `migrations/0008_gap_indexes.sql` for the plans measured.

use sqlx::{PgPool, Postgres, QueryBuilder};

use super::{StoreResult, rollup};
use crate::domain::{Scope, TenantId};

/// What to aggregate: the scope, the question keys (of the right kind for
/// the query) and an optional label key to group by.
#[derive(Debug, Clone, Copy)]
pub struct GapQuery<'a> {
    pub scope: &'a Scope,
    pub questions: &'a [String],
    pub group_by: Option<&'a str>,
}

/// One bar of a score histogram.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ScoreCount {
    /// The `group_by` label value of the responses counted; `None` without
    /// `group_by`, or for responses without the label.
    pub group_value: Option<String>,
    pub question: String,
    /// `gapscore.v1.RespondentRole`: 1 LEADERSHIP, 2 STAFF, 3 CUSTOMER.
    pub role: i16,
    pub score: i32,
    /// Respondents (one answer per response and question) with this score.
    pub respondents: i64,
}

/// Theme mentions, or respondents when `theme` is `None`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThemeCount {
    /// As [`ScoreCount::group_value`].
    pub group_value: Option<String>,
    pub question: String,
    /// `gapscore.v1.RespondentRole`.
    pub role: i16,
    /// The theme; `None` for the row counting every respondent of
    /// (group, question, role) who answered.
    pub theme: Option<String>,
    /// Respondents mentioning the theme (or answering, for `None`).
    pub respondents: i64,
}

/// Appends `FROM answers a [JOIN survey_responses r] WHERE …` with the
/// tenant, questions and scope conditions, and `kind_condition` on `a`.
fn push_scoped_answers(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    q: &GapQuery<'_>,
    kind_condition: &str,
) {
    let join = q.group_by.is_some() || q.scope.needs_response_row();
    qb.push(" FROM answers a");
    if join {
        qb.push(" JOIN survey_responses r ON r.tenant_id = a.tenant_id AND r.rid = a.rid");
    }
    qb.push(" WHERE a.tenant_id = ").push_bind(tenant.0);
    qb.push(" AND a.question = ANY(")
        .push_bind(q.questions.to_vec())
        .push(")");
    qb.push(format_args!(" AND {kind_condition}"));
    // The window is on answers' copy of submitted_at (in the index), and on
    // the response row too when joined, so the response side is cut by
    // survey_responses_time instead of read whole.
    q.scope.push_window(qb, "a.submitted_at");
    if join {
        q.scope.push_window(qb, "r.submitted_at");
    }
    q.scope.push_labels(qb, "r.labels");
    if let Some(survey) = &q.scope.survey_id {
        qb.push(" AND r.survey_id = ").push_bind(survey.clone());
    }
}

/// The group expression of the inner select: the label value, or NULL.
fn push_group_value(qb: &mut QueryBuilder<Postgres>, group_by: Option<&str>) {
    match group_by {
        Some(key) => {
            qb.push("r.labels ->> ").push_bind(key.to_owned());
        }
        None => {
            qb.push("NULL::text");
        }
    }
}

/// Score histograms of RATING answers per (group, question, role), in no
/// particular order.
///
/// Without labels or `group_by` (the dashboard's common case) the whole UTC
/// days of the window are read from the `gap_daily` rollup and only the
/// partial days at its edges from `answers` (see [`rollup_histograms`]);
/// otherwise every answer in scope is read ([`raw_histograms`]). Both give
/// the same counts: a property test holds them equal.
pub async fn rating_histograms(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
) -> StoreResult<Vec<ScoreCount>> {
    if q.group_by.is_none() && q.scope.labels.is_none() {
        rollup_histograms(pool, tenant, q).await
    } else {
        raw_histograms(pool, tenant, q).await
    }
}

/// [`rating_histograms`] from the raw answers alone.
pub async fn raw_histograms(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
) -> StoreResult<Vec<ScoreCount>> {
    if q.questions.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::new(
        "SELECT s.group_value, s.question, s.role, s.score, count(*) AS respondents
         FROM (SELECT a.question, a.role, a.score, ",
    );
    push_group_value(&mut qb, q.group_by);
    qb.push(" AS group_value");
    push_scoped_answers(&mut qb, tenant, &q, "a.score IS NOT NULL");
    qb.push(") s GROUP BY s.group_value, s.question, s.role, s.score");
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// [`rating_histograms`] for a scope without labels or `group_by`: whole
/// days from the rollup plus the edge days' raw answers, summed in one
/// query (one snapshot). `survey_id` is on both tables.
pub async fn rollup_histograms(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
) -> StoreResult<Vec<ScoreCount>> {
    debug_assert!(q.group_by.is_none() && q.scope.labels.is_none());
    if q.questions.is_empty() {
        return Ok(Vec::new());
    }
    let split = rollup::split_days(q.scope.window);
    let mut qb = QueryBuilder::new(
        "SELECT NULL::text AS group_value, question, role, score,
                sum(n)::bigint AS respondents
         FROM (",
    );
    // `split` always has at least one part.
    let mut separator = "";
    if let Some((from, until)) = split.days {
        qb.push(
            "SELECT question, role, score, answers AS n FROM gap_daily
             WHERE tenant_id = ",
        )
        .push_bind(tenant.0)
        .push(" AND question = ANY(")
        .push_bind(q.questions.to_vec())
        .push(")");
        if let Some(from) = from {
            qb.push(" AND day >= ").push_bind(from);
        }
        if let Some(until) = until {
            qb.push(" AND day < ").push_bind(until);
        }
        if let Some(survey) = &q.scope.survey_id {
            qb.push(" AND survey_id = ").push_bind(survey.clone());
        }
        separator = " UNION ALL ";
    }
    for window in split.raw.iter().flatten() {
        qb.push(separator)
            .push(
                "SELECT question, role, score, count(*) AS n FROM answers
             WHERE tenant_id = ",
            )
            .push_bind(tenant.0)
            .push(" AND question = ANY(")
            .push_bind(q.questions.to_vec())
            .push(") AND score IS NOT NULL");
        let edge = Scope {
            window: *window,
            ..Scope::default()
        };
        edge.push_window(&mut qb, "submitted_at");
        if let Some(survey) = &q.scope.survey_id {
            qb.push(" AND survey_id = ").push_bind(survey.clone());
        }
        qb.push(" GROUP BY question, role, score");
        separator = " UNION ALL ";
    }
    qb.push(") parts GROUP BY question, role, score HAVING sum(n) <> 0");
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// Theme mentions and respondents of THEMES answers per (group, question,
/// role), in no particular order.
///
/// Each answer is unnested with one extra NULL element, so a single
/// aggregation counts both: the NULL theme counts every respondent who
/// answered, each real theme the respondents mentioning it (ingest removes
/// duplicate themes within an answer).
pub async fn theme_counts(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
) -> StoreResult<Vec<ThemeCount>> {
    if q.questions.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::new(
        "SELECT s.group_value, s.question, s.role, t.theme, count(*) AS respondents
         FROM (SELECT a.question, a.role, a.themes, ",
    );
    push_group_value(&mut qb, q.group_by);
    qb.push(" AS group_value");
    push_scoped_answers(&mut qb, tenant, &q, "a.themes IS NOT NULL");
    qb.push(
        ") s CROSS JOIN LATERAL unnest(array_prepend(NULL::text, s.themes)) AS t(theme)
         GROUP BY s.group_value, s.question, s.role, t.theme",
    );
    Ok(qb.build_query_as().fetch_all(pool).await?)
}
