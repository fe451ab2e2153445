//! Survey responses and their answers.
//!
//! Ingest is a batch upsert keyed by (tenant_id, id): one transaction, a
//! fixed number of round trips per batch (array binds with `UNNEST`, never
//! one statement per record or answer), and a content hash that turns an
//! identical re-send into a no-op.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, types::Json};

use super::{
    StoreResult, frame_rollup,
    rollup::{self, Sign},
};
use crate::domain::{
    IngestCounts, Numbered, Scope, TenantId, enums::AnswerFrame, question::Question,
};

/// One answer as stored. Empty optional strings are `None` (NULL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRecord {
    pub question: String,
    /// Set for RATING answers.
    pub score: Option<i32>,
    /// Normalized themes of a THEMES answer; empty for RATING answers
    /// (stored as NULL).
    pub themes: Vec<String>,
    pub comment: Option<String>,
    /// EXPERIENCE answers are stored in `answers`, every other frame in
    /// `framed_answers` (migration 0011).
    pub frame: AnswerFrame,
    /// Set exactly for COMPETITOR answers.
    pub competitor: Option<String>,
}

/// One survey response as stored, its answers in request order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseRecord {
    pub id: String,
    /// `gapscore.v1.RespondentRole` value.
    pub role: i16,
    pub respondent_id: Option<String>,
    pub survey_id: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub labels: BTreeMap<String, String>,
    pub answers: Vec<AnswerRecord>,
    /// SHA-256 of the normalized record; equal hashes mean an identical re-send.
    pub content_hash: Vec<u8>,
}

/// The catalog questions named by `keys`, locked `FOR SHARE` until the
/// transaction ends: a concurrent `UpsertQuestion` (which locks the row
/// `FOR UPDATE` and refuses to change a scale once answers exist) waits for
/// this ingest, so answers are always validated against the scale in force
/// when they are committed. Unknown keys are simply absent from the result.
pub async fn lock_questions(
    conn: &mut PgConnection,
    tenant: TenantId,
    keys: &[String],
) -> StoreResult<Vec<Question>> {
    Ok(sqlx::query_as(
        "SELECT key, kind, text, scale_min, scale_max, favorable_min, unfavorable_max, built_in
         FROM questions WHERE tenant_id = $1 AND key = ANY($2)
         ORDER BY key FOR SHARE",
    )
    .bind(tenant.0)
    .bind(keys)
    .fetch_all(conn)
    .await?)
}

/// The ids of the label sets `sets` (`label_sets`, migration 0017),
/// interning those that are new, in one statement.
///
/// The distinct sets are inserted in digest order with `ON CONFLICT DO
/// NOTHING`, so two batches interning the same new sets wait for each
/// other in one order and cannot deadlock. The ids of the sets that
/// already existed come from the statement's snapshot; a set another
/// transaction inserted and committed while this one waited on it is in
/// neither (the insert did nothing, the snapshot predates it), so those
/// few are read again by a second statement, whose snapshot is newer.
pub async fn intern_label_sets<'a>(
    conn: &mut PgConnection,
    tenant: TenantId,
    sets: impl IntoIterator<Item = &'a BTreeMap<String, String>>,
) -> StoreResult<HashMap<&'a BTreeMap<String, String>, i64>> {
    let mut distinct: Vec<&BTreeMap<String, String>> = sets.into_iter().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let json: Vec<Json<&BTreeMap<String, String>>> = distinct.iter().map(|s| Json(*s)).collect();
    // Rows: (position in `distinct`, id).
    let found: Vec<(i32, i64)> = sqlx::query_as(
        "WITH input AS (
             SELECT (t.n - 1)::int AS n, t.labels,
                    sha256(convert_to(t.labels::text, 'UTF8')) AS digest
             FROM UNNEST($2::jsonb[]) WITH ORDINALITY AS t(labels, n)
         ), added AS (
             INSERT INTO label_sets (tenant_id, digest, labels)
             SELECT $1, digest, labels FROM input ORDER BY digest
             ON CONFLICT (tenant_id, digest) DO NOTHING
             RETURNING digest, id
         )
         SELECT i.n, coalesce(a.id, l.id) AS id
         FROM input i
         LEFT JOIN added a ON a.digest = i.digest
         LEFT JOIN label_sets l ON l.tenant_id = $1 AND l.digest = i.digest
         WHERE a.id IS NOT NULL OR l.id IS NOT NULL",
    )
    .bind(tenant.0)
    .bind(&json)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids: HashMap<&BTreeMap<String, String>, i64> = found
        .into_iter()
        .map(|(n, id)| (distinct[n as usize], id))
        .collect();
    let missing: Vec<Json<&BTreeMap<String, String>>> = distinct
        .iter()
        .filter(|s| !ids.contains_key(*s))
        .map(|s| Json(*s))
        .collect();
    if !missing.is_empty() {
        let late: Vec<(Json<BTreeMap<String, String>>, i64)> = sqlx::query_as(
            "SELECT labels, id FROM label_sets
             WHERE tenant_id = $1
               AND digest IN (SELECT sha256(convert_to(l::text, 'UTF8')) FROM UNNEST($2::jsonb[]) l)",
        )
        .bind(tenant.0)
        .bind(&missing)
        .fetch_all(&mut *conn)
        .await?;
        for (labels, id) in late {
            if let Some(set) = distinct.iter().find(|s| ***s == labels.0) {
                ids.insert(*set, id);
            }
        }
        if let Some(set) = distinct.iter().find(|s| !ids.contains_key(*s)) {
            // Only a concurrent removal of the tenant's sets (tenant
            // clear) can get here.
            return Err(super::StoreError::Internal(sqlx::Error::Protocol(format!(
                "label set {set:?} was neither inserted nor found"
            ))));
        }
    }
    Ok(ids)
}

