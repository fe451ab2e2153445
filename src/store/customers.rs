//! Per-customer operations across record kinds: erasure, and the fence
//! that orders it against the writes of the same customer.
//!
//! Erasure must not be undone by a write already in flight: a batch that
//! wrote a record of customer X before the erasure's DELETE but commits
//! after it would bring X's data back after the erasure answered OK. So
//! every ingest transaction takes, before it writes, a *shared*
//! transaction-scoped advisory lock per customer it writes
//! ([`fence_writes`]), and erasure takes the same lock *exclusive*
//! ([`delete_customer_data`]): it waits for the writes of X in flight to
//! commit, then deletes what they wrote, and writes of X that start while
//! it runs wait for it and commit after it (new data, not resurrected
//! data). Writes never wait for each other (shared locks do not conflict),
//! and a write takes its locks before any row lock, so the fence adds no
//! deadlock between writers.

use sqlx::PgConnection;

use super::{
    StoreResult, effort_rollup, frame_rollup,
    rollup::{self, Sign},
};
use crate::domain::TenantId;

/// The advisory-lock key of (tenant, customer): a 64-bit hash of the id
/// seeded with the tenant. Two customers sharing a key only make an
/// erasure of one wait for writes of the other.
const LOCK_KEY: &str = "hashtextextended(customer_id, tenant_id)";

/// Takes, for the rest of the caller's transaction, the shared erasure
/// fence of each of `customers`, in key order. Call it before the
/// transaction writes anything, which is before the batch is validated:
/// duplicates, empty ids and ids with a NUL (which PostgreSQL text cannot
/// hold, so no stored record has them; validation rejects them later) are
/// skipped.
pub async fn fence_writes(
    conn: &mut PgConnection,
    tenant: TenantId,
    customers: &[&str],
) -> StoreResult<()> {
    let ids: Vec<&str> = customers
        .iter()
        .copied()
        .filter(|c| !c.is_empty() && !c.contains('\0'))
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT count(pg_advisory_xact_lock_shared(k)) FROM (
           SELECT DISTINCT {LOCK_KEY} AS k
           FROM unnest($2::text[]) AS customer_id, (SELECT $1::bigint AS tenant_id) t
           ORDER BY k) keys"
    )))
    .bind(tenant.0)
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a right-to-erasure request removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureCounts {
    pub survey_responses_deleted: i64,
    pub journeys_deleted: i64,
    pub outcomes_deleted: i64,
}

/// Erases, inside the caller's transaction, every survey response whose
/// `respondent_id` is the customer (answers cascade), every journey of the
/// customer (with their touchpoints), every outcome and every follow-up of
/// the customer.
///
/// First the customer's fence, exclusive (see the module comment): the
/// writes of the customer in flight commit before the deletes look.
/// Then each table's rows are locked in id order (byte order), the order
/// in which ingest writes a batch, so an erasure and a batch touching the
/// same rows without the same fence (a re-send moving a response to
/// another respondent) wait for each other instead of deadlocking.
///
/// The responses' answers leave the daily rollup in the statement that
/// deletes them (`store::rollup::deltas_of`), their framed answers the
/// framed rollup in the same statement, whose snapshot still holds the
/// EXPERIENCE answers they were paired with (`store::frame_rollup`), and
/// that statement runs only
/// once the responses are locked: its snapshot then holds every answer a
/// concurrent re-send of those responses committed, and nothing can add
/// one until this transaction ends, so the cascade from the responses
/// finds no answer (framed or not) left whose delta was not appended.
pub async fn delete_customer_data(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer_id: &str,
) -> StoreResult<ErasureCounts> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT pg_advisory_xact_lock({LOCK_KEY}) \
         FROM (SELECT $1::bigint AS tenant_id, $2::text AS customer_id) c"
    )))
    .bind(tenant.0)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    lock_records(
        conn,
        "survey_responses",
        "respondent_id",
        tenant,
        customer_id,
    )
    .await?;
    let survey_responses_deleted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH doomed AS (
             SELECT rid FROM survey_responses WHERE tenant_id = $1 AND respondent_id = $2
         ), gone AS (
             DELETE FROM answers WHERE tenant_id = $1 AND rid IN (SELECT rid FROM doomed)
             RETURNING {}
         ), {}, gone_framed AS (
             DELETE FROM framed_answers
             WHERE tenant_id = $1 AND rid IN (SELECT rid FROM doomed)
             RETURNING {}
         ), {}, responses AS (
             DELETE FROM survey_responses WHERE tenant_id = $1 AND rid IN (SELECT rid FROM doomed)
             RETURNING 1
         )
         SELECT count(*) FROM responses",
        rollup::ANSWER_KEY,
        rollup::deltas_of("gone", Sign::Removed),
        frame_rollup::FRAMED_KEY,
        frame_rollup::deltas_of("gone_framed", Sign::Removed)
    )))
    .bind(tenant.0)
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await?;
    // The journeys locked first, then (in a statement whose snapshot holds
    // every touchpoint a concurrent re-send of them committed) their
    // touchpoints deleted with their channel-rollup deltas, as the answers
    // above: the cascade from the journeys then finds none left.
    lock_records(conn, "journeys", "customer_id", tenant, customer_id).await?;
    let journeys_deleted: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "WITH doomed AS (
             SELECT jid FROM journeys WHERE tenant_id = $1 AND customer_id = $2
         ), gone AS (
             DELETE FROM touchpoints WHERE tenant_id = $1 AND jid IN (SELECT jid FROM doomed)
             RETURNING {}
         ), deltas AS (
             {}
         ), removed AS (
             DELETE FROM journeys WHERE tenant_id = $1 AND jid IN (SELECT jid FROM doomed)
             RETURNING 1
         )
         SELECT count(*) FROM removed",
        effort_rollup::TOUCHPOINT_KEY,
        effort_rollup::deltas_of("gone", Sign::Removed)
    )))
    .bind(tenant.0)
    .bind(customer_id)
    .fetch_one(&mut *conn)
    .await?;
    let mut delete = async |table: &str, key: &str, customer: &str| {
        // Table and column names are constants of this function.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND {key} IN (
               SELECT {key} FROM {table} WHERE tenant_id = $1 AND {customer} = $2
               ORDER BY id COLLATE \"C\" FOR UPDATE)"
        )))
        .bind(tenant.0)
        .bind(customer_id)
        .execute(&mut *conn)
        .await
        .map(|done| done.rows_affected() as i64)
    };
    let outcomes_deleted = delete("outcomes", "id", "customer_id").await?;
    delete("follow_ups", "id", "customer_id").await?;
    Ok(ErasureCounts {
        survey_responses_deleted,
        journeys_deleted,
        outcomes_deleted,
    })
}

/// Locks the customer's rows of `table` (whose customer column is
/// `column`) in id order, the order every write path locks them in, so an
/// erasure and a re-send of the same records wait instead of deadlocking.
async fn lock_records(
    conn: &mut PgConnection,
    table: &str,
    column: &str,
    tenant: TenantId,
    customer_id: &str,
) -> StoreResult<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM (
           SELECT 1 FROM {table} WHERE tenant_id = $1 AND {column} = $2
           ORDER BY id COLLATE \"C\" FOR UPDATE) locked"
    )))
    .bind(tenant.0)
    .bind(customer_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
