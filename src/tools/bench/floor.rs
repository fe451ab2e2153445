//! The store's floor: the rows ingest writes, by binary `COPY` into a
//! minimal schema of their own (`bench_floor`): responses and answers,
//! journeys and touchpoints, primary keys only — no foreign keys, no
//! secondary indexes, no rollup, no triggers. Ids are assigned by the
//! harness before the clock starts (there is no identity column to read
//! back), and the COPY payloads are encoded before it too, so the timed
//! part is the database's own work: parsing the tuples, the heap, the
//! primary-key indexes and the WAL.

use sqlx::{Acquire, PgPool};

use super::copy::CopyBuf;
use crate::{
    domain::{Numbered, TenantId},
    store::{journeys::NewJourney, responses::ResponseRecord},
};

/// Creates (or recreates, empty) the `bench_floor` schema.
pub async fn create_schema(pool: &PgPool) -> anyhow::Result<()> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    for statement in [
        "DROP SCHEMA IF EXISTS bench_floor CASCADE",
        "CREATE SCHEMA bench_floor",
        "CREATE TABLE bench_floor.responses (
             tenant_id bigint NOT NULL, rid bigint NOT NULL, id text NOT NULL,
             role smallint NOT NULL, respondent_id text, survey_id text,
             submitted_at timestamptz NOT NULL, labels jsonb NOT NULL,
             content_hash bytea NOT NULL,
             PRIMARY KEY (tenant_id, rid))",
        "CREATE TABLE bench_floor.answers (
             tenant_id bigint NOT NULL, rid bigint NOT NULL, ordinal smallint NOT NULL,
             question text NOT NULL, frame smallint NOT NULL, competitor text NOT NULL,
             role smallint NOT NULL, submitted_at timestamptz NOT NULL, survey_id text,
             score integer, comment text,
             PRIMARY KEY (tenant_id, rid, ordinal))",
        "CREATE TABLE bench_floor.journeys (
             tenant_id bigint NOT NULL, jid bigint NOT NULL, id text NOT NULL,
             customer_id text NOT NULL, intent text NOT NULL, labels jsonb NOT NULL,
             started_at timestamptz NOT NULL, content_hash bytea NOT NULL,
             customer_touchpoints integer NOT NULL, channel_switches integer NOT NULL,
             failed_self_service integer NOT NULL, transfers integer NOT NULL,
             repeated_information integer NOT NULL, customer_seconds bigint NOT NULL,
             resolved boolean NOT NULL, first_customer_resolved boolean NOT NULL,
             has_assisted boolean NOT NULL, first_assisted_resolved boolean NOT NULL,
             distinct_channels integer NOT NULL,
             PRIMARY KEY (tenant_id, jid))",
        "CREATE TABLE bench_floor.touchpoints (
             tenant_id bigint NOT NULL, jid bigint NOT NULL, seq smallint NOT NULL,
             channel smallint NOT NULL, initiator smallint NOT NULL,
             occurred_at timestamptz NOT NULL, duration_seconds integer NOT NULL,
             wait_seconds integer NOT NULL, outcome smallint NOT NULL,
             transfers integer NOT NULL, repeated_information boolean NOT NULL,
             PRIMARY KEY (tenant_id, jid, seq))",
    ] {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One transaction's COPY statements and their encoded payloads.
pub type Payloads = Vec<(&'static str, Vec<u8>)>;

/// Responses (ids `first_rid..`) and their answers, every frame in one
/// table.
pub fn responses(tenant: TenantId, first_rid: i64, records: &[ResponseRecord]) -> Payloads {
    let (mut r, mut a) = (CopyBuf::new(), CopyBuf::new());
    for (rec, rid) in records.iter().zip(first_rid..) {
        r.row(9);
        r.i64(tenant.0);
        r.i64(rid);
        r.text(&rec.id);
        r.i16(rec.role);
        r.opt_text(rec.respondent_id.as_deref());
        r.opt_text(rec.survey_id.as_deref());
        r.time(rec.submitted_at);
        r.jsonb(&rec.labels);
        r.field(&rec.content_hash);
        for (ordinal, ans) in rec.answers.iter().enumerate() {
            a.row(11);
            a.i64(tenant.0);
            a.i64(rid);
            a.i16(ordinal as i16);
            a.text(&ans.question);
            a.i16(ans.frame.db());
            a.text(ans.competitor.as_deref().unwrap_or(""));
            a.i16(rec.role);
            a.time(rec.submitted_at);
            a.opt_text(rec.survey_id.as_deref());
            match ans.score {
                Some(s) => a.i32(s),
                None => a.null(),
            }
            a.opt_text(ans.comment.as_deref());
        }
    }
    vec![
        (
            "COPY bench_floor.responses (tenant_id, rid, id, role, respondent_id, survey_id,
                 submitted_at, labels, content_hash) FROM STDIN (FORMAT binary)",
            r.finish(),
        ),
        (
            "COPY bench_floor.answers (tenant_id, rid, ordinal, question, frame, competitor,
                 role, submitted_at, survey_id, score, comment) FROM STDIN (FORMAT binary)",
            a.finish(),
        ),
    ]
}

/// Journeys (ids `first_jid..`) and their touchpoints.
pub fn journeys(tenant: TenantId, first_jid: i64, journeys: &[NewJourney]) -> Payloads {
    let (mut b, mut t) = (CopyBuf::new(), CopyBuf::new());
    for (new, jid) in journeys.iter().zip(first_jid..) {
        b.row(19);
        b.i64(tenant.0);
        b.i64(jid);
        b.journey(new);
        t.touchpoints(tenant, jid, None, &new.journey.touchpoints);
    }
    vec![
        (
            "COPY bench_floor.journeys (tenant_id, jid, id, customer_id, intent, labels,
                 started_at, content_hash, customer_touchpoints, channel_switches,
                 failed_self_service, transfers, repeated_information, customer_seconds,
                 resolved, first_customer_resolved, has_assisted, first_assisted_resolved,
                 distinct_channels) FROM STDIN (FORMAT binary)",
            b.finish(),
        ),
        (
            "COPY bench_floor.touchpoints (tenant_id, jid, seq, channel, initiator,
                 occurred_at, duration_seconds, wait_seconds, outcome, transfers,
                 repeated_information) FROM STDIN (FORMAT binary)",
            t.finish(),
        ),
    ]
}

/// Writes one transaction's payloads; returns the rows written.
pub async fn write(pool: &PgPool, payloads: Payloads) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let mut rows = 0;
    for (statement, data) in payloads {
        let mut copy = tx.copy_in_raw(statement).await?;
        copy.send(data).await?;
        rows += copy.finish().await?;
    }
    tx.commit().await?;
    Ok(rows)
}
