//! `gapscore.v1.JourneyService`, over [`crate::service::journeys`].

use super::{
    convert,
    ingest::{
        ClientStream, counts_to_proto, page_request, page_size, record_time, required,
        submit_stream,
    },
    routes,
};
use crate::{
    domain::{
        IngestCounts, Numbered, TenantId, Violations,
        violations::{check_id, check_key, check_labels},
    },
    proto::v1::{journey_service_server::JourneyService, *},
    service::{
        ServiceResult, Services,
        journeys::{
            self as service, ScoredJourney, SubmittedJourney, SubmittedTouchpoint,
            touchpoint_message,
        },
    },
    store::journeys::JourneyFilter,
};

/// Implements `JourneyService`.
#[derive(Clone)]
pub struct JourneyServiceImpl {
    pub state: Services,
}

routes! {
    impl JourneyService for JourneyServiceImpl {
        submit_journeys(SubmitJourneysRequest) -> SubmitJourneysResponse = submit;
        stream_journeys(tonic::Streaming<StreamJourneysRequest>) -> StreamJourneysResponse = stream;
        get_journey(GetJourneyRequest) -> GetJourneyResponse = get;
        list_journeys(ListJourneysRequest) -> ListJourneysResponse = list;
    }
}

/// `SubmitJourneys`.
async fn submit(
    services: &Services,
    tenant: TenantId,
    request: SubmitJourneysRequest,
) -> ServiceResult<SubmitJourneysResponse> {
    let counts = submit_batch(services, tenant, request.journeys).await?;
    Ok(SubmitJourneysResponse {
        counts: Some(counts_to_proto(counts)),
    })
}

/// `StreamJourneys`.
async fn stream(
    services: &Services,
    tenant: TenantId,
    messages: ClientStream<StreamJourneysRequest>,
) -> Result<StreamJourneysResponse, tonic::Status> {
    let (counts, messages) = submit_stream(messages, |message| {
        submit_batch(services, tenant, message.journeys)
    })
    .await?;
    Ok(StreamJourneysResponse {
        counts: Some(counts),
        messages,
    })
}

/// One batch of journeys, converted and submitted.
async fn submit_batch(
    services: &Services,
    tenant: TenantId,
    journeys: Vec<Journey>,
) -> ServiceResult<IngestCounts> {
    let batch: Vec<SubmittedJourney> = journeys.into_iter().map(Into::into).collect();
    service::submit(services, tenant, &batch).await
}

/// `GetJourney`.
async fn get(
    services: &Services,
    tenant: TenantId,
    request: GetJourneyRequest,
) -> ServiceResult<GetJourneyResponse> {
    let journey = service::get(services, tenant, &request.id).await?;
    Ok(GetJourneyResponse {
        journey: Some(journey_to_proto(journey)),
    })
}

/// `ListJourneys`.
async fn list(
    services: &Services,
    tenant: TenantId,
    request: ListJourneysRequest,
) -> ServiceResult<ListJourneysResponse> {
    let (filter, size) = list_filter(&request)?;
    let token = request.page_token.clone();
    let query = ListJourneysRequest {
        page_size: 0,
        page_token: String::new(),
        ..request
    };
    let page = page_request(tenant, size, token, &query);
    let page = service::list(services, tenant, &filter, &page).await?;
    Ok(ListJourneysResponse {
        journeys: page.items.into_iter().map(journey_to_proto).collect(),
        next_page_token: page.next_page_token,
    })
}

impl From<Journey> for SubmittedJourney {
    /// The output-only `effort_index` and `effort_tier` are ignored.
    fn from(j: Journey) -> Self {
        SubmittedJourney {
            id: j.id,
            customer_id: j.customer_id,
            intent: j.intent,
            labels: j.labels,
            touchpoints: j
                .touchpoints
                .iter()
                .map(SubmittedTouchpoint::from)
                .collect(),
        }
    }
}

impl From<&Touchpoint> for SubmittedTouchpoint {
    fn from(t: &Touchpoint) -> Self {
        SubmittedTouchpoint {
            channel: required(t.channel, "a known Channel"),
            initiator: required(t.initiator, "a known Initiator"),
            occurred_at: record_time(t.occurred_at.as_ref()),
            duration_seconds: t.duration_seconds,
            wait_seconds: t.wait_seconds,
            outcome: required(t.outcome, "a known TouchpointOutcome"),
            transfers: t.transfers,
            repeated_information: t.repeated_information,
        }
    }
}

/// Converts the scoping fields and the page size of a list request,
/// collecting every violation.
fn list_filter(request: &ListJourneysRequest) -> ServiceResult<(JourneyFilter, i64)> {
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
    let size = page_size(&mut v, request.page_size);
    v.into_result()?;
    let filter = JourneyFilter {
        window,
        labels: filter.labels.clone(),
        intent,
        customer_id,
    };
    Ok((filter, size))
}

fn journey_to_proto(scored: ScoredJourney) -> Journey {
    let j = scored.journey;
    Journey {
        touchpoints: j.touchpoints.iter().map(touchpoint_message).collect(),
        id: j.id,
        customer_id: j.customer_id,
        intent: j.intent,
        labels: j.labels,
        effort_index: scored.effort_index,
        effort_tier: scored.tier.number(),
    }
}
