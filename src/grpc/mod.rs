//! The gRPC transport. Each RPC: the tenant the auth layer resolved, the
//! request converted to domain types (every violation collected), one
//! `service` call, and the result converted back to protobuf. The
//! `*ServiceImpl` trait impls are routing tables; each RPC's conversions
//! live in the module named after what it serves, and `error` maps a
//! `ServiceError` to a `tonic::Status` in one place.

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
pub mod scorecard;
pub mod scoring;
pub mod survey;
pub mod trend;

use tonic::Request;

use crate::domain::TenantId;

/// The tenant the auth layer resolved for this call.
pub fn tenant<T>(request: &Request<T>) -> Result<TenantId, tonic::Status> {
    request
        .extensions()
        .get::<TenantId>()
        .copied()
        .ok_or_else(|| tonic::Status::unauthenticated("missing API key"))
}
