//! Orchestration on domain types: each public function is one operation of
//! the product (ingest a batch, score a window, update the model), called
//! by every transport. A service owns its transactions, the caches over
//! the store and the metrics recorded after a commit; it knows nothing of
//! tonic or HTTP.

pub mod budget;
pub mod calibration;
pub mod catalog;
pub mod change;
pub mod competition;
pub mod context;
pub mod drivers;
pub mod effort;
pub mod erasure;
pub mod error;
pub mod expectation;
pub mod frames;
pub mod gap;
pub mod journeys;
pub mod loyalty;
pub mod outcomes;
pub mod page;
pub mod pool_probe;
pub mod priority;
pub mod questions;
pub mod risk;
pub mod scorecard;
pub mod survey;
pub mod trend;
pub mod webhooks;
pub mod write;

use std::{sync::Arc, time::Duration};

use sqlx::PgPool;

use crate::domain::TenantId;
pub use error::{ServiceError, ServiceResult};

/// What every service call runs against.
#[derive(Clone)]
pub struct Services {
    /// Reached only through [`Services::db`], so every use of it counts
    /// against the caller's budget.
    pool: PgPool,
    /// The outcome calibration per tenant: ingest invalidates, loyalty reads.
    pub calibration: Arc<calibration::CalibrationCache>,
    /// Each tenant's share of the pool (`None`: unlimited).
    db_budget: Option<Arc<budget::DbBudget>>,
    /// Tells an exhausted pool from an unreachable database ([`Services::explain`]).
    pub pool_probe: Arc<pool_probe::PoolProbe>,
    /// Which webhook URLs are accepted (the operator's flags).
    pub webhook_policy: webhooks::Policy,
}

impl Services {
    /// Services over `pool` with a fresh calibration cache whose entries
    /// live at most `calibration_ttl` (for writes by other processes), and
    /// no per-tenant budget (operator tools: one caller).
    pub fn new(pool: PgPool, calibration_ttl: Duration) -> Self {
        Self {
            pool,
            calibration: Arc::new(calibration::CalibrationCache::new(calibration_ttl)),
            db_budget: None,
            pool_probe: Arc::default(),
            webhook_policy: webhooks::Policy::default(),
        }
    }

    /// The same services accepting `http` webhook URLs to loopback
    /// addresses when `allow_http_loopback` (the operator's flag).
    pub fn with_webhook_policy(self, allow_http_loopback: bool) -> Self {
        Self {
            webhook_policy: webhooks::Policy {
                allow_http_loopback,
                ..self.webhook_policy
            },
            ..self
        }
    }

    /// The same services with each tenant limited to `budget`'s share of
    /// the pool (the server).
    pub fn with_db_budget(self, budget: budget::DbBudget) -> Self {
        Self {
            db_budget: Some(Arc::new(budget)),
            ..self
        }
    }

    /// The pool for `tenant`'s call to use `connections` connections at
    /// once, held until the returned guard is dropped; beyond the tenant's
    /// budget (after a brief wait for its own permits),
    /// [`ServiceError::Budget`]. See [`budget`].
    pub async fn db(&self, tenant: TenantId, connections: u32) -> ServiceResult<budget::Db> {
        Ok(budget::lend(&self.pool, self.db_budget.as_deref(), tenant, connections).await?)
    }
}
