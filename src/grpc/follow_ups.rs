//! `CustomerService.RecordFollowUps` and `ScoringService.GetFollowUpEffect`
//! (SPEC §12.2).
use tonic::Status;

use crate::{
    domain::TenantId,
    proto::v1::{
        GetFollowUpEffectRequest, GetFollowUpEffectResponse, RecordFollowUpsRequest,
        RecordFollowUpsResponse,
    },
    service::Services,
};

/// `RecordFollowUps`.
pub async fn record(
    _services: &Services,
    _tenant: TenantId,
    _request: RecordFollowUpsRequest,
) -> Result<RecordFollowUpsResponse, Status> {
    Err(Status::unimplemented("RecordFollowUps is not built yet"))
}

/// `GetFollowUpEffect`.
pub async fn effect(
    _services: &Services,
    _tenant: TenantId,
    _request: GetFollowUpEffectRequest,
) -> Result<GetFollowUpEffectResponse, Status> {
    Err(Status::unimplemented("GetFollowUpEffect is not built yet"))
}
