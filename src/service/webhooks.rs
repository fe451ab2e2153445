//! Webhooks (SPEC §12.1): create, list, delete, and the delivery log. The
//! deliveries themselves are the worker's (`crate::webhooks`).

use uuid::Uuid;

use super::{
    ServiceError, ServiceResult, Services,
    page::{self, Page, PageRequest},
    write::{Converted, converted},
};
use crate::{
    domain::{Numbered, TenantId, Violations, enums::EffortTier},
    store::webhooks as db,
    webhooks::{signing, target},
};

/// At most this many webhooks per tenant: each costs a delivery per event,
/// and a tenant needs a handful (one per helpdesk or automation).
pub const MAX_WEBHOOKS_PER_TENANT: i64 = 10;

/// Which webhooks may be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// `http` to loopback addresses too (`--webhook-allow-http-loopback`).
    pub allow_http_loopback: bool,
    /// [`MAX_WEBHOOKS_PER_TENANT`] unless a test says otherwise.
    pub max_per_tenant: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allow_http_loopback: false,
            max_per_tenant: MAX_WEBHOOKS_PER_TENANT,
        }
    }
}

/// A created webhook and its secret, shown only this once.
#[derive(Debug, Clone)]
pub struct Created {
    pub webhook: db::Webhook,
    pub secret: String,
}

/// Validates and creates a webhook. `min_tier` is `None` when the request
/// left it unspecified (HIGH). Over the tenant's limit: FAILED_PRECONDITION
/// (`WEBHOOK_LIMIT`), since waiting does not help; deleting one does.
pub async fn create(
    services: &Services,
    tenant: TenantId,
    url: &str,
    min_tier: Option<Converted<EffortTier>>,
) -> ServiceResult<Created> {
    let policy = services.webhook_policy;
    let mut v = Violations::default();
    let url = match target::check_url(url, policy.allow_http_loopback) {
        Ok(url) => Some(url),
        Err(why) => {
            v.add("url", why);
            None
        }
    };
    let min_tier = match &min_tier {
        None => Some(EffortTier::High),
        Some(tier) => converted(&mut v, "min_tier".into(), tier),
    };
    v.into_result()?;
    // Both are set when no violation was added.
    let (Some(url), Some(min_tier)) = (url, min_tier) else {
        return Err(ServiceError::invalid("url", "is not a webhook URL"));
    };
    let key = signing::new_secret();
    let created = db::create_webhook(
        &*services.db(tenant, 1).await?,
        tenant,
        url.as_str(),
        min_tier.db(),
        &key,
        policy.max_per_tenant,
    )
    .await?;
    let webhook = created.ok_or_else(|| ServiceError::FailedPrecondition {
        reason: "WEBHOOK_LIMIT",
        message: format!(
            "a tenant has at most {} webhooks; delete one first",
            policy.max_per_tenant
        ),
    })?;
    Ok(Created {
        webhook,
        secret: signing::display_secret(&key),
    })
}

/// One page of the tenant's webhooks in creation order.
pub async fn list(
    services: &Services,
    tenant: TenantId,
    page: &PageRequest,
) -> ServiceResult<Page<db::Webhook>> {
    let after = match page.after_time_position()? {
        None => None,
        Some((at, id)) => Some((at, Uuid::parse_str(&id).map_err(|_| not_a_token())?)),
    };
    let rows = db::list_webhooks(
        &*services.db(tenant, 1).await?,
        tenant,
        after,
        page.fetch_limit(),
    )
    .await?;
    Ok(page.page(rows, |w| {
        page::time_position(w.created_at, &w.webhook_id.to_string())
    }))
}

/// Deletes a webhook; its pending deliveries go with it.
pub async fn delete(services: &Services, tenant: TenantId, webhook_id: &str) -> ServiceResult<()> {
    let id = webhook_id_of(webhook_id)?;
    let db = services.db(tenant, 1).await?;
    match id {
        Some(id) if db::delete_webhook(&db, tenant, id).await? => Ok(()),
        _ => Err(not_found(webhook_id)),
    }
}

/// One page of a webhook's delivery log, most recent event first.
pub async fn deliveries(
    services: &Services,
    tenant: TenantId,
    webhook_id: &str,
    page: &PageRequest,
) -> ServiceResult<Page<db::DeliveryLogEntry>> {
    let id = webhook_id_of(webhook_id)?;
    let before = page::decode::<i64>(&page.fingerprint, &page.token)?;
    let db = services.db(tenant, 1).await?;
    let Some(id) = id else {
        return Err(not_found(webhook_id));
    };
    if !db::webhook_exists(&db, tenant, id).await? {
        return Err(not_found(webhook_id));
    }
    let rows = db::list_deliveries(&db, tenant, id, before, page.fetch_limit()).await?;
    Ok(page.page(rows, |d| d.seq))
}

/// The id of a webhook: required; `None` when it cannot be any webhook's
/// (not a UUID), which is NOT_FOUND like any other unknown id.
fn webhook_id_of(raw: &str) -> ServiceResult<Option<Uuid>> {
    if raw.is_empty() {
        return Err(ServiceError::invalid("webhook_id", "is required"));
    }
    Ok(Uuid::parse_str(raw).ok())
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound {
        what: "webhook",
        id: id.chars().take(64).collect(),
    }
}

fn not_a_token() -> ServiceError {
    ServiceError::invalid("page_token", "is not a page token of this query")
}
