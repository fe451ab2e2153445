//! The report's figures: one scorecard of all of a tenant's data, computed
//! by the scoring services under one read of the model and catalog, all in
//! one database snapshot ([`Snapshot`]), in the protobuf form the API
//! serves (the scorecard's perception gap and priority map are the ones
//! `GetPerceptionGap` and `GetPriorityMap` return for the same data).

use anyhow::Context as _;
use sqlx::PgPool;

use super::{html::render_html, snapshot::Snapshot};
use crate::{
    domain::{Scope, TenantId},
    grpc,
    service::{ServiceError, Services, context::Context, scorecard},
    store::tenants,
};

/// Fetches a tenant's scorecard, perception gap and priority map over all
/// its data, in one snapshot ([`Snapshot`]), and renders them with
/// [`render_html`].
pub async fn build(pool: &PgPool, tenant_name: &str) -> anyhow::Result<String> {
    build_after(pool, tenant_name, async || {}).await
}

/// [`build`], running `after_snapshot` once the report's snapshot is taken
/// and before anything is read: a test commits a write there and sees it
/// in no part of the report.
pub async fn build_after(
    pool: &PgPool,
    tenant_name: &str,
    after_snapshot: impl AsyncFnOnce(),
) -> anyhow::Result<String> {
    let snapshot = Snapshot::take(pool).await?;
    after_snapshot().await;
    let html = render(snapshot.readers(), tenant_name).await;
    snapshot.release().await?;
    html
}

async fn render(pool: &PgPool, tenant_name: &str) -> anyhow::Result<String> {
    let Some(tenant) = tenants::find_tenant(pool, tenant_name).await? else {
        anyhow::bail!(
            "no tenant named {tenant_name:?} (load the demonstration data with `gapscore demo`, \
             then run `gapscore report --tenant demo`)"
        );
    };
    let tenant = TenantId(tenant.tenant_id);
    // No cache lifetime: the calibration is read once, fresh.
    let services = Services::new(pool.clone(), std::time::Duration::ZERO);
    let (card, gaps, priorities) = async {
        let ctx = Context::load(&services, tenant).await?;
        let card = scorecard::scorecard(&services, tenant, &Scope::default(), &ctx).await?;
        Ok::<_, ServiceError>((
            grpc::scorecard::response(&card),
            grpc::gap::response(&card.gaps),
            grpc::priority::response(&card.priority),
        ))
    }
    .await
    .with_context(|| format!("cannot compute the scorecard of tenant {tenant_name:?}"))?;
    Ok(render_html(&card, &gaps, &priorities, tenant_name))
}
