//! `GetCustomerRisk`'s data in one statement (one round trip, one
//! snapshot): the tenant's scoring-model tag, the customer's assessment
//! (SPEC §7.1), the journeys in scope most recent first, and the worst
//! journey's stored components.
//!
//! The assessment is the customer's kept whole-history row
//! (`store::assessments`) when that row answers the scope under the
//! caller's model, which is then the model in force (no label filter, every
//! record of the customer in the window): a primary-key lookup. Otherwise
//! it is assessed from the records by the same CTE every other assessment
//! uses (`store::loyalty::push_assessed_as`), which the statement runs
//! only when there is no such row (a one-time filter on the row's absence).
//!
//! The effort index is computed under a model the caller already holds
//! (its weights are SQL literals, `store::effort_sql`), so the statement
//! also returns the model's etag *in the same snapshot*, and the model
//! itself when that etag is not the caller's: the caller then knows its
//! figures were computed under a model no longer in force and runs the
//! statement again under the one returned (see `service::risk`). A model
//! changes rarely; a steady caller makes one round trip per call.

use sqlx::{PgPool, Postgres, QueryBuilder, Row, postgres::PgRow, types::Json};

use super::{
    StoreResult,
    assessments::push_kept_row,
    effort_sql::{effort_index_sql, effort_tier_sql},
    loyalty::{Assessment, CustomerData, CustomerJourneyRow, Customers, push_assessed_as},
};
use crate::{
    domain::{Scope, TenantId, model::ScoringModel},
    scoring::effort::{EffortComponents, EffortModel},
};

/// What one statement found.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRead {
    /// The tenant's model etag in the statement's snapshot (empty: the
    /// tenant has no stored model and the default is in force).
    pub etag: String,
    /// The model in force, when `etag` is not the one the caller passed:
    /// then `data` was computed under a stale model and must be read again.
    pub model: Option<ScoringModel>,
    /// Whether the assessment is the customer's kept whole-history row
    /// (else it was assessed from the records).
    pub kept: bool,
    /// `None` when the customer is not assessed in scope.
    pub data: Option<CustomerData>,
}

/// Reads `customer`'s data in `scope` under `model` (whose etag the caller
/// believes is `etag`; `None`: unknown), at most `journey_limit` journeys.
pub async fn customer_read(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    (model, etag): (&EffortModel, Option<&str>),
    customer: &str,
    journey_limit: i64,
) -> StoreResult<CustomerRead> {
    let mut qb = QueryBuilder::<Postgres>::new("");
    push_customer_read(
        &mut qb,
        tenant,
        scope,
        (model, etag),
        customer,
        journey_limit,
    );
    let row = qb.build().fetch_one(pool).await?;
    read_row(&row, customer)
}

/// The plan of [`customer_read`]'s statement as run
/// (`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)`): what its tests and a
/// diagnosis look at to see which path a read takes and what it costs.
pub async fn customer_read_plan(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    (model, etag): (&EffortModel, Option<&str>),
    customer: &str,
    journey_limit: i64,
) -> StoreResult<serde_json::Value> {
    let mut qb = QueryBuilder::<Postgres>::new("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ");
    push_customer_read(
        &mut qb,
        tenant,
        scope,
        (model, etag),
        customer,
        journey_limit,
    );
    Ok(qb
        .build_query_scalar::<serde_json::Value>()
        .fetch_one(pool)
        .await?)
}

