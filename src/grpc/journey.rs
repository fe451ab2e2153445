//! `gapscore.v1.JourneyService`.
//!
//! A journey is validated as a whole (every violation with its path), its
//! touchpoints are put in `occurred_at` order, its effort components are
//! computed from the customer-initiated touchpoints (SPEC §6.1) and stored
//! with it. The content hash that makes re-sends `unchanged` is SHA-256 of
//! the normalized journey's protobuf encoding: touchpoints sorted, output-only
//! fields cleared and timestamps truncated to the microseconds PostgreSQL
//! keeps (label maps are `BTreeMap`s, so the encoding is deterministic).

use std::collections::HashMap;

use prost::Message;
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

use super::{
    ApiError, ApiResult, AppState, convert,
    validate::{Violations, check_id, check_key, check_labels, check_timestamp, utc_to_timestamp},
};
use crate::{
    proto::v1::{journey_service_server::JourneyService, *},
    scoring::effort::{self as effort, EffortComponents, EffortModel, TouchpointInput},
    service::page,
    store::{ingest, journeys as db, tenants::TenantId},
};

/// At most this many journeys per request or stream message.
pub const MAX_JOURNEYS: usize = 1000;
/// At most this many touchpoints per journey.
pub const MAX_TOUCHPOINTS: usize = 200;
/// Longest `duration_seconds` / `wait_seconds`: one day.
pub const MAX_SECONDS: i32 = 86_400;
/// Most transfers in one touchpoint.
pub const MAX_TRANSFERS: i32 = 50;
/// How far in the future `occurred_at` may be (clock skew).
const MAX_FUTURE_MINUTES: i64 = 5;

/// Implements `JourneyService`.
#[derive(Clone)]
pub struct JourneyServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl JourneyService for JourneyServiceImpl {
    async fn submit_journeys(
        &self,
        request: Request<SubmitJourneysRequest>,
    ) -> Result<Response<SubmitJourneysResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let journeys =
            check_journeys(&request.get_ref().journeys).map_err(ApiError::InvalidArgument)?;
        let written = db::upsert_journeys(&self.state.pool, tenant, &journeys).await;
        self.state.calibration.wrote(tenant);
        let counts = written.map_err(ApiError::from)?;
        Ok(Response::new(SubmitJourneysResponse {
            counts: Some(counts_to_proto(counts)),
        }))
    }

    async fn stream_journeys(
        &self,
        request: Request<tonic::Streaming<StreamJourneysRequest>>,
    ) -> Result<Response<StreamJourneysResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let mut stream = request.into_inner();
        let mut totals = ingest::IngestCounts::default();
        let mut messages: i64 = 0;
        // One message at a time: validated, committed, dropped.
        while let Some(message) = stream.message().await? {
            let journeys = check_journeys(&message.journeys).map_err(|v| {
                ApiError::InvalidArgument(v.prefixed(&format!("messages[{messages}].")))
            })?;
            drop(message);
            let written = db::upsert_journeys(&self.state.pool, tenant, &journeys).await;
            self.state.calibration.wrote(tenant);
            totals += written.map_err(ApiError::from)?;
            messages += 1;
        }
        Ok(Response::new(StreamJourneysResponse {
            counts: Some(counts_to_proto(totals)),
            messages,
        }))
    }

    async fn get_journey(
        &self,
        request: Request<GetJourneyRequest>,
    ) -> Result<Response<GetJourneyResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let id = &request.get_ref().id;
        let mut v = Violations::default();
        check_id(&mut v, "id", id);
        v.into_result()?;
        let journey = db::get_journey(&self.state.pool, tenant, id)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::NotFound {
                what: "journey",
                id: id.clone(),
            })?;
        let model = effort_model(&self.state.pool, tenant).await?;
        Ok(Response::new(GetJourneyResponse {
            journey: Some(journey_to_proto(journey, &model)),
        }))
    }

    async fn list_journeys(
        &self,
        request: Request<ListJourneysRequest>,
    ) -> Result<Response<ListJourneysResponse>, Status> {
        let tenant = super::tenant(&request)?;
        Ok(Response::new(
            list(&self.state.pool, tenant, request.into_inner()).await?,
        ))
    }
}

