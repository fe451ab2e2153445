//! What every write path shares: the transaction the service owns, the
//! calibration cache told of the write in one place, the ingest counters
//! bumped only for what committed, the shape of a field a transport
//! converted, and the once-per-batch rule for ids.

use std::collections::HashMap;

use sqlx::PgConnection;

use super::{ServiceResult, Services};
use crate::{
    domain::{IngestCounts, TenantId, Violations},
    store::customers,
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
    transaction_telling(services, tenant, |_| true, write).await
}

/// [`transaction`], telling the calibration cache only when `changed` says
/// the written value changed something.
async fn transaction_telling<T>(
    services: &Services,
    tenant: TenantId,
    changed: impl FnOnce(&T) -> bool,
    write: impl AsyncFnOnce(&mut PgConnection) -> ServiceResult<T>,
) -> ServiceResult<T> {
    let db = services.db(tenant, 1).await?;
    let mut tx = db.begin().await?;
    let value = write(&mut tx).await?;
    let committed = tx.commit().await;
    if changed(&value) {
        services.calibration.wrote(tenant);
    }
    committed?;
    Ok(value)
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
    write: impl AsyncFnOnce(&mut PgConnection) -> ServiceResult<IngestCounts>,
) -> ServiceResult<IngestCounts> {
    let changed = |c: &IngestCounts| c.inserted > 0 || c.updated > 0;
    let counts = transaction_telling(services, tenant, changed, async |conn| {
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
