//! Journeys and their touchpoints.
//!
//! Effort components (SPEC §6.1, weights not applied) are computed by the
//! caller when a journey is written and stored in the journey row, so scoring
//! never re-reads touchpoints. A batch is written inside the caller's
//! transaction with a constant number of statements (array binds through
//! `UNNEST`), whatever its size. The statements that insert and delete
//! touchpoints append their channel-rollup deltas themselves
//! (`store::effort_rollup`), so the rollup costs no extra round trip.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder, types::Json};

use super::{StoreResult, effort_rollup, rollup::Sign};
use crate::domain::IngestCounts;
use crate::domain::TenantId;
use crate::scoring::effort::EffortComponents;

/// One touchpoint as stored. Enum fields hold the `gapscore.v1` enum numbers
/// (`Channel`, `Initiator`, `TouchpointOutcome`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Touchpoint {
    pub channel: i16,
    pub initiator: i16,
    pub occurred_at: DateTime<Utc>,
    pub duration_seconds: i32,
    pub wait_seconds: i32,
    pub outcome: i16,
    pub transfers: i32,
    pub repeated_information: bool,
}

/// A validated journey ready to be written: the journey as it will be
/// stored (and read back), and the hash that makes a re-send `unchanged`.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJourney {
    pub journey: Journey,
    /// SHA-256 of the normalized record: an identical re-send is `unchanged`.
    pub content_hash: Vec<u8>,
}

/// A journey with its touchpoints in stored order.
#[derive(Debug, Clone, PartialEq)]
pub struct Journey {
    pub id: String,
    pub customer_id: String,
    pub intent: String,
    pub labels: BTreeMap<String, String>,
    /// The first touchpoint's `occurred_at`.
    pub started_at: DateTime<Utc>,
    /// In `occurred_at` order (ties in request order); stored with `seq` 0, 1, ...
    pub touchpoints: Vec<Touchpoint>,
    /// Computed from `touchpoints` at write time.
    pub components: EffortComponents,
}

/// Which journeys a list returns. `None` / empty means "no restriction".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JourneyFilter {
    /// The window on `started_at`.
    pub window: crate::domain::Window,
    /// Every label must match exactly.
    pub labels: BTreeMap<String, String>,
    pub intent: Option<String>,
    pub customer_id: Option<String>,
}

