//! Current tiers kept at write time (SPEC §12.1): the per-customer lock a
//! tier-changing write takes, who owned a batch's records before it, the
//! stored current tiers, the effort components an event's reasons are
//! told from, the durable record of raises to HIGH, the background
//! recompute's progress, and an erased customer's event rows.
//!
//! Everything here is one statement per batch, whatever its size (a
//! batch is at most 1,000 records): arrays in, rows out.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::{StoreResult, loyalty::Assessment};
use crate::{domain::TenantId, scoring::effort::EffortComponents};

/// The advisory-lock key of a customer's current tier: the two-integer
/// form (its own lock space, apart from the one-`bigint` erasure fence of
/// `store::customers`), the tenant and a 32-bit hash of the id. Two
/// customers sharing a key only make their writes wait for each other.
const TIER_LOCK_KEY: &str = "pg_advisory_xact_lock($1::int, hashtext(customer_id))";

/// Takes, for the rest of the caller's transaction, the exclusive tier
/// lock of each of `customers`, in key order (so two writers of
/// overlapping customers cannot deadlock on these locks).
///
/// A write takes it for every customer it touches after its upsert,
/// before it assesses them again (see `service::tiers`); an erasure after
/// deleting the records; a recompute batch before it assesses. Every
/// holder takes its row locks of records (and of label sets and
/// questions) before its tier locks and none after them, so the two kinds
/// cannot deadlock.
pub async fn lock_customers(
    conn: &mut PgConnection,
    tenant: TenantId,
    customers: &[String],
) -> StoreResult<()> {
    if customers.is_empty() {
        return Ok(());
    }
    // Tenant ids are bigint; the lock takes an int: the low 32 bits (a
    // collision only shares locks between tenants).
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT count({TIER_LOCK_KEY}) FROM (
           SELECT DISTINCT customer_id, hashtext(customer_id) AS k
           FROM unnest($2::text[]) AS customer_id ORDER BY k, customer_id) keys"
    )))
    .bind((tenant.0 & 0x7fff_ffff) as i32)
    .bind(customers)
    .execute(conn)
    .await?;
    Ok(())
}

/// A stored current tier, with what tells one write of the row from
/// another: `version` counts the row's writes, and `assessed_at` (the
/// writer's instant) tells a row deleted and written again apart from the
/// one before it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredTier {
    pub tier: i32,
    pub version: i64,
    pub assessed_at: DateTime<Utc>,
}

/// The stored tiers of the customers `$2` of tenant `$1`, as four
/// parallel arrays in one row (NULL for none).
const STORED_TIERS: &str = "SELECT array_agg(customer_id), array_agg(tier::int4), \
      array_agg(version), array_agg(assessed_at) \
    FROM customer_tiers WHERE tenant_id = $1 AND customer_id = ANY($2::text[])";

type StoredArrays = (
    Option<Vec<String>>,
    Option<Vec<i32>>,
    Option<Vec<i64>>,
    Option<Vec<DateTime<Utc>>>,
);

fn by_customer((ids, tiers, versions, times): StoredArrays) -> HashMap<String, StoredTier> {
    ids.unwrap_or_default()
        .into_iter()
        .zip(tiers.unwrap_or_default())
        .zip(versions.unwrap_or_default())
        .zip(times.unwrap_or_default())
        .map(|(((c, tier), version), assessed_at)| {
            (
                c,
                StoredTier {
                    tier,
                    version,
                    assessed_at,
                },
            )
        })
        .collect()
}

/// The etag of the model in force (empty without a stored model) and the
/// stored current tiers of those of `customers` with one, in one
/// statement: what a write compares with once it holds its customers'
/// tier locks (`service::tiers`).
pub async fn etag_and_stored_tiers(
    conn: &mut PgConnection,
    tenant: TenantId,
    customers: &[String],
) -> StoreResult<(String, HashMap<String, StoredTier>)> {
    type Row = (
        String,
        Option<Vec<String>>,
        Option<Vec<i32>>,
        Option<Vec<i64>>,
        Option<Vec<DateTime<Utc>>>,
    );
    let (etag, ids, tiers, versions, times): Row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT coalesce((SELECT etag FROM scoring_models WHERE tenant_id = $1), ''), s.* \
         FROM ({STORED_TIERS}) s"
    )))
    .bind(tenant.0)
    .bind(customers)
    .fetch_one(conn)
    .await?;
    Ok((etag, by_customer((ids, tiers, versions, times))))
}

