//! `gapscore.v1.OutcomeService`.
use super::{ApiError, AppState};
use crate::proto::v1::{outcome_service_server::OutcomeService, *};
use tonic::{Request, Response, Status};

/// Implements `OutcomeService`.
#[derive(Clone)]
pub struct OutcomeServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl OutcomeService for OutcomeServiceImpl {
    async fn submit_outcomes(
        &self,
        _request: Request<SubmitOutcomesRequest>,
    ) -> Result<Response<SubmitOutcomesResponse>, Status> {
        Err(ApiError::Unimplemented("OutcomeService.SubmitOutcomes").into())
    }

    async fn list_outcomes(
        &self,
        _request: Request<ListOutcomesRequest>,
    ) -> Result<Response<ListOutcomesResponse>, Status> {
        Err(ApiError::Unimplemented("OutcomeService.ListOutcomes").into())
    }
}
