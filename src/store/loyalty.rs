//! Customer effort tiers and outcome calibration (SPEC §7), in SQL.
//!
//! A customer is *assessed* over a window (SPEC §7.1):
//! 1. the latest CUSTOMER `ease` answer in the window decides (≥ 5 LOW,
//!    ≤ 3 HIGH, else MEDIUM; source CES); "latest" is by `submitted_at`,
//!    ties broken by the greater response id;
//! 2. otherwise the highest effort index of the customer's journeys in the
//!    window, under the tenant's model (source JOURNEYS);
//! 3. otherwise the customer is not assessed.
//!
//! The label filter applies to both sources (response labels, journey
//! labels); `survey_id` and `intent` do not scope loyalty (SPEC §7.4 scopes
//! it by window and labels only).
//!
//! Each outcome is attributed to the customer's tier assessed over the
//! `CALIBRATION_HOURS` before its `observed_at`, half-open
//! `[observed_at − 90 × 24 h, observed_at)`, without label filter: the
//! posteriors are properties of the tenant's model, so every report and
//! every customer sees the same calibration, computed from all of the
//! tenant's outcomes (not only those in a request's window). An outcome of
//! a customer with no assessment in those 90 days cannot be attributed and
//! is left out.

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, Row};

use super::{
    StoreResult, assessments,
    effort::EASE_QUESTION,
    effort_sql::{effort_index_sql, effort_tier_sql},
};
use crate::domain::{
    Numbered, Scope, TenantId,
    enums::{Role, TierSource},
};
use crate::scoring::{
    effort::{
        EASE_HIGH_EFFORT_MAX, EASE_LOW_EFFORT_MIN, EffortComponents, EffortModel, EffortTier,
    },
    loyalty::{OutcomeCounts, OutcomeKind, TierCounts, TierKindTable},
};

/// Calibration looks back 90 days of 24 hours from an outcome (exact
/// hours, so the window does not depend on the session time zone's DST).
pub const CALIBRATION_HOURS: i64 = 90 * 24;

/// SQL tier (`gapscore.v1.EffortTier` number) of an `ease` score expression.
fn ease_tier_sql(score: &str) -> String {
    format!(
        "(CASE WHEN ({score}) >= {EASE_LOW_EFFORT_MIN} THEN {low} \
               WHEN ({score}) <= {EASE_HIGH_EFFORT_MAX} THEN {high} ELSE {medium} END)",
        low = EffortTier::Low.number(),
        medium = EffortTier::Medium.number(),
        high = EffortTier::High.number(),
    )
}

/// One assessed customer.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Assessment {
    pub customer_id: String,
    /// `gapscore.v1.EffortTier` value.
    pub tier: i32,
    /// `gapscore.v1.TierSource` value.
    pub tier_source: i32,
    /// The latest `ease` answer in the window.
    pub latest_ease: Option<i32>,
    /// The id of the response that gave it (what an at-risk event names as
    /// its cause when the answer decides the tier).
    pub latest_ease_response_id: Option<String>,
    /// Highest effort index of the customer's journeys in the window.
    pub worst_effort_index: Option<f64>,
    /// The journey with that index (ties: the latest, then the smallest id).
    pub worst_journey_id: Option<String>,
}

/// Which customers an assessment is of.
#[derive(Debug, Clone, Copy)]
pub enum Customers<'a> {
    /// Every customer with data in scope.
    All,
    /// One customer.
    One(&'a str),
    /// The customers of a write batch (at most a batch's worth: the list is
    /// one array parameter, each customer an index lookup on each side).
    Many(&'a [String]),
}

impl Customers<'_> {
    /// Appends ` AND <column> = ...` (or `= ANY(...)`) for this selection.
    pub(super) fn push_condition(self, qb: &mut QueryBuilder<Postgres>, column: &str) {
        match self {
            Customers::All => {}
            Customers::One(c) => {
                qb.push(format_args!(" AND {column} = "))
                    .push_bind(c.to_owned());
            }
            Customers::Many(cs) => {
                qb.push(format_args!(" AND {column} = ANY("))
                    .push_bind(cs.to_vec())
                    .push(")");
            }
        }
    }
}

