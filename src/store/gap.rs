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
//! - [`theme_tops`]: per report and THEMES question, the totals over every
//!   theme and the few themes that can rank within the listed top (the
//!   top-K of SPEC §14), never every distinct theme.
//!
//! With `group_by`, rows are grouped by the label value as well, with NULL
//! for responses that lack the label, and both queries cut the groups at
//! the first [`MAX_GROUPS`] + 1 label values in SQL (SPEC §14), so a label
//! with 200,000 values never reaches Rust. Every response falls in exactly
//! one group, and histogram counts are additive, so the caller gets the
//! overall histograms exactly by summing the groups (NULL included). That
//! is the same single pass `GROUP BY GROUPING SETS ((…), (label, …))` would
//! make, but PostgreSQL (15) runs grouping sets in one process only, while
//! a plain `GROUP BY` can use parallel workers: on 1.2 million answers
//! grouped by region, 1.6–1.8 s for either form serially, 1.0 s for the
//! plain form with two workers. A top-K of themes is not additive, so
//! [`theme_tops`] sums the groups' counts into the overall report in SQL,
//! before ranking.
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

/// Most `group_by` values one perception-gap report breaks down into;
/// beyond that the response would approach the 4 MiB message limit, and a
/// breakdown that wide is better read through `filter.labels` one value
/// at a time. The queries here return at most `MAX_GROUPS + 1` groups, so
/// the caller can tell "too many" without loading them all.
pub const MAX_GROUPS: usize = 100;

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

