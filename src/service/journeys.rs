//! Journeys: ingest of a batch, get and list with their effort scores.
//!
//! A journey is validated as a whole (every violation with its path), its
//! touchpoints are put in `occurred_at` order, its effort components are
//! computed from the customer-initiated touchpoints (SPEC §6.1) and stored
//! with it. The content hash that makes re-sends `unchanged` is SHA-256 of
//! the normalized journey's protobuf encoding: touchpoints sorted, output-only
//! fields cleared and timestamps truncated to the microseconds PostgreSQL
//! keeps (label maps are `BTreeMap`s, so the encoding is deterministic).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use prost::Message;
use sha2::{Digest, Sha256};

use super::{
    ServiceError, ServiceResult, Services,
    page::{self, Page, PageRequest},
    tiers,
    write::{self, Converted, FirstIndex, converted},
};
use crate::{
    domain::{
        IngestCounts, Numbered, TenantId, Violations,
        enums::{Channel, EffortTier, Initiator, TouchpointOutcome},
        scope::truncate_to_micros,
        violations::{check_id, check_key, check_labels},
    },
    proto::v1 as proto,
    scoring::effort::{EffortComponents, EffortModel, TouchpointInput, effort_breakdown},
    store::journeys as db,
};

/// At most this many journeys per request or stream message.
pub const MAX_JOURNEYS: usize = 1000;
/// At most this many touchpoints per journey.
pub const MAX_TOUCHPOINTS: usize = 200;
/// Longest `duration_seconds` / `wait_seconds`: one day.
pub const MAX_SECONDS: i32 = 86_400;
/// Most transfers in one touchpoint.
pub const MAX_TRANSFERS: i32 = 50;

/// A journey as a client submitted it, wire values converted.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedJourney {
    pub id: String,
    pub customer_id: String,
    pub intent: String,
    pub labels: BTreeMap<String, String>,
    pub touchpoints: Vec<SubmittedTouchpoint>,
}

/// One touchpoint as submitted.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedTouchpoint {
    pub channel: Converted<Channel>,
    pub initiator: Converted<Initiator>,
    pub occurred_at: Converted<DateTime<Utc>>,
    pub duration_seconds: i32,
    pub wait_seconds: i32,
    /// `Unspecified` is a value: a company-initiated touchpoint may have no
    /// outcome.
    pub outcome: Converted<TouchpointOutcome>,
    pub transfers: i32,
    pub repeated_information: bool,
}

/// A stored journey with its effort under the tenant's model in force now.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredJourney {
    pub journey: db::Journey,
    pub effort_index: f64,
    pub tier: EffortTier,
}

/// Validates a batch and upserts it in one transaction. Violation paths
/// start at `journeys`.
pub async fn submit(
    services: &Services,
    tenant: TenantId,
    batch: &[SubmittedJourney],
) -> ServiceResult<IngestCounts> {
    let journeys = check_journeys(batch)?;
    let customers: Vec<&str> = batch.iter().map(|j| j.customer_id.as_str()).collect();
    let written: Vec<(&str, &str)> = journeys
        .iter()
        .map(|j| (j.journey.id.as_str(), j.journey.customer_id.as_str()))
        .collect();
    write::ingest(services, tenant, "journey", &customers, async |conn| {
        // The current tiers of the batch's customers, and the events of
        // their raises, in the batch's transaction (SPEC §12.1).
        let pending = tiers::before_write(conn, tenant, tiers::Written::Journeys(&written)).await?;
        let counts = db::upsert_journeys(conn, tenant, &journeys).await?;
        pending.after_write(conn, tenant).await?;
        Ok(counts)
    })
    .await
}

/// One journey by id, scored.
pub async fn get(services: &Services, tenant: TenantId, id: &str) -> ServiceResult<ScoredJourney> {
    let mut v = Violations::default();
    check_id(&mut v, "id", id);
    v.into_result()?;
    let journey = read!(services, tenant, 1, |pool| Ok(db::get_journey(
        pool, tenant, id
    )
    .await?))?
    .ok_or_else(|| ServiceError::NotFound {
        what: "journey",
        id: id.to_owned(),
    })?;
    let model = effort_model(services, tenant).await?;
    Ok(scored(journey, &model))
}

