//! `gapscore.v1.JourneyService`.
use super::{ApiError, AppState};
use crate::proto::v1::{journey_service_server::JourneyService, *};
use tonic::{Request, Response, Status};

/// Implements `JourneyService`.
#[derive(Clone)]
pub struct JourneyServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl JourneyService for JourneyServiceImpl {
    async fn submit_journeys(
        &self,
        _request: Request<SubmitJourneysRequest>,
    ) -> Result<Response<SubmitJourneysResponse>, Status> {
        Err(ApiError::Unimplemented("JourneyService.SubmitJourneys").into())
    }

    async fn stream_journeys(
        &self,
        _request: Request<tonic::Streaming<StreamJourneysRequest>>,
    ) -> Result<Response<StreamJourneysResponse>, Status> {
        Err(ApiError::Unimplemented("JourneyService.StreamJourneys").into())
    }

    async fn get_journey(
        &self,
        _request: Request<GetJourneyRequest>,
    ) -> Result<Response<GetJourneyResponse>, Status> {
        Err(ApiError::Unimplemented("JourneyService.GetJourney").into())
    }

    async fn list_journeys(
        &self,
        _request: Request<ListJourneysRequest>,
    ) -> Result<Response<ListJourneysResponse>, Status> {
        Err(ApiError::Unimplemented("JourneyService.ListJourneys").into())
    }
}
