//! Telling an exhausted pool from an unreachable database.
//!
//! sqlx answers `PoolTimedOut` both when every connection stayed busy for
//! the acquire timeout (the service is overloaded: `RESOURCE_EXHAUSTED`,
//! SPEC §14) and when it could not open one (the database is down:
//! `UNAVAILABLE`). Only a fresh connection attempt, outside the pool, tells
//! which; its answer is shared for a second, so a burst of timeouts costs
//! one attempt rather than one each.

use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use super::{ServiceError, Services};
use crate::store::{self, StoreError};

/// How long one probe's answer stands.
const FRESH_FOR: Duration = Duration::from_secs(1);
/// How long a probe waits for the database to accept a connection.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// The last probe's answer: whether the database accepted a connection.
#[derive(Debug, Default)]
pub struct PoolProbe {
    last: Mutex<Option<(Instant, bool)>>,
}

impl PoolProbe {
    /// `err` with a pool timeout resolved against `pool`'s database:
    /// [`StoreError::PoolExhausted`] while the database accepts
    /// connections, the outage it was otherwise. Every other error is
    /// returned as it is.
    pub async fn explain(&self, pool: &sqlx::PgPool, err: StoreError) -> StoreError {
        if err.is_pool_timeout() && self.database_accepts_connections(pool).await {
            StoreError::PoolExhausted
        } else {
            err
        }
    }

    /// Whether the database accepts connections now (or did within
    /// [`FRESH_FOR`]). Concurrent callers wait for one probe.
    async fn database_accepts_connections(&self, pool: &sqlx::PgPool) -> bool {
        let mut last = self.last.lock().await;
        if let Some((at, accepted)) = *last
            && at.elapsed() < FRESH_FOR
        {
            return accepted;
        }
        let accepted = store::accepts_connections(pool, PROBE_TIMEOUT).await;
        *last = Some((Instant::now(), accepted));
        accepted
    }
}

impl Services {
    /// `err` with a pool timeout resolved ([`PoolProbe::explain`]).
    pub async fn explain(&self, err: ServiceError) -> ServiceError {
        match err {
            ServiceError::Store(err) => {
                ServiceError::Store(self.pool_probe.explain(&self.pool, err).await)
            }
            other => other,
        }
    }
}
