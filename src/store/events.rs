//! The outbox of at-risk events (SPEC §12.1): written in the transaction
//! of the write that raised a customer's tier, read in sequence order by
//! watches and the webhook worker.
//!
//! Sequence numbers are per tenant and handed out in commit order
//! ([`record_events`] takes the tenant's `event_counters` row lock and the
//! lock is held until the write commits), so "every event after N" is a
//! stable set once N is visible: a reader that resumes after N misses
//! nothing and sees nothing twice.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::StoreResult;
use crate::domain::TenantId;

/// An event as a write raises it. Tiers and the source are the
/// `gapscore.v1` enum numbers; `previous_tier` is 0 when the customer was
/// not assessed before the write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub customer_id: String,
    pub tier: i16,
    pub previous_tier: i16,
    pub tier_source: i16,
    pub reasons: Vec<String>,
    pub journey_id: Option<String>,
    pub response_id: Option<String>,
    pub holdout: bool,
}

/// A stored event with its position in the tenant's stream.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredEvent {
    pub seq: i64,
    pub event_id: Uuid,
    pub customer_id: String,
    pub tier: i16,
    pub previous_tier: i16,
    pub tier_source: i16,
    pub reasons: Vec<String>,
    pub journey_id: Option<String>,
    pub response_id: Option<String>,
    pub holdout: bool,
    pub occurred_at: DateTime<Utc>,
}

/// Appends `events` to the tenant's outbox inside the caller's transaction
/// and returns them as stored, in sequence order.
///
/// Call it as the write's **last** statement: it locks the tenant's counter
/// row until the transaction ends (that is what keeps sequence numbers in
/// commit order), so anything locked after it would be a deadlock waiting
/// to happen, and anything slow after it would serialize the tenant's
/// event-raising writes for longer than needed.
pub async fn record_events(
    conn: &mut PgConnection,
    tenant: TenantId,
    events: &[NewEvent],
) -> StoreResult<Vec<StoredEvent>> {
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let n = events.len() as i64;
    let last: i64 = sqlx::query_scalar(
        "INSERT INTO event_counters (tenant_id, last_seq) VALUES ($1, $2) \
         ON CONFLICT (tenant_id) DO UPDATE SET last_seq = event_counters.last_seq + $2 \
         RETURNING last_seq",
    )
    .bind(tenant.0)
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let first = last - n + 1;
    let seqs: Vec<i64> = (first..=last).collect();
    let ids: Vec<Uuid> = events.iter().map(|_| Uuid::new_v4()).collect();
    let column = |f: fn(&NewEvent) -> Option<String>| events.iter().map(f).collect::<Vec<_>>();
    // Reasons are a list per event: passed as one JSON array of arrays,
    // since PostgreSQL has no array of arrays of different lengths.
    let reasons = serde_json::to_value(events.iter().map(|e| &e.reasons).collect::<Vec<_>>())
        .expect("strings serialize");
    let stored = sqlx::query_as::<_, StoredEvent>(
        "INSERT INTO at_risk_events (tenant_id, seq, event_id, customer_id, tier, previous_tier, \
           tier_source, reasons, journey_id, response_id, holdout, occurred_at) \
         SELECT $1, e.seq, e.event_id, e.customer_id, e.tier, e.previous_tier, e.tier_source, \
           ARRAY(SELECT jsonb_array_elements_text($8::jsonb -> (e.ord::int - 1))), \
           e.journey_id, e.response_id, e.holdout, now() \
         FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::smallint[], $6::smallint[], \
                     $7::smallint[], $9::text[], $10::text[], $11::bool[]) \
              WITH ORDINALITY AS e(seq, event_id, customer_id, tier, previous_tier, tier_source, \
                                   journey_id, response_id, holdout, ord) \
         ORDER BY e.seq \
         RETURNING seq, event_id, customer_id, tier, previous_tier, tier_source, reasons, \
           journey_id, response_id, holdout, occurred_at",
    )
    .bind(tenant.0)
    .bind(&seqs)
    .bind(&ids)
    .bind(
        events
            .iter()
            .map(|e| e.customer_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(events.iter().map(|e| e.tier).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.previous_tier).collect::<Vec<_>>())
    .bind(events.iter().map(|e| e.tier_source).collect::<Vec<_>>())
    .bind(reasons)
    .bind(column(|e| e.journey_id.clone()))
    .bind(column(|e| e.response_id.clone()))
    .bind(events.iter().map(|e| e.holdout).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    let mut stored = stored;
    stored.sort_by_key(|e| e.seq);
    Ok(stored)
}

/// At most `limit` of the tenant's events after `after_seq`, in sequence
/// order.
pub async fn events_after(
    conn: &mut PgConnection,
    tenant: TenantId,
    after_seq: i64,
    limit: i64,
) -> StoreResult<Vec<StoredEvent>> {
    Ok(sqlx::query_as(
        "SELECT seq, event_id, customer_id, tier, previous_tier, tier_source, reasons, \
           journey_id, response_id, holdout, occurred_at \
         FROM at_risk_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(tenant.0)
    .bind(after_seq)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?)
}

/// Where a tenant's stream stands: the last sequence number handed out and
/// the last one retention purged (0, 0 before the first event).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamPosition {
    pub last_seq: i64,
    pub purged_seq: i64,
}

/// The tenant's [`StreamPosition`].
pub async fn stream_position(
    conn: &mut PgConnection,
    tenant: TenantId,
) -> StoreResult<StreamPosition> {
    let row: Option<(i64, i64)> =
        sqlx::query_as("SELECT last_seq, purged_seq FROM event_counters WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row
        .map(|(last_seq, purged_seq)| StreamPosition {
            last_seq,
            purged_seq,
        })
        .unwrap_or_default())
}

/// One tenant whose oldest events may be past their retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionDue {
    pub tenant: TenantId,
    pub retention_days: i32,
}

/// Tenants with events older than their model's `event_retention_days`
/// (default [`crate::domain::model::DEFAULT_EVENT_RETENTION_DAYS`]).
pub async fn retention_due(pool: &sqlx::PgPool) -> StoreResult<Vec<RetentionDue>> {
    let rows: Vec<(i64, i32)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT c.tenant_id, d.days FROM event_counters c \
         LEFT JOIN scoring_models m ON m.tenant_id = c.tenant_id \
         CROSS JOIN LATERAL (SELECT coalesce((m.model ->> 'event_retention_days')::int, {}) \
           AS days) d \
         WHERE EXISTS (SELECT 1 FROM at_risk_events e WHERE e.tenant_id = c.tenant_id \
           AND e.seq > c.purged_seq AND e.occurred_at < now() - make_interval(days => d.days)) \
         ORDER BY c.tenant_id",
        crate::domain::model::DEFAULT_EVENT_RETENTION_DAYS
    )))
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(tenant, retention_days)| RetentionDue {
            tenant: TenantId(tenant),
            retention_days,
        })
        .collect())
}

