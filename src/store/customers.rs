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
    Ok(ErasureCounts {
        survey_responses_deleted: delete_in_id_order(
            conn,
            tenant,
            "survey_responses",
            "respondent_id",
            customer_id,
        )
        .await?,
        journeys_deleted: delete_in_id_order(conn, tenant, "journeys", "customer_id", customer_id)
            .await?,
        outcomes_deleted: delete_in_id_order(conn, tenant, "outcomes", "customer_id", customer_id)
            .await?,
    })
}

/// Deletes the tenant's rows of `table` whose `column` is `customer_id`,
/// locking them first in id order (bytewise, `COLLATE "C"`, the order in
/// which ingest upserts them): a plain `DELETE` locks in scan order, which
/// can deadlock with a concurrent batch holding some of the same ids.
async fn delete_in_id_order(
    conn: &mut PgConnection,
    tenant: TenantId,
    table: &'static str,
    column: &'static str,
    customer_id: &str,
) -> StoreResult<i64> {
    // `table` and `column` are constants of this module, never input.
    let sql = format!(
        "DELETE FROM {table} WHERE tenant_id = $1 AND id IN (
             SELECT id FROM {table} WHERE tenant_id = $1 AND {column} = $2
             ORDER BY id COLLATE \"C\" FOR UPDATE)"
    );
    let deleted = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(tenant.0)
        .bind(customer_id)
        .execute(&mut *conn)
        .await?;
    Ok(deleted.rows_affected() as i64)
}
