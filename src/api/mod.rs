//! The gRPC layer: one module per service, translating between protobuf
//! messages and the store and scoring layers.

pub mod calibration;
pub mod catalog;
pub mod customer;
pub mod effort;
pub mod error;
pub mod filter;
pub mod gap;
pub mod journey;
pub mod loyalty;
pub mod outcome;
pub mod page;
pub mod scope;
pub mod scorecard;
pub mod scoring;
pub mod survey;
pub mod trend;
pub mod validate;

pub use error::{ApiError, ApiResult};

use sqlx::PgPool;
use tonic::Request;

use crate::store::tenants::TenantId;

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    /// Shared by every handler: ingest invalidates, loyalty reads.
    pub calibration: std::sync::Arc<calibration::CalibrationCache>,
}

impl AppState {
    /// State over `pool` with a fresh calibration cache whose entries
    /// live at most `calibration_ttl` (for writes by other processes).
    pub fn new(pool: PgPool, calibration_ttl: std::time::Duration) -> Self {
        Self {
            pool,
            calibration: std::sync::Arc::new(calibration::CalibrationCache::new(calibration_ttl)),
        }
    }
}

/// The tenant the auth layer resolved for this call.
pub fn tenant<T>(request: &Request<T>) -> Result<TenantId, tonic::Status> {
    request
        .extensions()
        .get::<TenantId>()
        .copied()
        .ok_or_else(|| tonic::Status::unauthenticated("missing API key"))
}
