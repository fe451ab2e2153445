//! `GetTrend` (SPEC §8).

use super::{ApiError, ApiResult, AppState};
use crate::{proto::v1::*, store::tenants::TenantId};

/// Computes a trend.
pub async fn trend(
    _state: &AppState,
    _tenant: TenantId,
    _request: GetTrendRequest,
) -> ApiResult<GetTrendResponse> {
    Err(ApiError::Unimplemented("ScoringService.GetTrend"))
}
