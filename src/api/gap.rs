//! `GetPerceptionGap` (SPEC §5).

use super::{ApiError, ApiResult, AppState};
use crate::{proto::v1::*, store::tenants::TenantId};

/// Computes the perception-gap report.
pub async fn perception_gap(
    _state: &AppState,
    _tenant: TenantId,
    _request: GetPerceptionGapRequest,
) -> ApiResult<GetPerceptionGapResponse> {
    Err(ApiError::Unimplemented("ScoringService.GetPerceptionGap"))
}
