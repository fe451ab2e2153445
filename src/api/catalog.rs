//! `gapscore.v1.CatalogService`.
use super::{ApiError, AppState};
use crate::proto::v1::{catalog_service_server::CatalogService, *};
use tonic::{Request, Response, Status};

/// Implements `CatalogService`.
#[derive(Clone)]
pub struct CatalogServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl CatalogService for CatalogServiceImpl {
    async fn list_questions(
        &self,
        _request: Request<ListQuestionsRequest>,
    ) -> Result<Response<ListQuestionsResponse>, Status> {
        Err(ApiError::Unimplemented("CatalogService.ListQuestions").into())
    }

    async fn upsert_question(
        &self,
        _request: Request<UpsertQuestionRequest>,
    ) -> Result<Response<UpsertQuestionResponse>, Status> {
        Err(ApiError::Unimplemented("CatalogService.UpsertQuestion").into())
    }

    async fn get_scoring_model(
        &self,
        _request: Request<GetScoringModelRequest>,
    ) -> Result<Response<GetScoringModelResponse>, Status> {
        Err(ApiError::Unimplemented("CatalogService.GetScoringModel").into())
    }

    async fn update_scoring_model(
        &self,
        _request: Request<UpdateScoringModelRequest>,
    ) -> Result<Response<UpdateScoringModelResponse>, Status> {
        Err(ApiError::Unimplemented("CatalogService.UpdateScoringModel").into())
    }
}
