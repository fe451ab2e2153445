//! `CustomerService.WatchAtRiskCustomers`: the tenant's at-risk events as a
//! server stream (SPEC §12.1).
use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use crate::{
    proto::v1::{WatchAtRiskCustomersRequest, WatchAtRiskCustomersResponse},
    service::Services,
};

/// The stream a watch answers with.
pub type WatchStream =
    Pin<Box<dyn Stream<Item = Result<WatchAtRiskCustomersResponse, Status>> + Send + 'static>>;

/// `WatchAtRiskCustomers`.
pub async fn watch(
    _services: &Services,
    request: Request<WatchAtRiskCustomersRequest>,
) -> Result<Response<WatchStream>, Status> {
    let _tenant = super::tenant(&request)?;
    Err(Status::unimplemented(
        "WatchAtRiskCustomers is not built yet",
    ))
}