/// Upserts a batch of responses inside the caller's transaction.
///
/// Ids must be unique within `records` (ingest validation rejects duplicates).
/// A record whose id is new is inserted; one whose stored `content_hash`
/// differs replaces the stored row and all its answers; one with an equal
/// hash is left alone (no row is written). At most six statements per batch,
/// whatever its size (seven when a concurrent batch interns the same new
/// label set, see [`intern_label_sets`]).
pub async fn upsert(
    conn: &mut PgConnection,
    tenant: TenantId,
    records: &[ResponseRecord],
) -> StoreResult<IngestCounts> {
    if records.is_empty() {
        return Ok(IngestCounts::default());
    }
    // A stable lock order (by id) keeps two overlapping concurrent batches
    // from deadlocking on each other's rows.
    let mut order: Vec<&ResponseRecord> = records.iter().collect();
    order.sort_unstable_by(|a, b| a.id.cmp(&b.id));

    let n = order.len();
    let mut ids = Vec::with_capacity(n);
    let mut roles = Vec::with_capacity(n);
    let mut respondents = Vec::with_capacity(n);
    let mut surveys = Vec::with_capacity(n);
    let mut times = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    let mut hashes = Vec::with_capacity(n);
    for r in &order {
        ids.push(r.id.as_str());
        roles.push(r.role);
        respondents.push(r.respondent_id.as_deref());
        surveys.push(r.survey_id.as_deref());
        times.push(r.submitted_at);
        labels.push(Json(&r.labels));
        hashes.push(r.content_hash.as_slice());
    }
    // Interned after validation (the caller validated the batch), in this
    // transaction: a refused or rolled-back batch leaves no set behind.
    let set_ids = intern_label_sets(conn, tenant, order.iter().map(|r| &r.labels)).await?;
    let label_sets: Vec<i64> = order.iter().map(|r| set_ids[&r.labels]).collect();

    // Rows come back only when inserted or actually changed: the WHERE of
    // DO UPDATE skips identical content. A row is inserted with revision 1
    // and every update adds one, so `revision = 1` holds exactly for a
    // row this statement inserted, which is also right when a concurrent
    // transaction inserted the same id first (this one then updates it).
    // No system column (`xmax`): partitioned and distributed tables do not
    // answer it (migration 0020).
    let written: Vec<(String, i64, i64, bool)> = sqlx::query_as(
        "INSERT INTO survey_responses
             (tenant_id, id, role, respondent_id, survey_id, submitted_at, labels, content_hash,
              label_set)
         SELECT $1, t.id, t.role, t.respondent_id, t.survey_id, t.submitted_at, t.labels,
                t.content_hash, t.label_set
         FROM UNNEST($2::text[], $3::smallint[], $4::text[], $5::text[], $6::timestamptz[],
                     $7::jsonb[], $8::bytea[], $9::bigint[])
              AS t(id, role, respondent_id, survey_id, submitted_at, labels, content_hash,
                   label_set)
         ON CONFLICT (tenant_id, id) DO UPDATE SET
             role = EXCLUDED.role,
             respondent_id = EXCLUDED.respondent_id,
             survey_id = EXCLUDED.survey_id,
             submitted_at = EXCLUDED.submitted_at,
             labels = EXCLUDED.labels,
             label_set = EXCLUDED.label_set,
             content_hash = EXCLUDED.content_hash,
             revision = survey_responses.revision + 1
         WHERE survey_responses.content_hash <> EXCLUDED.content_hash
         RETURNING id, rid, label_set, revision = 1 AS inserted",
    )
    .bind(tenant.0)
    .bind(&ids)
    .bind(&roles)
    .bind(&respondents)
    .bind(&surveys)
    .bind(&times)
    .bind(&labels)
    .bind(&hashes)
    .bind(&label_sets)
    .fetch_all(&mut *conn)
    .await?;

    let inserted = written.iter().filter(|(_, _, _, ins)| *ins).count() as i64;
    let counts = IngestCounts {
        inserted,
        updated: written.len() as i64 - inserted,
        unchanged: (n - written.len()) as i64,
    };
    if written.is_empty() {
        return Ok(counts);
    }

    let replaced: Vec<i64> = written
        .iter()
        .filter(|(_, _, _, ins)| !*ins)
        .map(|(_, rid, _, _)| *rid)
        .collect();
    if !replaced.is_empty() {
        // The replaced answers leave the rollups in the statement that
        // deletes them. One statement for both tables: its snapshot still
        // holds the EXPERIENCE answers the framed ones were paired with
        // (store::frame_rollup).
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH gone AS (
                 DELETE FROM answers WHERE tenant_id = $1 AND rid = ANY($2)
                 RETURNING {}
             ), {}, gone_framed AS (
                 DELETE FROM framed_answers WHERE tenant_id = $1 AND rid = ANY($2)
                 RETURNING {}
             ), {}
             SELECT 1",
            rollup::ANSWER_KEY,
            rollup::deltas_of("gone", Sign::Removed),
            frame_rollup::FRAMED_KEY,
            frame_rollup::deltas_of("gone_framed", Sign::Removed)
        )))
        .bind(tenant.0)
        .bind(&replaced)
        .execute(&mut *conn)
        .await?;
    }

    let by_id: HashMap<&str, &ResponseRecord> = order.iter().map(|r| (r.id.as_str(), *r)).collect();
    let written: Vec<(&ResponseRecord, i64, i64)> = written
        .iter()
        .map(|(id, rid, label_set, _)| (by_id[id.as_str()], *rid, *label_set))
        .collect();
    insert_experience(conn, tenant, &written).await?;
    insert_framed(conn, tenant, &written).await?;
    Ok(counts)
}