/// Appends `FROM answers a [JOIN survey_responses r] WHERE …` with the
/// tenant, questions and scope conditions, and `kind_condition` on `a`.
pub(super) fn push_scoped_answers(
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
    q.scope.push_answer_conditions(qb, "a", join);
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

/// Most label sets a label-filtered or grouped report reads through the
/// label-set rollup ([`label_rollup_histograms`]). The sets in scope are
/// listed in SQL and joined to the rollup; past a few thousand a tenant
/// labels responses per person or per order, the rollup has about as many
/// rows as the answers, and the raw path is as fast and reads less.
pub const MAX_LABEL_SETS: usize = 4096;

/// Score histograms of RATING answers per (group, question, role), in no
/// particular order.
///
/// The whole UTC days of the window are read from a rollup and only the
/// partial days at its edges from `answers`: without labels or `group_by`
/// (the dashboard's common case) from `gap_daily` ([`rollup_histograms`]),
/// otherwise from `gap_label_rollup` ([`label_rollup_histograms`]) when at
/// most [`MAX_LABEL_SETS`] label sets are in scope. Beyond that every
/// answer in scope is read ([`raw_histograms`]). All give the same counts:
/// property tests hold them equal.
pub async fn rating_histograms(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
) -> StoreResult<Vec<ScoreCount>> {
    rating_histograms_bounded(pool, tenant, q, MAX_LABEL_SETS).await
}

/// [`rating_histograms`] with the label-set bound `max_sets` instead of
/// [`MAX_LABEL_SETS`] (tests force the raw fallback with a small one).
pub async fn rating_histograms_bounded(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
    max_sets: usize,
) -> StoreResult<Vec<ScoreCount>> {
    if q.group_by.is_none() && q.scope.labels.is_none() {
        return rollup_histograms(pool, tenant, q).await;
    }
    match label_rollup_histograms(pool, tenant, q, max_sets).await? {
        Some(rows) => Ok(rows),
        None => raw_histograms(pool, tenant, q).await,
    }
}

/// The row [`label_rollup_histograms`] reads: a [`ScoreCount`], or (only
/// `question` NULL) the sign that more than `max_sets` label sets were in
/// scope and nothing was summed.
#[derive(sqlx::FromRow)]
struct LabelledCount {
    group_value: Option<String>,
    question: Option<String>,
    role: i16,
    score: i32,
    respondents: i64,
}

/// [`rating_histograms`] for a scope with labels or `group_by`, from the
/// label-set rollup: `None` when more than `max_sets` label sets are in
/// scope (the caller then reads the raw answers).
///
/// One statement (one snapshot): the tenant's label sets that match the
/// filter, each with its `group_by` value (NULL when it lacks the label,
/// as the raw path's `labels ->> key`), at most `max_sets + 1` of them;
/// then, if they fit, the window's whole calendar months from
/// `gap_label_month` with those months' pending daily deltas (the fold
/// moves a delta from one to the other in one transaction), its other
/// whole days from `gap_label_rollup`, and the edge days' raw answers
/// (whose `label_set` is a copy of the response's), all joined to those
/// sets and summed per group. A response is counted exactly when
/// its set matches the filter, as `r.labels @> filter` counts it, and in
/// the group of its set's value. The groups are cut at the first
/// [`MAX_GROUPS`] + 1 values in byte order, NULL last, after summing,
/// exactly as [`raw_histograms`] cuts them (a group is there only if it
/// has answers in scope, in both).
pub async fn label_rollup_histograms(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
    max_sets: usize,
) -> StoreResult<Option<Vec<ScoreCount>>> {
    if q.questions.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let max_sets = i64::try_from(max_sets).unwrap_or(i64::MAX - 1);
    let split = rollup::split_days(q.scope.window);
    let mut qb = QueryBuilder::new("WITH sets AS MATERIALIZED (SELECT id, ");
    match q.group_by {
        Some(key) => qb.push("labels ->> ").push_bind(key.to_owned()),
        None => qb.push("NULL::text"),
    };
    qb.push(" AS group_value FROM label_sets WHERE tenant_id = ")
        .push_bind(tenant.0);
    q.scope.push_labels(&mut qb, "labels");
    qb.push(" LIMIT ")
        .push_bind(max_sets + 1)
        .push("), fits AS (SELECT count(*) <= ")
        .push_bind(max_sets)
        .push(" AS fits FROM sets), ");
    // The tenant's pending deltas, for the whole months' part: found by
    // the partial index `gap_label_rollup_pending` alone. Asked for next to
    // the question and day ranges, the planner took the (tenant, question,
    // day) index instead and walked every folded row of the months: a
    // generic plan cannot tell this tenant's pending rows (none, after a
    // fold) from another tenant's backlog, and at 1M answers that part
    // alone took 3.5 s: it read 721,713 folded rows, 9 times over, to
    // return none (0.2 ms this way; EXPLAIN ANALYZE on the benchmark's
    // kept database, BENCHMARKS.md). Unreferenced (no whole month in the
    // window), it is not run.
    qb.push(
        "pending AS MATERIALIZED (
           SELECT tenant_id, day, label_set, question, role, score, survey_id, answers
           FROM gap_label_rollup WHERE NOT compacted AND tenant_id = ",
    )
    .push_bind(tenant.0)
    .push("), parts AS (");
    // `split` always has at least one part.
    let mut separator = "";
    if let Some((from, until)) = split.days {
        let months = rollup::split_months(from, until);
        for days in months.days.iter().flatten() {
            qb.push(separator);
            push_label_rows(&mut qb, tenant, q, LabelRows::Days, *days);
            separator = " UNION ALL ";
        }
        if let Some(range) = months.months {
            qb.push(separator);
            push_label_rows(&mut qb, tenant, q, LabelRows::Months, range);
            qb.push(" UNION ALL ");
            push_label_rows(&mut qb, tenant, q, LabelRows::PendingDays, range);
            separator = " UNION ALL ";
        }
    }
    for window in split.raw.iter().flatten() {
        qb.push(separator)
            .push(
                "SELECT s.group_value, a.question, a.role, a.score, count(*) AS n
                 FROM answers a JOIN sets s ON s.id = a.label_set
                 WHERE (SELECT fits FROM fits) AND a.tenant_id = ",
            )
            .push_bind(tenant.0)
            .push(" AND a.question = ANY(")
            .push_bind(q.questions.to_vec())
            .push(") AND a.score IS NOT NULL");
        let edge = Scope {
            window: *window,
            ..Scope::default()
        };
        edge.push_window(&mut qb, "a.submitted_at");
        if let Some(survey) = &q.scope.survey_id {
            qb.push(" AND a.survey_id = ").push_bind(survey.clone());
        }
        qb.push(" GROUP BY s.group_value, a.question, a.role, a.score");
        separator = " UNION ALL ";
    }
    qb.push(
        "), summed AS (
           SELECT group_value, question, role, score, sum(n)::bigint AS respondents
           FROM parts GROUP BY group_value, question, role, score HAVING sum(n) <> 0
         ), ranked AS (
           SELECT *, dense_rank() OVER (ORDER BY group_value COLLATE \"C\") AS group_rank
           FROM summed
         )
         SELECT group_value, question, role, score, respondents FROM ranked
         WHERE group_rank <= ",
    )
    .push_bind(MAX_GROUPS as i64 + 1)
    .push(
        " UNION ALL
         SELECT NULL, NULL, 0::smallint, 0, 0::bigint FROM fits WHERE NOT fits",
    );
    // Every part has an index that bounds it to this tenant's keys and
    // range, but the planner's row estimates are per table: another
    // tenant's backlog of unfolded deltas (a compactor failing for it, a
    // bulk load) made it expect a large share of `gap_label_rollup` to be
    // this tenant's pending rows, scan the whole table, and JIT-compile
    // the plan (847 ms instead of 132 ms at 10M answers, BENCHMARKS.md).
    // No sequential scan is ever the right plan for this statement.
    let mut tx = pool.begin().await?;
    sqlx::raw_sql("SET LOCAL enable_seqscan = off; SET LOCAL jit = off")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<LabelledCount> = qb.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(question) = row.question else {
            return Ok(None);
        };
        out.push(ScoreCount {
            group_value: row.group_value,
            question,
            role: row.role,
            score: row.score,
            respondents: row.respondents,
        });
    }
    Ok(Some(out))
}

