//! The daily rollup of framed answers (`frame_daily`, see
//! `migrations/0021_frame_rollup.sql`): the deltas every write of
//! `framed_answers` appends, and how they are folded. The same signed
//! delta log as `gap_daily` ([`super::rollup`]): readers sum whatever rows
//! there are, so the rollup is exact without the compactor, which only
//! keeps it small.
//!
//! A row holds, per (day, question, frame, competitor, role, survey_id,
//! paired), the sums `store::frames` reads: n, Σ experience, Σ framed,
//! Σ framed², Σ (experience − framed)², above and below. The EXPERIENCE
//! score of a framed answer is read from `answers` in the statement that
//! writes the framed answer, so every such statement must see the
//! response's EXPERIENCE answers as they are while the framed ones count:
//! inserts run after the response's `answers` are inserted, deletes before
//! (or in the same statement as) the deletion of its `answers`.

use sqlx::PgConnection;

use super::{StoreResult, rollup::Sign};
use crate::domain::TenantId;

/// What a write of `framed_answers` returns for [`deltas_of`].
pub const FRAMED_KEY: &str =
    "tenant_id, rid, question, frame, competitor, role, submitted_at, survey_id, score";

/// The rollup append of one statement that inserted (`sign` +1) or deleted
/// (`sign` −1) framed answers: a data-modifying CTE `{cte}_frames`, to
/// follow `WITH {cte} AS (<the write> RETURNING {FRAMED_KEY}), ` in the
/// same statement. Each framed answer is paired with the `answers` row of
/// its response and question as the statement's snapshot holds it (a
/// sibling CTE deleting that row does not hide it), and is unpaired when
/// there is none or it has no score, as `store::frames::raw_paired_sums`
/// pairs. One row per key and statement.
///
/// The question is matched with `IS NOT DISTINCT FROM` (the same as `=`
/// for a NOT NULL column) because no index can serve that operator: the
/// primary key's (tenant, rid) prefix, the response's few answers, is then
/// the only access path. With `=`, on tables the planner had no
/// statistics for yet (a new tenant's first minutes of ingest), it chose
/// the index-only scan of `answers_question_scores` on (tenant, question)
/// with `rid` as a filter, every answer to the question per framed answer,
/// and 1,000-record batches took 11-20 s at 27k responses (auto_explain,
/// 2026-12-02; `write_plans::a_framed_answer_is_paired_by_lookup_not_by_scan`).
pub fn deltas_of(cte: &str, sign: Sign) -> String {
    let sign = match sign {
        Sign::Added => "",
        Sign::Removed => "-",
    };
    format!(
        "{cte}_frames AS (
             INSERT INTO frame_daily
                 (tenant_id, day, question, frame, competitor, role, survey_id, paired, answers,
                  sum_experience, sum_framed, sum_sq_framed, sum_sq_difference, above, below)
             SELECT c.tenant_id, (c.submitted_at AT TIME ZONE 'UTC')::date, c.question, c.frame,
                    c.competitor, c.role, c.survey_id, e.score IS NOT NULL,
                    {sign}count(*),
                    {sign}coalesce(sum(e.score), 0)::bigint,
                    {sign}sum(c.score)::bigint,
                    {sign}sum(c.score::bigint * c.score)::bigint,
                    {sign}coalesce(sum((e.score - c.score)::bigint * (e.score - c.score)), 0)::bigint,
                    {sign}count(*) FILTER (WHERE e.score > c.score),
                    {sign}count(*) FILTER (WHERE e.score < c.score)
             FROM {cte} c
             LEFT JOIN answers e ON e.tenant_id = c.tenant_id AND e.rid = c.rid
                                AND e.question IS NOT DISTINCT FROM c.question
             GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
         )"
    )
}

/// The key columns of a `frame_daily` row, after `tenant_id`.
const KEY: &str = "day, question, frame, competitor, role, survey_id, paired";

/// Folds `tenant`'s pending deltas inside the caller's transaction (the
/// compactor's, [`super::rollup::compact`]); returns the rows removed.
/// The same fold as `gap_daily`'s: pending rows deleted, their sums added
/// to the one folded row per key in key order (so two compactors cannot
/// deadlock), folded keys that reached zero removed.
pub async fn compact(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<u64> {
    let (deleted, folded): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH moved AS (
             DELETE FROM frame_daily WHERE tenant_id = $1 AND NOT compacted
             RETURNING {KEY}, answers, sum_experience, sum_framed, sum_sq_framed,
                       sum_sq_difference, above, below
         ), sums AS (
             SELECT {KEY}, sum(answers) AS answers, sum(sum_experience) AS sum_experience,
                    sum(sum_framed) AS sum_framed, sum(sum_sq_framed) AS sum_sq_framed,
                    sum(sum_sq_difference) AS sum_sq_difference, sum(above) AS above,
                    sum(below) AS below
             FROM moved GROUP BY {KEY}
         ), upserted AS (
             INSERT INTO frame_daily
                 (tenant_id, {KEY}, answers, sum_experience, sum_framed, sum_sq_framed,
                  sum_sq_difference, above, below, compacted)
             SELECT $1, {KEY}, answers, sum_experience, sum_framed, sum_sq_framed,
                    sum_sq_difference, above, below, true
             FROM sums ORDER BY {KEY}
             ON CONFLICT (tenant_id, {KEY}) WHERE compacted
             DO UPDATE SET answers = frame_daily.answers + EXCLUDED.answers,
                           sum_experience = frame_daily.sum_experience + EXCLUDED.sum_experience,
                           sum_framed = frame_daily.sum_framed + EXCLUDED.sum_framed,
                           sum_sq_framed = frame_daily.sum_sq_framed + EXCLUDED.sum_sq_framed,
                           sum_sq_difference =
                               frame_daily.sum_sq_difference + EXCLUDED.sum_sq_difference,
                           above = frame_daily.above + EXCLUDED.above,
                           below = frame_daily.below + EXCLUDED.below
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM upserted)"
    )))
    .bind(tenant.0)
    .fetch_one(&mut *conn)
    .await?;
    // A key's sums are over the framed answers it counts: with none left,
    // every sum is zero (migration 0021's `frame_daily_zero`).
    super::rollup::remove_empty_keys(
        conn,
        tenant,
        ("frame_daily", "answers = 0"),
        (deleted, folded),
    )
    .await
}
