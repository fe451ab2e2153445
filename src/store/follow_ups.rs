//! Follow-ups of customers (SPEC §12.2), and the counts behind their
//! measured effect: who was raised to HIGH, who of them was followed up or
//! held out, and who had the outcome afterwards.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::StoreResult;
use crate::domain::{IngestCounts, TenantId, Window};

/// A follow-up as written and as stored. `action` holds the
/// `gapscore.v1.FollowUpAction` number.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FollowUp {
    pub id: String,
    pub customer_id: String,
    pub action: i16,
    pub occurred_at: DateTime<Utc>,
    pub event_id: Option<Uuid>,
}

/// Inserts new follow-ups, replaces changed ones and leaves identical ones
/// alone, in one statement inside the caller's transaction, locking rows in
/// id order. Ids must be unique within `follow_ups` (the caller validates
/// this).
///
/// Inserted and updated rows are told apart by their `revision`, which an
/// insert sets to 1 and every changing update raises: the row a statement
/// returns is the one it wrote, so the counts stay exact when a concurrent
/// batch inserts the same id first (this statement then waits for it and
/// updates its row, and says so).
pub async fn upsert_follow_ups(
    conn: &mut PgConnection,
    tenant: TenantId,
    follow_ups: &[FollowUp],
) -> StoreResult<IngestCounts> {
    if follow_ups.is_empty() {
        return Ok(IngestCounts::default());
    }
    // One lock order (by id, bytewise) for every write path and erasure,
    // so overlapping batches wait for each other instead of deadlocking.
    let mut follow_ups: Vec<&FollowUp> = follow_ups.iter().collect();
    follow_ups.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = follow_ups.iter().map(|f| f.id.as_str()).collect();
    let customer_ids: Vec<&str> = follow_ups.iter().map(|f| f.customer_id.as_str()).collect();
    let actions: Vec<i16> = follow_ups.iter().map(|f| f.action).collect();
    let occurred_at: Vec<DateTime<Utc>> = follow_ups.iter().map(|f| f.occurred_at).collect();
    let event_ids: Vec<Option<Uuid>> = follow_ups.iter().map(|f| f.event_id).collect();
    let revisions: Vec<i32> = sqlx::query_scalar(
        "INSERT INTO follow_ups (tenant_id, id, customer_id, action, occurred_at, event_id)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::smallint[], $5::timestamptz[],
             $6::uuid[])
         ON CONFLICT (tenant_id, id) DO UPDATE SET
             customer_id = EXCLUDED.customer_id,
             action = EXCLUDED.action,
             occurred_at = EXCLUDED.occurred_at,
             event_id = EXCLUDED.event_id,
             revision = follow_ups.revision + 1
         WHERE (follow_ups.customer_id, follow_ups.action, follow_ups.occurred_at,
                follow_ups.event_id)
             IS DISTINCT FROM
             (EXCLUDED.customer_id, EXCLUDED.action, EXCLUDED.occurred_at, EXCLUDED.event_id)
         RETURNING revision",
    )
    .bind(tenant.0)
    .bind(&ids)
    .bind(&customer_ids)
    .bind(&actions)
    .bind(&occurred_at)
    .bind(&event_ids)
    .fetch_all(conn)
    .await?;
    let inserted = revisions.iter().filter(|r| **r == 1).count() as i64;
    let updated = revisions.len() as i64 - inserted;
    Ok(IngestCounts {
        inserted,
        updated,
        unchanged: follow_ups.len() as i64 - inserted - updated,
    })
}

/// Customers of one arm and, of them, those with the outcome afterwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArmCounts {
    pub customers: i64,
    pub occurred: i64,
}

/// The three groups of customers raised to HIGH in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EffectCounts {
    /// Followed up after the raise, not held out.
    pub followed_up: ArmCounts,
    /// Held out at the raise.
    pub holdout: ArmCounts,
    /// Neither: not held out and not followed up.
    pub not_followed_up: ArmCounts,
}

/// What the effect counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectQuery {
    /// The window on `high_tier_starts.started_at`.
    pub window: Window,
    /// `gapscore.v1.OutcomeKind` number of the outcome counted.
    pub outcome_kind: i16,
    /// A follow-up counts when it is in `[started_at, started_at + this)`.
    pub follow_up_days: i32,
    /// An outcome counts when it is observed in `[from, from + this)`,
    /// `from` being the follow-up or (holdout, not followed up) the raise.
    pub outcome_days: i32,
}

/// Counts, in one statement, the customers of each arm (see
/// docs/decisions/follow-ups.md for the rules). Each customer counts once,
/// by their first raise to HIGH in the window; the work is one index probe
/// into `follow_ups` and one into `outcomes` per customer, and only three
/// rows of counts leave the database.
pub async fn effect_counts(
    pool: &PgPool,
    tenant: TenantId,
    query: &EffectQuery,
) -> StoreResult<EffectCounts> {
    let mut qb = QueryBuilder::<Postgres>::new(
        "WITH first_start AS (
           SELECT DISTINCT ON (customer_id) customer_id, started_at, holdout
           FROM high_tier_starts WHERE tenant_id = ",
    );
    qb.push_bind(tenant.0);
    super::scope::push_window(&mut qb, "started_at", &query.window);
    qb.push(
        " ORDER BY customer_id, started_at, seq),
         measured AS (
           SELECT s.customer_id,
             CASE WHEN s.holdout THEN 'holdout'
                  WHEN f.at IS NOT NULL THEN 'followed_up'
                  ELSE 'not_followed_up' END AS arm,
             CASE WHEN s.holdout OR f.at IS NULL THEN s.started_at ELSE f.at END AS from_at
           FROM first_start s
           LEFT JOIN LATERAL (
             SELECT min(fu.occurred_at) AS at FROM follow_ups fu
             WHERE fu.tenant_id = ",
    );
    qb.push_bind(tenant.0);
    qb.push(
        " AND fu.customer_id = s.customer_id
               AND fu.occurred_at >= s.started_at
               AND fu.occurred_at < s.started_at + make_interval(days => ",
    );
    qb.push_bind(query.follow_up_days);
    qb.push(
        ")) f ON NOT s.holdout)
         SELECT m.arm, count(*) AS customers,
           count(*) FILTER (WHERE EXISTS (
             SELECT 1 FROM outcomes o
             WHERE o.tenant_id = ",
    );
    qb.push_bind(tenant.0);
    qb.push(" AND o.customer_id = m.customer_id AND o.kind = ");
    qb.push_bind(query.outcome_kind);
    qb.push(
        " AND o.occurred AND o.observed_at >= m.from_at
               AND o.observed_at < m.from_at + make_interval(days => ",
    );
    qb.push_bind(query.outcome_days);
    qb.push("))) AS occurred FROM measured m GROUP BY m.arm");
    let rows: Vec<(String, i64, i64)> = qb.build_query_as().fetch_all(pool).await?;
    let mut counts = EffectCounts::default();
    for (arm, customers, occurred) in rows {
        let slot = match arm.as_str() {
            "followed_up" => &mut counts.followed_up,
            "holdout" => &mut counts.holdout,
            _ => &mut counts.not_followed_up,
        };
        *slot = ArmCounts {
            customers,
            occurred,
        };
    }
    Ok(counts)
}
