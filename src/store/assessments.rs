//! Whole-history assessments (migration 0016, docs/decisions/assessments.md):
//! one row per customer in `assessments`, the customer's
//! assessment (SPEC §7.1) over all of their records under the model in
//! force, kept by the writes themselves so that `GetLoyaltyRisk` and
//! `ListAtRiskCustomers` over the whole history read rows instead of
//! re-assessing every customer.
//!
//! The rows are exact for the model of `assessed_under.model_etag` when
//! that is the model in force (see [`whole_history`]), because:
//! - every write that can change a customer's assessment (its ease answers,
//!   its journeys, which customer a record belongs to) takes the tier lock
//!   of every customer it touches (`store::tiers::lock_customers`) after
//!   its own rows are written, then checks that the model it read is still
//!   the one in force (else it runs again), and rewrites their rows
//!   ([`assess_and_record`]) in a statement of its own after the lock, so
//!   it sees what a previous writer of the same customer committed;
//! - an erasure takes the customer's tier lock after deleting the records,
//!   then deletes the row (`store::tiers::erase_customer`);
//! - after a model change, the background pass (`service::tiers`) rewrites
//!   every customer's row under the new model, each batch under the
//!   customers' tier locks, and only when it has walked them all records
//!   the new model in `assessed_under` ([`mark_complete`]). A write that
//!   found the old model in force under its customers' locks holds them,
//!   so the pass reaches them after it committed; a write that takes them
//!   later finds the new model and runs again under it.
//!
//! The customers per tier are kept beside the rows as a signed delta log
//! (`tier_count_log`, migration 0024, [`tier_counts`]): every statement
//! that inserts, updates or deletes rows appends, in the same statement,
//! what it changed ([`log_tier_changes`]), from the rows it `RETURN`s, so
//! the log's sums are the rows' counts in every snapshot without relying
//! on the locks above; the compactor folds it ([`compact_tier_counts`]).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::{
    StoreResult,
    loyalty::{Assessment, AtRiskKey, Customers, assessed_journeys, push_assessed_as},
    scope::push_window,
};
use crate::{
    domain::{Numbered, Scope, TenantId, Window},
    scoring::{
        effort::{EffortModel, EffortTier},
        loyalty::TierCounts,
    },
};

