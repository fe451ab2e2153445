//! `gapscore.v1.JourneyService`, over [`crate::service::journeys`].

use tonic::{Request, Response, Status};

use super::{
    convert,
    ingest::{BatchStream, counts_to_proto, page_request, page_size, record_time, required},
};
use crate::{
    domain::{
        Numbered, Violations,
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

#[tonic::async_trait]
impl JourneyService for JourneyServiceImpl {
    async fn submit_journeys(
        &self,
        request: Request<SubmitJourneysRequest>,
    ) -> Result<Response<SubmitJourneysResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let batch = submitted(request.into_inner().journeys);
        let counts = service::submit(&self.state, tenant, &batch).await?;
        Ok(Response::new(SubmitJourneysResponse {
            counts: Some(counts_to_proto(counts)),
        }))
    }

    async fn stream_journeys(
        &self,
        request: Request<tonic::Streaming<StreamJourneysRequest>>,
    ) -> Result<Response<StreamJourneysResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let mut stream = BatchStream::new(request.into_inner());
        while let Some(message) = stream.next().await? {
            let batch = submitted(message.journeys);
            stream.add(service::submit(&self.state, tenant, &batch).await)?;
        }
        let (counts, messages) = stream.finish();
        Ok(Response::new(StreamJourneysResponse {
            counts: Some(counts),
            messages,
        }))
    }

    async fn get_journey(
        &self,
        request: Request<GetJourneyRequest>,
    ) -> Result<Response<GetJourneyResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let journey = service::get(&self.state, tenant, &request.get_ref().id).await?;
        Ok(Response::new(GetJourneyResponse {
            journey: Some(journey_to_proto(journey)),
        }))
    }

    async fn list_journeys(
        &self,
        request: Request<ListJourneysRequest>,
    ) -> Result<Response<ListJourneysResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let request = request.into_inner();
        let (filter, size) = list_filter(&request)?;
        let token = request.page_token.clone();
        let query = ListJourneysRequest {
            page_size: 0,
            page_token: String::new(),
            ..request
        };
        let page = page_request(tenant, size, token, &query);
        let page = service::list(&self.state, tenant, &filter, &page).await?;
        Ok(Response::new(ListJourneysResponse {
            journeys: page.items.into_iter().map(journey_to_proto).collect(),
            next_page_token: page.next_page_token,
        }))
    }
}

fn submitted(journeys: Vec<Journey>) -> Vec<SubmittedJourney> {
    journeys.into_iter().map(SubmittedJourney::from).collect()
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