/// Pushes [`customer_read`]'s statement.
fn push_customer_read(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    scope: &Scope,
    (model, etag): (&EffortModel, Option<&str>),
    customer: &str,
    journey_limit: i64,
) {
    let index = effort_index_sql("j", model);
    qb.push("WITH ");
    push_assessed_as(qb, "exact", tenant, scope, model, Customers::One(customer));
    const COLUMNS: &str = "tier, tier_source, latest_ease, latest_ease_response_id, \
        worst_effort_index, worst_journey_id";
    match etag.filter(|_| scope.labels.is_none()) {
        Some(etag) => {
            qb.push(", ");
            push_kept_row(qb, "kept", tenant, customer, &scope.window, etag);
            // `NOT EXISTS` on an uncorrelated CTE is a one-time filter: the
            // records are not read when the row answers.
            qb.push(format_args!(
                ", a AS (SELECT {COLUMNS}, true AS kept FROM kept \
                   UNION ALL SELECT {COLUMNS}, false FROM exact \
                   WHERE NOT EXISTS (SELECT 1 FROM kept)), "
            ));
        }
        None => {
            qb.push(format_args!(
                ", a AS (SELECT {COLUMNS}, false AS kept FROM exact), "
            ));
        }
    }
    qb.push(format_args!(
        "js AS (SELECT j.id, j.intent, j.started_at, \
           {index} AS effort_index, j.customer_touchpoints, j.distinct_channels, \
           j.channel_switches, j.failed_self_service, j.transfers, j.repeated_information, \
           j.customer_seconds, j.resolved, j.first_customer_resolved, j.has_assisted, \
           j.first_assisted_resolved \
         FROM journeys j WHERE j.tenant_id = "
    ))
    .push_bind(tenant.0)
    .push(" AND j.customer_id = ")
    .push_bind(customer.to_owned());
    scope.push_window(qb, "j.started_at");
    scope.push_labels(qb, "j.labels");
    qb.push(
        "), listed AS (SELECT id, intent, started_at, effort_index FROM js \
           ORDER BY started_at DESC, id COLLATE \"C\" LIMIT ",
    )
    .push_bind(journey_limit)
    .push(format_args!(
        "), l AS (SELECT \
           coalesce(array_agg(id ORDER BY started_at DESC, id COLLATE \"C\"), '{{}}') AS ids, \
           coalesce(array_agg(intent ORDER BY started_at DESC, id COLLATE \"C\"), '{{}}') \
             AS intents, \
           coalesce(array_agg(effort_index ORDER BY started_at DESC, id COLLATE \"C\"), \
             '{{}}') AS indexes, \
           coalesce(array_agg({tier} ORDER BY started_at DESC, id COLLATE \"C\"), '{{}}') \
             AS tiers \
         FROM listed) \
         SELECT coalesce(m.etag, '') AS etag, \
           CASE WHEN coalesce(m.etag, '') IS DISTINCT FROM ",
        tier = effort_tier_sql("effort_index", model),
    ))
    .push_bind(etag.map(str::to_owned))
    .push(
        " THEN coalesce(m.model, 'null'::jsonb) END AS model, \
           coalesce(a.kept, false) AS kept, \
           a.latest_ease, a.latest_ease_response_id, a.tier, a.tier_source, \
           a.worst_journey_id, a.worst_effort_index, \
           w.customer_touchpoints, w.distinct_channels, w.channel_switches, \
           w.failed_self_service, w.transfers, w.repeated_information, w.customer_seconds, \
           w.resolved, w.first_customer_resolved, w.has_assisted, w.first_assisted_resolved, \
           (SELECT count(*) FROM js) AS journeys_in_scope, \
           l.ids, l.intents, l.indexes, l.tiers \
         FROM (SELECT 1) one \
         LEFT JOIN scoring_models m ON m.tenant_id = ",
    )
    .push_bind(tenant.0)
    // The worst journey is one of the scope's (the exact path assesses the
    // scope's journeys; a kept row is used only when the scope holds all of
    // the customer's), so its components come from `js`.
    .push(" LEFT JOIN a ON true LEFT JOIN js w ON w.id = a.worst_journey_id CROSS JOIN l");
}

/// [`CustomerRead`] from the statement's row.
fn read_row(row: &PgRow, customer: &str) -> StoreResult<CustomerRead> {
    let etag: String = row.try_get("etag")?;
    // `null` (no stored model): the default is in force.
    let model = row
        .try_get::<Option<Json<Option<ScoringModel>>>, _>("model")?
        .map(|m| m.0.unwrap_or_default());
    let latest_ease: Option<i32> = row.try_get("latest_ease")?;
    let worst_journey_id: Option<String> = row.try_get("worst_journey_id")?;
    let kept: bool = row.try_get("kept")?;
    if latest_ease.is_none() && worst_journey_id.is_none() {
        return Ok(CustomerRead {
            etag,
            model,
            kept,
            data: None,
        });
    }
    let assessment = Assessment {
        customer_id: customer.to_owned(),
        tier: row.try_get("tier")?,
        tier_source: row.try_get("tier_source")?,
        latest_ease,
        latest_ease_response_id: row.try_get("latest_ease_response_id")?,
        worst_effort_index: row.try_get("worst_effort_index")?,
        worst_journey_id: worst_journey_id.clone(),
    };
    let worst_components = match worst_journey_id {
        Some(_) => Some(EffortComponents {
            customer_touchpoints: row.try_get("customer_touchpoints")?,
            distinct_channels: row.try_get("distinct_channels")?,
            channel_switches: row.try_get("channel_switches")?,
            failed_self_service: row.try_get("failed_self_service")?,
            transfers: row.try_get("transfers")?,
            repeated_information: row.try_get("repeated_information")?,
            customer_seconds: row.try_get("customer_seconds")?,
            resolved: row.try_get("resolved")?,
            first_customer_resolved: row.try_get("first_customer_resolved")?,
            has_assisted: row.try_get("has_assisted")?,
            first_assisted_resolved: row.try_get("first_assisted_resolved")?,
        }),
        None => None,
    };
    let ids: Vec<String> = row.try_get("ids")?;
    let intents: Vec<String> = row.try_get("intents")?;
    let indexes: Vec<f64> = row.try_get("indexes")?;
    let tiers: Vec<i32> = row.try_get("tiers")?;
    let journeys = ids
        .into_iter()
        .zip(intents)
        .zip(indexes.into_iter().zip(tiers))
        .map(|((id, intent), (effort_index, tier))| CustomerJourneyRow {
            id,
            intent,
            effort_index,
            tier,
        })
        .collect();
    Ok(CustomerRead {
        etag,
        model,
        kept,
        data: Some(CustomerData {
            assessment,
            journeys,
            journeys_in_scope: row.try_get("journeys_in_scope")?,
            worst_components,
        }),
    })
}
