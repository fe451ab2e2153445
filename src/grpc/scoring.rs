//! `gapscore.v1.ScoringService`: one module per score (`gap`, `effort`,
//! `loyalty`, `scorecard`, `trend`), and the conversions they share.

use super::{
    change, competition, convert, drivers, effort, expectation, gap, loyalty, priority, routes,
    scorecard, trend,
};
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

routes! {
    impl ScoringService for ScoringServiceImpl {
        get_perception_gap(GetPerceptionGapRequest) -> GetPerceptionGapResponse = gap::perception_gap;
        get_effort_index(GetEffortIndexRequest) -> GetEffortIndexResponse = effort::effort_index;
        get_loyalty_risk(GetLoyaltyRiskRequest) -> GetLoyaltyRiskResponse = loyalty::loyalty_risk;
        get_scorecard(GetScorecardRequest) -> GetScorecardResponse = scorecard::scorecard;
        get_trend(GetTrendRequest) -> GetTrendResponse = trend::trend;
        get_change(GetChangeRequest) -> GetChangeResponse = change::change;
        get_expectation_gap(GetExpectationGapRequest) -> GetExpectationGapResponse = expectation::expectation_gap;
        get_competitive_gap(GetCompetitiveGapRequest) -> GetCompetitiveGapResponse = competition::competitive_gap;
        get_priority_map(GetPriorityMapRequest) -> GetPriorityMapResponse = priority::priority_map;
        get_key_drivers(GetKeyDriversRequest) -> GetKeyDriversResponse = drivers::key_drivers;
        get_follow_up_effect(GetFollowUpEffectRequest) -> GetFollowUpEffectResponse = super::follow_ups::effect;
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
