//! `CustomerService.WatchAtRiskCustomers`: the tenant's at-risk events as a
//! server stream (SPEC §12.1), over `service::events`.
use std::{collections::HashMap, pin::Pin, sync::Arc};

use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

use super::{
    convert::utc_to_timestamp,
    error::{CallError, DOMAIN},
};
use crate::{
    auth::Credential,
    domain::{Numbered, enums::EffortTier},
    proto::v1::{AtRiskEvent, WatchAtRiskCustomersRequest, WatchAtRiskCustomersResponse},
    service::{
        ServiceError, Services,
        events::{self, KeyCheck, WatchError, WatchQuery},
    },
    store::events::StoredEvent,
};

/// The stream a watch answers with.
pub type WatchStream =
    Pin<Box<dyn Stream<Item = Result<WatchAtRiskCustomersResponse, Status>> + Send + 'static>>;

/// A stored event as its `gapscore.v1` message (also what webhooks post).
pub fn event_message(e: &StoredEvent) -> AtRiskEvent {
    AtRiskEvent {
        event_id: e.event_id.to_string(),
        customer_id: e.customer_id.clone(),
        tier: i32::from(e.tier),
        previous_tier: i32::from(e.previous_tier),
        tier_source: i32::from(e.tier_source),
        reasons: e.reasons.clone(),
        journey_id: e.journey_id.clone().unwrap_or_default(),
        response_id: e.response_id.clone().unwrap_or_default(),
        occurred_at: Some(utc_to_timestamp(e.occurred_at)),
        holdout: e.holdout,
    }
}

/// `WatchAtRiskCustomers`.
pub async fn watch(
    services: &Services,
    request: Request<WatchAtRiskCustomersRequest>,
) -> Result<Response<WatchStream>, Status> {
    let tenant = super::tenant(&request)?;
    let key_check =
        request
            .extensions()
            .get::<Credential>()
            .cloned()
            .map(|credential| -> KeyCheck {
                let credential = Arc::new(credential);
                Arc::new(move || {
                    let credential = credential.clone();
                    Box::pin(async move { Ok(credential.still_valid().await?) })
                })
            });
    let request = request.into_inner();
    // Unspecified means the default, HIGH.
    let min_tier = match request.min_tier {
        0 => EffortTier::High,
        n => EffortTier::from_number(n).ok_or_else(|| {
            Status::from(ServiceError::invalid(
                "min_tier",
                "must be EFFORT_TIER_LOW, EFFORT_TIER_MEDIUM or EFFORT_TIER_HIGH",
            ))
        })?,
    };
    let query = WatchQuery {
        min_tier,
        resume_token: request.resume_token,
        key_check,
    };
    let stream = match events::watch(services, tenant, query).await {
        Ok(stream) => stream,
        Err(err) => return Err(status(services, err).await),
    };
    let services = services.clone();
    let stream = stream.then(move |item| {
        let services = services.clone();
        async move {
            match item {
                Ok(w) => Ok(WatchAtRiskCustomersResponse {
                    event: Some(event_message(&w.event)),
                    resume_token: w.resume_token,
                }),
                Err(err) => Err(status(&services, err).await),
            }
        }
    });
    Ok(Response::new(Box::pin(stream)))
}

/// The status a watch ends with.
async fn status(services: &Services, err: WatchError) -> Status {
    let (code, reason) = match &err {
        WatchError::OutOfRange => (Code::OutOfRange, "RESUME_TOKEN_EXPIRED"),
        WatchError::ShuttingDown => (Code::Unavailable, "SHUTTING_DOWN"),
        WatchError::Revoked => return crate::auth::unauthenticated(),
        WatchError::Service(_) => {
            let WatchError::Service(err) = err else {
                unreachable!()
            };
            return err.into_status(services).await;
        }
    };
    let mut details = ErrorDetails::new();
    details.set_error_info(reason, DOMAIN, HashMap::new());
    Status::with_error_details(code, err.to_string(), details)
}
