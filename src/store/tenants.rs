//! Tenants and API keys.
//!
//! A key looks like `gsk_<key_id>_<secret>`. Only SHA-256(key) is stored; the
//! key id finds the row and the hashes are compared in constant time, so
//! timing reveals nothing about a stored hash.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;

use super::{StoreResult, catalog};

use crate::domain::TenantId;

/// A tenant as listed by the operator CLI.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Tenant {
    pub tenant_id: i64,
    pub name: String,
}

/// A key's metadata; the secret itself is never stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyInfo {
    pub key_id: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A newly created key: `secret` is shown once and then forgotten.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub key_id: String,
    pub secret: String,
}

fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn generate_key() -> NewApiKey {
    let mut rng = rand::rng();
    let mut id = [0u8; 6];
    let mut secret = [0u8; 24];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let key_id = hex::encode(id);
    let secret = format!("gsk_{key_id}_{}", hex::encode(secret));
    NewApiKey { key_id, secret }
}

/// Splits `gsk_<id>_<secret>` into its id, or `None` if the shape is wrong.
fn key_id_of(key: &str) -> Option<&str> {
    let rest = key.strip_prefix("gsk_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 12 && !secret.is_empty()).then_some(id)
}

/// Creates a tenant with the built-in questions, the default scoring model
/// and a first API key, in one transaction.
pub async fn create_tenant(pool: &PgPool, name: &str) -> StoreResult<(Tenant, NewApiKey)> {
    let mut tx = pool.begin().await?;
    let tenant: Tenant =
        sqlx::query_as("INSERT INTO tenants (name) VALUES ($1) RETURNING tenant_id, name")
            .bind(name)
            .fetch_one(&mut *tx)
            .await?;
    catalog::seed_tenant(&mut tx, TenantId(tenant.tenant_id)).await?;
    let key = insert_key(&mut tx, tenant.tenant_id).await?;
    tx.commit().await?;
    Ok((tenant, key))
}

async fn insert_key(conn: &mut sqlx::PgConnection, tenant_id: i64) -> StoreResult<NewApiKey> {
    let key = generate_key();
    sqlx::query("INSERT INTO api_keys (tenant_id, key_id, key_hash) VALUES ($1, $2, $3)")
        .bind(tenant_id)
        .bind(&key.key_id)
        .bind(hash_key(&key.secret).as_slice())
        .execute(conn)
        .await?;
    Ok(key)
}

/// Finds a tenant by name.
pub async fn find_tenant(pool: &PgPool, name: &str) -> StoreResult<Option<Tenant>> {
    Ok(
        sqlx::query_as("SELECT tenant_id, name FROM tenants WHERE name = $1")
            .bind(name)
            .fetch_optional(pool)
            .await?,
    )
}

/// Creates another key for a tenant.
pub async fn create_key(pool: &PgPool, tenant: TenantId) -> StoreResult<NewApiKey> {
    let mut conn = pool.acquire().await?;
    insert_key(&mut conn, tenant.0).await
}

/// Lists a tenant's keys, newest first.
pub async fn list_keys(pool: &PgPool, tenant: TenantId) -> StoreResult<Vec<ApiKeyInfo>> {
    Ok(sqlx::query_as(
        "SELECT key_id, created_at, revoked_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, key_id",
    )
    .bind(tenant.0)
    .fetch_all(pool)
    .await?)
}

/// Revokes a key; it stops working for the next call. Returns false for an
/// unknown or already revoked key.
pub async fn revoke_key(pool: &PgPool, key_id: &str) -> StoreResult<bool> {
    let done = sqlx::query(
        "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL",
    )
    .bind(key_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes a key-share lock on the tenant row for the rest of the caller's
/// transaction: the first statement of every write transaction of the
/// service (`service::write::transaction`, the tier recompute) and of the
/// rollup's fold. A tenant clear or delete takes the row `FOR UPDATE`
/// before anything else, so it waits for the writes in flight and the
/// writes that start later wait for it: no rollup delta is committed
/// between the clear's delete of the records and its delete of the
/// rollup. The delta logs once had this from their foreign key to
/// `tenants`, checked per row; migration 0027 dropped those keys for
/// ingest's sake and this one statement per transaction replaces them.
/// Everyone takes the tenant row first, so the lock orders no deadlock.
pub async fn hold(conn: &mut sqlx::PgConnection, tenant: TenantId) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM tenants WHERE tenant_id = $1 FOR KEY SHARE")
        .bind(tenant.0)
        .execute(conn)
        .await?;
    Ok(())
}

/// Resolves a presented key to its tenant. Unknown, malformed and revoked keys
/// all give `None`, so callers cannot tell them apart.
pub async fn authenticate(pool: &PgPool, key: &str) -> StoreResult<Option<TenantId>> {
    let Some(key_id) = key_id_of(key) else {
        return Ok(None);
    };
    let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT tenant_id, key_hash FROM api_keys WHERE key_id = $1 AND revoked_at IS NULL",
    )
    .bind(key_id)
    .fetch_optional(pool)
    .await?;
    let presented = hash_key(key);
    Ok(row.and_then(|(tenant_id, stored)| {
        bool::from(stored.as_slice().ct_eq(presented.as_slice())).then_some(TenantId(tenant_id))
    }))
}

/// Tables a clear keeps: who may call, where events go, and the event
/// sequence (so a resume token from before the clear never reads as a
/// position after it). Everything else with a `tenant_id` is the tenant's
/// data or derived from it.
const KEPT_BY_CLEAR: [&str; 3] = ["api_keys", "event_counters", "webhooks"];

/// Empties a tenant: every table with a `tenant_id` column (as
/// [`delete_tenant`] finds them, so a table a later migration adds is
/// emptied too) except [`KEPT_BY_CLEAR`]; the catalog goes back to the
/// built-in questions and the scoring model to its default. Used by `demo`
/// to refresh its tenant.
///
/// Derived state goes with the records it was derived from (the rollup,
/// current tiers, events and their deliveries, follow-ups): a tier left
/// behind would make the next write compare against a customer who no
/// longer exists. The rollup is emptied in the same transaction as the
/// answers: every transaction that appends rollup deltas holds a key-share
/// lock on the tenant row from its first statement ([`hold`]), which the
/// `FOR UPDATE` of that row here, taken first, waits for and then keeps
/// out until this one commits. No delta can thus be committed between the
/// answers' delete and the rollup's, and the cleared tenant's rollup is
/// exactly empty.
pub async fn clear_tenant_data(pool: &PgPool, tenant: TenantId) -> StoreResult<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT 1 FROM tenants WHERE tenant_id = $1 FOR UPDATE")
        .bind(tenant.0)
        .execute(&mut *tx)
        .await?;
    for table in tenant_tables(&mut tx).await? {
        if KEPT_BY_CLEAR.contains(&table.as_str()) {
            continue;
        }
        // Table names come from the catalog, quoted by `quote_ident`.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1"
        )))
        .bind(tenant.0)
        .execute(&mut *tx)
        .await?;
    }
    catalog::seed_tenant(&mut tx, tenant).await?;
    tx.commit().await?;
    Ok(())
}

