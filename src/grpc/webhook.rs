//! `gapscore.v1.WebhookService`: signed HTTP callbacks of at-risk events
//! (SPEC §12.1).

use crate::{
    domain::{Numbered, TenantId, Violations, enums::EffortTier},
    grpc::{
        convert::utc_to_timestamp,
        ingest::{page_request, page_size},
    },
    proto::v1::{webhook_service_server::WebhookService, *},
    service::{ServiceResult, Services, webhooks},
    store::webhooks::{self as db, DeliveryLogEntry, PENDING},
};

use super::routes;

/// Implements `WebhookService`.
#[derive(Clone)]
pub struct WebhookServiceImpl {
    pub state: Services,
}

routes! {
    impl WebhookService for WebhookServiceImpl {
        create_webhook(CreateWebhookRequest) -> CreateWebhookResponse = create;
        list_webhooks(ListWebhooksRequest) -> ListWebhooksResponse = list;
        delete_webhook(DeleteWebhookRequest) -> DeleteWebhookResponse = delete;
        list_webhook_deliveries(ListWebhookDeliveriesRequest) -> ListWebhookDeliveriesResponse = deliveries;
    }
}

async fn create(
    services: &Services,
    tenant: TenantId,
    request: CreateWebhookRequest,
) -> ServiceResult<CreateWebhookResponse> {
    // Unspecified means the default, HIGH.
    let min_tier = match request.min_tier {
        0 => None,
        n => Some(EffortTier::from_number(n).ok_or_else(|| {
            "must be EFFORT_TIER_LOW, EFFORT_TIER_MEDIUM or EFFORT_TIER_HIGH".to_owned()
        })),
    };
    let created = webhooks::create(services, tenant, &request.url, min_tier).await?;
    Ok(CreateWebhookResponse {
        webhook: Some(webhook(created.webhook)),
        secret: created.secret,
    })
}

async fn list(
    services: &Services,
    tenant: TenantId,
    request: ListWebhooksRequest,
) -> ServiceResult<ListWebhooksResponse> {
    let mut v = Violations::default();
    let size = page_size(&mut v, request.page_size);
    v.into_result()?;
    let query = ListWebhooksRequest::default();
    let page = page_request(tenant, size, request.page_token, &query);
    let page = webhooks::list(services, tenant, &page).await?;
    Ok(ListWebhooksResponse {
        webhooks: page.items.into_iter().map(webhook).collect(),
        next_page_token: page.next_page_token,
    })
}

async fn delete(
    services: &Services,
    tenant: TenantId,
    request: DeleteWebhookRequest,
) -> ServiceResult<DeleteWebhookResponse> {
    webhooks::delete(services, tenant, &request.webhook_id).await?;
    Ok(DeleteWebhookResponse {})
}

async fn deliveries(
    services: &Services,
    tenant: TenantId,
    request: ListWebhookDeliveriesRequest,
) -> ServiceResult<ListWebhookDeliveriesResponse> {
    let mut v = Violations::default();
    let size = page_size(&mut v, request.page_size);
    v.into_result()?;
    let query = ListWebhookDeliveriesRequest {
        webhook_id: request.webhook_id.clone(),
        ..Default::default()
    };
    let page = page_request(tenant, size, request.page_token, &query);
    let page = webhooks::deliveries(services, tenant, &request.webhook_id, &page).await?;
    Ok(ListWebhookDeliveriesResponse {
        deliveries: page.items.into_iter().map(delivery).collect(),
        next_page_token: page.next_page_token,
    })
}

fn webhook(w: db::Webhook) -> Webhook {
    Webhook {
        webhook_id: w.webhook_id.to_string(),
        url: w.url,
        min_tier: i32::from(w.min_tier),
        create_time: Some(utc_to_timestamp(w.created_at)),
    }
}

fn delivery(d: DeliveryLogEntry) -> WebhookDelivery {
    WebhookDelivery {
        event_id: d.event_id.to_string(),
        customer_id: d.customer_id,
        status: i32::from(d.status),
        attempts: d.attempts,
        last_error: d.last_error.unwrap_or_default(),
        last_attempt_time: d.last_attempt_at.map(utc_to_timestamp),
        next_attempt_time: (d.status == PENDING).then(|| utc_to_timestamp(d.next_attempt_at)),
        event_time: Some(utc_to_timestamp(d.occurred_at)),
    }
}
