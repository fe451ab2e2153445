//! Right to erasure (SPEC §3.2 `DeleteCustomerData`): every record of one
//! customer, removed in one transaction.

use super::{ServiceResult, Services, write};
use crate::{
    domain::{TenantId, Violations, violations::check_id},
    store::customers::{self, ErasureCounts},
};

/// Erases the survey responses, journeys and outcomes of `customer_id`.
pub async fn delete_customer_data(
    services: &Services,
    tenant: TenantId,
    customer_id: &str,
) -> ServiceResult<ErasureCounts> {
    let mut v = Violations::default();
    check_id(&mut v, "customer_id", customer_id);
    v.into_result()?;
    let erased = write::transaction(services, tenant, async |conn| {
        Ok(customers::delete_customer_data(conn, tenant, customer_id).await?)
    })
    .await?;
    tracing::info!(
        survey_responses = erased.survey_responses_deleted,
        journeys = erased.journeys_deleted,
        outcomes = erased.outcomes_deleted,
        "erased customer data"
    );
    Ok(erased)
}
