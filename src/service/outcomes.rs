//! Observed loyalty outcomes: ingest of a batch and list.

use chrono::{DateTime, Utc};

use super::{
    ServiceResult, Services,
    page::{self, Page, PageRequest},
    write::{self, Converted, FirstIndex, converted},
};
use crate::{
    domain::{
        IngestCounts, Numbered, TenantId, Violations, enums::OutcomeKind,
        scope::truncate_to_micros, violations::check_id,
    },
    store::outcomes as db,
};

/// At most this many outcomes per request.
pub const MAX_OUTCOMES: usize = 1000;

/// An outcome as a client submitted it, wire values converted.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedOutcome {
    pub id: String,
    pub customer_id: String,
    pub kind: Converted<OutcomeKind>,
    pub occurred: bool,
    pub observed_at: Converted<DateTime<Utc>>,
}

/// Validates a batch and upserts it in one transaction. Violation paths
/// start at `outcomes`.
pub async fn submit(
    services: &Services,
    tenant: TenantId,
    batch: &[SubmittedOutcome],
) -> ServiceResult<IngestCounts> {
    let outcomes = check_outcomes(batch)?;
    let customers: Vec<&str> = batch.iter().map(|o| o.customer_id.as_str()).collect();
    write::ingest(services, tenant, "outcome", &customers, async |conn| {
        Ok(db::upsert_outcomes(conn, tenant, &outcomes).await?)
    })
    .await
}

/// One page of the outcomes `filter` selects, in (observed_at, id) order.
pub async fn list(
    services: &Services,
    tenant: TenantId,
    filter: &db::OutcomeFilter,
    page: &PageRequest,
) -> ServiceResult<Page<db::Outcome>> {
    let after = page.after_time_position()?;
    let rows = read!(services, tenant, 1, |pool| {
        Ok(db::list_outcomes(
            pool,
            tenant,
            filter,
            after.as_ref().map(|(t, id)| (*t, id.as_str())),
            page.fetch_limit(),
        )
        .await?)
    })?;
    Ok(page.page(rows, |o| page::time_position(o.observed_at, &o.id)))
}

/// Validates a batch of 1-1,000 outcomes, reporting every violation under
/// `outcomes[i]`, and converts the valid batch for the store. Timestamps are
/// truncated to the microseconds PostgreSQL keeps, so a re-send of the same
/// record compares equal to what is stored.
pub fn check_outcomes(outcomes: &[SubmittedOutcome]) -> Result<Vec<db::Outcome>, Violations> {
    let mut v = Violations::default();
    let names = ("outcomes", "outcome", "request");
    write::check_batch_size(&mut v, names, outcomes.len(), MAX_OUTCOMES);
    let mut ids = FirstIndex::with_capacity(outcomes.len());
    let mut out = Vec::with_capacity(outcomes.len());
    for (i, o) in outcomes.iter().enumerate() {
        let before = v.len();
        let path = format!("outcomes[{i}]");
        check_id(&mut v, &format!("{path}.id"), &o.id);
        if let Some(first) = ids.earlier(&o.id, i) {
            v.add(
                format!("{path}.id"),
                format!("duplicates outcomes[{first}].id; an id may appear once per request"),
            );
        }
        check_id(&mut v, &format!("{path}.customer_id"), &o.customer_id);
        let kind = converted(&mut v, format!("{path}.kind"), &o.kind);
        let observed_at = converted(&mut v, format!("{path}.observed_at"), &o.observed_at);
        if v.len() != before {
            continue;
        }
        let (Some(kind), Some(observed_at)) = (kind, observed_at) else {
            continue;
        };
        out.push(db::Outcome {
            id: o.id.clone(),
            customer_id: o.customer_id.clone(),
            kind: kind.db(),
            occurred: o.occurred,
            observed_at: truncate_to_micros(observed_at),
        });
    }
    v.into_result()?;
    Ok(out)
}
