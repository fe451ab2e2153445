//! `GetLoyaltyRisk`, `GetCustomerRisk` and `ListAtRiskCustomers` (SPEC §7).

use super::{ApiError, ApiResult, AppState};
use crate::{proto::v1::*, store::tenants::TenantId};

/// Computes the loyalty-risk report.
pub async fn loyalty_risk(
    _state: &AppState,
    _tenant: TenantId,
    _request: GetLoyaltyRiskRequest,
) -> ApiResult<GetLoyaltyRiskResponse> {
    Err(ApiError::Unimplemented("ScoringService.GetLoyaltyRisk"))
}

/// One customer's risk.
pub async fn customer_risk(
    _state: &AppState,
    _tenant: TenantId,
    _request: GetCustomerRiskRequest,
) -> ApiResult<GetCustomerRiskResponse> {
    Err(ApiError::Unimplemented("CustomerService.GetCustomerRisk"))
}

/// Customers at or above a tier, worst first.
pub async fn at_risk_customers(
    _state: &AppState,
    _tenant: TenantId,
    _request: ListAtRiskCustomersRequest,
) -> ApiResult<ListAtRiskCustomersResponse> {
    Err(ApiError::Unimplemented(
        "CustomerService.ListAtRiskCustomers",
    ))
}
