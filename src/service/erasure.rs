//! Right to erasure (SPEC §3.2 `DeleteCustomerData`): every record of one
//! customer, removed in one transaction, with what was derived from them:
//! the current tier, the whole-history assessment, the at-risk events
//! (their webhook deliveries cascade) and the raises to HIGH (SPEC §12).

use super::{ServiceResult, Services, write};
use crate::{
    domain::{TenantId, Violations, violations::check_id},
    store::{
        customers::{self, ErasureCounts},
        tiers,
    },
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
        // The records first: that takes the customer's erasure fence, so no
        // write of theirs is in flight when the events go.
        let erased = customers::delete_customer_data(conn, tenant, customer_id).await?;
        // Then the tier lock (after the record locks, as every holder takes
        // it): a recompute batch that assessed the customer before the
        // deletes has committed, and one after them finds no record.
        tiers::lock_customers(conn, tenant, &[customer_id.to_owned()]).await?;
        tiers::erase_customer(conn, tenant, customer_id).await?;
        Ok(erased)
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
