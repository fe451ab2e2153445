//! The daily rollup of complete cases (`case_daily`, see
//! `migrations/0023_case_rollup.sql`): the deltas every write of `answers`
//! appends, and how they are folded. The same signed delta log as
//! `gap_daily` ([`super::rollup`]): readers sum whatever rows there are, so
//! the rollup is exact without the compactor, which only keeps it small.
//! `store::drivers` reads it.
//!
//! A row holds, per (day, survey_id, sorted list of the questions a
//! CUSTOMER response answered with a score), the number of such responses,
//! Σ x_i per question and Σ x_i·x_j per pair (i ≤ j) of the list, each
//! score shifted by its question's `scale_min` as `store::drivers` shifts.
//!
//! A case is a whole response, so its delta can only be computed from all
//! of the response's scored answers at once. Every writer of `answers`
//! inserts or deletes whole responses in one statement: ingest inserts a
//! response's EXPERIENCE answers in one statement and a changed re-send
//! deletes all of them (`store::responses`), erasure deletes every answer
//! of the customer's responses (`store::customers`), the bench's COPY
//! loader appends the deltas of whole copied responses, and tenant clear
//! empties `case_daily` with the answers. No statement updates an answer.
//!
//! The shift is read from the `questions` catalog in the writing statement.
//! It is the one every read applies because a question's scale cannot
//! change while it has answers (`store::catalog::upsert_question` refuses
//! it, under the question's row lock, which ingest holds `FOR SHARE` while
//! it writes answers): an insert's and the matching delete's deltas use
//! the same shift, and a key's sums always hold its live answers' shifted
//! scores.

use sqlx::PgConnection;

use super::{StoreResult, rollup::Sign};
use crate::domain::{Numbered, TenantId, enums::Role};

/// Most scored answers a response may have for its case to carry sums in
/// the rollup: products are k(k+1)/2 per case (136 at 16), and a response
/// may hold up to 100 answers (5,050). A wider response is counted with
/// NULL sums and products, keyed by its questions; a read whose rollup part
/// meets such a row reads the raw answers instead (`store::drivers`). The
/// benchmark's and the built-in surveys' responses answer at most 10.
pub const MAX_CASE_WIDTH: usize = 16;

/// The `questions_digest` of a list `{list}` (a `text[]` expression): the
/// folded row's key, since the list itself can be longer than a btree
/// entry holds. The array's text form quotes and escapes its elements, so
/// two lists never share it.
fn digest(list: &str) -> String {
    format!("sha256(convert_to(({list})::text, 'UTF8'))")
}

