//! Observed loyalty outcomes (SPEC §7.3), which calibrate the loyalty priors.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::StoreResult;
use crate::domain::IngestCounts;
use crate::domain::TenantId;

/// An outcome as written and as stored. `kind` holds the
/// `gapscore.v1.OutcomeKind` number.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Outcome {
    pub id: String,
    pub customer_id: String,
    pub kind: i16,
    pub occurred: bool,
    pub observed_at: DateTime<Utc>,
}

/// Which outcomes a list returns. `None` means "no restriction".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeFilter {
    /// The window on `observed_at`.
    pub window: crate::domain::Window,
    pub customer_id: Option<String>,
    pub kind: Option<i16>,
}

/// Inserts new outcomes, replaces changed ones and leaves identical ones
/// alone, in one statement inside the caller's transaction, locking rows in
/// id order. Ids must be unique within `outcomes` (the caller validates
/// this).
pub async fn upsert_outcomes(
    conn: &mut PgConnection,
    tenant: TenantId,
    outcomes: &[Outcome],
) -> StoreResult<IngestCounts> {
    if outcomes.is_empty() {
        return Ok(IngestCounts::default());
    }
    // One lock order (by id, bytewise, as every write path and erasure
    // take them) keeps two overlapping concurrent batches from deadlocking
    // on each other's rows, whatever order their requests listed them in.
    let mut outcomes: Vec<&Outcome> = outcomes.iter().collect();
    outcomes.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let ids: Vec<&str> = outcomes.iter().map(|o| o.id.as_str()).collect();
    let customer_ids: Vec<&str> = outcomes.iter().map(|o| o.customer_id.as_str()).collect();
    let kinds: Vec<i16> = outcomes.iter().map(|o| o.kind).collect();
    let occurred: Vec<bool> = outcomes.iter().map(|o| o.occurred).collect();
    let observed_at: Vec<DateTime<Utc>> = outcomes.iter().map(|o| o.observed_at).collect();
    // Identical rows are neither updated nor returned; `revision = 1`
    // marks a fresh insert (see `journeys::upsert_journeys`).
    let inserted: Vec<bool> = sqlx::query_scalar(
        "INSERT INTO outcomes (tenant_id, id, customer_id, kind, occurred, observed_at)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::smallint[], $5::bool[],
             $6::timestamptz[])
         ON CONFLICT (tenant_id, id) DO UPDATE SET
             customer_id = EXCLUDED.customer_id,
             kind = EXCLUDED.kind,
             occurred = EXCLUDED.occurred,
             observed_at = EXCLUDED.observed_at,
             revision = outcomes.revision + 1
         WHERE (outcomes.customer_id, outcomes.kind, outcomes.occurred, outcomes.observed_at)
             IS DISTINCT FROM
             (EXCLUDED.customer_id, EXCLUDED.kind, EXCLUDED.occurred, EXCLUDED.observed_at)
         RETURNING revision = 1 AS inserted",
    )
    .bind(tenant.0)
    .bind(&ids)
    .bind(&customer_ids)
    .bind(&kinds)
    .bind(&occurred)
    .bind(&observed_at)
    .fetch_all(conn)
    .await?;
    let mut counts = IngestCounts::default();
    for fresh in inserted {
        if fresh {
            counts.inserted += 1;
        } else {
            counts.updated += 1;
        }
    }
    counts.unchanged = outcomes.len() as i64 - counts.inserted - counts.updated;
    Ok(counts)
}

/// Up to `limit` outcomes after `after` in `(observed_at, id)` order.
pub async fn list_outcomes(
    pool: &PgPool,
    tenant: TenantId,
    filter: &OutcomeFilter,
    after: Option<(DateTime<Utc>, &str)>,
    limit: i64,
) -> StoreResult<Vec<Outcome>> {
    let mut query = QueryBuilder::<Postgres>::new(
        "SELECT id, customer_id, kind, occurred, observed_at FROM outcomes WHERE tenant_id = ",
    );
    query.push_bind(tenant.0);
    super::scope::push_window(&mut query, "observed_at", &filter.window);
    if let Some(customer_id) = &filter.customer_id {
        query
            .push(" AND customer_id = ")
            .push_bind(customer_id.clone());
    }
    if let Some(kind) = filter.kind {
        query.push(" AND kind = ").push_bind(kind);
    }
    super::scope::push_after(&mut query, ("observed_at", "id"), after);
    query
        .push(" ORDER BY observed_at, id LIMIT ")
        .push_bind(limit);
    Ok(query.build_query_as().fetch_all(pool).await?)
}
