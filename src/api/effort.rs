//! `GetEffortIndex` (SPEC §6).

use super::{ApiError, ApiResult, AppState};
use crate::{proto::v1::*, store::tenants::TenantId};

/// Computes the effort report.
pub async fn effort_index(
    _state: &AppState,
    _tenant: TenantId,
    _request: GetEffortIndexRequest,
) -> ApiResult<GetEffortIndexResponse> {
    Err(ApiError::Unimplemented("ScoringService.GetEffortIndex"))
}
