//! The gRPC layer: one module per service, translating between protobuf
//! messages and the store and scoring layers.

pub mod catalog;
pub mod convert;
pub mod customer;
pub mod effort;
pub mod error;
pub mod gap;
pub mod ingest;
pub mod journey;
pub mod loyalty;
pub mod outcome;
pub mod scope;
pub mod scorecard;
pub mod scoring;
pub mod survey;
pub mod trend;
pub mod validate;

pub use error::{ApiError, ApiResult};

pub use crate::service::Services as AppState;
use tonic::Request;

use crate::store::tenants::TenantId;

/// The tenant the auth layer resolved for this call.
pub fn tenant<T>(request: &Request<T>) -> Result<TenantId, tonic::Status> {
    request
        .extensions()
        .get::<TenantId>()
        .copied()
        .ok_or_else(|| tonic::Status::unauthenticated("missing API key"))
}
