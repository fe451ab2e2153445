//! The few direct reads and writes of the database: what a test cannot see
//! or do through the API (whole-database digests, stored columns, another
//! process's writes, rows no request could produce).

use std::collections::BTreeMap;

use sqlx::PgPool;

use super::internals::{EffortComponents, TenantId};

/// `SELECT count(*) …` (or any one `bigint`) with no parameters.
pub async fn count(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Row count of `table` over all tenants.
pub async fn rows_in(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Row count and an MD5 of every row of one table.
pub type TableDigest = (i64, String);

/// A digest of every table of the schema (all tenants), so a test can tell
/// "nothing changed" from "rows were replaced".
pub type Snapshot = BTreeMap<String, TableDigest>;

/// Every base table of the public schema, from `information_schema`, so a
/// table added by a migration is covered without editing the tests.
pub async fn tables(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("table list")
}

/// The complete-case rollup's meaning, computed from the answers alone and
/// independently of how the write path builds its arrays: one row
/// `(tenant_id, day, survey_id, questions, i, v)` per term of each CUSTOMER
/// response whose answers satisfy `condition` (on `answers a`): `i = 0`
/// counts the response, `i = 1..=k` are the shifted scores of its k
/// scored questions in byte order, and `i > k` the products of its pairs
/// (p ≤ q) in that order, found by joining the answers to themselves;
/// responses wider than `MAX_CASE_WIDTH` have only `i = 0`, as
/// `case_daily` keeps them. Summed per key and term, it is what
/// `case_daily`'s rows sum to ([`case_daily_terms`]).
pub fn case_terms_from_answers(condition: &str) -> String {
    let width = super::internals::case_rollup::MAX_CASE_WIDTH;
    format!(
        "WITH cr AS (
           SELECT a.tenant_id, a.rid, (a.submitted_at AT TIME ZONE 'UTC')::date AS day,
                  a.survey_id, array_agg(a.question ORDER BY a.question COLLATE \"C\") AS questions
           FROM answers a WHERE a.score IS NOT NULL AND a.role = 3 AND {condition}
           GROUP BY a.tenant_id, a.rid, a.submitted_at, a.survey_id
         ), cx AS (
           SELECT cr.tenant_id, cr.rid, cr.day, cr.survey_id, cr.questions, u.i,
                  a.score - q.scale_min AS x
           FROM cr CROSS JOIN LATERAL unnest(cr.questions) WITH ORDINALITY AS u(question, i)
           JOIN answers a ON a.tenant_id = cr.tenant_id AND a.rid = cr.rid
                         AND a.question = u.question
           JOIN questions q ON q.tenant_id = a.tenant_id AND q.key = a.question
           WHERE cardinality(cr.questions) <= {width}
         )
         SELECT tenant_id, day, survey_id, questions, 0::bigint AS i, 1::bigint AS v FROM cr
         UNION ALL
         SELECT tenant_id, day, survey_id, questions, i, x FROM cx
         UNION ALL
         SELECT p.tenant_id, p.day, p.survey_id, p.questions,
                cardinality(p.questions) + row_number() OVER (
                  PARTITION BY p.tenant_id, p.rid ORDER BY p.i, q.i),
                p.x::bigint * q.x
         FROM cx p JOIN cx q ON q.tenant_id = p.tenant_id AND q.rid = p.rid AND q.i >= p.i"
    )
}

/// `case_daily`'s rows as the terms of [`case_terms_from_answers`]: the
/// cases as term 0, `sums || products` as terms 1…, every row signed as
/// stored (pending deltas and folded rows alike).
pub const CASE_DAILY_TERMS: &str =
    "SELECT tenant_id, day, survey_id, questions, 0::bigint AS i, cases AS v FROM case_daily
     UNION ALL
     SELECT c.tenant_id, c.day, c.survey_id, c.questions, t.i, t.v
     FROM case_daily c CROSS JOIN LATERAL unnest(c.sums || c.products) WITH ORDINALITY AS t(v, i)";

/// The digest of every table (see [`tables`]). Survey responses, journeys
/// and outcomes whose id starts with `exclude_prefix` (and their answers,
/// touchpoints, rollup counts and the label sets only they name) are left
/// out; `""` excludes nothing.
///
/// `gap_daily`, `gap_label_rollup`, `effort_daily`, `frame_daily`,
/// `case_daily`, `tier_count_log` and `journey_effort_daily` are digested
/// as what they mean, the
/// sum of their signed deltas per key, and
/// `gap_label_month` with the pending deltas of its months: the server's
/// background compactor folds deltas at any moment without changing that.
/// `assessed_under`, which only that background work writes, is left out.
pub async fn snapshot(pool: &PgPool, exclude_prefix: &str) -> Snapshot {
    // '' LIKE-matches only the empty id, which is never stored.
    let pattern = if exclude_prefix.is_empty() {
        String::new()
    } else {
        format!("{exclude_prefix}%")
    };
    let digest = "count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')";
    let excluded_answers = "EXISTS (SELECT 1 FROM survey_responses s \
         WHERE s.tenant_id = a.tenant_id AND s.rid = a.rid AND s.id LIKE $1)";
    let mut out = Snapshot::new();
    for table in tables(pool).await {
        let sql = match table.as_str() {
            "survey_responses" | "journeys" | "outcomes" => {
                format!("SELECT {digest} FROM {table} t WHERE NOT t.id LIKE $1")
            }
            "answers" | "framed_answers" => format!(
                "SELECT {digest} FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM survey_responses s \
                 WHERE s.tenant_id = t.tenant_id AND s.rid = t.rid AND s.id LIKE $1)"
            ),
            "touchpoints" => format!(
                "SELECT {digest} FROM touchpoints t WHERE NOT EXISTS (SELECT 1 FROM journeys j \
                 WHERE j.tenant_id = t.tenant_id AND j.jid = t.jid AND j.id LIKE $1)"
            ),
            "gap_daily" => format!(
                "SELECT {digest} FROM (
                   SELECT tenant_id, day, question, role, score, survey_id, sum(n) AS answers
                   FROM (
                     SELECT tenant_id, day, question, role, score, survey_id, answers AS n
                     FROM gap_daily
                     UNION ALL
                     SELECT a.tenant_id, (a.submitted_at AT TIME ZONE 'UTC')::date, a.question,
                            a.role, a.score, a.survey_id, -1
                     FROM answers a WHERE a.score IS NOT NULL AND {excluded_answers}
                   ) d
                   GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(n) <> 0
                 ) t"
            ),
            // As gap_daily: the sums per key, less the excluded journeys'
            // customer touchpoints (initiator 1, outcome 1 = RESOLVED).
            "effort_daily" => format!(
                "SELECT {digest} FROM (
                   SELECT tenant_id, day, channel, sum(n) AS touchpoints,
                          sum(u) AS unresolved, sum(w) AS wait_seconds
                   FROM (
                     SELECT tenant_id, day, channel, touchpoints AS n, unresolved AS u,
                            wait_seconds AS w
                     FROM effort_daily
                     UNION ALL
                     SELECT tp.tenant_id, (tp.journey_started_at AT TIME ZONE 'UTC')::date,
                            tp.channel, -1, -(tp.outcome <> 1)::int, -tp.wait_seconds
                     FROM touchpoints tp WHERE tp.initiator = 1 AND EXISTS (
                       SELECT 1 FROM journeys j WHERE j.tenant_id = tp.tenant_id
                       AND j.jid = tp.jid AND j.id LIKE $1)
                   ) d
                   GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(u) <> 0 OR sum(w) <> 0
                 ) t"
            ),
            // A label set is shared by responses; it is left out when only
            // excluded responses name it. A set no response names (one a
            // refused write left behind) is always digested.
            "label_sets" => format!(
                "SELECT {digest} FROM label_sets t WHERE NOT (
                   EXISTS (SELECT 1 FROM survey_responses s WHERE s.tenant_id = t.tenant_id
                           AND s.label_set = t.id AND s.id LIKE $1)
                   AND NOT EXISTS (SELECT 1 FROM survey_responses s WHERE s.tenant_id = t.tenant_id
                           AND s.label_set = t.id AND NOT s.id LIKE $1))"
            ),
            "gap_label_rollup" => format!(
                "SELECT {digest} FROM (
                   SELECT tenant_id, day, label_set, question, role, score, survey_id,
                          sum(n) AS answers
                   FROM (
                     SELECT tenant_id, day, label_set, question, role, score, survey_id,
                            answers AS n
                     FROM gap_label_rollup
                     UNION ALL
                     SELECT a.tenant_id, (a.submitted_at AT TIME ZONE 'UTC')::date, a.label_set,
                            a.question, a.role, a.score, a.survey_id, -1
                     FROM answers a WHERE a.score IS NOT NULL AND {excluded_answers}
                   ) d
                   GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0
                 ) t"
            ),
            // The month grain holds the folded days' sums (store::rollup::
            // compact): with the pending daily deltas of its months it is
            // the sum per month and key, which no fold changes.
            "gap_label_month" => format!(
                "SELECT {digest} FROM (
                   SELECT tenant_id, month, label_set, question, role, score, survey_id,
                          sum(n) AS answers
                   FROM (
                     SELECT tenant_id, month, label_set, question, role, score, survey_id,
                            answers AS n
                     FROM gap_label_month
                     UNION ALL
                     SELECT tenant_id, date_trunc('month', day::timestamp)::date, label_set,
                            question, role, score, survey_id, answers
                     FROM gap_label_rollup WHERE NOT compacted
                     UNION ALL
                     SELECT a.tenant_id,
                            date_trunc('month', a.submitted_at AT TIME ZONE 'UTC')::date,
                            a.label_set, a.question, a.role, a.score, a.survey_id, -1
                     FROM answers a WHERE a.score IS NOT NULL AND {excluded_answers}
                   ) d
                   GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0
                 ) t"
            ),
            // As gap_daily: the sums per key, less the excluded responses'
            // framed answers, each paired with its response's EXPERIENCE
            // answer as store::frame_rollup pairs them.
            "frame_daily" => "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM (
                   SELECT tenant_id, day, question, frame, competitor, role, survey_id, paired,
                          sum(n) AS answers, sum(se) AS sum_experience, sum(sf) AS sum_framed,
                          sum(sf2) AS sum_sq_framed, sum(sd) AS sum_sq_difference,
                          sum(ab) AS above, sum(be) AS below
                   FROM (
                     SELECT tenant_id, day, question, frame, competitor, role, survey_id, paired,
                            answers AS n, sum_experience AS se, sum_framed AS sf,
                            sum_sq_framed AS sf2, sum_sq_difference AS sd, above AS ab,
                            below AS be
                     FROM frame_daily
                     UNION ALL
                     SELECT f.tenant_id, (f.submitted_at AT TIME ZONE 'UTC')::date, f.question,
                            f.frame, f.competitor, f.role, f.survey_id, e.score IS NOT NULL, -1,
                            -coalesce(e.score, 0), -f.score, -f.score::bigint * f.score,
                            -coalesce((e.score - f.score)::bigint * (e.score - f.score), 0),
                            -(e.score > f.score)::int, -(e.score < f.score)::int
                     FROM framed_answers f
                     LEFT JOIN answers e ON e.tenant_id = f.tenant_id AND e.rid = f.rid
                                        AND e.question = f.question
                     WHERE EXISTS (SELECT 1 FROM survey_responses s
                                   WHERE s.tenant_id = f.tenant_id AND s.rid = f.rid
                                   AND s.id LIKE $1)
                   ) d
                   GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
                   HAVING sum(n) <> 0 OR sum(se) <> 0 OR sum(sf) <> 0 OR sum(sf2) <> 0
                       OR sum(sd) <> 0 OR sum(ab) <> 0 OR sum(be) <> 0
                 ) t"
            .to_owned(),
            // As gap_daily: customers per (tenant, tier), whatever the
            // compactor has folded. Not less the excluded records' customers:
            // the assessments they decide are digested whole too.
            "tier_count_log" => format!(
                "SELECT {digest} FROM (
                   SELECT tenant_id, tier, sum(customers) AS customers
                   FROM tier_count_log
                   GROUP BY 1, 2 HAVING sum(customers) <> 0
                 ) t WHERE $1::text = $1::text"
            ),
            // As gap_daily: the sums per key and term, less the excluded
            // responses' terms, computed from their answers.
            "case_daily" => format!(
                "SELECT {digest} FROM (
                   SELECT tenant_id, day, survey_id, questions,
                          array_agg(i || ':' || v ORDER BY i) AS terms
                   FROM (
                     SELECT tenant_id, day, survey_id, questions, i, sum(v) AS v
                     FROM (
                       {CASE_DAILY_TERMS}
                       UNION ALL
                       SELECT tenant_id, day, survey_id, questions, i, -v FROM ({excluded}) e
                     ) d
                     GROUP BY 1, 2, 3, 4, 5 HAVING sum(v) <> 0
                   ) k
                   GROUP BY 1, 2, 3, 4
                 ) t",
                excluded = case_terms_from_answers(excluded_answers)
            ),
            // As gap_daily: the sums per key (exact, `numeric` and integer);
            // a key without journeys has no figures. Not less the excluded
            // journeys: the whole-history rows they decide are digested
            // whole too.
            "journey_effort_daily" => format!(
                "SELECT {digest} FROM (
                   SELECT tenant_id, day, model_etag, bin, tier, sum(journeys) AS journeys,
                          sum(index_sum), sum(index_sum_sq), sum(p0), sum(p1), sum(p2),
                          sum(p3), sum(p4), sum(p5), sum(p6), sum(contacts), sum(switches),
                          sum(seconds), sum(unresolved), sum(assisted), sum(fcr),
                          sum(one_touch), sum(customers)
                   FROM journey_effort_daily
                   GROUP BY 1, 2, 3, 4, 5 HAVING sum(journeys) <> 0
                 ) t WHERE $1::text = $1::text"
            ),
            // The background recompute's mark that a tenant's whole-history
            // assessments are all under its model: written by the server's
            // upkeep on its own schedule (a new tenant's first pass lands
            // whenever it lands), never by a request, so it says nothing
            // about what a call wrote.
            "assessed_under" => "SELECT 0::bigint, '' WHERE $1::text = $1::text".to_owned(),
            _ => format!("SELECT {digest} FROM {table} t WHERE $1::text = $1::text"),
        };
        let row: TableDigest = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(&pattern)
            .fetch_one(pool)
            .await
            .unwrap_or_else(|e| panic!("digest of {table}: {e}"));
        out.insert(table, row);
    }
    out
}

/// Stores a journey row with the given effort components and no
/// touchpoints: a combination no request could produce, for comparing the
/// SQL effort expressions with the pure functions over arbitrary inputs.
pub async fn insert_journey_components(
    pool: &PgPool,
    tenant: TenantId,
    id: &str,
    c: &EffortComponents,
) {
    sqlx::query(
        "INSERT INTO journeys (tenant_id, id, customer_id, intent, started_at, content_hash,
           customer_touchpoints, channel_switches, failed_self_service, transfers,
           repeated_information, customer_seconds, resolved, first_customer_resolved,
           has_assisted, first_assisted_resolved, distinct_channels)
         VALUES ($1, $2, 'c', 'x', now(), '\\x00', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(c.customer_touchpoints)
    .bind(c.channel_switches)
    .bind(c.failed_self_service)
    .bind(c.transfers)
    .bind(c.repeated_information)
    .bind(c.customer_seconds)
    .bind(c.resolved)
    .bind(c.first_customer_resolved)
    .bind(c.has_assisted)
    .bind(c.first_assisted_resolved)
    .bind(c.distinct_channels)
    .execute(pool)
    .await
    .expect("journey row stored");
}
