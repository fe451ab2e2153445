//! Orchestration on domain types: each public function is one operation of
//! the product (ingest a batch, score a window, update the model), called
//! by every transport. A service owns its transactions, the caches over
//! the store and the metrics recorded after a commit; it knows nothing of
//! tonic or HTTP.

pub mod calibration;
pub mod catalog;
pub mod context;
pub mod effort;
pub mod erasure;
pub mod error;
pub mod gap;
pub mod journeys;
pub mod loyalty;
pub mod outcomes;
pub mod page;
pub mod pool_probe;
pub mod risk;
pub mod scorecard;
pub mod survey;
pub mod trend;
pub mod write;

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

pub use error::{ServiceError, ServiceResult};

/// What every service call runs against.
#[derive(Clone)]
pub struct Services {
    pub pool: PgPool,
    /// The outcome calibration per tenant: ingest invalidates, loyalty reads.
    pub calibration: Arc<calibration::CalibrationCache>,
    /// Tells an exhausted pool from an unreachable database ([`Services::explain`]).
    pub pool_probe: Arc<pool_probe::PoolProbe>,
}

impl Services {
    /// Services over `pool` with a fresh calibration cache whose entries
    /// live at most `calibration_ttl` (for writes by other processes).
    pub fn new(pool: PgPool, calibration_ttl: Duration) -> Self {
        Self {
            pool,
            calibration: Arc::new(calibration::CalibrationCache::new(calibration_ttl)),
            pool_probe: Arc::default(),
        }
    }
}