/// Deletes, in one transaction, at most `limit` of the tenant's oldest
/// events that are all past `retention_days`, and moves `purged_seq` to
/// the last of them; returns how many went (0: nothing left to purge).
///
/// Always a prefix of the sequence: an event is purged only with every
/// event before it, so "everything after `purged_seq` is kept" holds and a
/// watch behind it can be told `OUT_OF_RANGE`. (`occurred_at` is the
/// writing transaction's start, so a later number can be a moment older:
/// the prefix then stops at the younger one, which the next pass takes.)
pub async fn purge_expired(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    retention_days: i32,
    limit: i64,
) -> StoreResult<u64> {
    let mut tx = pool.begin().await?;
    // The counter row is locked for the pass (an event-raising write waits
    // a moment; one bounded batch).
    let purged: Option<i64> =
        sqlx::query_scalar("SELECT purged_seq FROM event_counters WHERE tenant_id = $1 FOR UPDATE")
            .bind(tenant.0)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(purged) = purged else {
        return Ok(0);
    };
    let rows: Vec<(i64, bool)> = sqlx::query_as(
        "SELECT seq, occurred_at < now() - make_interval(days => $3) FROM at_risk_events \
         WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $4",
    )
    .bind(tenant.0)
    .bind(purged)
    .bind(retention_days)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let upto = rows
        .iter()
        .take_while(|(_, expired)| *expired)
        .map(|(seq, _)| *seq)
        .last();
    let Some(upto) = upto else {
        tx.rollback().await?;
        return Ok(0);
    };
    let deleted =
        sqlx::query("DELETE FROM at_risk_events WHERE tenant_id = $1 AND seq > $2 AND seq <= $3")
            .bind(tenant.0)
            .bind(purged)
            .bind(upto)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    sqlx::query("UPDATE event_counters SET purged_seq = $2 WHERE tenant_id = $1")
        .bind(tenant.0)
        .bind(upto)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted)
}
