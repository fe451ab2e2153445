//! Keeps `grpc.health.v1` in step with the database: `NOT_SERVING` while
//! PostgreSQL is unreachable, `SERVING` again when it returns, no restart.

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

/// Pings the database every `interval` and reports the result until the
/// task is dropped. A ping that takes longer than the interval counts as down.
pub async fn watch_database(pool: PgPool, reporter: HealthReporter, interval: Duration) {
    let mut last: Option<bool> = None;
    loop {
        let up = matches!(
            tokio::time::timeout(
                interval.max(Duration::from_millis(500)),
                crate::store::ping(&pool)
            )
            .await,
            Ok(Ok(()))
        );
        crate::metrics::record_database_up(up);
        crate::metrics::record_pool(&pool);
        if last != Some(up) {
            if up {
                tracing::info!("database reachable: SERVING");
            } else {
                tracing::warn!("database unreachable: NOT_SERVING");
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
