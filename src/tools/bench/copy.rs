//! The physical limit: the same rows as ingest writes, loaded with binary
//! `COPY` (sqlx `copy_in_raw`) into the same schema, with every index and
//! foreign key in place.
//!
//! Records are validated and normalized by the API's own code first (so
//! content hashes and effort components are exactly what ingest stores),
//! outside the timed part; the timed part is the database work only.
//!
//! Answers go where ingest puts them: EXPERIENCE answers into `answers`, the
//! answers in every other frame into `framed_answers` (SPEC §16.1), in the
//! same transaction, so the limit writes exactly the rows ingest writes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::{
    domain::{Numbered, TenantId, enums::AnswerFrame, question::Question},
    store::{
        StoreResult, effort_rollup, frame_rollup,
        journeys::{NewJourney, Touchpoint},
        responses::ResponseRecord,
        rollup::{self, Sign},
    },
};

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// A buffer of binary COPY tuples.
#[derive(Default)]
pub struct CopyBuf {
    buf: Vec<u8>,
}

impl CopyBuf {
    /// A journey's columns from `id` to `distinct_channels`, as both the
    /// own-schema and the floor `journeys` tables order them.
    pub(super) fn journey(&mut self, new: &NewJourney) {
        let (j, c) = (&new.journey, &new.journey.components);
        self.text(&j.id);
        self.text(&j.customer_id);
        self.text(&j.intent);
        self.jsonb(&j.labels);
        self.time(j.started_at);
        self.field(&new.content_hash);
        self.i32(c.customer_touchpoints);
        self.i32(c.channel_switches);
        self.i32(c.failed_self_service);
        self.i32(c.transfers);
        self.i32(c.repeated_information);
        self.i64(c.customer_seconds);
        self.bool(c.resolved);
        self.bool(c.first_customer_resolved);
        self.bool(c.has_assisted);
        self.bool(c.first_assisted_resolved);
        self.i32(c.distinct_channels);
    }

    /// One `touchpoints` row per touchpoint of journey `jid`, ending with
    /// the copy of the journey's start when given (our own schema has
    /// it, for the channel rollup; the floor does not).
    pub(super) fn touchpoints(
        &mut self,
        tenant: TenantId,
        jid: i64,
        journey_started_at: Option<DateTime<Utc>>,
        touchpoints: &[Touchpoint],
    ) {
        for (seq, t) in touchpoints.iter().enumerate() {
            self.row(if journey_started_at.is_some() { 12 } else { 11 });
            self.i64(tenant.0);
            self.i64(jid);
            self.i16(seq as i16);
            self.i16(t.channel);
            self.i16(t.initiator);
            self.time(t.occurred_at);
            self.i32(t.duration_seconds);
            self.i32(t.wait_seconds);
            self.i16(t.outcome);
            self.i32(t.transfers);
            self.bool(t.repeated_information);
            if let Some(started_at) = journey_started_at {
                self.time(started_at);
            }
        }
    }

    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(1 << 20);
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        Self { buf }
    }
    pub(super) fn row(&mut self, fields: i16) {
        self.buf.extend_from_slice(&fields.to_be_bytes());
    }
    pub(super) fn field(&mut self, bytes: &[u8]) {
        self.buf
            .extend_from_slice(&(bytes.len() as i32).to_be_bytes());
        self.buf.extend_from_slice(bytes);
    }
    pub(super) fn null(&mut self) {
        self.buf.extend_from_slice(&(-1i32).to_be_bytes());
    }
    pub(super) fn i16(&mut self, v: i16) {
        self.field(&v.to_be_bytes());
    }
    pub(super) fn i32(&mut self, v: i32) {
        self.field(&v.to_be_bytes());
    }
    pub(super) fn i64(&mut self, v: i64) {
        self.field(&v.to_be_bytes());
    }
    pub(super) fn bool(&mut self, v: bool) {
        self.field(&[u8::from(v)]);
    }
    pub(super) fn text(&mut self, v: &str) {
        self.field(v.as_bytes());
    }
    pub(super) fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.text(v),
            None => self.null(),
        }
    }
    pub(super) fn time(&mut self, t: DateTime<Utc>) {
        self.i64(t.timestamp_micros() - PG_EPOCH_OFFSET_MICROS);
    }
    pub(super) fn jsonb(&mut self, v: &impl serde::Serialize) {
        let mut bytes = vec![1u8];
        serde_json::to_writer(&mut bytes, v).expect("labels serialize");
        self.field(&bytes);
    }
    /// The finished COPY payload (with its trailer).
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.extend_from_slice(&(-1i16).to_be_bytes());
        self.buf
    }
}