/// Which rows of the label-set rollup a part of
/// [`label_rollup_histograms`] sums.
#[derive(Clone, Copy)]
enum LabelRows {
    /// Every daily row (folded and pending) of the days.
    Days,
    /// The month rows of whole months: the folded days' sums.
    Months,
    /// The pending daily deltas of whole months, not yet in their month row
    /// (from the statement's `pending`).
    PendingDays,
}

/// One part of [`label_rollup_histograms`]: `SELECT group_value, question,
/// role, score, n` over the `rows` of the label-set rollup in `range`
/// (days, or months by their first days), joined to the sets in scope.
fn push_label_rows(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    q: GapQuery<'_>,
    rows: LabelRows,
    (from, until): rollup::DayRange,
) {
    let (table, column) = match rows {
        LabelRows::Days => ("gap_label_rollup", "day"),
        LabelRows::Months => ("gap_label_month", "month"),
        LabelRows::PendingDays => ("pending", "day"),
    };
    qb.push(format_args!(
        "SELECT s.group_value, g.question, g.role, g.score, g.answers AS n
         FROM {table} g JOIN sets s ON s.id = g.label_set
         WHERE (SELECT fits FROM fits) AND g.tenant_id = "
    ))
    .push_bind(tenant.0)
    .push(" AND g.question = ANY(")
    .push_bind(q.questions.to_vec())
    .push(")");
    if let Some(from) = from {
        qb.push(format_args!(" AND g.{column} >= ")).push_bind(from);
    }
    if let Some(until) = until {
        qb.push(format_args!(" AND g.{column} < ")).push_bind(until);
    }
    if let Some(survey) = &q.scope.survey_id {
        qb.push(" AND g.survey_id = ").push_bind(survey.clone());
    }
}

/// [`rating_histograms`] from the raw answers alone.
///
/// With `group_by`, only the first [`MAX_GROUPS`] + 1 label values (in
/// byte order) and the responses without the label are returned: the
/// group limit is applied in SQL, so a label with 200,000 values costs
/// the service 101 groups' rows, and the caller still sees that there are
/// too many.
pub async fn raw_histograms(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
) -> StoreResult<Vec<ScoreCount>> {
    if q.questions.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::new(
        "SELECT h.group_value, h.question, h.role, h.score, h.respondents FROM (
           SELECT s.group_value, s.question, s.role, s.score, count(*) AS respondents,
                  dense_rank() OVER (ORDER BY s.group_value COLLATE \"C\") AS group_rank
           FROM (SELECT a.question, a.role, a.score, ",
    );
    push_group_value(&mut qb, q.group_by);
    qb.push(" AS group_value");
    push_scoped_answers(&mut qb, tenant, &q, "a.score IS NOT NULL");
    // NULL (no label) ranks last: it is cut only when the label values
    // alone exceed the limit, and then the caller refuses the report.
    qb.push(
        ") s GROUP BY s.group_value, s.question, s.role, s.score
         ) h WHERE h.group_rank <= ",
    )
    .push_bind(MAX_GROUPS as i64 + 1);
    Ok(qb.build_query_as().fetch_all(pool).await?)
}

/// [`rating_histograms`] for a scope without labels or `group_by`: whole
/// days from the rollup plus the edge days' raw answers, summed in one
/// query (one snapshot). `survey_id` is on both tables. Takes any
/// executor so the effort report can read it inside its own snapshot.
pub async fn rollup_histograms<'e>(
    executor: impl sqlx::PgExecutor<'e>,
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
    Ok(qb.build_query_as().fetch_all(executor).await?)
}