async fn list(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    request: ListJourneysRequest,
) -> ApiResult<ListJourneysResponse> {
    let mut v = Violations::default();
    let default_filter = ScoreFilter::default();
    let filter = request.filter.as_ref().unwrap_or(&default_filter);
    let window = convert::window(&mut v, "filter", filter);
    check_labels(&mut v, "filter.labels", filter.labels.iter());
    // `filter.survey_id` applies to survey responses only and is ignored here.
    let intent = (!filter.intent.is_empty()).then(|| filter.intent.clone());
    if let Some(intent) = &intent {
        check_key(&mut v, "filter.intent", intent);
    }
    let customer_id = (!request.customer_id.is_empty()).then(|| request.customer_id.clone());
    if let Some(c) = &customer_id {
        check_id(&mut v, "customer_id", c);
    }
    let limit = page::page_size(request.page_size).unwrap_or_else(|_| {
        v.add("page_size", "must not be negative");
        0
    });
    v.into_result()?;

    let fingerprint = page::fingerprint(
        tenant.0,
        &ListJourneysRequest {
            page_size: 0,
            page_token: String::new(),
            ..request.clone()
        },
    );
    let after = page::decode_time_position(&fingerprint, &request.page_token)?
        .map(|(started_at, id)| db::JourneyCursor { started_at, id });

    let db_filter = db::JourneyFilter {
        window,
        labels: filter.labels.clone(),
        intent,
        customer_id,
    };
    let (journeys, more) =
        db::list_journeys(pool, tenant, &db_filter, after.as_ref(), limit).await?;
    let next_page_token = match (more, journeys.last()) {
        (true, Some(last)) => page::encode(
            &fingerprint,
            &(last.started_at.timestamp_micros(), last.id.clone()),
        ),
        _ => String::new(),
    };
    let model = effort_model(pool, tenant).await?;
    Ok(ListJourneysResponse {
        journeys: journeys
            .into_iter()
            .map(|j| journey_to_proto(j, &model))
            .collect(),
        next_page_token,
    })
}

/// The effort model journeys are scored with: the tenant's model in force
/// now (SPEC §7.5), so Get/List agree with GetEffortIndex.
async fn effort_model(pool: &sqlx::PgPool, tenant: TenantId) -> Result<EffortModel, ApiError> {
    let (model, _) = crate::store::catalog::get_scoring_model(pool, tenant).await?;
    Ok(model.effort_model())
}

fn counts_to_proto(c: ingest::IngestCounts) -> IngestCounts {
    IngestCounts {
        inserted: c.inserted,
        updated: c.updated,
        unchanged: c.unchanged,
    }
}

/// Validates a batch of 1-1,000 journeys, reporting every violation under
/// `journeys[i]`, and converts the valid batch for the store.
pub fn check_journeys(journeys: &[Journey]) -> Result<Vec<db::NewJourney>, Violations> {
    let mut v = Violations::default();
    if journeys.is_empty() {
        v.add("journeys", "at least 1 journey is required");
    } else if journeys.len() > MAX_JOURNEYS {
        v.add(
            "journeys",
            format!("at most {MAX_JOURNEYS} journeys are allowed per message"),
        );
    }
    let mut first_index: HashMap<&str, usize> = HashMap::with_capacity(journeys.len());
    let mut out = Vec::with_capacity(journeys.len());
    for (i, journey) in journeys.iter().enumerate() {
        let path = format!("journeys[{i}]");
        if !journey.id.is_empty() {
            if let Some(first) = first_index.get(journey.id.as_str()) {
                v.add(
                    format!("{path}.id"),
                    format!("duplicates journeys[{first}].id; an id may appear once per message"),
                );
            } else {
                first_index.insert(&journey.id, i);
            }
        }
        if let Some(j) = check_journey(&mut v, &path, journey) {
            out.push(j);
        }
    }
    if v.is_empty() { Ok(out) } else { Err(v) }
}

/// Validates one journey; `Some` when it has no violations.
fn check_journey(v: &mut Violations, path: &str, j: &Journey) -> Option<db::NewJourney> {
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
        .any(|t| t.initiator == Initiator::Customer as i32);
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
    let normalized = Journey {
        id: j.id.clone(),
        customer_id: j.customer_id.clone(),
        intent: j.intent.clone(),
        labels: j.labels.clone(),
        touchpoints: touchpoints.iter().map(touchpoint_to_proto).collect(),
        effort_index: 0.0,
        effort_tier: EffortTier::Unspecified as i32,
    };
    let content_hash = Sha256::digest(normalized.encode_to_vec()).to_vec();
    Some(db::NewJourney {
        id: j.id.clone(),
        customer_id: j.customer_id.clone(),
        intent: j.intent.clone(),
        labels: j.labels.clone(),
        started_at,
        touchpoints,
        components,
        content_hash,
    })
}

