//! Keeps `grpc.health.v1` in step with the database: `NOT_SERVING` while
//! PostgreSQL is unreachable or read-only (a standby after a failover takes
//! no ingest), `SERVING` again when it can take writes, no restart.

use std::time::Duration;

use sqlx::PgPool;
use tonic_health::{ServingStatus, server::HealthReporter};

/// Every name health reports on: the server as a whole ("") and each service.
pub const SERVICE_NAMES: &[&str] = &[
    "",
    "gapscore.v1.SurveyService",
    "gapscore.v1.JourneyService",
    "gapscore.v1.OutcomeService",
    "gapscore.v1.CustomerService",
    "gapscore.v1.ScoringService",
    "gapscore.v1.CatalogService",
];

/// Sets every service name to `status`.
pub async fn set_all(reporter: &HealthReporter, status: ServingStatus) {
    for name in SERVICE_NAMES {
        reporter.set_service_status(*name, status).await;
    }
}

/// Asks the database every `interval` whether it can take writes
/// ([`crate::store::writable`]) and reports the result until the task is
/// dropped. A check that takes longer than the interval (at least 500 ms)
/// counts as down.
///
/// The check runs on `check`, a pool of its own: on the control pool it
/// queued behind every call's key lookup, and under one tenant's burst of
/// calls on a loaded machine it missed its deadline with the database
/// healthy (the noisy-neighbour test saw NOT_SERVING). `gauged` is the
/// pool whose connection gauges are recorded with each check.
pub async fn watch_database(
    check: PgPool,
    gauged: PgPool,
    reporter: HealthReporter,
    interval: Duration,
) {
    let mut last: Option<bool> = None;
    loop {
        let up = matches!(
            tokio::time::timeout(
                interval.max(Duration::from_millis(500)),
                crate::store::writable(&check)
            )
            .await,
            Ok(Ok(true))
        );
        crate::metrics::record_database_up(up);
        crate::metrics::record_pool(&gauged);
        if last != Some(up) {
            if up {
                tracing::info!("database reachable: SERVING");
            } else {
                tracing::warn!("database unreachable or read-only: NOT_SERVING");
            }
            let status = if up {
                ServingStatus::Serving
            } else {
                ServingStatus::NotServing
            };
            set_all(&reporter, status).await;
            last = Some(up);
        }
        tokio::time::sleep(interval).await;
    }
}
