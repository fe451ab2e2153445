//! Orchestration on domain types: each public function is one operation of
//! the product (ingest a batch, score a window, update the model), called
//! by every transport. A service owns its transactions, the caches over
//! the store and the metrics recorded after a commit; it knows nothing of
//! tonic or HTTP.

/// Runs a scoring, list or get read — `$read`, an expression of type
/// `ServiceResult<T>` over `$pool: &PgPool` — on the read replica when
/// [`Services::replica_db`] lends it, and on the primary otherwise or when
/// the replica fails it ([`Services::replica_outcome`]); evaluates to
/// `ServiceResult<T>`. `$read` may run twice, so it must only read.
///
/// A macro rather than a method taking an async closure: the futures of
/// async closures that borrow the caller's data cannot yet be proven
/// `Send` (which every tonic handler must be), while the expression
/// written out twice is just two async blocks of the caller.
macro_rules! read {
    ($services:expr, $tenant:expr, $connections:expr, |$pool:ident| $read:expr) => {{
        let services: &$crate::service::Services = $services;
        let on_replica = match services.replica_db($tenant, $connections).await {
            Ok(Some(db)) => {
                let $pool: &sqlx::PgPool = &db;
                let result: $crate::service::ServiceResult<_> = async { $read }.await;
                drop(db);
                services.replica_outcome(result)
            }
            Ok(None) => None,
            Err(err) => Some(Err(err)),
        };
        match on_replica {
            Some(result) => result,
            None => match services.db($tenant, $connections).await {
                Ok(db) => {
                    let $pool: &sqlx::PgPool = &db;
                    let result: $crate::service::ServiceResult<_> = async { $read }.await;
                    result
                }
                Err(err) => Err(err),
            },
        }
    }};
}

pub mod blocking;
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
pub mod events;
pub mod expectation;
pub mod follow_ups;
pub mod frames;
pub mod gap;
pub mod journeys;
pub mod loyalty;
pub mod outcomes;
pub mod page;
pub mod pool_probe;
pub mod priority;
pub mod questions;
pub mod replica;
pub mod risk;
pub mod scorecard;
pub mod survey;
pub mod tiers;
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
    /// Where [`read!`] may send reads besides the primary.
    replica: Option<Arc<replica::ReadReplica>>,
    /// This call asked to read the primary (read-after-write).
    primary_reads: bool,
    /// Open at-risk watches and their wake-ups ([`events::EventHub`]).
    pub events: Arc<events::EventHub>,
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
            replica: None,
            primary_reads: false,
            events: Arc::new(events::EventHub::new(8, Duration::from_secs(5))),
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

    /// The same services sending [`read!`]s to `replica` while it
    /// is usable (the server with `--database-read-url`).
    pub fn with_read_replica(self, replica: Arc<replica::ReadReplica>) -> Self {
        Self {
            replica: Some(replica),
            ..self
        }
    }

    /// The same services for a call that must see every committed write:
    /// its reads go to the primary.
    pub fn primary_reads(&self) -> Self {
        Self {
            primary_reads: true,
            ..self.clone()
        }
    }

    /// The same services with watches counted and woken by `hub` (the
    /// server: its limit and key recheck from the configuration).
    pub fn with_events(self, hub: Arc<events::EventHub>) -> Self {
        Self {
            events: hub,
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

    /// The read replica lent to `tenant` for `connections` connections,
    /// when there is one, it is usable and the call did not ask for the
    /// primary; `None` sends the read to the primary. Used by [`read!`].
    pub async fn replica_db(
        &self,
        tenant: TenantId,
        connections: u32,
    ) -> ServiceResult<Option<budget::Db>> {
        match self
            .replica
            .as_deref()
            .filter(|r| !self.primary_reads && r.usable())
        {
            Some(replica) => Ok(Some(
                budget::lend(
                    replica.pool(),
                    self.db_budget.as_deref(),
                    tenant,
                    connections,
                )
                .await?,
            )),
            None => Ok(None),
        }
    }

    /// What a read on the replica came to: its result, or `None` when the
    /// replica failed it in a way the primary would not
    /// ([`replica::ReadReplica::is_replica_fault`]) and the read must run
    /// again on the primary. Used by [`read!`].
    pub fn replica_outcome<T>(&self, result: ServiceResult<T>) -> Option<ServiceResult<T>> {
        match (&result, self.replica.as_deref()) {
            (Err(ServiceError::Store(err)), Some(replica))
                if replica::ReadReplica::is_replica_fault(err) =>
            {
                replica.failed(err);
                None
            }
            _ => Some(result),
        }
    }
}