/// Inserts the EXPERIENCE answers of the written records into `answers`,
/// and their rollup deltas in the same statement.
async fn insert_experience(
    conn: &mut PgConnection,
    tenant: TenantId,
    written: &[(&ResponseRecord, i64, i64)],
) -> StoreResult<()> {
    let mut a_rids = Vec::new();
    let mut a_questions = Vec::new();
    let mut a_roles = Vec::new();
    let mut a_times = Vec::new();
    let mut a_surveys = Vec::new();
    let mut a_scores = Vec::new();
    let mut a_themes = Vec::new();
    let mut a_comments = Vec::new();
    let mut a_ordinals = Vec::new();
    let mut a_label_sets = Vec::new();
    for &(r, rid, label_set) in written {
        for (ordinal, a) in r.answers.iter().enumerate() {
            if a.frame != AnswerFrame::Experience {
                continue;
            }
            a_rids.push(rid);
            a_questions.push(a.question.as_str());
            a_roles.push(r.role);
            a_times.push(r.submitted_at);
            a_surveys.push(r.survey_id.as_deref());
            a_scores.push(a.score);
            a_themes.push((!a.themes.is_empty()).then_some(Json(&a.themes)));
            a_comments.push(a.comment.as_deref());
            a_ordinals.push(ordinal as i16);
            a_label_sets.push(label_set);
        }
    }
    // Themes travel as one JSON array per answer: UNNEST cannot take a
    // ragged two-dimensional text array.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH added AS (
             INSERT INTO answers
                 (tenant_id, rid, question, role, submitted_at, survey_id, score, themes,
                  comment, ordinal, label_set)
             SELECT $1, t.rid, t.question, t.role, t.submitted_at, t.survey_id, t.score,
                    CASE WHEN t.themes IS NULL THEN NULL
                         ELSE ARRAY(SELECT jsonb_array_elements_text(t.themes)) END,
                    t.comment, t.ordinal, t.label_set
             FROM UNNEST($2::bigint[], $3::text[], $4::smallint[], $5::timestamptz[],
                         $6::text[], $7::int[], $8::jsonb[], $9::text[], $10::smallint[],
                         $11::bigint[])
                  AS t(rid, question, role, submitted_at, survey_id, score, themes, comment,
                       ordinal, label_set)
             RETURNING {}
         ), {}
         SELECT 1",
        rollup::ANSWER_KEY,
        rollup::deltas_of("added", Sign::Added)
    )))
    .bind(tenant.0)
    .bind(&a_rids)
    .bind(&a_questions)
    .bind(&a_roles)
    .bind(&a_times)
    .bind(&a_surveys)
    .bind(&a_scores)
    .bind(&a_themes)
    .bind(&a_comments)
    .bind(&a_ordinals)
    .bind(&a_label_sets)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Inserts the answers in every other frame into `framed_answers`, with
