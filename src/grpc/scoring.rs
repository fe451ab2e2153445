//! `gapscore.v1.ScoringService`: thin adapters to one module per score.

use tonic::{Request, Response, Status};

use super::{AppState, effort, gap, loyalty, scorecard, tenant, trend};
use crate::proto::v1::{scoring_service_server::ScoringService, *};

/// Implements `ScoringService`.
#[derive(Clone)]
pub struct ScoringServiceImpl {
    pub state: AppState,
}

#[tonic::async_trait]
impl ScoringService for ScoringServiceImpl {
    async fn get_perception_gap(
        &self,
        request: Request<GetPerceptionGapRequest>,
    ) -> Result<Response<GetPerceptionGapResponse>, Status> {
        let t = tenant(&request)?;
        Ok(Response::new(
            gap::perception_gap(&self.state, t, request.into_inner()).await?,
        ))
    }

    async fn get_effort_index(
        &self,
        request: Request<GetEffortIndexRequest>,
    ) -> Result<Response<GetEffortIndexResponse>, Status> {
        let t = tenant(&request)?;
        Ok(Response::new(
            effort::effort_index(&self.state, t, request.into_inner()).await?,
        ))
    }

    async fn get_loyalty_risk(
        &self,
        request: Request<GetLoyaltyRiskRequest>,
    ) -> Result<Response<GetLoyaltyRiskResponse>, Status> {
        let t = tenant(&request)?;
        Ok(Response::new(
            loyalty::loyalty_risk(&self.state, t, request.into_inner()).await?,
        ))
    }

    async fn get_scorecard(
        &self,
        request: Request<GetScorecardRequest>,
    ) -> Result<Response<GetScorecardResponse>, Status> {
        let t = tenant(&request)?;
        Ok(Response::new(
            scorecard::scorecard(&self.state, t, request.into_inner()).await?,
        ))
    }

    async fn get_trend(
        &self,
        request: Request<GetTrendRequest>,
    ) -> Result<Response<GetTrendResponse>, Status> {
        let t = tenant(&request)?;
        Ok(Response::new(
            trend::trend(&self.state, t, request.into_inner()).await?,
        ))
    }
}