/// Pushes (without `WITH`, after any CTE and its comma) the CTE `whole`,
/// the whole-history assessments of `customers` under `model`, and the
/// data-modifying CTEs that make their rows what `whole` says: an upsert
/// of the assessed ones under `etag` (rows whose content is unchanged are
/// not rewritten), a delete of the others, and the append of what both did
/// to the tier counts ([`log_tier_changes`]). The one builder of the rows'
/// content, so a write batch, a recompute batch and a bulk load cannot
/// keep them under different rules.
///
/// The tiers left come from the rows the statement changed, not from a
/// read of the customers' rows beside it: `prior_tier` is set from the
/// conflicting row, which the upsert has locked in its latest committed
/// version, and the delete returns the row it deleted. So the deltas are
/// exact even where the statement's snapshot is older than a row it
/// changes (a tenant clear commits its delete of the rows without the
/// customers' tier locks while a recompute batch waits on them; the batch
/// then inserts rows its snapshot saw as present).
fn push_whole_and_record(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    (model, etag): (&EffortModel, &str),
    customers: Customers<'_>,
) {
    push_assessed_as(qb, "whole", tenant, &Scope::default(), model, customers);
    qb.push(
        ", recorded AS (INSERT INTO assessments (tenant_id, customer_id, tier, \
           tier_source, latest_ease, latest_ease_response_id, worst_effort_index, \
           worst_journey_id, model_etag) \
         SELECT ",
    )
    .push_bind(tenant.0)
    .push(
        ", customer_id, tier, tier_source, latest_ease, latest_ease_response_id, \
           worst_effort_index, worst_journey_id, ",
    )
    .push_bind(etag.to_owned())
    .push(
        " FROM whole ORDER BY customer_id COLLATE \"C\" \
         ON CONFLICT (tenant_id, customer_id) DO UPDATE SET prior_tier = assessments.tier, \
           tier = EXCLUDED.tier, tier_source = EXCLUDED.tier_source, latest_ease = EXCLUDED.latest_ease, \
           latest_ease_response_id = EXCLUDED.latest_ease_response_id, \
           worst_effort_index = EXCLUDED.worst_effort_index, \
           worst_journey_id = EXCLUDED.worst_journey_id, model_etag = EXCLUDED.model_etag \
         WHERE (assessments.tier, assessments.tier_source, \
             assessments.latest_ease, assessments.latest_ease_response_id, \
             assessments.worst_effort_index, assessments.worst_journey_id, \
             assessments.model_etag) IS DISTINCT FROM \
           (EXCLUDED.tier, EXCLUDED.tier_source, EXCLUDED.latest_ease, \
             EXCLUDED.latest_ease_response_id, EXCLUDED.worst_effort_index, \
             EXCLUDED.worst_journey_id, EXCLUDED.model_etag) \
         RETURNING tenant_id, tier, prior_tier), \
         forgotten AS (DELETE FROM assessments d WHERE d.tenant_id = ",
    )
    .push_bind(tenant.0);
    customers.push_condition(qb, "d.customer_id");
    qb.push(
        // `NOT IN`, a hashed subplan: as `NOT EXISTS` the planner, which
        // estimates one row for `whole`, joined it by a nested loop over the
        // CTE, quadratic in the batch's customers (108-160 ms of a
        // 350 ms write of 1,000 journeys, auto_explain at 1M answers).
        // `whole.customer_id` is never NULL.
        " AND d.customer_id NOT IN (SELECT w.customer_id FROM whole w) \
         RETURNING tenant_id, tier), ",
    );
    qb.push(log_tier_changes(
        "SELECT tenant_id, tier, 1 AS n FROM recorded \
         UNION ALL SELECT tenant_id, prior_tier, -1 FROM recorded WHERE prior_tier IS NOT NULL \
         UNION ALL SELECT tenant_id, tier, -1 FROM forgotten",
    ));
    qb.push(" ");
}

/// The data-modifying CTE `counted` (without `WITH` or a comma after it)
/// that appends to `tier_count_log` (migration 0024) what one statement
/// did to `assessments` rows: `changes` is a query of `(tenant_id, tier,
/// n)` rows, `n` +1 for a row now in `tier` and −1 for a row that left it,
/// taken from the `RETURNING` rows of the statement's own writes, so that
/// they are exactly the rows it changed. At most one row per tier and
/// statement, none for a tier whose changes cancel out (a statement that
/// moves no customer between tiers appends nothing). Every statement that
/// inserts, updates or deletes `assessments` rows carries it, so that the
/// log's sum per tier is the rows' count per tier in every snapshot.
pub(super) fn log_tier_changes(changes: &str) -> String {
    format!(
        "counted AS (INSERT INTO tier_count_log (tenant_id, tier, customers) \
           SELECT tenant_id, tier, sum(n) FROM ({changes}) c \
           GROUP BY tenant_id, tier HAVING sum(n) <> 0 ORDER BY tenant_id, tier)"
    )
}

/// Assesses `customers` (a write batch's, or a recompute batch's) over
/// `window` — what the caller returns — and, in the same statement,
/// rewrites their whole-history rows under `model` (of etag `etag`).
/// Call it after the batch's own rows are written, with the customers'
/// tier locks held (module docs). One statement however many customers.
pub async fn assess_and_record(
    conn: &mut PgConnection,
    tenant: TenantId,
    window: &Scope,
    (model, etag): (&EffortModel, &str),
    customers: &[String],
) -> StoreResult<Vec<Assessment>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let selection = Customers::Many(customers);
    let mut qb = QueryBuilder::new("WITH ");
    push_assessed_as(&mut qb, "assessed", tenant, window, model, selection);
    qb.push(", ");
    push_whole_and_record(&mut qb, tenant, (model, etag), selection);
    qb.push(", ");
    super::journey_efforts::push_rewrite(
        &mut qb,
        tenant,
        (model, etag),
        &assessed_journeys("whole", selection),
    );
    qb.push("SELECT * FROM assessed");
    Ok(qb.build_query_as().fetch_all(&mut *conn).await?)
}

