//! What every write path shares: the transaction the service owns, the
//! calibration cache told of the write in one place, the ingest counters
//! bumped only for what committed, the shape of a field a transport
//! converted, the once-per-batch rule for ids, and the retry of a
//! transaction that lost a deadlock.

use std::{collections::HashMap, time::Duration};

use sqlx::PgConnection;

use super::{ServiceError, ServiceResult, Services};
use crate::{
    domain::{IngestCounts, TenantId, Violations},
    store::{StoreError, customers, tenants},
};

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

/// How many times a transaction that lost a deadlock or a serialization
/// conflict (`StoreError::Conflict`) runs again before the caller is told
/// `ABORTED` (with `RetryInfo`). The writes are idempotent and the whole of
/// each runs in one transaction, so a run again is safe; writes take their
/// row locks in one canonical order (by id), so a conflict is rare and a
/// second run almost always wins.
pub const CONFLICT_RETRIES: u32 = 3;

/// Runs `write` in one transaction of its own and commits it, running it
/// again (from the start, in a new transaction) after a deadlock or
/// serialization failure, at most [`CONFLICT_RETRIES`] times. Its first
/// statement takes the tenant row's key share ([`tenants::hold`]), which a
/// tenant clear or delete waits for.
///
/// The calibration cache is told after each commit *attempt*, whatever its
/// outcome: a commit whose reply was lost may still stand, and a reader
/// must not keep a calibration computed before it (see
/// [`super::calibration`]). A failure before the commit rolls back, so there
/// is nothing to retire.
pub async fn transaction<T>(
    services: &Services,
    tenant: TenantId,
    write: impl AsyncFnOnce(&mut PgConnection) -> ServiceResult<T> + Clone,
) -> ServiceResult<T> {
    transaction_telling(services, tenant, |_| true, write).await
}

/// [`transaction`], telling the calibration cache only when `changed` says
/// the written value changed something.
async fn transaction_telling<T>(
    services: &Services,
    tenant: TenantId,
    changed: impl Fn(&T) -> bool,
    write: impl AsyncFnOnce(&mut PgConnection) -> ServiceResult<T> + Clone,
) -> ServiceResult<T> {
    let mut retries = 0;
    loop {
        // A transaction that failed is rolled back explicitly (not on
        // drop), so its locks are gone before a retry starts.
        // Each run gets its own copy of `write` (its captures are
        // references to the validated batch).
        let write = write.clone();
        let run = async {
            let db = services.db(tenant, 1).await?;
            let mut tx = db.begin().await?;
            // The tenant row's key share first ([`tenants::hold`]).
            let written = match tenants::hold(&mut tx, tenant).await {
                Ok(()) => write(&mut tx).await,
                Err(err) => Err(err.into()),
            };
            let value = match written {
                Ok(value) => value,
                Err(err) => {
                    tx.rollback().await.ok();
                    return Err(err);
                }
            };
            let committed = tx.commit().await;
            if changed(&value) {
                services.calibration.wrote(tenant);
            }
            committed?;
            Ok(value)
        };
        match run.await {
            Err(ServiceError::Store(StoreError::Conflict(err))) if retries < CONFLICT_RETRIES => {
                retries += 1;
                tracing::debug!(retries, error = %err, "transaction conflict; running it again");
                tokio::time::sleep(conflict_backoff(retries)).await;
            }
            Err(err) => return Err(services.explain(err).await),
            Ok(value) => return Ok(value),
        }
    }
}

/// The pause before retry `n` (1, 2, ...): 10 ms, 20 ms, 40 ms, ... with
/// up to as much again at random, so two transactions that deadlocked on
/// each other do not meet again in step.
fn conflict_backoff(n: u32) -> Duration {
    let base = Duration::from_millis(10) * 2u32.saturating_pow(n.saturating_sub(1));
    base + base.mul_f64(rand::random::<f64>())
}

/// Runs an ingest `write` of records of `customers` in one transaction of
/// its own ([`transaction`]), behind their erasure fence
/// ([`customers::fence_writes`]: an erasure of one of them waits for this
/// write, or this write for it), and counts what it wrote in
/// `gapscore_records_ingested_total` (as `kind`) after the commit, so a
/// rolled-back batch is never counted. A batch whose records were all
/// `unchanged` wrote nothing, so it leaves the calibration cache alone (a
/// steady re-send must not defeat it).
pub async fn ingest(
    services: &Services,
    tenant: TenantId,
    kind: &'static str,
    customers: &[&str],
    write: impl AsyncFnOnce(&mut PgConnection) -> ServiceResult<IngestCounts> + Clone,
) -> ServiceResult<IngestCounts> {
    let changed = |c: &IngestCounts| c.inserted > 0 || c.updated > 0;
    let counts = transaction_telling(services, tenant, changed, async move |conn| {
        customers::fence_writes(conn, tenant, customers).await?;
        write(conn).await
    })
    .await?;
    crate::metrics::record_ingest(kind, counts.inserted, counts.updated, counts.unchanged);
    Ok(counts)
}

/// The batch-size rule of journeys and outcomes: 1-`max` records, else one
/// violation on `field` (the records are still checked, each on its own).
pub fn check_batch_size(
    v: &mut Violations,
    (field, record, per): (&str, &str, &str),
    len: usize,
    max: usize,
) {
    if len == 0 {
        v.add(field, format!("at least 1 {record} is required"));
    } else if len > max {
        v.add(
            field,
            format!("at most {max} {field} are allowed per {per}"),
        );
    }
}

/// Where each id (or question key) of a batch first appeared, for the
/// "may appear only once" rules.
#[derive(Debug, Default)]
pub struct FirstIndex<'a>(HashMap<&'a str, usize>);

impl<'a> FirstIndex<'a> {
    pub fn with_capacity(n: usize) -> Self {
        Self(HashMap::with_capacity(n))
    }

    /// The index `id` appeared at before, or `None` when it is new (then
    /// `index` is remembered). An empty id is never a repeat: it is
    /// reported as missing instead.
    pub fn earlier(&mut self, id: &'a str, index: usize) -> Option<usize> {
        if id.is_empty() {
            return None;
        }
        match self.0.get(id) {
            Some(first) => Some(*first),
            None => {
                self.0.insert(id, index);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_sizes_name_the_field_and_the_unit() {
        let mut v = Violations::default();
        let names = ("journeys", "journey", "message");
        check_batch_size(&mut v, names, 0, 1000);
        check_batch_size(&mut v, names, 1000, 1000);
        check_batch_size(&mut v, names, 1001, 1000);
        assert_eq!(
            v.items(),
            [
                ("journeys".into(), "at least 1 journey is required".into()),
                (
                    "journeys".into(),
                    "at most 1000 journeys are allowed per message".into()
                ),
            ]
        );
    }

    #[test]
    fn only_a_repeated_non_empty_id_has_an_earlier_index() {
        let mut ids = FirstIndex::default();
        assert_eq!(ids.earlier("a", 0), None);
        assert_eq!(ids.earlier("", 1), None);
        assert_eq!(ids.earlier("", 2), None);
        assert_eq!(ids.earlier("a", 3), Some(0));
    }
}
