//! `gapscore.v1.ScoringService`: one module per score (`gap`, `effort`,
//! `loyalty`, `scorecard`, `trend`), and the conversions they share.

use tonic::{Request, Response, Status};

use super::{convert, effort, gap, loyalty, scorecard, tenant, trend};
use crate::{
    domain::{Scope, Violations, violations::check_confidence_level},
    proto::v1::{scoring_service_server::ScoringService, *},
    scoring,
    service::Services,
};

/// Implements `ScoringService`.
#[derive(Clone)]
pub struct ScoringServiceImpl {
    pub state: Services,
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

impl From<scoring::Interval> for Interval {
    fn from(i: scoring::Interval) -> Self {
        Interval {
            lower: i.lower,
            upper: i.upper,
        }
    }
}

/// A count as a proto `int64` (saturating; counts never get near).
pub fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The scope and confidence level of a score request, every violation of
/// both reported at once.
pub fn scope_and_confidence(
    filter: Option<&ScoreFilter>,
    confidence: Option<f64>,
) -> Result<(Scope, Option<f64>), Violations> {
    let mut v = Violations::default();
    let scope = convert::scope(&mut v, "filter", filter);
    let confidence = check_confidence(&mut v, confidence);
    v.into_result().map(|()| (scope, confidence))
}

/// A request's optional `confidence_level`, checked against SPEC §5's
/// range (the model's level applies when absent).
pub fn check_confidence(v: &mut Violations, requested: Option<f64>) -> Option<f64> {
    if let Some(c) = requested {
        check_confidence_level(v, "confidence_level", c);
    }
    requested
}