/// The case append of one statement that inserted (`sign` +1) or deleted
/// (`sign` −1) answers, given as a CTE `{cte}` returning
/// `super::rollup::ANSWER_KEY` (whole responses, see the module comment):
/// CTEs `{cte}_case_rows` (one row per CUSTOMER response, its scored
/// questions in byte order and their shifted scores), `{cte}_case_terms`
/// (the sums and products of the narrow responses, summed per key and
/// position) and the data-modifying `{cte}_cases` (one row per key into
/// `case_daily`). Follows `{cte}` in the same statement, as
/// `super::rollup::deltas_of` does.
pub fn deltas_of(cte: &str, sign: Sign) -> String {
    let sign = match sign {
        Sign::Added => "",
        Sign::Removed => "-",
    };
    let customer = Role::Customer.number();
    let digest = digest("k.questions");
    format!(
        "{cte}_case_rows AS (
             SELECT c.tenant_id, (c.submitted_at AT TIME ZONE 'UTC')::date AS day, c.survey_id,
                    array_agg(c.question ORDER BY c.question COLLATE \"C\") AS questions,
                    array_agg(c.score - q.scale_min ORDER BY c.question COLLATE \"C\") AS xs
             FROM {cte} c
             JOIN questions q ON q.tenant_id = c.tenant_id AND q.key = c.question
             WHERE c.score IS NOT NULL AND c.role = {customer}
             GROUP BY c.tenant_id, c.rid, c.submitted_at, c.survey_id
         ), {cte}_case_terms AS (
             SELECT r.tenant_id, r.day, r.survey_id, r.questions, t.i, sum(t.v) AS v
             FROM {cte}_case_rows r
             CROSS JOIN LATERAL unnest(r.xs || ARRAY(
                 SELECT a.x * b.x
                 FROM unnest(r.xs) WITH ORDINALITY AS a(x, i),
                      unnest(r.xs) WITH ORDINALITY AS b(x, j)
                 WHERE a.i <= b.j
                 ORDER BY a.i, b.j)) WITH ORDINALITY AS t(v, i)
             WHERE cardinality(r.xs) <= {MAX_CASE_WIDTH}
             GROUP BY 1, 2, 3, 4, 5
         ), {cte}_cases AS (
             INSERT INTO case_daily
                 (tenant_id, day, survey_id, questions, questions_digest, cases, sums, products)
             SELECT k.tenant_id, k.day, k.survey_id, k.questions, {digest}, {sign}k.cases,
                    t.terms[1:cardinality(k.questions)],
                    t.terms[cardinality(k.questions) + 1:]
             FROM (SELECT tenant_id, day, survey_id, questions, count(*) AS cases
                   FROM {cte}_case_rows GROUP BY 1, 2, 3, 4) k
             LEFT JOIN (SELECT tenant_id, day, survey_id, questions,
                               array_agg({sign}v ORDER BY i) AS terms
                        FROM {cte}_case_terms GROUP BY 1, 2, 3, 4) t
               ON t.tenant_id = k.tenant_id AND t.day = k.day
              AND t.survey_id IS NOT DISTINCT FROM k.survey_id AND t.questions = k.questions
         )"
    )
}

/// Folds `tenant`'s pending case deltas inside the caller's transaction
/// (the compactor's, [`super::rollup::compact`]); returns the rows removed.
/// The same fold as `gap_daily`'s: pending rows deleted, their sums added
/// to the one folded row per key in key order (so two compactors cannot
/// deadlock), folded keys that reached zero cases removed. Arrays are
/// added element by element; a key with NULL sums (a wide key) stays
/// NULL, and so does any key one of whose rows is NULL, so no sum is ever
/// taken over only some of a key's cases.
pub async fn compact(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<u64> {
    let (deleted, folded): (i64, i64) = sqlx::query_as(
        "WITH moved AS (
             DELETE FROM case_daily WHERE tenant_id = $1 AND NOT compacted
             RETURNING day, survey_id, questions_digest, questions, cases, sums, products
         ), keys AS (
             SELECT day, survey_id, questions_digest, min(questions) AS questions,
                    sum(cases)::bigint AS cases, bool_or(sums IS NULL) AS wide
             FROM moved GROUP BY day, survey_id, questions_digest
         ), terms AS (
             SELECT m.day, m.survey_id, m.questions_digest, t.i, sum(t.v)::bigint AS v
             FROM moved m
             CROSS JOIN LATERAL unnest(m.sums || m.products) WITH ORDINALITY AS t(v, i)
             GROUP BY 1, 2, 3, 4
         ), arrays AS (
             SELECT day, survey_id, questions_digest, array_agg(v ORDER BY i) AS terms
             FROM terms GROUP BY 1, 2, 3
         ), upserted AS (
             INSERT INTO case_daily
                 (tenant_id, day, survey_id, questions, questions_digest, cases, sums, products,
                  compacted)
             SELECT $1, k.day, k.survey_id, k.questions, k.questions_digest, k.cases,
                    CASE WHEN NOT k.wide THEN a.terms[1:cardinality(k.questions)] END,
                    CASE WHEN NOT k.wide THEN a.terms[cardinality(k.questions) + 1:] END,
                    true
             FROM keys k
             LEFT JOIN arrays a ON a.day = k.day AND a.survey_id IS NOT DISTINCT FROM k.survey_id
                               AND a.questions_digest = k.questions_digest
             ORDER BY k.day, k.survey_id, k.questions_digest
             ON CONFLICT (tenant_id, day, survey_id, questions_digest) WHERE compacted
             DO UPDATE SET
                 cases = case_daily.cases + EXCLUDED.cases,
                 sums = CASE WHEN case_daily.sums IS NOT NULL AND EXCLUDED.sums IS NOT NULL THEN
                     ARRAY(SELECT x + y FROM unnest(case_daily.sums, EXCLUDED.sums)
                                             WITH ORDINALITY AS t(x, y, i) ORDER BY i) END,
                 products = CASE WHEN case_daily.products IS NOT NULL
                                  AND EXCLUDED.products IS NOT NULL THEN
                     ARRAY(SELECT x + y FROM unnest(case_daily.products, EXCLUDED.products)
                                             WITH ORDINALITY AS t(x, y, i) ORDER BY i) END
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM upserted)",
    )
    .bind(tenant.0)
    .fetch_one(&mut *conn)
    .await?;
    // A key's sums are over the cases it counts: with none left, every
    // sum is zero (migration 0023's `case_daily_zero`).
    super::rollup::remove_empty_keys(conn, tenant, ("case_daily", "cases = 0"), (deleted, folded))
        .await
}
