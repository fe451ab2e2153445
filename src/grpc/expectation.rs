//! `GetExpectationGap` (SPEC §16.2) over gRPC. PLACEHOLDER until its helper lands it.

use crate::{
    domain::TenantId,
    proto::v1::*,
    service::{ServiceError, ServiceResult, Services},
};

/// `GetExpectationGap`.
pub async fn expectation_gap(
    _services: &Services,
    _tenant: TenantId,
    _request: GetExpectationGapRequest,
) -> ServiceResult<GetExpectationGapResponse> {
    Err(ServiceError::FailedPrecondition {
        reason: "NOT_BUILT",
        message: "not built yet".into(),
    })
}