/// Inserts new journeys, replaces changed ones (row and touchpoints) and
/// leaves identical ones alone, inside the caller's transaction, locking
/// rows in id order. Ids must be unique within `journeys` (the caller
/// validates this).
pub async fn upsert_journeys(
    conn: &mut PgConnection,
    tenant: TenantId,
    journeys: &[NewJourney],
) -> StoreResult<IngestCounts> {
    if journeys.is_empty() {
        return Ok(IngestCounts::default());
    }
    // One lock order (by id, bytewise, as every write path and erasure
    // take them) keeps two overlapping concurrent batches from deadlocking
    // on each other's rows, whatever order their requests listed them in.
    let mut journeys: Vec<&NewJourney> = journeys.iter().collect();
    journeys.sort_unstable_by(|a, b| a.journey.id.cmp(&b.journey.id));
    let n = journeys.len();
    let mut ids = Vec::with_capacity(n);
    let mut customer_ids = Vec::with_capacity(n);
    let mut intents = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    let mut started_at = Vec::with_capacity(n);
    let mut hashes = Vec::with_capacity(n);
    let mut customer_touchpoints = Vec::with_capacity(n);
    let mut channel_switches = Vec::with_capacity(n);
    let mut failed_self_service = Vec::with_capacity(n);
    let mut transfers = Vec::with_capacity(n);
    let mut repeated_information = Vec::with_capacity(n);
    let mut customer_seconds = Vec::with_capacity(n);
    let mut resolved = Vec::with_capacity(n);
    let mut first_customer_resolved = Vec::with_capacity(n);
    let mut has_assisted = Vec::with_capacity(n);
    let mut first_assisted_resolved = Vec::with_capacity(n);
    let mut distinct_channels = Vec::with_capacity(n);
    for new in &journeys {
        let (j, c) = (&new.journey, &new.journey.components);
        ids.push(j.id.as_str());
        customer_ids.push(j.customer_id.as_str());
        intents.push(j.intent.as_str());
        labels.push(Json(&j.labels));
        started_at.push(j.started_at);
        hashes.push(new.content_hash.as_slice());
        customer_touchpoints.push(c.customer_touchpoints);
        channel_switches.push(c.channel_switches);
        failed_self_service.push(c.failed_self_service);
        transfers.push(c.transfers);
        repeated_information.push(c.repeated_information);
        customer_seconds.push(c.customer_seconds);
        resolved.push(c.resolved);
        first_customer_resolved.push(c.first_customer_resolved);
        has_assisted.push(c.has_assisted);
        first_assisted_resolved.push(c.first_assisted_resolved);
        distinct_channels.push(c.distinct_channels);
    }

    // Unchanged rows (same content hash) are not updated and not returned.
    // `revision = 1` tells a freshly inserted row from an updated one: a
    // row is inserted with revision 1 and every update adds one (also when
    // a concurrent transaction inserted the id first and this one updates
    // it). Not `xmax = 0`: partitioned and distributed tables do not
    // answer system columns (migration 0020).
    let written: Vec<(String, i64, bool)> = sqlx::query_as(
        "INSERT INTO journeys (tenant_id, id, customer_id, intent, labels, started_at, content_hash,
             customer_touchpoints, channel_switches, failed_self_service, transfers,
             repeated_information, customer_seconds, resolved, first_customer_resolved,
             has_assisted, first_assisted_resolved, distinct_channels)
         SELECT $1, * FROM UNNEST($2::text[], $3::text[], $4::text[], $5::jsonb[],
             $6::timestamptz[], $7::bytea[], $8::int[], $9::int[], $10::int[], $11::int[],
             $12::int[], $13::bigint[], $14::bool[], $15::bool[], $16::bool[], $17::bool[],
             $18::int[])
         ON CONFLICT (tenant_id, id) DO UPDATE SET
             customer_id = EXCLUDED.customer_id,
             intent = EXCLUDED.intent,
             labels = EXCLUDED.labels,
             started_at = EXCLUDED.started_at,
             content_hash = EXCLUDED.content_hash,
             customer_touchpoints = EXCLUDED.customer_touchpoints,
             channel_switches = EXCLUDED.channel_switches,
             failed_self_service = EXCLUDED.failed_self_service,
             transfers = EXCLUDED.transfers,
             repeated_information = EXCLUDED.repeated_information,
             customer_seconds = EXCLUDED.customer_seconds,
             resolved = EXCLUDED.resolved,
             first_customer_resolved = EXCLUDED.first_customer_resolved,
             has_assisted = EXCLUDED.has_assisted,
             first_assisted_resolved = EXCLUDED.first_assisted_resolved,
             distinct_channels = EXCLUDED.distinct_channels,
             revision = journeys.revision + 1
         WHERE journeys.content_hash <> EXCLUDED.content_hash
         RETURNING id, jid, revision = 1 AS inserted",
    )
    .bind(tenant.0)
    .bind(&ids)
    .bind(&customer_ids)
    .bind(&intents)
    .bind(&labels)
    .bind(&started_at)
    .bind(&hashes)
    .bind(&customer_touchpoints)
    .bind(&channel_switches)
    .bind(&failed_self_service)
    .bind(&transfers)
    .bind(&repeated_information)
    .bind(&customer_seconds)
    .bind(&resolved)
    .bind(&first_customer_resolved)
    .bind(&has_assisted)
    .bind(&first_assisted_resolved)
    .bind(&distinct_channels)
    .fetch_all(&mut *conn)
    .await?;

    let mut counts = IngestCounts::default();
    let mut updated_jids = Vec::new();
    let mut jid_of: HashMap<&str, i64> = HashMap::with_capacity(written.len());
    for (id, jid, inserted) in &written {
        if *inserted {
            counts.inserted += 1;
        } else {
            counts.updated += 1;
            updated_jids.push(*jid);
        }
        jid_of.insert(id.as_str(), *jid);
    }
    counts.unchanged = n as i64 - counts.inserted - counts.updated;

    if !updated_jids.is_empty() {
        // The replaced touchpoints leave the channel rollup in the same
        // statement (they carry the day they counted in).
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH gone AS (
                 DELETE FROM touchpoints WHERE tenant_id = $1 AND jid = ANY($2)
                 RETURNING {}
             ) {}",
            effort_rollup::TOUCHPOINT_KEY,
            effort_rollup::deltas_of("gone", Sign::Removed)
        )))
        .bind(tenant.0)
        .bind(&updated_jids)
        .execute(&mut *conn)
        .await?;
    }

    let mut tp = TouchpointColumns::default();
    for NewJourney { journey: j, .. } in journeys {
        if let Some(&jid) = jid_of.get(j.id.as_str()) {
            tp.extend(jid, j.started_at, &j.touchpoints);
        }
    }
    if !tp.jid.is_empty() {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH added AS (
                 INSERT INTO touchpoints (tenant_id, jid, seq, channel, initiator, occurred_at,
                     duration_seconds, wait_seconds, outcome, transfers, repeated_information,
                     journey_started_at)
                 SELECT $1, * FROM UNNEST($2::bigint[], $3::smallint[], $4::smallint[],
                     $5::smallint[], $6::timestamptz[], $7::int[], $8::int[], $9::smallint[],
                     $10::int[], $11::bool[], $12::timestamptz[])
                 RETURNING {}
             ) {}",
            effort_rollup::TOUCHPOINT_KEY,
            effort_rollup::deltas_of("added", Sign::Added)
        )))
        .bind(tenant.0)
        .bind(&tp.jid)
        .bind(&tp.seq)
        .bind(&tp.channel)
        .bind(&tp.initiator)
        .bind(&tp.occurred_at)
        .bind(&tp.duration_seconds)
        .bind(&tp.wait_seconds)
        .bind(&tp.outcome)
        .bind(&tp.transfers)
        .bind(&tp.repeated_information)
        .bind(&tp.journey_started_at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(counts)
}