/// their position among all of the record's answers, and their rollup
/// deltas in the same statement. Runs after [`insert_experience`]: the
/// deltas pair each framed answer with the EXPERIENCE answer of its
/// response, which this statement's snapshot then holds.
async fn insert_framed(
    conn: &mut PgConnection,
    tenant: TenantId,
    written: &[(&ResponseRecord, i64, i64)],
) -> StoreResult<()> {
    let framed = || {
        written.iter().flat_map(|&(r, rid, _)| {
            r.answers
                .iter()
                .enumerate()
                .filter(|(_, a)| a.frame != AnswerFrame::Experience)
                .map(move |(ordinal, a)| (r, rid, ordinal, a))
        })
    };
    if framed().next().is_none() {
        return Ok(());
    }
    let mut rids = Vec::new();
    let mut questions = Vec::new();
    let mut frames = Vec::new();
    let mut competitors = Vec::new();
    let mut roles = Vec::new();
    let mut times = Vec::new();
    let mut surveys = Vec::new();
    let mut scores = Vec::new();
    let mut comments = Vec::new();
    let mut ordinals = Vec::new();
    for (r, rid, ordinal, a) in framed() {
        rids.push(rid);
        questions.push(a.question.as_str());
        frames.push(a.frame.db());
        competitors.push(a.competitor.as_deref().unwrap_or(""));
        roles.push(r.role);
        times.push(r.submitted_at);
        surveys.push(r.survey_id.as_deref());
        scores.push(a.score.expect("framed answers are RATING answers"));
        comments.push(a.comment.as_deref());
        ordinals.push(ordinal as i16);
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH added AS (
             INSERT INTO framed_answers
                 (tenant_id, rid, question, frame, competitor, role, submitted_at, survey_id,
                  score, comment, ordinal)
             SELECT $1, t.*
             FROM UNNEST($2::bigint[], $3::text[], $4::smallint[], $5::text[], $6::smallint[],
                         $7::timestamptz[], $8::text[], $9::int[], $10::text[], $11::smallint[])
                  AS t(rid, question, frame, competitor, role, submitted_at, survey_id, score,
                       comment, ordinal)
             RETURNING {}
         ), {}
         SELECT 1",
        frame_rollup::FRAMED_KEY,
        frame_rollup::deltas_of("added", Sign::Added)
    )))
    .bind(tenant.0)
    .bind(&rids)
    .bind(&questions)
    .bind(&frames)
    .bind(&competitors)
    .bind(&roles)
    .bind(&times)
    .bind(&surveys)
    .bind(&scores)
    .bind(&comments)
    .bind(&ordinals)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ResponseRow {
    rid: i64,
    id: String,
    role: i16,
    respondent_id: Option<String>,
    survey_id: Option<String>,
    submitted_at: DateTime<Utc>,
    labels: Json<BTreeMap<String, String>>,
    content_hash: Vec<u8>,
}