/// What `gapscore tenant delete` removed: rows per table, in table-name
/// order, tables without rows of the tenant left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRemoval {
    pub tenant: Tenant,
    pub rows: Vec<(String, i64)>,
}

/// Removes a tenant entirely (SPEC §14): every row of every table that has
/// a `tenant_id` column, its keys included, in one transaction; `None`
/// when there is no such tenant.
///
/// The tables are found in `information_schema`, so a table a later
/// migration adds is counted and emptied without editing this function.
/// The tenant row is locked first (`FOR UPDATE`): every write in flight
/// holds a key-share lock on it ([`hold`]), so the removal waits for it,
/// and a write that starts later waits for the removal and then finds no
/// tenant row (its inserts fail their foreign-key check). The counts are
/// taken under that lock. Deleting the tenant row cascades to every table
/// that references it; the tables holding `tenant_id` without such a
/// foreign key (the delta logs, migration 0027) are emptied explicitly
/// after the cascade.
pub async fn delete_tenant(pool: &PgPool, name: &str) -> StoreResult<Option<TenantRemoval>> {
    let mut tx = pool.begin().await?;
    let Some(tenant) = sqlx::query_as::<_, Tenant>(
        "SELECT tenant_id, name FROM tenants WHERE name = $1 FOR UPDATE",
    )
    .bind(name)
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let tables = tenant_tables(&mut tx).await?;
    let mut rows = Vec::new();
    for table in &tables {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = $1"
        )))
        .bind(tenant.tenant_id)
        .fetch_one(&mut *tx)
        .await?;
        if n > 0 {
            rows.push((table.clone(), n));
        }
    }
    sqlx::query("DELETE FROM tenants WHERE tenant_id = $1")
        .bind(tenant.tenant_id)
        .execute(&mut *tx)
        .await?;
    for table in &tables {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1"
        )))
        .bind(tenant.tenant_id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    rows.push(("tenants".to_owned(), 1));
    rows.sort();
    Ok(Some(TenantRemoval { tenant, rows }))
}

/// The base tables of the current schema with a `tenant_id` column, other
/// than `tenants` itself, as quoted identifiers: what a clear empties, a
/// delete removes, and the benchmark vacuums after a fold.
pub async fn tenant_tables(conn: &mut sqlx::PgConnection) -> StoreResult<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT quote_ident(c.table_name::text) FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
         WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id'
           AND t.table_type = 'BASE TABLE' AND c.table_name <> 'tenants'
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await?)
}

/// The key that seals `tenant`'s at-risk page tokens
/// (`service::page::seal`); `None` for an unknown tenant.
pub async fn page_token_key(pool: &PgPool, tenant: TenantId) -> StoreResult<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT page_token_key FROM tenants WHERE tenant_id = $1")
            .bind(tenant.0)
            .fetch_optional(pool)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_to_their_id() {
        let key = generate_key();
        assert_eq!(key_id_of(&key.secret), Some(key.key_id.as_str()));
    }

    #[test]
    fn malformed_keys_have_no_id() {
        for bad in [
            "",
            "gsk_",
            "gsk_abc_def",
            "xyz_0123456789ab_s",
            "gsk_0123456789ab_",
        ] {
            assert_eq!(key_id_of(bad), None, "{bad:?}");
        }
    }
}