/// Touchpoints of many journeys as parallel column arrays for `UNNEST`.
#[derive(Default)]
struct TouchpointColumns {
    jid: Vec<i64>,
    seq: Vec<i16>,
    channel: Vec<i16>,
    initiator: Vec<i16>,
    occurred_at: Vec<DateTime<Utc>>,
    duration_seconds: Vec<i32>,
    wait_seconds: Vec<i32>,
    outcome: Vec<i16>,
    transfers: Vec<i32>,
    repeated_information: Vec<bool>,
    journey_started_at: Vec<DateTime<Utc>>,
}

impl TouchpointColumns {
    fn extend(&mut self, jid: i64, started_at: DateTime<Utc>, touchpoints: &[Touchpoint]) {
        for (seq, t) in touchpoints.iter().enumerate() {
            self.journey_started_at.push(started_at);
            self.jid.push(jid);
            // Ingest allows at most 200 touchpoints per journey.
            self.seq.push(i16::try_from(seq).unwrap_or(i16::MAX));
            self.channel.push(t.channel);
            self.initiator.push(t.initiator);
            self.occurred_at.push(t.occurred_at);
            self.duration_seconds.push(t.duration_seconds);
            self.wait_seconds.push(t.wait_seconds);
            self.outcome.push(t.outcome);
            self.transfers.push(t.transfers);
            self.repeated_information.push(t.repeated_information);
        }
    }
}

#[derive(sqlx::FromRow)]
struct JourneyRow {
    jid: i64,
    id: String,
    customer_id: String,
    intent: String,
    labels: Json<BTreeMap<String, String>>,
    started_at: DateTime<Utc>,
    #[sqlx(flatten)]
    components: ComponentsRow,
}

/// The effort-component columns of a journey row.
#[derive(sqlx::FromRow)]
struct ComponentsRow {
    customer_touchpoints: i32,
    channel_switches: i32,
    failed_self_service: i32,
    transfers: i32,
    repeated_information: i32,
    customer_seconds: i64,
    resolved: bool,
    first_customer_resolved: bool,
    has_assisted: bool,
    first_assisted_resolved: bool,
    distinct_channels: i32,
}

const JOURNEY_COLUMNS: &str = "jid, id, customer_id, intent, labels, started_at, ";

const COMPONENT_COLUMNS: &str = "customer_touchpoints, channel_switches, failed_self_service,
    transfers, repeated_information, customer_seconds, resolved, first_customer_resolved,
    has_assisted, first_assisted_resolved, distinct_channels";

/// `SELECT` of `columns` from the tenant's journeys, ready for more
/// conditions (`AND ...`).
fn select_journeys(columns: &[&str], tenant: TenantId) -> QueryBuilder<Postgres> {
    let mut query = QueryBuilder::<Postgres>::new("SELECT ");
    query
        .push(columns.concat())
        .push(" FROM journeys WHERE tenant_id = ")
        .push_bind(tenant.0);
    query
}

impl JourneyRow {
    fn into_journey(self, touchpoints: Vec<Touchpoint>) -> Journey {
        Journey {
            id: self.id,
            customer_id: self.customer_id,
            intent: self.intent,
            labels: self.labels.0,
            started_at: self.started_at,
            touchpoints,
            components: self.components.into(),
        }
    }
}

