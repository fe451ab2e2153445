//! `GetScorecard` (SPEC §8).

use super::{ApiError, ApiResult, AppState};
use crate::{proto::v1::*, store::tenants::TenantId};

/// Computes the scorecard.
pub async fn scorecard(
    _state: &AppState,
    _tenant: TenantId,
    _request: GetScorecardRequest,
) -> ApiResult<GetScorecardResponse> {
    Err(ApiError::Unimplemented("ScoringService.GetScorecard"))
}
