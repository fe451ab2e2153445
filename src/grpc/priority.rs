//! `GetPriorityMap` (SPEC §16.4) over gRPC. PLACEHOLDER until its helper lands it.

use crate::{
    domain::TenantId,
    proto::v1::*,
    service::{ServiceError, ServiceResult, Services},
};

/// `GetPriorityMap`.
pub async fn priority_map(
    _services: &Services,
    _tenant: TenantId,
    _request: GetPriorityMapRequest,
) -> ServiceResult<GetPriorityMapResponse> {
    Err(ServiceError::FailedPrecondition {
        reason: "NOT_BUILT",
        message: "not built yet".into(),
    })
}
