//! Webhooks and their deliveries (SPEC §12.1; schema in migration 0013).
//!
//! The worker's side is three statements, each safe with any number of
//! workers on any number of replicas:
//! - [`fan_out`]: for each webhook behind the outbox (row-locked with
//!   `SKIP LOCKED`, so one worker at a time per webhook), one delivery row per
//!   new event that meets its `min_tier`, and its cursor advanced, in one
//!   statement per webhook (one snapshot, so the cursor never passes an event
//!   the statement could not see);
//! - [`claim_due`]: due deliveries, at most one per webhook, locked with
//!   `SKIP LOCKED` and leased (`locked_until`) in the same statement, so
//!   exactly one worker makes each attempt, and a killed worker's lease runs
//!   out and the delivery is tried again;
//! - [`record_attempt`]: the attempt's outcome, applied only if the lease is
//!   still the one the attempt was claimed under (`attempts` is the fence).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{StoreResult, events::StoredEvent};
use crate::domain::TenantId;

/// `gapscore.v1.DeliveryStatus` numbers as stored.
pub const PENDING: i16 = 1;
pub const DELIVERED: i16 = 2;
pub const FAILED: i16 = 3;

/// A webhook as listed (never its secret).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Webhook {
    pub webhook_id: Uuid,
    pub url: String,
    /// `gapscore.v1.EffortTier` number.
    pub min_tier: i16,
    pub created_at: DateTime<Utc>,
}

/// Creates a webhook unless the tenant already has `limit`; `None` then.
/// Its cursor starts at the tenant's last committed event: a new webhook
/// receives the events raised after it was created, not the backlog.
pub async fn create_webhook(
    pool: &PgPool,
    tenant: TenantId,
    url: &str,
    min_tier: i16,
    secret: &[u8],
    limit: i64,
) -> StoreResult<Option<Webhook>> {
    let mut tx = pool.begin().await?;
    // Two concurrent creates must not both pass the count: the tenant's
    // creates are serialized by a transaction-scoped advisory lock (no row
    // of a shared table to lock, and nothing left behind).
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('gapscore.webhooks.' || $1, 0))")
        .bind(tenant.0)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM webhooks WHERE tenant_id = $1")
        .bind(tenant.0)
        .fetch_one(&mut *tx)
        .await?;
    if count >= limit {
        return Ok(None);
    }
    let webhook = sqlx::query_as::<_, Webhook>(
        "INSERT INTO webhooks (tenant_id, webhook_id, url, min_tier, secret, created_at, \
           fanned_out_seq) \
         VALUES ($1, $2, $3, $4, $5, date_trunc('milliseconds', now()), \
           COALESCE((SELECT last_seq FROM event_counters WHERE tenant_id = $1), 0)) \
         RETURNING webhook_id, url, min_tier, created_at",
    )
    .bind(tenant.0)
    .bind(Uuid::new_v4())
    .bind(url)
    .bind(min_tier)
    .bind(secret)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(webhook))
}

/// At most `limit` of the tenant's webhooks after `after` in (created_at,
/// webhook_id) order.
pub async fn list_webhooks(
    pool: &PgPool,
    tenant: TenantId,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> StoreResult<Vec<Webhook>> {
    let (at, id) = after.unzip();
    Ok(sqlx::query_as(
        "SELECT webhook_id, url, min_tier, created_at FROM webhooks \
         WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR (created_at, webhook_id) > ($2, $3)) \
         ORDER BY created_at, webhook_id LIMIT $4",
    )
    .bind(tenant.0)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

/// Deletes a webhook and (by cascade) its deliveries; false when the
/// tenant has no such webhook.
pub async fn delete_webhook(pool: &PgPool, tenant: TenantId, id: Uuid) -> StoreResult<bool> {
    let deleted = sqlx::query("DELETE FROM webhooks WHERE tenant_id = $1 AND webhook_id = $2")
        .bind(tenant.0)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Whether the tenant has this webhook.
pub async fn webhook_exists(pool: &PgPool, tenant: TenantId, id: Uuid) -> StoreResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM webhooks WHERE tenant_id = $1 AND webhook_id = $2)",
    )
    .bind(tenant.0)
    .bind(id)
    .fetch_one(pool)
    .await?)
}

/// One row of a webhook's delivery log.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryLogEntry {
    pub seq: i64,
    pub event_id: Uuid,
    pub customer_id: String,
    pub status: i16,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    pub occurred_at: DateTime<Utc>,
}

