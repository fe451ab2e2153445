//! Operator subcommands: migrations, tenants and keys.

use anyhow::{Context, bail};
use sqlx::PgPool;

use crate::{
    config::{KeyCommand, TenantCommand},
    store::{self, tenants},
};

/// Connects for a one-off operator command, creating and migrating the
/// database first so the CLI works on a fresh machine.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    store::ensure_database(url).await?;
    let pool = store::connect_lazy(url, &store::PoolConfig::default())?;
    store::migrate(&pool)
        .await
        .context("cannot apply migrations")?;
    Ok(pool)
}

async fn tenant_by_name(pool: &PgPool, name: &str) -> anyhow::Result<tenants::Tenant> {
    match tenants::find_tenant(pool, name).await? {
        Some(t) => Ok(t),
        None => bail!("no tenant named {name:?} (create one with `gapscore tenant create {name}`)"),
    }
}

/// `gapscore tenant ...`
pub async fn tenant(pool: &PgPool, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create { name } => {
            if tenants::find_tenant(pool, &name).await?.is_some() {
                bail!(
                    "a tenant named {name:?} already exists (create a key with `gapscore key create --tenant {name}`)"
                );
            }
            let (tenant, key) = tenants::create_tenant(pool, &name).await?;
            println!("tenant: {} (id {})", tenant.name, tenant.tenant_id);
            println!("key id: {}", key.key_id);
            println!("api key: {}", key.secret);
            println!("The key is shown only once; store it now.");
        }
        TenantCommand::Delete { name } => {
            let Some(removed) = tenants::delete_tenant(pool, &name).await? else {
                bail!("no tenant named {name:?}");
            };
            print!("{}", removal_report(&removed));
        }
    }
    Ok(())
}

/// What `tenant delete` prints: the tenant, then one line per table.
fn removal_report(removed: &tenants::TenantRemoval) -> String {
    let mut out = format!(
        "deleted tenant {} (id {}); rows removed:\n",
        removed.tenant.name, removed.tenant.tenant_id
    );
    let width = removed.rows.iter().map(|(t, _)| t.len()).max().unwrap_or(0);
    for (table, n) in &removed.rows {
        out.push_str(&format!("  {table:<width$} {n}\n"));
    }
    out
}

/// `gapscore key ...`
pub async fn key(pool: &PgPool, command: KeyCommand) -> anyhow::Result<()> {
    match command {
        KeyCommand::Create { tenant } => {
            let t = tenant_by_name(pool, &tenant).await?;
            let key = tenants::create_key(pool, crate::domain::TenantId(t.tenant_id)).await?;
            println!("key id: {}", key.key_id);
            println!("api key: {}", key.secret);
            println!("The key is shown only once; store it now.");
        }
        KeyCommand::List { tenant } => {
            let t = tenant_by_name(pool, &tenant).await?;
            println!("{:<14} {:<26} revoked", "key id", "created");
            for k in tenants::list_keys(pool, crate::domain::TenantId(t.tenant_id)).await? {
                let revoked = k
                    .revoked_at
                    .map(|r| r.to_rfc3339())
                    .unwrap_or_else(|| "-".into());
                println!(
                    "{:<14} {:<26} {}",
                    k.key_id,
                    k.created_at.to_rfc3339(),
                    revoked
                );
            }
        }
        KeyCommand::Revoke { key_id } => {
            if tenants::revoke_key(pool, &key_id).await? {
                println!("revoked {key_id}");
            } else {
                bail!("no active key with id {key_id:?}");
            }
        }
    }
    Ok(())
}