async fn copy(conn: &mut PgConnection, statement: &str, data: Vec<u8>) -> StoreResult<u64> {
    let mut copy = conn.copy_in_raw(statement).await?;
    copy.send(data).await?;
    Ok(copy.finish().await?)
}

/// The rids the responses `records` were given, in order.
async fn rids_of(
    conn: &mut PgConnection,
    tenant: TenantId,
    records: &[ResponseRecord],
) -> StoreResult<Vec<i64>> {
    // One COPY in one session draws consecutive identity values; check the
    // two ends and fall back to a lookup if anything interleaved.
    let first: i64 =
        sqlx::query_scalar("SELECT rid FROM survey_responses WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(&records[0].id)
            .fetch_one(&mut *conn)
            .await?;
    let last: i64 =
        sqlx::query_scalar("SELECT rid FROM survey_responses WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.0)
            .bind(&records[records.len() - 1].id)
            .fetch_one(&mut *conn)
            .await?;
    if last - first == records.len() as i64 - 1 {
        return Ok((first..=last).collect());
    }
    let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT id, rid FROM survey_responses WHERE tenant_id = $1 AND id = ANY($2)",
    )
    .bind(tenant.0)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let map: HashMap<String, i64> = rows.into_iter().collect();
    Ok(records.iter().map(|r| map[&r.id]).collect())
}

/// COPYs new responses and their answers (EXPERIENCE and framed) in one
/// transaction; returns the answer rows written.
pub async fn copy_responses(
    pool: &PgPool,
    tenant: TenantId,
    records: &[ResponseRecord],
) -> StoreResult<u64> {
    if records.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    // The label sets as ingest interns them (same statement), so the
    // label-set rollup the deltas below fill is ingest's.
    let set_ids = crate::store::responses::intern_label_sets(
        &mut tx,
        tenant,
        records.iter().map(|r| &r.labels),
    )
    .await?;
    let mut b = CopyBuf::new();
    for r in records {
        b.row(9);
        b.i64(tenant.0);
        b.text(&r.id);
        b.i16(r.role);
        b.opt_text(r.respondent_id.as_deref());
        b.opt_text(r.survey_id.as_deref());
        b.time(r.submitted_at);
        b.jsonb(&r.labels);
        b.field(&r.content_hash);
        b.i64(set_ids[&r.labels]);
    }
    copy(
        &mut tx,
        "COPY survey_responses (tenant_id, id, role, respondent_id, survey_id, submitted_at, labels, content_hash, label_set) FROM STDIN (FORMAT binary)",
        b.finish(),
    )
    .await?;
    let rids = rids_of(&mut tx, tenant, records).await?;
    let mut b = CopyBuf::new();
    let mut framed = CopyBuf::new();
    let mut any_framed = false;
    for (r, &rid) in records.iter().zip(&rids) {
        for (ordinal, a) in r.answers.iter().enumerate() {
            if a.frame != AnswerFrame::Experience {
                any_framed = true;
                let f = &mut framed;
                f.row(11);
                f.i64(tenant.0);
                f.i64(rid);
                f.text(&a.question);
                f.i16(a.frame.db());
                f.text(a.competitor.as_deref().unwrap_or(""));
                f.i16(r.role);
                f.time(r.submitted_at);
                f.opt_text(r.survey_id.as_deref());
                f.i32(a.score.expect("framed answers are RATING answers"));
                f.opt_text(a.comment.as_deref());
                f.i16(ordinal as i16);
                continue;
            }
            b.row(11);
            b.i64(tenant.0);
            b.i64(rid);
            b.text(&a.question);
            b.i16(r.role);
            b.time(r.submitted_at);
            b.opt_text(r.survey_id.as_deref());
            match a.score {
                Some(s) => b.i32(s),
                None => b.null(),
            }
            // The benchmark's records have RATING answers only: no themes.
            assert!(
                a.themes.is_empty(),
                "COPY loader writes RATING answers only"
            );
            b.null();
            b.opt_text(a.comment.as_deref());
            b.i16(ordinal as i16);
            b.i64(set_ids[&r.labels]);
        }
    }
    let mut answers = copy(
        &mut tx,
        "COPY answers (tenant_id, rid, question, role, submitted_at, survey_id, score, themes, comment, ordinal, label_set) FROM STDIN (FORMAT binary)",
        b.finish(),
    )
    .await?;
    // COPY fires no rollup write of its own (no write path's statement
    // does since migration 0020): the deltas of exactly these new
    // responses' answers, in the same transaction.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH copied AS (
             SELECT {} FROM answers WHERE tenant_id = $1 AND rid = ANY($2)
         ), {}
         SELECT 1",
        rollup::ANSWER_KEY,
        rollup::deltas_of("copied", Sign::Added)
    )))
    .bind(tenant.0)
    .bind(&rids)
    .execute(&mut *tx)
    .await?;
    if any_framed {
        answers += copy(
            &mut tx,
            "COPY framed_answers (tenant_id, rid, question, frame, competitor, role, submitted_at, survey_id, score, comment, ordinal) FROM STDIN (FORMAT binary)",
            framed.finish(),
        )
        .await?;
        // As for answers: the framed rollup's deltas of exactly these
        // responses' framed answers, after their EXPERIENCE answers are in
        // (each is paired with the one of its response).
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH copied AS (
                 SELECT {} FROM framed_answers WHERE tenant_id = $1 AND rid = ANY($2)
             ), {}
             SELECT 1",
            frame_rollup::FRAMED_KEY,
            frame_rollup::deltas_of("copied", Sign::Added)
        )))
        .bind(tenant.0)
        .bind(&rids)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(answers)
}