/// Pushes `WITH assessed_ces AS (…), assessed_worst AS (…), assessed AS
/// (…)`: one row per customer assessed in `scope` (optionally only some
/// `customers`), with the columns of [`Assessment`].
fn push_assessed(
    qb: &mut QueryBuilder<Postgres>,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
    customers: Customers<'_>,
) {
    qb.push("WITH ");
    push_assessed_as(qb, "assessed", tenant, scope, model, customers);
}

/// Pushes the common table expressions `<name>_ces`, `<name>_worst` and
/// `<name>` (without `WITH`), `<name>` being the assessments of
/// [`push_assessed`]: so one statement can assess the same customers over
/// two scopes.
///
/// For some customers (a write batch's, one customer's), their responses
/// and journeys are first read by customer alone into `MATERIALIZED`
/// CTEs (`<name>_r`, `<name>_j`), and the window, labels and the `ease`
/// answers apply to those few rows: the customer indexes
/// (`survey_responses_respondent`, `journeys_customer`) are then the only
/// access path there is, whatever the statistics say, and their answers
/// are found by response. In one statement
/// the planner can instead start from every `ease` answer of the tenant,
/// or range over the tenant's window on `journeys_customer` with the
/// customers as a filter; on tables it had no statistics for yet (a new
/// tenant's first minutes of ingest) it did both, and the assessment of a
/// 1,000-record batch grew with the tenant's whole history (auto_explain,
/// 2026-12-02).
/// The journey rows [`push_assessed_as`] with `name` reads: its own
/// materialized CTE `{name}_j` of the selected customers' journeys, or the
/// table for all customers. A later CTE of the same statement can read
/// them again without another lookup.
pub(super) fn assessed_journeys(name: &str, customers: Customers<'_>) -> String {
    match customers {
        Customers::All => "journeys".to_owned(),
        _ => format!("{name}_j"),
    }
}

pub(super) fn push_assessed_as(
    qb: &mut QueryBuilder<Postgres>,
    name: &str,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
    customers: Customers<'_>,
) {
    let selected = !matches!(customers, Customers::All);
    let journey_rows = assessed_journeys(name, customers);
    let response_rows = if selected {
        qb.push(format_args!(
            "{name}_r AS MATERIALIZED (SELECT r.tenant_id, r.rid, r.id, r.respondent_id, \
               r.submitted_at, r.labels FROM survey_responses r WHERE r.tenant_id = "
        ))
        .push_bind(tenant.0);
        customers.push_condition(qb, "r.respondent_id");
        qb.push(format_args!(
            "), {name}_j AS MATERIALIZED (SELECT j.* FROM journeys j WHERE j.tenant_id = "
        ))
        .push_bind(tenant.0);
        customers.push_condition(qb, "j.customer_id");
        qb.push("), ");
        format!("{name}_r")
    } else {
        "survey_responses".to_owned()
    };
    qb.push(format_args!(
        "{name}_ces AS (SELECT DISTINCT ON (r.respondent_id) \
           r.respondent_id AS customer_id, a.score AS latest_ease, \
           r.id AS latest_ease_response_id \
         FROM {response_rows} r \
         JOIN answers a ON a.tenant_id = r.tenant_id AND a.rid = r.rid \
         WHERE r.tenant_id = "
    ))
    .push_bind(tenant.0)
    .push(format_args!(
        " AND a.role = {} AND r.respondent_id IS NOT NULL AND a.score IS NOT NULL",
        Role::Customer.db()
    ));
    // For selected customers the question is a filter on their responses'
    // answers, found by the primary key's (tenant, rid) prefix:
    // `IS NOT DISTINCT FROM` (`=` for a NOT NULL column) is an operator no
    // index serves, so the planner cannot start from every `ease` answer.
    qb.push(if selected {
        " AND a.question IS NOT DISTINCT FROM "
    } else {
        " AND a.question = "
    })
    .push_bind(EASE_QUESTION);
    // The window on both copies of submitted_at: the answers' index applies
    // to a window scan, survey_responses' time index to its side of the
    // join. Selected customers' answers are found by response only.
    if !selected {
        scope.push_window(qb, "a.submitted_at");
    }
    scope.push_window(qb, "r.submitted_at");
    scope.push_labels(qb, "r.labels");
    if !selected {
        customers.push_condition(qb, "r.respondent_id");
    }
    qb.push(format_args!(
        " ORDER BY r.respondent_id, r.submitted_at DESC, r.id COLLATE \"C\" DESC), \
         {name}_worst AS (SELECT DISTINCT ON (j.customer_id) j.customer_id, "
    ))
    .push(format_args!(
        "{} AS worst_effort_index, j.id AS worst_journey_id \
         FROM {journey_rows} j WHERE j.tenant_id = ",
        effort_index_sql("j", model)
    ))
    .push_bind(tenant.0);
    scope.push_window(qb, "j.started_at");
    scope.push_labels(qb, "j.labels");
    if !selected {
        customers.push_condition(qb, "j.customer_id");
    }
    qb.push(format_args!(
        " ORDER BY j.customer_id, worst_effort_index DESC, j.started_at DESC, j.id COLLATE \"C\"), \
         {name} AS (SELECT coalesce(c.customer_id, w.customer_id) AS customer_id, \
           CASE WHEN c.customer_id IS NOT NULL THEN {ease_tier} ELSE {index_tier} END AS tier, \
           CASE WHEN c.customer_id IS NOT NULL THEN {ces} ELSE {journeys} END \
             AS tier_source, \
           c.latest_ease, c.latest_ease_response_id, w.worst_effort_index, w.worst_journey_id \
         FROM {name}_ces c FULL JOIN {name}_worst w ON w.customer_id = c.customer_id) ",
        ease_tier = ease_tier_sql("c.latest_ease"),
        index_tier = effort_tier_sql("w.worst_effort_index", model),
        ces = TierSource::Ces.number(),
        journeys = TierSource::Journeys.number(),
    ));
}