/// One row of [`theme_tops`]: a candidate theme's mentions by role, or
/// (`theme` `None`) the totals of one (report, question).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ThemeTop {
    /// Whether the row belongs to the overall report; else to the group
    /// of `group_value`.
    pub overall: bool,
    /// As [`ScoreCount::group_value`] (always `None` when `overall`).
    pub group_value: Option<String>,
    pub question: String,
    /// The theme; `None` for the totals row.
    pub theme: Option<String>,
    /// Mentions of the theme by each role, or (totals row) respondents who
    /// answered.
    pub leadership: i64,
    pub staff: i64,
    pub customer: i64,
    /// Totals row only (0 elsewhere), over every theme: distinct themes
    /// each role mentioned …
    pub distinct_leadership: i64,
    pub distinct_staff: i64,
    pub distinct_customer: i64,
    /// … distinct themes either role of LEADERSHIP→CUSTOMER, STAFF→CUSTOMER,
    /// LEADERSHIP→STAFF mentioned …
    pub distinct_lc: i64,
    pub distinct_sc: i64,
    pub distinct_ls: i64,
    /// … Σ mentions² per role …
    pub squares_leadership: f64,
    pub squares_staff: f64,
    pub squares_customer: f64,
    /// … and Σ m_from·m_to per pair, in the same order.
    pub dot_lc: f64,
    pub dot_sc: f64,
    pub dot_ls: f64,
}

