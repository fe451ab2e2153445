//! `GetCustomerRisk`'s data in one statement (one round trip, one
//! snapshot): the tenant's scoring-model tag, the customer's assessment
//! (SPEC §7.1, the same rules and tie-breaks as `store::loyalty`), the
//! journeys in scope most recent first, and the worst journey's stored
//! components.
//!
//! The effort index is computed under a model the caller already holds
//! (its weights are SQL literals, `store::effort_sql`), so the statement
//! also returns the model's etag *in the same snapshot*, and the model
//! itself when that etag is not the caller's: the caller then knows its
//! figures were computed under a model no longer in force and runs the
//! statement again under the one returned (see `service::risk`). A model
//! changes rarely; a steady caller makes one round trip per call.

use sqlx::{PgPool, Postgres, QueryBuilder, Row, types::Json};

use super::{
    StoreResult,
    effort::EASE_QUESTION,
    effort_sql::{effort_index_sql, effort_tier_sql},
    loyalty::{Assessment, CustomerData, CustomerJourneyRow},
};
use crate::{
    domain::{Numbered, Scope, TenantId, enums::Role, enums::TierSource, model::ScoringModel},
    scoring::effort::{
        EASE_HIGH_EFFORT_MAX, EASE_LOW_EFFORT_MIN, EffortComponents, EffortModel, EffortTier,
    },
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
    let index = effort_index_sql("j", model);
    let mut qb = QueryBuilder::<Postgres>::new(
        "WITH ces AS (SELECT a.score AS latest_ease, r.id AS latest_ease_response_id \
         FROM survey_responses r \
         JOIN answers a ON a.tenant_id = r.tenant_id AND a.rid = r.rid \
         WHERE r.tenant_id = ",
    );
    qb.push_bind(tenant.0)
        .push(format_args!(
            " AND a.role = {} AND r.respondent_id IS NOT NULL \
              AND a.score IS NOT NULL AND a.question = ",
            Role::Customer.db()
        ))
        .push_bind(EASE_QUESTION)
        .push(" AND r.respondent_id = ")
        .push_bind(customer.to_owned());
    scope.push_window(&mut qb, "a.submitted_at");
    scope.push_window(&mut qb, "r.submitted_at");
    scope.push_labels(&mut qb, "r.labels");
    qb.push(
        " ORDER BY r.submitted_at DESC, r.id COLLATE \"C\" DESC LIMIT 1), \
         js AS (SELECT j.id, j.intent, j.started_at, ",
    )
    .push(format_args!(
        "{index} AS effort_index, j.customer_touchpoints, j.distinct_channels, \
           j.channel_switches, j.failed_self_service, j.transfers, j.repeated_information, \
           j.customer_seconds, j.resolved, j.first_customer_resolved, j.has_assisted, \
           j.first_assisted_resolved \
         FROM journeys j WHERE j.tenant_id = "
    ))
    .push_bind(tenant.0)
    .push(" AND j.customer_id = ")
    .push_bind(customer.to_owned());
    scope.push_window(&mut qb, "j.started_at");
    scope.push_labels(&mut qb, "j.labels");
    qb.push(
        "), worst AS (SELECT * FROM js \
           ORDER BY effort_index DESC, started_at DESC, id COLLATE \"C\" LIMIT 1), \
         listed AS (SELECT id, intent, started_at, effort_index FROM js \
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
    .push(format_args!(
        " THEN coalesce(m.model, 'null'::jsonb) END AS model, \
           c.latest_ease, c.latest_ease_response_id, \
           CASE WHEN c.latest_ease IS NOT NULL THEN \
             (CASE WHEN c.latest_ease >= {EASE_LOW_EFFORT_MIN} THEN {low} \
                   WHEN c.latest_ease <= {EASE_HIGH_EFFORT_MAX} THEN {high} ELSE {medium} END) \
             ELSE {index_tier} END AS tier, \
           CASE WHEN c.latest_ease IS NOT NULL THEN {ces} ELSE {journeys} END AS tier_source, \
           w.id AS worst_journey_id, w.effort_index AS worst_effort_index, \
           w.customer_touchpoints, w.distinct_channels, w.channel_switches, \
           w.failed_self_service, w.transfers, w.repeated_information, w.customer_seconds, \
           w.resolved, w.first_customer_resolved, w.has_assisted, w.first_assisted_resolved, \
           (SELECT count(*) FROM js) AS journeys_in_scope, \
           l.ids, l.intents, l.indexes, l.tiers \
         FROM (SELECT 1) one \
         LEFT JOIN scoring_models m ON m.tenant_id = ",
        low = EffortTier::Low.number(),
        medium = EffortTier::Medium.number(),
        high = EffortTier::High.number(),
        index_tier = effort_tier_sql("w.effort_index", model),
        ces = TierSource::Ces.number(),
        journeys = TierSource::Journeys.number(),
    ))
    .push_bind(tenant.0)
    .push(" LEFT JOIN ces c ON true LEFT JOIN worst w ON true CROSS JOIN l");
    let row = qb.build().fetch_one(pool).await?;

    let etag: String = row.try_get("etag")?;
    // `null` (no stored model): the default is in force.
    let model = row
        .try_get::<Option<Json<Option<ScoringModel>>>, _>("model")?
        .map(|m| m.0.unwrap_or_default());
    let latest_ease: Option<i32> = row.try_get("latest_ease")?;
    let worst_journey_id: Option<String> = row.try_get("worst_journey_id")?;
    if latest_ease.is_none() && worst_journey_id.is_none() {
        return Ok(CustomerRead {
            etag,
            model,
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
        data: Some(CustomerData {
            assessment,
            journeys,
            journeys_in_scope: row.try_get("journeys_in_scope")?,
            worst_components,
        }),
    })
}