/// (id, customer) of those of `ids` that are stored journeys now, locked
/// for the rest of the caller's transaction in id order (byte order, the
/// order in which the upsert would lock them anyway).
pub async fn journey_owners(
    conn: &mut PgConnection,
    tenant: TenantId,
    ids: &[&str],
) -> StoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, customer_id FROM journeys WHERE tenant_id = $1 AND id = ANY($2::text[]) \
         ORDER BY id COLLATE \"C\" FOR UPDATE",
    )
    .bind(tenant.0)
    .bind(ids)
    .fetch_all(conn)
    .await?)
}

/// (id, respondent) of those of `ids` that are stored responses with a
/// respondent now; every stored one of `ids` is locked for the rest of the
/// caller's transaction, in id order (as [`journey_owners`]).
pub async fn response_owners(
    conn: &mut PgConnection,
    tenant: TenantId,
    ids: &[&str],
) -> StoreResult<Vec<(String, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, respondent_id FROM ( \
           SELECT id, respondent_id FROM survey_responses \
           WHERE tenant_id = $1 AND id = ANY($2::text[]) ORDER BY id COLLATE \"C\" FOR UPDATE \
         ) locked WHERE respondent_id IS NOT NULL",
    )
    .bind(tenant.0)
    .bind(ids)
    .fetch_all(conn)
    .await?)
}

/// Makes the stored current tiers of `customers` what `assessed` says:
/// an upsert for the assessed ones, a delete for the others (no data in
/// the window any more).
pub async fn store_tiers(
    conn: &mut PgConnection,
    tenant: TenantId,
    customers: &[String],
    assessed: &[Assessment],
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let mut ids: Vec<&str> = assessed.iter().map(|a| a.customer_id.as_str()).collect();
    let tiers: Vec<i16> = assessed.iter().map(|a| a.tier as i16).collect();
    let sources: Vec<i16> = assessed.iter().map(|a| a.tier_source as i16).collect();
    // Sorted, so concurrent upserts lock rows in one order.
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by(|a, b| ids[*a].cmp(ids[*b]));
    let tiers: Vec<i16> = order.iter().map(|i| tiers[*i]).collect();
    let sources: Vec<i16> = order.iter().map(|i| sources[*i]).collect();
    ids = order.iter().map(|i| ids[*i]).collect();
    if !ids.is_empty() {
        sqlx::query(
            "INSERT INTO customer_tiers (tenant_id, customer_id, tier, tier_source, assessed_at) \
             SELECT $1, c, t, s, $5 FROM unnest($2::text[], $3::smallint[], $4::smallint[]) \
               AS u(c, t, s) \
             ON CONFLICT (tenant_id, customer_id) DO UPDATE SET tier = EXCLUDED.tier, \
               tier_source = EXCLUDED.tier_source, assessed_at = EXCLUDED.assessed_at, \
               version = customer_tiers.version + 1",
        )
        .bind(tenant.0)
        .bind(&ids)
        .bind(&tiers)
        .bind(&sources)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    }
    let gone: Vec<&str> = customers
        .iter()
        .map(String::as_str)
        .filter(|c| ids.binary_search(c).is_err())
        .collect();
    if !gone.is_empty() {
        sqlx::query(
            "DELETE FROM customer_tiers WHERE tenant_id = $1 AND customer_id = ANY($2::text[])",
        )
        .bind(tenant.0)
        .bind(&gone)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

type ComponentsRow = (
    String,
    i32,
    i32,
    i32,
    i32,
    i32,
    i32,
    i64,
    bool,
    bool,
    bool,
    bool,
);

/// The stored effort components of the journeys `ids`, by id.
pub async fn journey_components(
    conn: &mut PgConnection,
    tenant: TenantId,
    ids: &[&str],
) -> StoreResult<HashMap<String, EffortComponents>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<ComponentsRow> = sqlx::query_as(
        "SELECT id, customer_touchpoints, distinct_channels, channel_switches, \
           failed_self_service, transfers, repeated_information, customer_seconds, resolved, \
           first_customer_resolved, has_assisted, first_assisted_resolved \
         FROM journeys WHERE tenant_id = $1 AND id = ANY($2::text[])",
    )
    .bind(tenant.0)
    .bind(ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.0,
                EffortComponents {
                    customer_touchpoints: r.1,
                    distinct_channels: r.2,
                    channel_switches: r.3,
                    failed_self_service: r.4,
                    transfers: r.5,
                    repeated_information: r.6,
                    customer_seconds: r.7,
                    resolved: r.8,
                    first_customer_resolved: r.9,
                    has_assisted: r.10,
                    first_assisted_resolved: r.11,
                },
            )
        })
        .collect())
}