/// Rewrites every row of `tenant` under `model` (of etag `etag`) and
/// records that model as complete: for a loader that wrote records past
/// the write path (the benchmark's `COPY`), with no write of the tenant
/// running. Two statements, each set-based.
pub async fn record_all(
    conn: &mut PgConnection,
    tenant: TenantId,
    (model, etag): (&EffortModel, &str),
) -> StoreResult<()> {
    let mut qb = QueryBuilder::new("WITH ");
    push_whole_and_record(&mut qb, tenant, (model, etag), Customers::All);
    qb.push(", ");
    super::journey_efforts::push_rewrite(
        &mut qb,
        tenant,
        (model, etag),
        &assessed_journeys("whole", Customers::All),
    );
    qb.push("SELECT 1");
    qb.build().execute(&mut *conn).await?;
    mark_complete(conn, tenant, etag).await
}

/// Records that every customer of `tenant` with records has a row under
/// the model of `etag` (a pass over all of them has just ended).
pub async fn mark_complete(
    conn: &mut PgConnection,
    tenant: TenantId,
    etag: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO assessed_under (tenant_id, model_etag) VALUES ($1, $2) \
         ON CONFLICT (tenant_id) DO UPDATE SET model_etag = EXCLUDED.model_etag",
    )
    .bind(tenant.0)
    .bind(etag)
    .execute(conn)
    .await?;
    Ok(())
}

/// The first and last instant of a tenant's records (responses'
/// `submitted_at`, journeys' `started_at`), `None` without records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordSpan {
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

/// Whether the rows answer `scope` under the model of `etag`, read in the
/// caller's snapshot: the scope has no label filter and its window holds
/// every response and journey of the tenant (so assessing "in scope" is
/// assessing the whole history; `survey_id` and `intent` do not scope
/// loyalty), `etag` is the model in force and the last complete pass was
/// under it. Index endpoint lookups only: O(log n).
pub async fn whole_history(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    etag: &str,
) -> StoreResult<bool> {
    Ok(whole_history_span(conn, tenant, scope, etag)
        .await?
        .is_some())
}

/// [`whole_history`], with the span of the records when the rows answer
/// the scope (what a trend needs to know whether they all fall in one of
/// its buckets); `None` when they do not.
pub async fn whole_history_span(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    etag: &str,
) -> StoreResult<Option<RecordSpan>> {
    if scope.labels.is_some() {
        return Ok(None);
    }
    type Bounds = Option<DateTime<Utc>>;
    let (current, bounds): (Option<bool>, [Bounds; 4]) = {
        let row: (Option<bool>, Bounds, Bounds, Bounds, Bounds) = sqlx::query_as(
            "SELECT (SELECT model_etag FROM assessed_under WHERE tenant_id = $1) = $2 \
                 AND (SELECT etag FROM scoring_models WHERE tenant_id = $1) = $2, \
               (SELECT min(submitted_at) FROM survey_responses WHERE tenant_id = $1), \
               (SELECT max(submitted_at) FROM survey_responses WHERE tenant_id = $1), \
               (SELECT min(started_at) FROM journeys WHERE tenant_id = $1), \
               (SELECT max(started_at) FROM journeys WHERE tenant_id = $1)",
        )
        .bind(tenant.0)
        .bind(etag)
        .fetch_one(&mut *conn)
        .await?;
        (row.0, [row.1, row.2, row.3, row.4])
    };
    if current != Some(true) {
        return Ok(None);
    }
    let [first_response, last_response, first_journey, last_journey] = bounds;
    let window = &scope.window;
    let covers_start = |first: Bounds| match (window.start, first) {
        (Some(start), Some(first)) => start <= first,
        _ => true,
    };
    let covers_end = |last: Bounds| match (window.end, last) {
        (Some(end), Some(last)) => last < end,
        _ => true,
    };
    let covered = covers_start(first_response)
        && covers_start(first_journey)
        && covers_end(last_response)
        && covers_end(last_journey);
    Ok(covered.then(|| RecordSpan {
        // `Option`'s order puts `None` first: min over the present ones.
        first: match (first_response, first_journey) {
            (Some(r), Some(j)) => Some(r.min(j)),
            (r, j) => r.or(j),
        },
        last: last_response.max(last_journey),
    }))
}

