//! The daily channel rollup of customer touchpoints (`effort_daily`, see
//! `migrations/0015_effort_rollup.sql`): the deltas every write of
//! `touchpoints` appends, and how they are folded. The same signed delta
//! log as `gap_daily` ([`super::rollup`]): readers sum whatever rows there
//! are, so the rollup is exact without the compactor, which only keeps it
//! small.

use sqlx::PgConnection;

use super::{StoreResult, rollup::Sign};
use crate::domain::{
    Numbered, TenantId,
    enums::{Initiator, TouchpointOutcome},
};

/// What a write of `touchpoints` returns for [`deltas_of`].
pub const TOUCHPOINT_KEY: &str = "tenant_id, journey_started_at, channel, initiator, outcome, \
     wait_seconds";

/// The rollup append of one statement that inserted (`sign` +1) or deleted
/// (`sign` −1) touchpoints: `WITH {cte} AS (<the write> RETURNING
/// {TOUCHPOINT_KEY}) ` followed by this. One row per (tenant, day,
/// channel) and statement; company-initiated touchpoints count nowhere.
pub fn deltas_of(cte: &str, sign: Sign) -> String {
    let sign = match sign {
        Sign::Added => "",
        Sign::Removed => "-",
    };
    format!(
        "INSERT INTO effort_daily (tenant_id, day, channel, touchpoints, unresolved, wait_seconds)
         SELECT tenant_id, (journey_started_at AT TIME ZONE 'UTC')::date, channel,
                {sign}count(*), {sign}count(*) FILTER (WHERE outcome <> {resolved}),
                {sign}coalesce(sum(wait_seconds), 0)
         FROM {cte} WHERE initiator = {customer}
         GROUP BY 1, 2, 3",
        resolved = TouchpointOutcome::Resolved.db(),
        customer = Initiator::Customer.db(),
    )
}

/// Folds `tenant`'s pending deltas inside the caller's transaction (the
/// compactor's, [`super::rollup::compact`]); returns the rows removed.
/// The same fold as `gap_daily`'s: pending rows deleted, their sums added
/// to the one folded row per key in key order (so two compactors cannot
/// deadlock), folded keys that reached zero removed.
pub async fn compact(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<u64> {
    let (deleted, folded): (i64, i64) = sqlx::query_as(
        "WITH moved AS (
             DELETE FROM effort_daily WHERE tenant_id = $1 AND NOT compacted
             RETURNING day, channel, touchpoints, unresolved, wait_seconds
         ), sums AS (
             SELECT day, channel, sum(touchpoints) AS touchpoints,
                    sum(unresolved) AS unresolved, sum(wait_seconds) AS wait_seconds
             FROM moved GROUP BY day, channel
         ), upserted AS (
             INSERT INTO effort_daily
                 (tenant_id, day, channel, touchpoints, unresolved, wait_seconds, compacted)
             SELECT $1, day, channel, touchpoints, unresolved, wait_seconds, true
             FROM sums ORDER BY day, channel
             ON CONFLICT (tenant_id, day, channel) WHERE compacted
             DO UPDATE SET touchpoints = effort_daily.touchpoints + EXCLUDED.touchpoints,
                           unresolved = effort_daily.unresolved + EXCLUDED.unresolved,
                           wait_seconds = effort_daily.wait_seconds + EXCLUDED.wait_seconds
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM upserted)",
    )
    .bind(tenant.0)
    .fetch_one(&mut *conn)
    .await?;
    super::rollup::remove_empty_keys(
        conn,
        tenant,
        (
            "effort_daily",
            "touchpoints = 0 AND unresolved = 0 AND wait_seconds = 0",
        ),
        (deleted, folded),
    )
    .await
}
