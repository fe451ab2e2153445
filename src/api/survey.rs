//! `gapscore.v1.SurveyService`.
use super::{ApiError, AppState};
use crate::proto::v1::{survey_service_server::SurveyService, *};
use tonic::{Request, Response, Status};

/// Implements `SurveyService`.
#[derive(Clone)]
pub struct SurveyServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl SurveyService for SurveyServiceImpl {
    async fn submit_survey_responses(
        &self,
        _request: Request<SubmitSurveyResponsesRequest>,
    ) -> Result<Response<SubmitSurveyResponsesResponse>, Status> {
        Err(ApiError::Unimplemented("SurveyService.SubmitSurveyResponses").into())
    }

    async fn stream_survey_responses(
        &self,
        _request: Request<tonic::Streaming<StreamSurveyResponsesRequest>>,
    ) -> Result<Response<StreamSurveyResponsesResponse>, Status> {
        Err(ApiError::Unimplemented("SurveyService.StreamSurveyResponses").into())
    }

    async fn get_survey_response(
        &self,
        _request: Request<GetSurveyResponseRequest>,
    ) -> Result<Response<GetSurveyResponseResponse>, Status> {
        Err(ApiError::Unimplemented("SurveyService.GetSurveyResponse").into())
    }

    async fn list_survey_responses(
        &self,
        _request: Request<ListSurveyResponsesRequest>,
    ) -> Result<Response<ListSurveyResponsesResponse>, Status> {
        Err(ApiError::Unimplemented("SurveyService.ListSurveyResponses").into())
    }
}
