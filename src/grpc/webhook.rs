//! `gapscore.v1.WebhookService`: signed HTTP callbacks of at-risk events
//! (SPEC §12.1).
use tonic::Status;

use super::routes;
use crate::{
    domain::TenantId,
    proto::v1::{webhook_service_server::WebhookService, *},
    service::Services,
};

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
    _: &Services,
    _: TenantId,
    _: CreateWebhookRequest,
) -> Result<CreateWebhookResponse, Status> {
    Err(Status::unimplemented("CreateWebhook is not built yet"))
}

async fn list(
    _: &Services,
    _: TenantId,
    _: ListWebhooksRequest,
) -> Result<ListWebhooksResponse, Status> {
    Err(Status::unimplemented("ListWebhooks is not built yet"))
}

async fn delete(
    _: &Services,
    _: TenantId,
    _: DeleteWebhookRequest,
) -> Result<DeleteWebhookResponse, Status> {
    Err(Status::unimplemented("DeleteWebhook is not built yet"))
}

async fn deliveries(
    _: &Services,
    _: TenantId,
    _: ListWebhookDeliveriesRequest,
) -> Result<ListWebhookDeliveriesResponse, Status> {
    Err(Status::unimplemented(
        "ListWebhookDeliveries is not built yet",
    ))
}
