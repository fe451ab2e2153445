//! Reads served by a PostgreSQL streaming replica (SPEC §15).
//!
//! Scoring, list and get reads go to the replica while it is *usable*:
//! reachable, and no further behind the primary than the configured lag.
//! Everything else — writes, authentication, health, the rollup compactor,
//! the outbox and its workers, the scoring model and catalog a write
//! validates against — stays on the primary. A call that must see its own
//! writes asks for the primary (`x-gapscore-consistency: primary`,
//! [`super::Services::primary_reads`]).
//!
//! Lag is measured in time against the primary's own WAL positions: every
//! check samples the primary's current position, and the replica's lag is
//! the age of the newest sample it has replayed past (0 when it has
//! replayed the latest). Unlike `now() - pg_last_xact_replay_timestamp()`,
//! this does not read a quiet primary as a lagging replica, nor a replica
//! cut off from a busy primary as an up-to-date one.

use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use sqlx::PgPool;
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::store::{self, StoreError};

/// The health-service name under which the replica's state is reported.
/// Not a gRPC service: the overall status stays SERVING while reads fall
/// back to the primary, so the replica has a name of its own.
pub const HEALTH_NAME: &str = "gapscore.ReadReplica";

/// Primary positions kept for measuring lag: with a check every second,
/// two minutes of history; a replica behind all of them is lagging by more.
const SAMPLES: usize = 120;

/// A read replica and whether reads may go to it now.
pub struct ReadReplica {
    pool: PgPool,
    usable: AtomicBool,
    max_lag: Duration,
}

impl ReadReplica {
    /// Not usable until the first check has measured it.
    pub fn new(pool: PgPool, max_lag: Duration) -> Arc<Self> {
        Arc::new(Self {
            pool,
            usable: AtomicBool::new(false),
            max_lag,
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub fn usable(&self) -> bool {
        self.usable.load(Ordering::Relaxed)
    }

    /// A read on the replica failed in a way the primary would not have:
    /// reads go to the primary until the next check finds it usable again.
    pub fn failed(&self, err: &StoreError) {
        if self.usable.swap(false, Ordering::Relaxed) {
            tracing::warn!(error = %err, "read replica failed: reads go to the primary");
        }
        crate::metrics::record_read_replica(false, None);
    }

    /// Whether `err`, from a read on the replica, calls for running the read
    /// again on the primary: the replica is unreachable, or cancelled the
    /// query for a conflict with recovery (SQLSTATE 40001 on a standby).
    pub fn is_replica_fault(err: &StoreError) -> bool {
        matches!(
            err,
            StoreError::Unavailable { .. } | StoreError::Conflict(_) | StoreError::PoolExhausted
        )
    }

    /// Measures the replica every `interval` against `primary` and reports
    /// it (health under [`HEALTH_NAME`], metrics, logs on change) until the
    /// task is dropped.
    pub async fn watch(
        self: Arc<Self>,
        primary: PgPool,
        reporter: HealthReporter,
        interval: Duration,
    ) {
        let mut samples = VecDeque::with_capacity(SAMPLES);
        let mut last = None;
        loop {
            let within = interval.max(Duration::from_millis(500));
            let now = Instant::now();
            if let Ok(Ok(position)) =
                tokio::time::timeout(within, store::wal_position(&primary)).await
            {
                if samples.len() == SAMPLES {
                    samples.pop_front();
                }
                samples.push_back((now, position));
            }
            let lag = match tokio::time::timeout(within, store::replayed_position(&self.pool)).await
            {
                Ok(Ok(replayed)) => Some(lag(&samples, replayed, now)),
                _ => None,
            };
            let usable = lag.is_some_and(|lag| lag.is_some_and(|l| l <= self.max_lag));
            self.usable.store(usable, Ordering::Relaxed);
            crate::metrics::record_read_replica(usable, lag.flatten());
            if last != Some(usable) {
                match (usable, lag) {
                    (true, _) => tracing::info!("read replica usable: reads go to it"),
                    (false, None) => {
                        tracing::warn!("read replica unreachable: reads go to the primary")
                    }
                    (false, Some(lag)) => tracing::warn!(
                        lag_ms = lag.map(|l| l.as_millis() as u64),
                        "read replica lagging: reads go to the primary"
                    ),
                }
                let status = if usable {
                    ServingStatus::Serving
                } else {
                    ServingStatus::NotServing
                };
                reporter.set_service_status(HEALTH_NAME, status).await;
                last = Some(usable);
            }
            tokio::time::sleep(interval).await;
        }
    }
}

/// The replica's lag at `now`: `Some(0)` when it has replayed the newest
/// primary position sampled (or is not a standby), the age of the newest
/// sample it has replayed past otherwise, `None` when it is behind every
/// sample kept (lagging by more than the history covers) or nothing was
/// sampled yet.
fn lag(
    samples: &VecDeque<(Instant, i64)>,
    replayed: Option<i64>,
    now: Instant,
) -> Option<Duration> {
    let Some(replayed) = replayed else {
        return Some(Duration::ZERO);
    };
    let (_, newest) = samples.back()?;
    if replayed >= *newest {
        return Some(Duration::ZERO);
    }
    // The newest sample the replica has passed; it has not reached the one
    // after it, so it has been behind since that one was taken.
    let passed = samples.iter().rposition(|(_, p)| *p <= replayed)?;
    let (behind_since, _) = samples[passed + 1];
    Some(now.saturating_duration_since(behind_since))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_the_age_of_the_first_sample_not_yet_replayed() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let samples: VecDeque<_> = [(at(0), 100), (at(1), 200), (at(2), 300)].into();
        let now = at(3);
        assert_eq!(lag(&samples, Some(300), now), Some(Duration::ZERO));
        assert_eq!(lag(&samples, Some(350), now), Some(Duration::ZERO));
        assert_eq!(
            lag(&samples, None, now),
            Some(Duration::ZERO),
            "not a standby"
        );
        // Replayed past 200, not 300: behind since the sample at 2 s.
        assert_eq!(lag(&samples, Some(250), now), Some(Duration::from_secs(1)));
        assert_eq!(lag(&samples, Some(100), now), Some(Duration::from_secs(2)));
        assert_eq!(lag(&samples, Some(50), now), None, "behind all history");
        assert_eq!(
            lag(&VecDeque::new(), Some(50), now),
            None,
            "nothing sampled"
        );
    }
}