impl From<ComponentsRow> for EffortComponents {
    fn from(r: ComponentsRow) -> Self {
        EffortComponents {
            customer_touchpoints: r.customer_touchpoints,
            distinct_channels: r.distinct_channels,
            channel_switches: r.channel_switches,
            failed_self_service: r.failed_self_service,
            transfers: r.transfers,
            repeated_information: r.repeated_information,
            customer_seconds: r.customer_seconds,
            resolved: r.resolved,
            first_customer_resolved: r.first_customer_resolved,
            has_assisted: r.has_assisted,
            first_assisted_resolved: r.first_assisted_resolved,
        }
    }
}

#[derive(sqlx::FromRow)]
struct TouchpointRow {
    jid: i64,
    channel: i16,
    initiator: i16,
    occurred_at: DateTime<Utc>,
    duration_seconds: i32,
    wait_seconds: i32,
    outcome: i16,
    transfers: i32,
    repeated_information: bool,
}

impl From<TouchpointRow> for Touchpoint {
    fn from(r: TouchpointRow) -> Self {
        Touchpoint {
            channel: r.channel,
            initiator: r.initiator,
            occurred_at: r.occurred_at,
            duration_seconds: r.duration_seconds,
            wait_seconds: r.wait_seconds,
            outcome: r.outcome,
            transfers: r.transfers,
            repeated_information: r.repeated_information,
        }
    }
}

/// Touchpoints of the given journeys, grouped by journey, in stored order.
async fn touchpoints_of(
    pool: &PgPool,
    tenant: TenantId,
    jids: &[i64],
) -> StoreResult<HashMap<i64, Vec<Touchpoint>>> {
    let rows: Vec<TouchpointRow> = sqlx::query_as(
        "SELECT jid, channel, initiator, occurred_at, duration_seconds, wait_seconds, outcome,
             transfers, repeated_information
         FROM touchpoints WHERE tenant_id = $1 AND jid = ANY($2) ORDER BY jid, seq",
    )
    .bind(tenant.0)
    .bind(jids)
    .fetch_all(pool)
    .await?;
    let mut by_jid: HashMap<i64, Vec<Touchpoint>> = HashMap::with_capacity(jids.len());
    for row in rows {
        by_jid.entry(row.jid).or_default().push(row.into());
    }
    Ok(by_jid)
}

/// One journey by id, or `None`.
pub async fn get_journey(
    pool: &PgPool,
    tenant: TenantId,
    id: &str,
) -> StoreResult<Option<Journey>> {
    let mut query = select_journeys(&[JOURNEY_COLUMNS, COMPONENT_COLUMNS], tenant);
    query.push(" AND id = ").push_bind(id);
    let Some(row) = query
        .build_query_as::<JourneyRow>()
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let mut touchpoints = touchpoints_of(pool, tenant, &[row.jid]).await?;
    let tps = touchpoints.remove(&row.jid).unwrap_or_default();
    Ok(Some(row.into_journey(tps)))
}

/// Up to `limit` journeys after `after` in `(started_at, id)` order.
pub async fn list_journeys(
    pool: &PgPool,
    tenant: TenantId,
    filter: &JourneyFilter,
    after: Option<(DateTime<Utc>, &str)>,
    limit: i64,
) -> StoreResult<Vec<Journey>> {
    let mut query = select_journeys(&[JOURNEY_COLUMNS, COMPONENT_COLUMNS], tenant);
    super::scope::push_window(&mut query, "started_at", &filter.window);
    if !filter.labels.is_empty() {
        query
            .push(" AND labels @> ")
            .push_bind(Json(filter.labels.clone()));
    }
    if let Some(intent) = &filter.intent {
        query.push(" AND intent = ").push_bind(intent.clone());
    }
    if let Some(customer_id) = &filter.customer_id {
        query
            .push(" AND customer_id = ")
            .push_bind(customer_id.clone());
    }
    super::scope::push_after(&mut query, ("started_at", "id"), after);
    query
        .push(" ORDER BY started_at, id LIMIT ")
        .push_bind(limit);
    let rows: Vec<JourneyRow> = query.build_query_as().fetch_all(pool).await?;
    let jids: Vec<i64> = rows.iter().map(|r| r.jid).collect();
    let mut touchpoints = touchpoints_of(pool, tenant, &jids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let tps = touchpoints.remove(&row.jid).unwrap_or_default();
            row.into_journey(tps)
        })
        .collect())
}

/// The stored effort components of one journey, or `None`.
pub async fn journey_components(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: &str,
) -> StoreResult<Option<EffortComponents>> {
    let mut query = select_journeys(&[COMPONENT_COLUMNS], tenant);
    query.push(" AND id = ").push_bind(id);
    let row: Option<ComponentsRow> = query.build_query_as().fetch_optional(conn).await?;
    Ok(row.map(Into::into))
}