/// One page of the journeys `filter` selects, in (started_at, id) order,
/// scored.
pub async fn list(
    services: &Services,
    tenant: TenantId,
    filter: &db::JourneyFilter,
    page: &PageRequest,
) -> ServiceResult<Page<ScoredJourney>> {
    let after = page.after_time_position()?;
    let rows = read!(services, tenant, 1, |pool| {
        Ok(db::list_journeys(
            pool,
            tenant,
            filter,
            after.as_ref().map(|(t, id)| (*t, id.as_str())),
            page.fetch_limit(),
        )
        .await?)
    })?;
    let journeys = page.page(rows, |j| page::time_position(j.started_at, &j.id));
    let model = effort_model(services, tenant).await?;
    Ok(journeys.map(|j| scored(j, &model)))
}

/// The effort model journeys are scored with: the tenant's model in force
/// now (SPEC §7.5), so Get/List agree with GetEffortIndex.
async fn effort_model(services: &Services, tenant: TenantId) -> ServiceResult<EffortModel> {
    let (model, _) =
        crate::store::catalog::get_scoring_model(&*services.db(tenant, 1).await?, tenant).await?;
    Ok(model.effort_model())
}

fn scored(journey: db::Journey, model: &EffortModel) -> ScoredJourney {
    let breakdown = effort_breakdown(&journey.components, model);
    ScoredJourney {
        journey,
        effort_index: breakdown.effort_index,
        tier: breakdown.tier,
    }
}

/// Validates a batch of 1-1,000 journeys, reporting every violation under
/// `journeys[i]`, and converts the valid batch for the store. (Also used by
/// the benchmark's COPY loader.)
pub fn check_journeys(journeys: &[SubmittedJourney]) -> Result<Vec<db::NewJourney>, Violations> {
    let mut v = Violations::default();
    let names = ("journeys", "journey", "message");
    write::check_batch_size(&mut v, names, journeys.len(), MAX_JOURNEYS);
    let mut ids = FirstIndex::with_capacity(journeys.len());
    let mut out = Vec::with_capacity(journeys.len());
    for (i, journey) in journeys.iter().enumerate() {
        let path = format!("journeys[{i}]");
        if let Some(first) = ids.earlier(&journey.id, i) {
            v.add(
                format!("{path}.id"),
                format!("duplicates journeys[{first}].id; an id may appear once per message"),
            );
        }
        if let Some(j) = check_journey(&mut v, &path, journey) {
            out.push(j);
        }
    }
    v.into_result()?;
    Ok(out)
}

/// Validates one journey; `Some` when it has no violations.
fn check_journey(v: &mut Violations, path: &str, j: &SubmittedJourney) -> Option<db::NewJourney> {
    let before = v.len();
    check_id(v, &format!("{path}.id"), &j.id);
    check_id(v, &format!("{path}.customer_id"), &j.customer_id);
    check_key(v, &format!("{path}.intent"), &j.intent);
    check_labels(v, &format!("{path}.labels"), j.labels.iter());

    let tps_path = format!("{path}.touchpoints");
    if j.touchpoints.is_empty() {
        v.add(&tps_path, "at least 1 touchpoint is required");
    } else if j.touchpoints.len() > MAX_TOUCHPOINTS {
        v.add(
            &tps_path,
            format!("at most {MAX_TOUCHPOINTS} touchpoints are allowed per journey"),
        );
    }
    let mut checked = Vec::with_capacity(j.touchpoints.len());
    for (k, t) in j.touchpoints.iter().enumerate() {
        if let Some(t) = check_touchpoint(v, &format!("{tps_path}[{k}]"), t) {
            checked.push(t);
        }
    }
    let any_customer = j
        .touchpoints
        .iter()
        .any(|t| t.initiator == Ok(Initiator::Customer));
    if !j.touchpoints.is_empty() && !any_customer {
        v.add(
            &tps_path,
            "at least one touchpoint must be customer-initiated (INITIATOR_CUSTOMER)",
        );
    }
    if v.len() != before {
        return None;
    }
    // A stable sort keeps request order among equal timestamps.
    checked.sort_by_key(|(t, _)| t.occurred_at);
    let (touchpoints, inputs): (Vec<db::Touchpoint>, Vec<TouchpointInput>) =
        checked.into_iter().unzip();
    let components = EffortComponents::from_touchpoints(&inputs);
    let started_at = touchpoints.first()?.occurred_at;
    let content_hash = content_hash(j, &touchpoints);
    Some(db::NewJourney {
        journey: db::Journey {
            id: j.id.clone(),
            customer_id: j.customer_id.clone(),
            intent: j.intent.clone(),
            labels: j.labels.clone(),
            started_at,
            touchpoints,
            components,
        },
        content_hash,
    })
}