#[derive(sqlx::FromRow)]
struct AnswerRow {
    rid: i64,
    question: String,
    score: Option<i32>,
    themes: Option<Vec<String>>,
    comment: Option<String>,
    frame: i16,
    competitor: String,
}

const RESPONSE_COLUMNS: &str =
    "rid, id, role, respondent_id, survey_id, submitted_at, labels, content_hash";

/// Loads the answers of `rows` (two queries in all) and assembles records in
/// the order of `rows`, answers in their original order.
async fn with_answers(
    pool: &PgPool,
    tenant: TenantId,
    rows: Vec<ResponseRow>,
) -> StoreResult<Vec<ResponseRecord>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let rids: Vec<i64> = rows.iter().map(|r| r.rid).collect();
    // EXPERIENCE answers carry frame 1 and no competitor; the two tables'
    // ordinals are one sequence per response.
    let answers: Vec<AnswerRow> = sqlx::query_as(
        "SELECT rid, question, score, themes, comment, 1::smallint AS frame, '' AS competitor,
                ordinal
         FROM answers WHERE tenant_id = $1 AND rid = ANY($2)
         UNION ALL
         SELECT rid, question, score, NULL, comment, frame, competitor, ordinal
         FROM framed_answers WHERE tenant_id = $1 AND rid = ANY($2)
         ORDER BY rid, ordinal",
    )
    .bind(tenant.0)
    .bind(&rids)
    .fetch_all(pool)
    .await?;
    let mut by_rid: HashMap<i64, Vec<AnswerRecord>> = HashMap::with_capacity(rows.len());
    for a in answers {
        by_rid.entry(a.rid).or_default().push(AnswerRecord {
            question: a.question,
            score: a.score,
            themes: a.themes.unwrap_or_default(),
            comment: a.comment,
            frame: AnswerFrame::from_db(a.frame).unwrap_or(AnswerFrame::Experience),
            competitor: (!a.competitor.is_empty()).then_some(a.competitor),
        });
    }
    Ok(rows
        .into_iter()
        .map(|r| ResponseRecord {
            answers: by_rid.remove(&r.rid).unwrap_or_default(),
            id: r.id,
            role: r.role,
            respondent_id: r.respondent_id,
            survey_id: r.survey_id,
            submitted_at: r.submitted_at,
            labels: r.labels.0,
            content_hash: r.content_hash,
        })
        .collect())
}

/// One response by id, or `None`.
pub async fn get(pool: &PgPool, tenant: TenantId, id: &str) -> StoreResult<Option<ResponseRecord>> {
    let row: Option<ResponseRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {RESPONSE_COLUMNS} FROM survey_responses WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(with_answers(pool, tenant, row.into_iter().collect())
        .await?
        .pop())
}

/// Which responses to list: the shared scope (window on `submitted_at`,
/// labels, survey_id) plus role and respondent. Unset parts match everything.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub scope: Scope,
    pub role: Option<i16>,
    pub respondent_id: Option<String>,
}

/// Up to `limit` responses ordered by (submitted_at, id), strictly after
/// `after` when given (keyset pagination: stable under concurrent inserts,
/// and served by the `(tenant_id, submitted_at, id)` index).
pub async fn list(
    pool: &PgPool,
    tenant: TenantId,
    filter: &ListFilter,
    after: Option<(DateTime<Utc>, &str)>,
    limit: i64,
) -> StoreResult<Vec<ResponseRecord>> {
    let mut q: QueryBuilder<Postgres> = QueryBuilder::new(format!(
        "SELECT {RESPONSE_COLUMNS} FROM survey_responses r WHERE r.tenant_id = "
    ));
    q.push_bind(tenant.0);
    filter
        .scope
        .push_response_conditions(&mut q, "r.submitted_at", "r");
    if let Some(role) = filter.role {
        q.push(" AND r.role = ").push_bind(role);
    }
    if let Some(respondent) = &filter.respondent_id {
        q.push(" AND r.respondent_id = ").push_bind(respondent);
    }
    super::scope::push_after(&mut q, ("r.submitted_at", "r.id"), after);
    q.push(" ORDER BY r.submitted_at, r.id LIMIT ")
        .push_bind(limit);
    let rows: Vec<ResponseRow> = q.build_query_as().fetch_all(pool).await?;
    with_answers(pool, tenant, rows).await
}
