//! `gapscore.v1.ScoringService`.
use super::{ApiError, AppState};
use crate::proto::v1::{scoring_service_server::ScoringService, *};
use tonic::{Request, Response, Status};

/// Implements `ScoringService`.
#[derive(Clone)]
pub struct ScoringServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl ScoringService for ScoringServiceImpl {
    async fn get_perception_gap(
        &self,
        _request: Request<GetPerceptionGapRequest>,
    ) -> Result<Response<GetPerceptionGapResponse>, Status> {
        Err(ApiError::Unimplemented("ScoringService.GetPerceptionGap").into())
    }

    async fn get_effort_index(
        &self,
        _request: Request<GetEffortIndexRequest>,
    ) -> Result<Response<GetEffortIndexResponse>, Status> {
        Err(ApiError::Unimplemented("ScoringService.GetEffortIndex").into())
    }

    async fn get_loyalty_risk(
        &self,
        _request: Request<GetLoyaltyRiskRequest>,
    ) -> Result<Response<GetLoyaltyRiskResponse>, Status> {
        Err(ApiError::Unimplemented("ScoringService.GetLoyaltyRisk").into())
    }

    async fn get_scorecard(
        &self,
        _request: Request<GetScorecardRequest>,
    ) -> Result<Response<GetScorecardResponse>, Status> {
        Err(ApiError::Unimplemented("ScoringService.GetScorecard").into())
    }

    async fn get_trend(
        &self,
        _request: Request<GetTrendRequest>,
    ) -> Result<Response<GetTrendResponse>, Status> {
        Err(ApiError::Unimplemented("ScoringService.GetTrend").into())
    }
}