/// Customers assessed in `scope`, per tier.
async fn tier_counts(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
) -> StoreResult<TierCounts> {
    let mut qb = QueryBuilder::new("");
    push_assessed(&mut qb, tenant, scope, model, Customers::All);
    qb.push("SELECT tier, count(*) FROM assessed GROUP BY tier");
    let rows: Vec<(i32, i64)> = qb.build_query_as().fetch_all(&mut *conn).await?;
    let mut counts = TierCounts::default();
    for (tier, n) in rows {
        let n = u64::try_from(n).unwrap_or(0);
        match EffortTier::from_number(tier) {
            Some(EffortTier::Low) => counts.low = n,
            Some(EffortTier::Medium) => counts.medium = n,
            Some(EffortTier::High) => counts.high = n,
            None => {}
        }
    }
    Ok(counts)
}

/// The tenant's outcomes per (tier, kind), each attributed to the
/// customer's tier over the 90 days before it was observed.
///
/// Set-based rather than one correlated lookup per outcome: the latest
/// `ease` answer and the worst journey of each outcome's look-back window
/// are joins on (customer, time range) that the planner can run as hash
/// joins for many outcomes or as index lookups
/// (`journeys_customer`, `survey_responses_respondent`) for few.
async fn outcome_counts(
    conn: &mut PgConnection,
    tenant: TenantId,
    model: &EffortModel,
) -> StoreResult<TierKindTable<OutcomeCounts>> {
    let sql = format!(
        "WITH o AS (SELECT id, customer_id, kind, occurred, observed_at, \
             observed_at - interval '{CALIBRATION_HOURS} hours' AS since \
           FROM outcomes WHERE tenant_id = $1), \
         e AS (SELECT DISTINCT ON (o.id) o.id, a.score \
           FROM o \
           JOIN survey_responses r ON r.tenant_id = $1 AND r.respondent_id = o.customer_id \
             AND r.role = {customer} \
             AND r.submitted_at >= o.since AND r.submitted_at < o.observed_at \
           JOIN answers a ON a.tenant_id = r.tenant_id AND a.rid = r.rid \
             AND a.question = '{EASE_QUESTION}' AND a.score IS NOT NULL \
           ORDER BY o.id, r.submitted_at DESC, r.id COLLATE \"C\" DESC), \
         w AS (SELECT o.id, max({index}) AS worst \
           FROM o \
           JOIN journeys j ON j.tenant_id = $1 AND j.customer_id = o.customer_id \
             AND j.started_at >= o.since AND j.started_at < o.observed_at \
           GROUP BY o.id) \
         SELECT o.kind, \
           CASE WHEN e.id IS NOT NULL THEN {ease_tier} ELSE {index_tier} END AS tier, \
           count(*) FILTER (WHERE o.occurred) AS occurred, \
           count(*) FILTER (WHERE NOT o.occurred) AS not_occurred \
         FROM o LEFT JOIN e ON e.id = o.id LEFT JOIN w ON w.id = o.id \
         WHERE e.id IS NOT NULL OR w.id IS NOT NULL \
         GROUP BY 1, 2",
        ease_tier = ease_tier_sql("e.score"),
        index_tier = effort_tier_sql("w.worst", model),
        index = effort_index_sql("j", model),
        customer = Role::Customer.db(),
    );
    let rows: Vec<(i16, i32, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .fetch_all(&mut *conn)
        .await?;
    let mut table = TierKindTable::<OutcomeCounts>::default();
    for (kind, tier, occurred, not_occurred) in rows {
        if let (Some(kind), Some(tier)) =
            (OutcomeKind::from_db(kind), EffortTier::from_number(tier))
        {
            *table.get_mut(tier, kind) = OutcomeCounts {
                occurred: u64::try_from(occurred).unwrap_or(0),
                not_occurred: u64::try_from(not_occurred).unwrap_or(0),
            };
        }
    }
    Ok(table)
}

/// The tier counts of `scope` (what `GetLoyaltyRisk` needs besides the
/// calibration), under `model`; `etag` is its etag when the caller knows
/// it. From the whole-history rows when they answer the scope
/// (`store::assessments::whole_history`, in the same snapshot), else
/// assessed from the records.
pub async fn loyalty_tiers(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    (model, etag): (&EffortModel, Option<&str>),
) -> StoreResult<TierCounts> {
    let Some(etag) = etag else {
        let mut conn = pool.acquire().await?;
        return tier_counts(&mut conn, tenant, scope, model).await;
    };
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let counts = if assessments::whole_history(&mut tx, tenant, scope, etag).await? {
        assessments::tier_counts(&mut tx, tenant).await?
    } else {
        tier_counts(&mut tx, tenant, scope, model).await?
    };
    tx.commit().await?;
    Ok(counts)
}

/// The tenant's outcome calibration under `model` (cached by
/// `service::calibration`, which is why it is read on its own).
pub async fn calibration(
    pool: &PgPool,
    tenant: TenantId,
    model: &EffortModel,
) -> StoreResult<TierKindTable<OutcomeCounts>> {
    let mut conn = pool.acquire().await?;
    outcome_counts(&mut conn, tenant, model).await
}

/// One journey of a customer with its effort under the current model.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerJourneyRow {
    pub id: String,
    pub intent: String,
    pub effort_index: f64,
    /// `gapscore.v1.EffortTier` value.
    pub tier: i32,
}