/// Validates one touchpoint; `Some` (stored form, scoring form) when it has
/// no violations.
fn check_touchpoint(
    v: &mut Violations,
    path: &str,
    t: &SubmittedTouchpoint,
) -> Option<(db::Touchpoint, TouchpointInput)> {
    let before = v.len();
    let channel = converted(v, format!("{path}.channel"), &t.channel);
    let initiator = converted(v, format!("{path}.initiator"), &t.initiator);
    let occurred_at = converted(v, format!("{path}.occurred_at"), &t.occurred_at);
    for (field, value) in [
        ("duration_seconds", t.duration_seconds),
        ("wait_seconds", t.wait_seconds),
    ] {
        if !(0..=MAX_SECONDS).contains(&value) {
            v.add(
                format!("{path}.{field}"),
                format!("must be between 0 and 86,400 seconds, got {value}"),
            );
        }
    }
    if !(0..=MAX_TRANSFERS).contains(&t.transfers) {
        v.add(
            format!("{path}.transfers"),
            format!("must be between 0 and {MAX_TRANSFERS}, got {}", t.transfers),
        );
    }
    let initiator_customer = initiator == Some(Initiator::Customer);
    let outcome = match converted(v, format!("{path}.outcome"), &t.outcome) {
        Some(TouchpointOutcome::Unspecified) if initiator_customer => {
            v.add(
                format!("{path}.outcome"),
                "is required for customer-initiated touchpoints",
            );
            None
        }
        outcome => outcome,
    };
    if v.len() != before {
        return None;
    }
    let stored = db::Touchpoint {
        channel: channel?.db(),
        initiator: initiator?.db(),
        // PostgreSQL keeps microseconds; the hash is of what is stored.
        occurred_at: truncate_to_micros(occurred_at?),
        duration_seconds: t.duration_seconds,
        wait_seconds: t.wait_seconds,
        outcome: outcome?.db(),
        transfers: t.transfers,
        repeated_information: t.repeated_information,
    };
    let input = TouchpointInput {
        channel: channel?,
        initiator_customer,
        outcome: outcome?,
        // Validated non-negative above.
        duration_seconds: t.duration_seconds.unsigned_abs(),
        wait_seconds: t.wait_seconds.unsigned_abs(),
        transfers: t.transfers.unsigned_abs(),
        repeated_information: t.repeated_information,
    };
    Some((stored, input))
}

/// SHA-256 of the normalized journey's `gapscore.v1` encoding, with the
/// output-only effort fields cleared.
fn content_hash(j: &SubmittedJourney, touchpoints: &[db::Touchpoint]) -> Vec<u8> {
    let normalized = proto::Journey {
        id: j.id.clone(),
        customer_id: j.customer_id.clone(),
        intent: j.intent.clone(),
        labels: j.labels.clone(),
        touchpoints: touchpoints.iter().map(touchpoint_message).collect(),
        effort_index: 0.0,
        effort_tier: proto::EffortTier::Unspecified as i32,
    };
    Sha256::digest(normalized.encode_to_vec()).to_vec()
}

/// A stored touchpoint as its `gapscore.v1` message: what the content hash
/// is of, and what the transport returns, so the two cannot drift.
pub fn touchpoint_message(t: &db::Touchpoint) -> proto::Touchpoint {
    proto::Touchpoint {
        channel: i32::from(t.channel),
        initiator: i32::from(t.initiator),
        occurred_at: Some(prost_types::Timestamp {
            seconds: t.occurred_at.timestamp(),
            nanos: t.occurred_at.timestamp_subsec_nanos() as i32,
        }),
        duration_seconds: t.duration_seconds,
        wait_seconds: t.wait_seconds,
        outcome: i32::from(t.outcome),
        transfers: t.transfers,
        repeated_information: t.repeated_information,
    }
}