/// COPYs new journeys and their touchpoints in one transaction; returns the
/// touchpoint rows written.
pub async fn copy_journeys(
    pool: &PgPool,
    tenant: TenantId,
    journeys: &[NewJourney],
) -> StoreResult<u64> {
    if journeys.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let mut b = CopyBuf::new();
    for new in journeys {
        b.row(18);
        b.i64(tenant.0);
        b.journey(new);
    }
    copy(
        &mut tx,
        "COPY journeys (tenant_id, id, customer_id, intent, labels, started_at, content_hash,
             customer_touchpoints, channel_switches, failed_self_service, transfers,
             repeated_information, customer_seconds, resolved, first_customer_resolved,
             has_assisted, first_assisted_resolved, distinct_channels) FROM STDIN (FORMAT binary)",
        b.finish(),
    )
    .await?;
    let ids: Vec<&str> = journeys.iter().map(|j| j.journey.id.as_str()).collect();
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT id, jid FROM journeys WHERE tenant_id = $1 AND id = ANY($2)")
            .bind(tenant.0)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
    let jids: HashMap<String, i64> = rows.into_iter().collect();
    let mut b = CopyBuf::new();
    for NewJourney { journey: j, .. } in journeys {
        let jid = jids[&j.id];
        b.touchpoints(tenant, jid, Some(j.started_at), &j.touchpoints);
    }
    let touchpoints = copy(
        &mut tx,
        "COPY touchpoints (tenant_id, jid, seq, channel, initiator, occurred_at, duration_seconds,
             wait_seconds, outcome, transfers, repeated_information, journey_started_at)
             FROM STDIN (FORMAT binary)",
        b.finish(),
    )
    .await?;
    // As for answers: the channel-rollup deltas of exactly these new
    // journeys' touchpoints, one statement, in the same transaction.
    let copied: Vec<i64> = jids.values().copied().collect();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH copied AS (
             SELECT {} FROM touchpoints WHERE tenant_id = $1 AND jid = ANY($2)
         ) {}",
        effort_rollup::TOUCHPOINT_KEY,
        effort_rollup::deltas_of("copied", Sign::Added)
    )))
    .bind(tenant.0)
    .bind(&copied)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(touchpoints)
}

/// The tenant's catalog, for validating records with the API's code.
pub async fn catalog(pool: &PgPool, tenant: TenantId) -> StoreResult<Vec<Question>> {
    let mut conn = pool.acquire().await?;
    let keys: Vec<String> = sqlx::query_scalar("SELECT key FROM questions WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_all(&mut *conn)
        .await?;
    crate::store::responses::lock_questions(&mut conn, tenant, &keys).await
}