/// One raise to HIGH, for `high_tier_starts`.
#[derive(Debug, Clone, PartialEq)]
pub struct HighTierStart {
    pub customer_id: String,
    pub seq: i64,
    pub started_at: DateTime<Utc>,
    pub holdout: bool,
}

/// Records raises to HIGH (their events' sequence numbers are new, so
/// these inserts lock nothing anyone else waits for: safe after
/// `store::events::record_events`).
pub async fn record_high_tier_starts(
    conn: &mut PgConnection,
    tenant: TenantId,
    starts: &[HighTierStart],
) -> StoreResult<()> {
    if starts.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO high_tier_starts (tenant_id, customer_id, seq, started_at, holdout) \
         SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::bool[])",
    )
    .bind(tenant.0)
    .bind(
        starts
            .iter()
            .map(|s| s.customer_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(starts.iter().map(|s| s.seq).collect::<Vec<_>>())
    .bind(starts.iter().map(|s| s.started_at).collect::<Vec<_>>())
    .bind(starts.iter().map(|s| s.holdout).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Wakes the watches of `tenant` on every replica (`LISTEN` on
/// [`EVENTS_CHANNEL`]): delivered at commit, dropped on rollback, so a
/// wake-up never announces an event that does not exist.
pub async fn notify_events(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(EVENTS_CHANNEL)
        .bind(tenant.0.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

/// The `LISTEN`/`NOTIFY` channel of new events; the payload is the tenant id.
pub const EVENTS_CHANNEL: &str = "gapscore_events";

/// What an erasure removed besides the records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasedEvents {
    pub events: i64,
}

/// Erases, inside the caller's transaction (after the customer's erasure
/// fence and tier lock), the customer's whole-history assessment, current
/// tier, events and raises to HIGH.
pub async fn erase_customer(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer: &str,
) -> StoreResult<ErasedEvents> {
    // `assessments` first: the order in which a write reaches the
    // customer's derived rows. Its tier count goes with the row, in the
    // same statement, from the row the delete returns (none if a racing
    // statement deleted it first).
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH gone AS (DELETE FROM assessments WHERE tenant_id = $1 AND customer_id = $2 \
           RETURNING tenant_id, tier), {} SELECT 1",
        super::assessments::log_tier_changes("SELECT tenant_id, tier, -1 AS n FROM gone")
    )))
    .bind(tenant.0)
    .bind(customer)
    .execute(&mut *conn)
    .await?;
    // The rows of the customer's (deleted) journeys and their rollup sums.
    super::journey_efforts::erase_customer(conn, tenant, customer).await?;
    for table in ["customer_tiers", "high_tier_starts"] {
        // Table names are constants of this function.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1 AND customer_id = $2"
        )))
        .bind(tenant.0)
        .bind(customer)
        .execute(&mut *conn)
        .await?;
    }
    let events = sqlx::query("DELETE FROM at_risk_events WHERE tenant_id = $1 AND customer_id = $2")
        .bind(tenant.0)
        .bind(customer)
        .execute(&mut *conn)
        .await?
        .rows_affected() as i64;
    Ok(ErasedEvents { events })
}

/// A tenant whose current tiers are not (all) under its model in force:
/// a pass brings them to the model of `model_etag`, next after
/// `after_customer` (empty: from the first).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Recompute {
    pub tenant_id: i64,
    pub model_etag: String,
    pub after_customer: String,
}

/// Every tenant with a stored model whose tiers a pass has not finished
/// bringing to it: found from the data (the model's etag against the
/// pass's), so a change is picked up whichever replica made it, and a
/// crash between the change and its pass loses nothing.
pub async fn pending_recomputes(pool: &PgPool) -> StoreResult<Vec<Recompute>> {
    Ok(sqlx::query_as(
        "SELECT m.tenant_id, m.etag AS model_etag, \
           CASE WHEN r.model_etag = m.etag THEN r.after_customer ELSE '' END AS after_customer \
         FROM scoring_models m LEFT JOIN tier_recomputes r ON r.tenant_id = m.tenant_id \
         WHERE r.tenant_id IS NULL OR r.model_etag <> m.etag OR NOT r.done \
         ORDER BY m.tenant_id",
    )
    .fetch_all(pool)
    .await?)
}