/// At most `limit` of a webhook's deliveries before event `before_seq`,
/// most recent event first (the primary key's order, read backwards).
pub async fn list_deliveries(
    pool: &PgPool,
    tenant: TenantId,
    webhook: Uuid,
    before_seq: Option<i64>,
    limit: i64,
) -> StoreResult<Vec<DeliveryLogEntry>> {
    Ok(sqlx::query_as(
        "SELECT d.seq, e.event_id, e.customer_id, d.status, d.attempts, d.last_error, \
           d.last_attempt_at, d.next_attempt_at, e.occurred_at \
         FROM webhook_deliveries d \
         JOIN at_risk_events e ON e.tenant_id = d.tenant_id AND e.seq = d.seq \
         WHERE d.tenant_id = $1 AND d.webhook_id = $2 AND ($3::bigint IS NULL OR d.seq < $3) \
         ORDER BY d.seq DESC LIMIT $4",
    )
    .bind(tenant.0)
    .bind(webhook)
    .bind(before_seq)
    .bind(limit)
    .fetch_all(pool)
    .await?)
}

// ------------------------------------------------------------------ worker

/// Creates the deliveries of new events for at most `webhooks` webhooks
/// behind the outbox, at most `events` events each, and advances their
/// cursors; returns how many deliveries it created. A webhook with more to
/// fan out is simply picked again on the next pass.
pub async fn fan_out(pool: &PgPool, webhooks: i64, events: i64) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    let behind: Vec<(i64, Uuid, i16, i64)> = sqlx::query_as(
        "SELECT w.tenant_id, w.webhook_id, w.min_tier, w.fanned_out_seq \
         FROM webhooks w JOIN event_counters c ON c.tenant_id = w.tenant_id \
         WHERE c.last_seq > w.fanned_out_seq \
         ORDER BY w.tenant_id, w.webhook_id LIMIT $1 \
         FOR UPDATE OF w SKIP LOCKED",
    )
    .bind(webhooks)
    .fetch_all(&mut *tx)
    .await?;
    let mut created = 0;
    for (tenant, webhook, min_tier, cursor) in behind {
        // One statement, one snapshot: the counter it reads and the events
        // it copies are those of the same moment, and an event is visible
        // no later than its counter value (same transaction), so the new
        // cursor never passes an event it did not see.
        let n: i64 = sqlx::query_scalar(
            "WITH bound AS ( \
               SELECT LEAST($3 + $5, last_seq) AS upto FROM event_counters WHERE tenant_id = $1), \
             created AS ( \
               INSERT INTO webhook_deliveries (tenant_id, webhook_id, seq, status, created_at, \
                 next_attempt_at) \
               SELECT $1, $2, e.seq, 1, now(), now() FROM at_risk_events e, bound \
               WHERE e.tenant_id = $1 AND e.seq > $3 AND e.seq <= bound.upto AND e.tier >= $4 \
               ON CONFLICT DO NOTHING RETURNING 1), \
             moved AS ( \
               UPDATE webhooks SET fanned_out_seq = bound.upto FROM bound \
               WHERE tenant_id = $1 AND webhook_id = $2) \
             SELECT count(*) FROM created",
        )
        .bind(tenant)
        .bind(webhook)
        .bind(cursor)
        .bind(min_tier)
        .bind(events)
        .fetch_one(&mut *tx)
        .await?;
        created += n as u64;
    }
    tx.commit().await?;
    Ok(created)
}

/// A delivery attempt a worker has claimed, with what it needs to make it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub tenant_id: i64,
    pub webhook_id: Uuid,
    /// Including this attempt: the fence [`record_attempt`] checks.
    pub attempts: i32,
    pub url: String,
    pub secret: Vec<u8>,
    /// The event delivered; its `seq` is also the delivery's.
    #[sqlx(flatten)]
    pub event: StoredEvent,
}