/// The columns of [`Assessment`] from a row of `assessments` (`k`).
const ASSESSMENT_COLUMNS: &str = "k.customer_id, k.tier::int4 AS tier, \
    k.tier_source::int4 AS tier_source, k.latest_ease, k.latest_ease_response_id, \
    k.worst_effort_index, k.worst_journey_id";

/// Pushes (without `WITH`) the CTE `<name>`: `customer`'s row, with the
/// columns of [`Assessment`], when it answers `window` under the model of
/// `etag` — the row was computed under that model, that model is in force
/// in the statement's snapshot, and none of the customer's responses or
/// journeys lies outside the window (then the customer's assessment in
/// the window is their whole-history one) — else no row. The caller also
/// needs no label filter. A primary-key lookup and, with a window, two
/// index probes of the customer's records.
///
/// Why a row of the model in force is exact without `assessed_under`: every
/// write of the customer rewrites their row, under the model it read with
/// the customer's tier lock held (module docs), so a row written under the
/// model in force is the customer's assessment as of the last write; etags
/// are random, so a model replaced and later restored does not revive
/// rows of the old one.
pub(super) fn push_kept_row(
    qb: &mut QueryBuilder<Postgres>,
    name: &str,
    tenant: TenantId,
    customer: &str,
    window: &Window,
    etag: &str,
) {
    qb.push(format_args!(
        "{name} AS (SELECT {ASSESSMENT_COLUMNS} FROM assessments k WHERE k.tenant_id = "
    ))
    .push_bind(tenant.0)
    .push(" AND k.customer_id = ")
    .push_bind(customer.to_owned())
    .push(" AND k.model_etag = ")
    .push_bind(etag.to_owned())
    .push(" AND (SELECT m.etag FROM scoring_models m WHERE m.tenant_id = ")
    .push_bind(tenant.0)
    .push(") = k.model_etag");
    if window.start.is_some() || window.end.is_some() {
        qb.push(
            " AND NOT EXISTS (SELECT 1 FROM survey_responses r \
               WHERE r.tenant_id = k.tenant_id AND r.respondent_id = k.customer_id \
               AND NOT (true",
        );
        push_window(qb, "r.submitted_at", window);
        qb.push(
            ")) AND NOT EXISTS (SELECT 1 FROM journeys j \
               WHERE j.tenant_id = k.tenant_id AND j.customer_id = k.customer_id \
               AND NOT (true",
        );
        push_window(qb, "j.started_at", window);
        qb.push("))");
    }
    qb.push(") ");
}