/// What `GetCustomerRisk` needs.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerData {
    pub assessment: Assessment,
    /// Journeys in scope, most recent first, at most the requested limit.
    pub journeys: Vec<CustomerJourneyRow>,
    /// All journeys of the customer in scope.
    pub journeys_in_scope: i64,
    /// The stored components of the worst journey.
    pub worst_components: Option<EffortComponents>,
}

/// Reads one customer's data in `scope`, in one snapshot; `None` when the
/// customer is not assessed there (no `ease` answer and no journey).
pub async fn customer_data(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
    customer: &str,
    journey_limit: i64,
) -> StoreResult<Option<CustomerData>> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let mut qb = QueryBuilder::new("");
    push_assessed(&mut qb, tenant, scope, model, Customers::One(customer));
    qb.push("SELECT * FROM assessed");
    let Some(assessment) = qb
        .build_query_as::<Assessment>()
        .fetch_optional(&mut *tx)
        .await?
    else {
        tx.commit().await?;
        return Ok(None);
    };

    let index = effort_index_sql("j", model);
    let mut qb = QueryBuilder::new(format!(
        "SELECT j.id, j.intent, {index} AS effort_index, {tier} AS tier, \
           count(*) OVER () AS total \
         FROM journeys j WHERE j.tenant_id = ",
        tier = effort_tier_sql(&index, model),
    ));
    qb.push_bind(tenant.0)
        .push(" AND j.customer_id = ")
        .push_bind(customer.to_owned());
    scope.push_window(&mut qb, "j.started_at");
    scope.push_labels(&mut qb, "j.labels");
    qb.push(" ORDER BY j.started_at DESC, j.id COLLATE \"C\" LIMIT ")
        .push_bind(journey_limit);
    let rows = qb.build().fetch_all(&mut *tx).await?;
    let journeys_in_scope = match rows.first() {
        Some(row) => row.try_get("total")?,
        None => 0,
    };
    let journeys = rows
        .iter()
        .map(|row| {
            Ok(CustomerJourneyRow {
                id: row.try_get("id")?,
                intent: row.try_get("intent")?,
                effort_index: row.try_get("effort_index")?,
                tier: row.try_get("tier")?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;

    let worst_components = match &assessment.worst_journey_id {
        Some(id) => super::journeys::journey_components(&mut tx, tenant, id).await?,
        None => None,
    };
    tx.commit().await?;
    Ok(Some(CustomerData {
        assessment,
        journeys,
        journeys_in_scope,
        worst_components,
    }))
}

/// The assessments in `scope` of `customers` (a write batch's), inside the
/// caller's transaction: what the write path compares before and after its
/// write (`service::tiers`). One statement however many customers.
pub async fn assess_customers(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
    customers: &[String],
) -> StoreResult<Vec<Assessment>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::new("");
    push_assessed(&mut qb, tenant, scope, model, Customers::Many(customers));
    qb.push("SELECT * FROM assessed");
    Ok(qb.build_query_as().fetch_all(&mut *conn).await?)
}

/// The sort key of `ListAtRiskCustomers`: tier descending, worst effort
/// index (0 without journeys) descending, customer id ascending (byte
/// order). Also the content of its page tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtRiskKey {
    pub tier: i32,
    pub worst_effort_index: f64,
    pub customer_id: String,
}

impl AtRiskKey {
    pub fn of(a: &Assessment) -> AtRiskKey {
        AtRiskKey {
            tier: a.tier,
            worst_effort_index: a.worst_effort_index.unwrap_or(0.0),
            customer_id: a.customer_id.clone(),
        }
    }
}

/// Up to `limit` customers assessed in `scope` with tier ≥ `min_tier`,
/// after `after`, in [`AtRiskKey`] order, under `model` (`etag`: its etag
/// when the caller knows it). From the whole-history rows when they answer
/// the scope (as [`loyalty_tiers`]): then a page costs O(`limit`).
pub async fn at_risk_customers(
    pool: &PgPool,
    tenant: TenantId,
    scope: &Scope,
    (model, etag): (&EffortModel, Option<&str>),
    min_tier: EffortTier,
    after: Option<&AtRiskKey>,
    limit: i64,
) -> StoreResult<Vec<Assessment>> {
    let Some(etag) = etag else {
        let mut conn = pool.acquire().await?;
        return assessed_at_risk(&mut conn, tenant, scope, model, min_tier, after, limit).await;
    };
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let rows = if assessments::whole_history(&mut tx, tenant, scope, etag).await? {
        assessments::at_risk_page(&mut tx, tenant, min_tier, after, limit).await?
    } else {
        assessed_at_risk(&mut tx, tenant, scope, model, min_tier, after, limit).await?
    };
    tx.commit().await?;
    Ok(rows)
}

/// [`at_risk_customers`] assessed from the records.
async fn assessed_at_risk(
    conn: &mut PgConnection,
    tenant: TenantId,
    scope: &Scope,
    model: &EffortModel,
    min_tier: EffortTier,
    after: Option<&AtRiskKey>,
    limit: i64,
) -> StoreResult<Vec<Assessment>> {
    let mut qb = QueryBuilder::new("");
    push_assessed(&mut qb, tenant, scope, model, Customers::All);
    qb.push("SELECT * FROM assessed WHERE tier >= ")
        .push_bind(min_tier.number());
    const WORST: &str = "coalesce(worst_effort_index, 0::float8)";
    if let Some(k) = after {
        qb.push(" AND (tier < ")
            .push_bind(k.tier)
            .push(" OR (tier = ")
            .push_bind(k.tier)
            .push(format_args!(" AND ({WORST} < "))
            .push_bind(k.worst_effort_index)
            .push(format_args!(" OR ({WORST} = "))
            .push_bind(k.worst_effort_index)
            .push(" AND customer_id COLLATE \"C\" > ")
            .push_bind(k.customer_id.clone())
            .push("))))");
    }
    qb.push(format_args!(
        " ORDER BY tier DESC, {WORST} DESC, customer_id COLLATE \"C\" LIMIT "
    ))
    .push_bind(limit);
    Ok(qb.build_query_as().fetch_all(&mut *conn).await?)
}
