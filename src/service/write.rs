//! What every write path shares: the transaction the service owns, the
//! calibration cache told of the write in one place, the ingest counters
//! bumped only for what committed, and the shape of a field a transport
//! converted.

use sqlx::PgConnection;

use super::{ServiceResult, Services};
use crate::domain::{IngestCounts, TenantId, Violations};

/// A field a transport converted from its wire form (a timestamp, an enum
/// number), or the description of why it could not (`is required`,
/// `12 is not a known Channel`). The service reports the description at the
/// field's path in the order of its own checks, so one request lists every
/// violation, transport-level and catalog-level, in one stable order.
pub type Converted<T> = Result<T, String>;

/// The value of `field`, or `None` after adding its violation at `path`.
pub fn converted<T: Copy>(v: &mut Violations, path: String, field: &Converted<T>) -> Option<T> {
    match field {
        Ok(value) => Some(*value),
        Err(description) => {
            v.add(path, description.clone());
            None
        }
    }
}

/// Runs `write` in one transaction of its own and commits it.
///
/// The calibration cache is told after the commit *attempt*, whatever its
/// outcome: a commit whose reply was lost may still stand, and a reader
/// must not keep a calibration computed before it (see
/// [`super::calibration`]). A failure before the commit rolls back, so there
/// is nothing to retire.
pub async fn transaction<T>(
    services: &Services,
    tenant: TenantId,
    write: impl AsyncFnOnce(&mut PgConnection) -> ServiceResult<T>,
) -> ServiceResult<T> {
    let mut tx = services.pool.begin().await?;
    let value = write(&mut tx).await?;
    let committed = tx.commit().await;
    services.calibration.wrote(tenant);
    committed?;
    Ok(value)
}

/// Counts committed records in `gapscore_records_ingested_total`; called
/// after the commit, so a rolled-back batch is never counted.
pub fn record_ingested(kind: &'static str, counts: IngestCounts) {
    crate::metrics::record_ingest(kind, counts.inserted, counts.updated, counts.unchanged);
}
