//! `gapscore.v1.CustomerService`: a customer's risk and the customers at
//! risk (`service::risk`), and the erasure of a customer's data
//! (`service::erasure`).
use super::{convert, routes, scoring::check_confidence};
use crate::{
    domain::{Numbered, TenantId, Violations, enums::EffortTier, violations::check_id},
    proto::v1::{customer_service_server::CustomerService, *},
    service::{
        ServiceResult, Services, erasure,
        page::fingerprint,
        risk::{self, AtRiskQuery, CustomerQuery},
    },
};

/// Implements `CustomerService`.
#[derive(Clone)]
pub struct CustomerServiceImpl {
    pub state: Services,
}

routes! {
    impl CustomerService for CustomerServiceImpl {
        get_customer_risk(GetCustomerRiskRequest) -> GetCustomerRiskResponse = customer_risk;
        list_at_risk_customers(ListAtRiskCustomersRequest) -> ListAtRiskCustomersResponse = at_risk_customers;
        delete_customer_data(DeleteCustomerDataRequest) -> DeleteCustomerDataResponse = erase;
        record_follow_ups(RecordFollowUpsRequest) -> RecordFollowUpsResponse = super::follow_ups::record;
    }

    type WatchAtRiskCustomersStream = super::events::WatchStream;

    async fn watch_at_risk_customers(
        &self,
        request: tonic::Request<WatchAtRiskCustomersRequest>,
    ) -> Result<tonic::Response<Self::WatchAtRiskCustomersStream>, tonic::Status> {
        super::events::watch(&self.state, request).await
    }
}

/// `DeleteCustomerData`.
async fn erase(
    services: &Services,
    tenant: TenantId,
    request: DeleteCustomerDataRequest,
) -> ServiceResult<DeleteCustomerDataResponse> {
    let erased = erasure::delete_customer_data(services, tenant, &request.customer_id).await?;
    Ok(DeleteCustomerDataResponse {
        survey_responses_deleted: erased.survey_responses_deleted,
        journeys_deleted: erased.journeys_deleted,
        outcomes_deleted: erased.outcomes_deleted,
    })
}

/// `GetCustomerRisk`.
async fn customer_risk(
    services: &Services,
    tenant: TenantId,
    request: GetCustomerRiskRequest,
) -> ServiceResult<GetCustomerRiskResponse> {
    let mut v = Violations::default();
    check_id(&mut v, "customer_id", &request.customer_id);
    let query = CustomerQuery {
        scope: convert::scope(&mut v, "filter", request.filter.as_ref()),
        confidence: check_confidence(&mut v, request.confidence_level),
        customer_id: request.customer_id,
    };
    v.into_result()?;
    let r = risk::customer_risk(services, tenant, &query).await?;
    let a = &r.data.assessment;
    Ok(GetCustomerRiskResponse {
        customer_id: a.customer_id.clone(),
        tier: a.tier,
        tier_source: a.tier_source,
        latest_ease: a.latest_ease,
        journeys: r
            .data
            .journeys
            .iter()
            .map(|j| CustomerJourney {
                journey_id: j.id.clone(),
                intent: j.intent.clone(),
                effort_index: j.effort_index,
                effort_tier: j.tier,
            })
            .collect(),
        reasons: r.reasons,
        outcomes: r
            .outcomes
            .iter()
            .map(|(kind, p)| CustomerOutcome {
                kind: kind.number(),
                posterior_mean: p.mean,
                posterior_ci: Some(p.interval.into()),
            })
            .collect(),
        worst_journey_id: a.worst_journey_id.clone().unwrap_or_default(),
        worst_effort_index: a.worst_effort_index.unwrap_or(0.0),
        journeys_in_scope: r.data.journeys_in_scope,
    })
}

/// `ListAtRiskCustomers`.
async fn at_risk_customers(
    services: &Services,
    tenant: TenantId,
    request: ListAtRiskCustomersRequest,
) -> ServiceResult<ListAtRiskCustomersResponse> {
    let mut v = Violations::default();
    // Unspecified means the default, HIGH.
    let min_tier = match request.min_tier {
        0 => Some(EffortTier::High),
        n => EffortTier::from_number(n),
    };
    if min_tier.is_none() {
        v.add(
            "min_tier",
            "must be EFFORT_TIER_LOW, EFFORT_TIER_MEDIUM or EFFORT_TIER_HIGH",
        );
    }
    let scope = convert::scope(&mut v, "filter", request.filter.as_ref());
    v.into_result()?;
    let min_tier = min_tier.expect("checked");
    // The token is bound to the tenant and the query as sent, not the page
    // size (the format of tokens already handed out).
    let fingerprint = fingerprint(
        tenant.0,
        &ListAtRiskCustomersRequest {
            filter: request.filter.clone(),
            min_tier: min_tier.number(),
            page_size: 0,
            page_token: String::new(),
        },
    );
    let page = risk::at_risk_customers(
        services,
        tenant,
        &AtRiskQuery {
            scope,
            min_tier,
            page_size: request.page_size,
            page_token: request.page_token,
            fingerprint,
        },
    )
    .await?;
    Ok(ListAtRiskCustomersResponse {
        customers: page
            .customers
            .into_iter()
            .zip(page.holdout)
            .map(|(a, holdout)| AtRiskCustomer {
                worst_effort_index: a.worst_effort_index.unwrap_or(0.0),
                worst_journey_id: a.worst_journey_id.unwrap_or_default(),
                customer_id: a.customer_id,
                tier: a.tier,
                tier_source: a.tier_source,
                latest_ease: a.latest_ease,
                holdout,
            })
            .collect(),
        next_page_token: page.next_page_token,
    })
}