/// Claims at most `limit` due deliveries, at most one per webhook and none
/// of a webhook that has an attempt in flight (so a slow receiver holds one
/// worker slot, not all of them, and receives its events one at a time),
/// leasing each for `lease_secs` and counting the attempt.
pub async fn claim_due(pool: &PgPool, limit: i64, lease_secs: f64) -> StoreResult<Vec<Claimed>> {
    Ok(sqlx::query_as(
        "WITH due AS ( \
           SELECT tenant_id, webhook_id, seq, \
             row_number() OVER (PARTITION BY tenant_id, webhook_id ORDER BY next_attempt_at, seq) \
               AS nth \
           FROM (SELECT tenant_id, webhook_id, seq, next_attempt_at FROM webhook_deliveries d \
                 WHERE status = 1 AND next_attempt_at <= now() \
                   AND (locked_until IS NULL OR locked_until <= now()) \
                   AND NOT EXISTS (SELECT 1 FROM webhook_deliveries f \
                     WHERE f.tenant_id = d.tenant_id AND f.webhook_id = d.webhook_id \
                       AND f.status = 1 AND f.locked_until > now()) \
                 ORDER BY next_attempt_at LIMIT 10000) oldest), \
         picked AS ( \
           SELECT d.tenant_id, d.webhook_id, d.seq FROM webhook_deliveries d \
           JOIN due USING (tenant_id, webhook_id, seq) \
           WHERE due.nth = 1 AND d.status = 1 \
             AND (d.locked_until IS NULL OR d.locked_until <= now()) \
           ORDER BY d.next_attempt_at LIMIT $1 \
           FOR UPDATE OF d SKIP LOCKED), \
         claimed AS ( \
           UPDATE webhook_deliveries d \
           SET attempts = d.attempts + 1, last_attempt_at = now(), \
             locked_until = now() + make_interval(secs => $2) \
           FROM picked \
           WHERE d.tenant_id = picked.tenant_id AND d.webhook_id = picked.webhook_id \
             AND d.seq = picked.seq \
           RETURNING d.tenant_id, d.webhook_id, d.seq, d.attempts) \
         SELECT c.tenant_id, c.webhook_id, c.seq, c.attempts, w.url, w.secret, e.event_id, \
           e.customer_id, e.tier, e.previous_tier, e.tier_source, e.reasons, e.journey_id, \
           e.response_id, e.holdout, e.occurred_at \
         FROM claimed c \
         JOIN webhooks w ON w.tenant_id = c.tenant_id AND w.webhook_id = c.webhook_id \
         JOIN at_risk_events e ON e.tenant_id = c.tenant_id AND e.seq = c.seq",
    )
    .bind(limit)
    .bind(lease_secs)
    .fetch_all(pool)
    .await?)
}

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The receiver answered 2xx.
    Delivered,
    /// It did not (`error` says how); try again after `retry_in_secs`
    /// unless that is past `give_up_secs` after the delivery was created.
    Failed {
        error: String,
        retry_in_secs: f64,
        give_up_secs: f64,
    },
}

/// Records an attempt's outcome; returns the delivery's new status, or
/// `None` when the delivery is gone (webhook or event deleted) or its lease
/// was taken over by another attempt after this one's ran out (that
/// attempt's outcome is the one recorded).
pub async fn record_attempt(
    pool: &PgPool,
    claimed: &Claimed,
    attempt: &Attempt,
) -> StoreResult<Option<i16>> {
    let query = match attempt {
        Attempt::Delivered => sqlx::query_scalar::<_, i16>(
            "UPDATE webhook_deliveries SET status = 2, delivered_at = now(), locked_until = NULL, \
               last_error = NULL \
             WHERE tenant_id = $1 AND webhook_id = $2 AND seq = $3 AND attempts = $4 \
               AND status = 1 \
             RETURNING status",
        ),
        Attempt::Failed { .. } => sqlx::query_scalar::<_, i16>(
            "UPDATE webhook_deliveries SET \
               status = CASE WHEN now() + make_interval(secs => $6) \
                 > created_at + make_interval(secs => $7) THEN 3 ELSE 1 END, \
               next_attempt_at = now() + make_interval(secs => $6), \
               locked_until = NULL, last_error = $5 \
             WHERE tenant_id = $1 AND webhook_id = $2 AND seq = $3 AND attempts = $4 \
               AND status = 1 \
             RETURNING status",
        ),
    };
    let query = query
        .bind(claimed.tenant_id)
        .bind(claimed.webhook_id)
        .bind(claimed.event.seq)
        .bind(claimed.attempts);
    let query = match attempt {
        Attempt::Delivered => query,
        Attempt::Failed {
            error,
            retry_in_secs,
            give_up_secs,
        } => query.bind(error).bind(retry_in_secs).bind(give_up_secs),
    };
    Ok(query.fetch_optional(pool).await?)
}