/// Customers per tier, in the caller's snapshot: the sums of the
/// tenant's `tier_count_log` rows (migration 0024), which equal the rows'
/// counts per tier in every snapshot (every writer of the rows appends
/// what it changed, in the same statement, [`log_tier_changes`]), whether
/// or not the compactor has folded them ([`compact_tier_counts`]). At most
/// three folded rows, by the unique index, and the pending deltas since the
/// last fold: O(writes since the fold), not O(customers).
///
/// The pending part is a `MATERIALIZED` CTE whose only condition is the
/// pending index's own predicate (`tenant_id = $1 AND NOT compacted`), as
/// the label rollup reads its pending deltas
/// (docs/decisions/label-rollup.md): with no other condition beside it, a
/// generic plan has no other index to trade that one for, and reads only
/// this tenant's backlog (docs/decisions/assessments.md, "Tier counts",
/// says what is not guarded).
pub async fn tier_counts(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<TierCounts> {
    let rows: Vec<(i16, i64)> = sqlx::query_as(
        "WITH pending AS MATERIALIZED ( \
           SELECT tier, customers FROM tier_count_log WHERE tenant_id = $1 AND NOT compacted \
         ) \
         SELECT tier, sum(customers)::bigint FROM ( \
           SELECT tier, customers FROM tier_count_log WHERE tenant_id = $1 AND compacted \
           UNION ALL SELECT tier, customers FROM pending \
         ) t GROUP BY tier",
    )
    .bind(tenant.0)
    .fetch_all(conn)
    .await?;
    let mut counts = TierCounts::default();
    for (tier, n) in rows {
        let n = u64::try_from(n).unwrap_or(0);
        match EffortTier::from_number(i32::from(tier)) {
            Some(EffortTier::Low) => counts.low = n,
            Some(EffortTier::Medium) => counts.medium = n,
            Some(EffortTier::High) => counts.high = n,
            None => {}
        }
    }
    Ok(counts)
}

/// Folds `tenant`'s pending `tier_count_log` deltas inside the caller's
/// transaction (the compactor's, [`super::rollup::compact`]); returns the
/// rows removed. The fold of `gap_daily`: the pending rows deleted (those
/// of the DELETE's snapshot; a delta committed later waits for the next
/// fold), their sums added to the one folded row per tier, in tier order
/// (so two compactors cannot deadlock), folded tiers that reached zero
/// removed. Readers sum pending and folded rows alike, so a snapshot sees a
/// delta either pending or folded, never both, and the counts never depend
/// on the fold.
pub async fn compact_tier_counts(conn: &mut PgConnection, tenant: TenantId) -> StoreResult<u64> {
    let (deleted, folded): (i64, i64) = sqlx::query_as(
        "WITH moved AS ( \
             DELETE FROM tier_count_log WHERE tenant_id = $1 AND NOT compacted \
             RETURNING tier, customers \
         ), sums AS ( \
             SELECT tier, sum(customers)::bigint AS customers FROM moved GROUP BY tier \
         ), upserted AS ( \
             INSERT INTO tier_count_log (tenant_id, tier, customers, compacted) \
             SELECT $1, tier, customers, true FROM sums ORDER BY tier \
             ON CONFLICT (tenant_id, tier) WHERE compacted \
             DO UPDATE SET customers = tier_count_log.customers + EXCLUDED.customers \
             RETURNING 1 \
         ) \
         SELECT (SELECT count(*) FROM moved), (SELECT count(*) FROM upserted)",
    )
    .bind(tenant.0)
    .fetch_one(&mut *conn)
    .await?;
    // Tiers whose customers all left (found by `tier_count_log_zero`).
    super::rollup::remove_empty_keys(
        conn,
        tenant,
        ("tier_count_log", "customers = 0"),
        (deleted, folded),
    )
    .await
}

/// Up to `limit` rows with tier ≥ `min_tier` after `after`, in
/// [`AtRiskKey`] order: one range scan of `assessments_at_risk`
/// (the order ascending in `(rank_tier, rank_worst, customer_id)`, a row
/// comparison for the position), so a page costs O(limit) wherever it is.
pub async fn at_risk_page(
    conn: &mut PgConnection,
    tenant: TenantId,
    min_tier: EffortTier,
    after: Option<&AtRiskKey>,
    limit: i64,
) -> StoreResult<Vec<Assessment>> {
    let mut qb = QueryBuilder::new(format!(
        "SELECT {ASSESSMENT_COLUMNS} FROM assessments k WHERE k.tenant_id = "
    ));
    qb.push_bind(tenant.0)
        .push(" AND rank_tier <= ")
        .push_bind(-(min_tier.number() as i16));
    if let Some(k) = after {
        qb.push(" AND (rank_tier, rank_worst, customer_id) > (")
            .push_bind(-(k.tier as i16))
            .push(", ")
            .push_bind(-k.worst_effort_index)
            .push(", ")
            .push_bind(k.customer_id.clone())
            .push(")");
    }
    qb.push(" ORDER BY rank_tier, rank_worst, customer_id LIMIT ")
        .push_bind(limit);
    Ok(qb.build_query_as().fetch_all(&mut *conn).await?)
}
