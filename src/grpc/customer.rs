//! `gapscore.v1.CustomerService`.
use super::AppState;
use crate::{
    proto::v1::{customer_service_server::CustomerService, *},
    service::erasure,
};
use tonic::{Request, Response, Status};

/// Implements `CustomerService`.
#[derive(Clone)]
pub struct CustomerServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl CustomerService for CustomerServiceImpl {
    async fn get_customer_risk(
        &self,
        request: Request<GetCustomerRiskRequest>,
    ) -> Result<Response<GetCustomerRiskResponse>, Status> {
        let t = super::tenant(&request)?;
        Ok(Response::new(
            super::loyalty::customer_risk(&self.state, t, request.into_inner()).await?,
        ))
    }

    async fn list_at_risk_customers(
        &self,
        request: Request<ListAtRiskCustomersRequest>,
    ) -> Result<Response<ListAtRiskCustomersResponse>, Status> {
        let t = super::tenant(&request)?;
        Ok(Response::new(
            super::loyalty::at_risk_customers(&self.state, t, request.into_inner()).await?,
        ))
    }

    async fn delete_customer_data(
        &self,
        request: Request<DeleteCustomerDataRequest>,
    ) -> Result<Response<DeleteCustomerDataResponse>, Status> {
        let tenant = super::tenant(&request)?;
        let customer_id = &request.get_ref().customer_id;
        let erased = erasure::delete_customer_data(&self.state, tenant, customer_id).await?;
        Ok(Response::new(DeleteCustomerDataResponse {
            survey_responses_deleted: erased.survey_responses_deleted,
            journeys_deleted: erased.journeys_deleted,
            outcomes_deleted: erased.outcomes_deleted,
        }))
    }
}
