//! `gapscore.v1.OutcomeService`, over [`crate::service::outcomes`].

use super::{
    convert,
    ingest::{counts_to_proto, optional, page_request, page_size, record_time, required},
    routes,
};
use crate::{
    domain::{Numbered, TenantId, Violations, enums::OutcomeKind, violations::check_id},
    proto::v1::{outcome_service_server::OutcomeService, *},
    service::{
        ServiceResult, Services,
        outcomes::{self as service, SubmittedOutcome},
    },
    store::outcomes as db,
};

/// Implements `OutcomeService`.
#[derive(Clone)]
pub struct OutcomeServiceImpl {
    pub state: Services,
}

routes! {
    impl OutcomeService for OutcomeServiceImpl {
        submit_outcomes(SubmitOutcomesRequest) -> SubmitOutcomesResponse = submit;
        list_outcomes(ListOutcomesRequest) -> ListOutcomesResponse = list;
    }
}

/// `SubmitOutcomes`.
async fn submit(
    services: &Services,
    tenant: TenantId,
    request: SubmitOutcomesRequest,
) -> ServiceResult<SubmitOutcomesResponse> {
    let batch: Vec<SubmittedOutcome> = request.outcomes.into_iter().map(Into::into).collect();
    let counts = service::submit(services, tenant, &batch).await?;
    Ok(SubmitOutcomesResponse {
        counts: Some(counts_to_proto(counts)),
    })
}

/// `ListOutcomes`.
async fn list(
    services: &Services,
    tenant: TenantId,
    request: ListOutcomesRequest,
) -> ServiceResult<ListOutcomesResponse> {
    let (filter, size) = list_filter(&request)?;
    let token = request.page_token.clone();
    let query = ListOutcomesRequest {
        page_size: 0,
        page_token: String::new(),
        ..request
    };
    let page = page_request(tenant, size, token, &query);
    let page = service::list(services, tenant, &filter, &page).await?;
    Ok(ListOutcomesResponse {
        outcomes: page.items.into_iter().map(outcome_to_proto).collect(),
        next_page_token: page.next_page_token,
    })
}

impl From<Outcome> for SubmittedOutcome {
    fn from(o: Outcome) -> Self {
        SubmittedOutcome {
            id: o.id,
            customer_id: o.customer_id,
            kind: required(o.kind, "a known OutcomeKind"),
            occurred: o.occurred,
            observed_at: record_time(o.observed_at.as_ref()),
        }
    }
}

/// Converts the scoping fields and the page size of a list request,
/// collecting every violation.
fn list_filter(request: &ListOutcomesRequest) -> ServiceResult<(db::OutcomeFilter, i64)> {
    let mut v = Violations::default();
    let default_filter = ScoreFilter::default();
    let filter = request.filter.as_ref().unwrap_or(&default_filter);
    let window = convert::window(&mut v, "filter", filter);
    // Outcomes carry no labels, survey or intent: a filter on them would
    // silently match everything, so it is rejected instead.
    if !filter.labels.is_empty() {
        v.add("filter.labels", "does not apply to outcomes");
    }
    if !filter.survey_id.is_empty() {
        v.add("filter.survey_id", "does not apply to outcomes");
    }
    if !filter.intent.is_empty() {
        v.add("filter.intent", "does not apply to outcomes");
    }
    let customer_id = (!request.customer_id.is_empty()).then(|| request.customer_id.clone());
    if let Some(c) = &customer_id {
        check_id(&mut v, "customer_id", c);
    }
    let kind = optional::<OutcomeKind>(request.kind, "a known OutcomeKind").unwrap_or_else(|d| {
        v.add("kind", d);
        None
    });
    let size = page_size(&mut v, request.page_size);
    v.into_result()?;
    let filter = db::OutcomeFilter {
        window,
        customer_id,
        kind: kind.map(OutcomeKind::db),
    };
    Ok((filter, size))
}

fn outcome_to_proto(o: db::Outcome) -> Outcome {
    Outcome {
        id: o.id,
        customer_id: o.customer_id,
        kind: i32::from(o.kind),
        occurred: o.occurred,
        observed_at: Some(convert::utc_to_timestamp(o.observed_at)),
    }
}