/// THEMES answers aggregated per report (the overall one and, with
/// `group_by`, one per label value) and question, bounded by `top`: at
/// most a few `top` theme rows per (report, question), however many
/// distinct themes there are.
///
/// Per (report, question) the query returns one totals row (respondents
/// per role, and over *every* theme: distinct themes per role and per
/// pair, Σ m² per role, Σ m_from·m_to per pair, as exact `numeric` sums)
/// and the candidate themes: each theme that ranks within `top` in a
/// role's list (mentions descending, name ascending) or in a pair's
/// differences (|m_from·n_to − m_to·n_from| descending, name ascending:
/// the exact order `scoring::themes` sorts by; in `bigint`, exact while
/// a question has fewer than 3 billion respondents). Names are compared
/// `COLLATE "C"`, the byte order Rust uses, which is also the cheapest.
///
/// The cost stays in PostgreSQL and is bounded by `work_mem` (sorts spill
/// to disk): 40,000 distinct themes per role rank in about 3 s on a loaded
/// 2-core machine, and the service receives a few hundred rows.
///
/// With `group_by`, groups beyond the first [`MAX_GROUPS`] + 1 label
/// values (in byte order) are cut in SQL before any theme is ranked, like
/// [`raw_histograms`]; the overall report then sums every group.
pub async fn theme_tops(
    pool: &PgPool,
    tenant: TenantId,
    q: GapQuery<'_>,
    top: usize,
) -> StoreResult<Vec<ThemeTop>> {
    if q.questions.is_empty() {
        return Ok(Vec::new());
    }
    let top = i64::try_from(top).unwrap_or(i64::MAX);
    let mut qb = QueryBuilder::new(
        "WITH counts AS (
           SELECT s.group_value, s.question, s.role, t.theme, count(*) AS n
           FROM (SELECT a.question, a.role, a.themes, ",
    );
    push_group_value(&mut qb, q.group_by);
    qb.push(" AS group_value");
    push_scoped_answers(&mut qb, tenant, &q, "a.themes IS NOT NULL");
    qb.push(
        ") s CROSS JOIN LATERAL unnest(array_prepend(NULL::text, s.themes)) AS t(theme)
           GROUP BY s.group_value, s.question, s.role, t.theme
         ), ",
    );
    if q.group_by.is_some() {
        qb.push(
            "kept AS (
               SELECT group_value FROM counts WHERE group_value IS NOT NULL
               GROUP BY group_value ORDER BY group_value COLLATE \"C\" LIMIT ",
        )
        .push_bind(MAX_GROUPS as i64 + 1)
        .push(
            "), parts AS (
               SELECT false AS overall, c.group_value, c.question, c.role, c.theme, c.n
               FROM counts c WHERE c.group_value IS NULL OR c.group_value IN (SELECT group_value FROM kept)
               UNION ALL
               SELECT true, NULL, question, role, theme, sum(n)::bigint FROM counts
               GROUP BY question, role, theme
             ), ",
        );
    } else {
        qb.push(
            "parts AS (
               SELECT true AS overall, NULL::text AS group_value, question, role, theme, n
               FROM counts
             ), ",
        );
    }
    qb.push(
        "pivot AS (
           SELECT overall, group_value, question, theme COLLATE \"C\" AS theme,
                  coalesce(sum(n) FILTER (WHERE role = 1), 0)::bigint AS l,
                  coalesce(sum(n) FILTER (WHERE role = 2), 0)::bigint AS s,
                  coalesce(sum(n) FILTER (WHERE role = 3), 0)::bigint AS c
           FROM parts GROUP BY overall, group_value, question, theme COLLATE \"C\"
         ), totals AS (
           SELECT overall, group_value, question, l AS nl, s AS ns, c AS nc
           FROM pivot WHERE theme IS NULL
         ), ranked AS (
           SELECT p.*,
             row_number() OVER (w ORDER BY p.l DESC, p.theme COLLATE \"C\") AS rank_l,
             row_number() OVER (w ORDER BY p.s DESC, p.theme COLLATE \"C\") AS rank_s,
             row_number() OVER (w ORDER BY p.c DESC, p.theme COLLATE \"C\") AS rank_c,
             row_number() OVER (w ORDER BY (p.l > 0 OR p.c > 0) DESC,
               abs(p.l * t.nc - p.c * t.nl) DESC, p.theme COLLATE \"C\") AS rank_lc,
             row_number() OVER (w ORDER BY (p.s > 0 OR p.c > 0) DESC,
               abs(p.s * t.nc - p.c * t.ns) DESC, p.theme COLLATE \"C\") AS rank_sc,
             row_number() OVER (w ORDER BY (p.l > 0 OR p.s > 0) DESC,
               abs(p.l * t.ns - p.s * t.nl) DESC, p.theme COLLATE \"C\") AS rank_ls
           FROM pivot p JOIN totals t ON t.overall = p.overall
             AND t.group_value IS NOT DISTINCT FROM p.group_value AND t.question = p.question
           WHERE p.theme IS NOT NULL
           WINDOW w AS (PARTITION BY p.overall, p.group_value, p.question)
         ), stats AS (
           SELECT overall, group_value, question,
             count(*) FILTER (WHERE l > 0) AS distinct_leadership,
             count(*) FILTER (WHERE s > 0) AS distinct_staff,
             count(*) FILTER (WHERE c > 0) AS distinct_customer,
             count(*) FILTER (WHERE l > 0 OR c > 0) AS distinct_lc,
             count(*) FILTER (WHERE s > 0 OR c > 0) AS distinct_sc,
             count(*) FILTER (WHERE l > 0 OR s > 0) AS distinct_ls,
             sum(l::numeric * l)::float8 AS squares_leadership,
             sum(s::numeric * s)::float8 AS squares_staff,
             sum(c::numeric * c)::float8 AS squares_customer,
             sum(l::numeric * c)::float8 AS dot_lc,
             sum(s::numeric * c)::float8 AS dot_sc,
             sum(l::numeric * s)::float8 AS dot_ls
           FROM pivot WHERE theme IS NOT NULL
           GROUP BY overall, group_value, question
         )
         SELECT t.overall, t.group_value, t.question, NULL::text AS theme,
                t.nl AS leadership, t.ns AS staff, t.nc AS customer,
                coalesce(st.distinct_leadership, 0) AS distinct_leadership,
                coalesce(st.distinct_staff, 0) AS distinct_staff,
                coalesce(st.distinct_customer, 0) AS distinct_customer,
                coalesce(st.distinct_lc, 0) AS distinct_lc,
                coalesce(st.distinct_sc, 0) AS distinct_sc,
                coalesce(st.distinct_ls, 0) AS distinct_ls,
                coalesce(st.squares_leadership, 0) AS squares_leadership,
                coalesce(st.squares_staff, 0) AS squares_staff,
                coalesce(st.squares_customer, 0) AS squares_customer,
                coalesce(st.dot_lc, 0) AS dot_lc,
                coalesce(st.dot_sc, 0) AS dot_sc,
                coalesce(st.dot_ls, 0) AS dot_ls
         FROM totals t LEFT JOIN stats st ON st.overall = t.overall
           AND st.group_value IS NOT DISTINCT FROM t.group_value AND st.question = t.question
         UNION ALL
         SELECT overall, group_value, question, theme, l, s, c,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
         FROM ranked WHERE ",
    );
    // `top` is ours, not the caller's: a literal keeps the condition short.
    qb.push(format_args!(
        "(l > 0 AND rank_l <= {top}) OR (s > 0 AND rank_s <= {top})
         OR (c > 0 AND rank_c <= {top}) OR ((l > 0 OR c > 0) AND rank_lc <= {top})
         OR ((s > 0 OR c > 0) AND rank_sc <= {top}) OR ((l > 0 OR s > 0) AND rank_ls <= {top})"
    ));
    Ok(qb.build_query_as().fetch_all(pool).await?)
}
