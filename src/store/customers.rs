//! Per-customer operations across record kinds.

use sqlx::PgConnection;

use super::StoreResult;
use crate::domain::TenantId;

/// What a right-to-erasure request removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ErasureCounts {
    pub survey_responses_deleted: i64,
    pub journeys_deleted: i64,
    pub outcomes_deleted: i64,
}

/// Erases, inside the caller's transaction, every survey response whose
/// `respondent_id` is the customer (answers cascade), every journey of the
/// customer (touchpoints cascade) and every outcome of the customer.
pub async fn delete_customer_data(
    conn: &mut PgConnection,
    tenant: TenantId,
    customer_id: &str,
) -> StoreResult<ErasureCounts> {
    let responses =
        sqlx::query("DELETE FROM survey_responses WHERE tenant_id = $1 AND respondent_id = $2")
            .bind(tenant.0)
            .bind(customer_id)
            .execute(&mut *conn)
            .await?;
    let journeys = sqlx::query("DELETE FROM journeys WHERE tenant_id = $1 AND customer_id = $2")
        .bind(tenant.0)
        .bind(customer_id)
        .execute(&mut *conn)
        .await?;
    let outcomes = sqlx::query("DELETE FROM outcomes WHERE tenant_id = $1 AND customer_id = $2")
        .bind(tenant.0)
        .bind(customer_id)
        .execute(&mut *conn)
        .await?;
    Ok(ErasureCounts {
        survey_responses_deleted: responses.rows_affected() as i64,
        journeys_deleted: journeys.rows_affected() as i64,
        outcomes_deleted: outcomes.rows_affected() as i64,
    })
}