/// Validates one touchpoint; `Some` (stored form, scoring form) when it has
/// no violations.
fn check_touchpoint(
    v: &mut Violations,
    path: &str,
    t: &Touchpoint,
) -> Option<(db::Touchpoint, TouchpointInput)> {
    let before = v.len();
    let channel = match Channel::try_from(t.channel) {
        Ok(Channel::Unspecified) => {
            v.add(format!("{path}.channel"), "is required");
            None
        }
        Ok(c) => Some(scoring_channel(c)),
        Err(_) => {
            v.add(
                format!("{path}.channel"),
                format!("{} is not a known Channel", t.channel),
            );
            None
        }
    };
    let initiator = Initiator::try_from(t.initiator);
    match initiator {
        Ok(Initiator::Unspecified) => v.add(format!("{path}.initiator"), "is required"),
        Ok(_) => {}
        Err(_) => v.add(
            format!("{path}.initiator"),
            format!("{} is not a known Initiator", t.initiator),
        ),
    }
    let occurred_at = check_timestamp(
        v,
        &format!("{path}.occurred_at"),
        t.occurred_at.as_ref(),
        Some(chrono::Duration::minutes(MAX_FUTURE_MINUTES)),
    );
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
    let outcome = match TouchpointOutcome::try_from(t.outcome) {
        Ok(TouchpointOutcome::Unspecified) if initiator == Ok(Initiator::Customer) => {
            v.add(
                format!("{path}.outcome"),
                "is required for customer-initiated touchpoints",
            );
            None
        }
        Ok(o) => Some(scoring_outcome(o)),
        Err(_) => {
            v.add(
                format!("{path}.outcome"),
                format!("{} is not a known TouchpointOutcome", t.outcome),
            );
            None
        }
    };
    if v.len() != before {
        return None;
    }
    let stored = db::Touchpoint {
        channel: t.channel as i16,
        initiator: t.initiator as i16,
        // PostgreSQL keeps microseconds; the hash is of what is stored.
        occurred_at: truncate_to_micros(occurred_at?),
        duration_seconds: t.duration_seconds,
        wait_seconds: t.wait_seconds,
        outcome: t.outcome as i16,
        transfers: t.transfers,
        repeated_information: t.repeated_information,
    };
    let input = TouchpointInput {
        channel: channel?,
        initiator_customer: initiator == Ok(Initiator::Customer),
        outcome: outcome?,
        // Validated non-negative above.
        duration_seconds: t.duration_seconds.unsigned_abs(),
        wait_seconds: t.wait_seconds.unsigned_abs(),
        transfers: t.transfers.unsigned_abs(),
        repeated_information: t.repeated_information,
    };
    Some((stored, input))
}

fn truncate_to_micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// The scoring spelling of a channel. `Unspecified` is rejected by
/// validation before this is called; it maps to WEB only to stay total.
fn scoring_channel(channel: Channel) -> effort::Channel {
    match channel {
        Channel::Web | Channel::Unspecified => effort::Channel::Web,
        Channel::MobileApp => effort::Channel::MobileApp,
        Channel::Ivr => effort::Channel::Ivr,
        Channel::Chatbot => effort::Channel::Chatbot,
        Channel::Phone => effort::Channel::Phone,
        Channel::LiveChat => effort::Channel::LiveChat,
        Channel::Email => effort::Channel::Email,
        Channel::Social => effort::Channel::Social,
        Channel::InPerson => effort::Channel::InPerson,
    }
}

/// The scoring spelling of a touchpoint outcome.
fn scoring_outcome(outcome: TouchpointOutcome) -> effort::TouchpointOutcome {
    match outcome {
        TouchpointOutcome::Unspecified => effort::TouchpointOutcome::Unspecified,
        TouchpointOutcome::Resolved => effort::TouchpointOutcome::Resolved,
        TouchpointOutcome::Unresolved => effort::TouchpointOutcome::Unresolved,
        TouchpointOutcome::Abandoned => effort::TouchpointOutcome::Abandoned,
    }
}

fn touchpoint_to_proto(t: &db::Touchpoint) -> Touchpoint {
    Touchpoint {
        channel: i32::from(t.channel),
        initiator: i32::from(t.initiator),
        occurred_at: Some(utc_to_timestamp(t.occurred_at)),
        duration_seconds: t.duration_seconds,
        wait_seconds: t.wait_seconds,
        outcome: i32::from(t.outcome),
        transfers: t.transfers,
        repeated_information: t.repeated_information,
    }
}

/// The proto spelling of a scoring tier.
pub fn tier_to_proto(tier: effort::EffortTier) -> EffortTier {
    match tier {
        effort::EffortTier::Low => EffortTier::Low,
        effort::EffortTier::Medium => EffortTier::Medium,
        effort::EffortTier::High => EffortTier::High,
    }
}

fn journey_to_proto(j: db::Journey, model: &EffortModel) -> Journey {
    let breakdown = effort::effort_breakdown(&j.components, model);
    Journey {
        touchpoints: j.touchpoints.iter().map(touchpoint_to_proto).collect(),
        id: j.id,
        customer_id: j.customer_id,
        intent: j.intent,
        labels: j.labels,
        effort_index: breakdown.effort_index,
        effort_tier: tier_to_proto(breakdown.tier) as i32,
    }
}