/// The model in force and its etag, inside the caller's transaction.
pub async fn model_with_etag(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> StoreResult<Option<(crate::domain::model::ScoringModel, String)>> {
    let row: Option<(
        sqlx::types::Json<crate::domain::model::ScoringModel>,
        String,
    )> = sqlx::query_as("SELECT model, etag FROM scoring_models WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(|(m, etag)| (m.0, etag)))
}

/// Records a pass's progress: under the model of `etag`, every customer up
/// to `after` is done (`done`: all of them).
pub async fn advance_recompute(
    conn: &mut PgConnection,
    tenant: TenantId,
    etag: &str,
    after: &str,
    done: bool,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO tier_recomputes (tenant_id, model_etag, after_customer, done) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id) DO UPDATE SET \
           model_etag = EXCLUDED.model_etag, after_customer = EXCLUDED.after_customer, \
           done = EXCLUDED.done",
    )
    .bind(tenant.0)
    .bind(etag)
    .bind(after)
    .bind(done)
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` customers of `tenant` with data, a stored tier or a
/// whole-history assessment, after
/// `after` in byte order: the next batch of a recompute pass.
pub async fn customers_after(
    conn: &mut PgConnection,
    tenant: TenantId,
    after: &str,
    limit: i64,
) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT c FROM ( \
           (SELECT customer_id AS c FROM customer_tiers WHERE tenant_id = $1 \
              AND customer_id COLLATE \"C\" > $2 ORDER BY customer_id COLLATE \"C\" LIMIT $3) \
           UNION \
           (SELECT customer_id FROM journeys WHERE tenant_id = $1 \
              AND customer_id COLLATE \"C\" > $2 ORDER BY customer_id COLLATE \"C\" LIMIT $3) \
           UNION \
           (SELECT customer_id FROM assessments WHERE tenant_id = $1 \
              AND customer_id > $2 ORDER BY customer_id LIMIT $3) \
           UNION \
           (SELECT respondent_id FROM survey_responses WHERE tenant_id = $1 \
              AND respondent_id IS NOT NULL \
              AND respondent_id COLLATE \"C\" > $2 ORDER BY respondent_id COLLATE \"C\" LIMIT $3) \
         ) u ORDER BY c COLLATE \"C\" LIMIT $3",
    )
    .bind(tenant.0)
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// What a write reads before its upsert (`service::tiers`), in one
/// statement inside the caller's transaction: the scoring model in force,
/// its etag (empty without a stored model), the tenant's page-token key
/// (the root of its holdout key) and the stored current tiers of those of
/// `customers` with one; `None` for an unknown tenant.
pub async fn model_key_and_stored_tiers(
    conn: &mut PgConnection,
    tenant: TenantId,
    customers: &[String],
) -> StoreResult<Option<WriteStart>> {
    type Row = (
        Vec<u8>,
        Option<sqlx::types::Json<crate::domain::model::ScoringModel>>,
        Option<String>,
        Option<Vec<String>>,
        Option<Vec<i32>>,
        Option<Vec<i64>>,
        Option<Vec<DateTime<Utc>>>,
    );
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT t.page_token_key, m.model, m.etag, s.* FROM tenants t \
             LEFT JOIN scoring_models m ON m.tenant_id = t.tenant_id \
             CROSS JOIN ({STORED_TIERS}) s WHERE t.tenant_id = $1"
    )))
    .bind(tenant.0)
    .bind(customers)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(
        |(key, model, etag, ids, tiers, versions, times)| WriteStart {
            model: model.map(|m| m.0).unwrap_or_default(),
            etag: etag.unwrap_or_default(),
            key,
            stored: by_customer((ids, tiers, versions, times)),
        },
    ))
}

/// What [`model_key_and_stored_tiers`] reads.
#[derive(Debug, Clone)]
pub struct WriteStart {
    pub model: crate::domain::model::ScoringModel,
    pub etag: String,
    pub key: Vec<u8>,
    pub stored: HashMap<String, StoredTier>,
}
