//! `GetCompetitiveGap` (SPEC §16.3) over gRPC. PLACEHOLDER until its helper lands it.

use crate::{
    domain::TenantId,
    proto::v1::*,
    service::{ServiceError, ServiceResult, Services},
};

/// `GetCompetitiveGap`.
pub async fn competitive_gap(
    _services: &Services,
    _tenant: TenantId,
    _request: GetCompetitiveGapRequest,
) -> ServiceResult<GetCompetitiveGapResponse> {
    Err(ServiceError::FailedPrecondition {
        reason: "NOT_BUILT",
        message: "not built yet".into(),
    })
}
