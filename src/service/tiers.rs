//! Current tiers at write time and the events of their raises (SPEC §12.1).
//!
//! A write that can change tiers (journeys, survey responses with a
//! respondent, their re-sends) runs, inside its own transaction:
//! [`before_write`] — lock the batch's stored records, read the model,
//! the stored current tiers of every customer it touches (the batch's and
//! the current owners of its record ids) and their assessment over the
//! rolling window ending now — then its upsert, then
//! [`Pending::after_write`] — take the customers' tier locks, assess them
//! again over the same window while rewriting their whole-history
//! assessments (`store::assessments`), store the current tiers and record
//! an `AtRiskEvent` for each raise, as the transaction's last statements
//! (`store::events::record_events`, then `pg_notify`).
//!
//! The tier locks serialize only that last part of the writes of one
//! customer, so the upserts of batches sharing customers run side by side
//! (the 10M benchmark of 2026-12-02 found batches of uniformly drawn
//! customers serialized end to end when the locks were taken before the
//! first assessment). Each write's whole-history row is still computed
//! from every committed record of the customer: its statement starts
//! after the lock, when every earlier writer of the customer has
//! committed (see `store::assessments` for why the model is read after
//! the locks).
//!
//! "Previous tier" is the tier over the window ending *now*, just before
//! this write — not a stale stored `customer_tiers` row (journeys aged out
//! of the window since it was written, or the model changed). So a raise
//! is exactly "this write made the tier higher": records merely ageing out
//! never look like a raise at the next write, a re-send of an unchanged
//! record compares equal, and a write that keeps a HIGH customer HIGH
//! raises nothing. It is assessed before the upsert, without the lock; a
//! write of the same customer that commits in between writes its stored
//! row (version and `assessed_at` change), and then that row — the
//! customer's tier after the other write, as that write assessed it a
//! moment earlier, without this one — is the previous tier instead. A
//! model changed in between makes the write run again from the start
//! (`StoreError::Conflict`), so both assessments are under one model.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::{ServiceError, ServiceResult};
use crate::store::StoreError;
use crate::{
    domain::{Numbered, Scope, TenantId, Window, enums::EffortTier, model::ScoringModel},
    scoring::{
        effort::reasons,
        holdout::{holdout_key, is_holdout},
    },
    store::{
        assessments::{assess_and_record, mark_complete},
        events::{NewEvent, StoredEvent, record_events},
        loyalty::{Assessment, assess_customers},
        tiers::{self as db, HighTierStart},
    },
};

/// The kind of records a write is of, with (id, customer) of each record
/// that can decide a tier.
#[derive(Debug, Clone, Copy)]
pub enum Written<'a> {
    /// Journeys: (id, customer_id).
    Journeys(&'a [(&'a str, &'a str)]),
    /// Survey responses: (id, respondent_id) of those with a respondent
    /// that answered `ease` as a CUSTOMER; `ids` is every id of the batch
    /// (a re-send may take an answer away from its previous respondent).
    Responses {
        deciding: &'a [(&'a str, &'a str)],
        ids: &'a [&'a str],
    },
}

/// What [`before_write`] found, to compare with after the write.
#[derive(Debug)]
pub struct Pending {
    model: ScoringModel,
    /// The etag of `model`, which the whole-history rows record.
    etag: String,
    holdout_key: [u8; 32],
    window: Scope,
    now: DateTime<Utc>,
    /// Sorted, distinct.
    customers: Vec<String>,
    before: HashMap<String, i32>,
    /// The stored current tiers as read before `before` was assessed.
    stored: HashMap<String, db::StoredTier>,
    /// Per customer, the batch's records that belong (or belonged) to them,
    /// in batch order.
    records: HashMap<String, Vec<String>>,
    journeys: bool,
}

/// The rolling window of current tiers ending at `now`: `[now − days, ∞)`.
/// Open at the end because ingest accepts records up to 5 minutes ahead
/// (clock skew) and such a record must count now, not in 5 minutes.
fn current_window(now: DateTime<Utc>, days: i32) -> Scope {
    Scope {
        window: Window {
            start: Some(now - chrono::Duration::days(i64::from(days))),
            end: None,
        },
        ..Scope::default()
    }
}

/// Reads the stored tiers of the customers `written` touches and assesses
/// them, before its upsert (see the module docs). Call it right after the
/// erasure fence.
pub async fn before_write(
    conn: &mut PgConnection,
    tenant: TenantId,
    written: Written<'_>,
) -> ServiceResult<Pending> {
    // The owners are read with the records locked (in the order the upsert
    // locks them), so a concurrent re-send moving a record to another
    // customer has committed first and that customer is the owner seen.
    let (new, owners, journeys) = match written {
        Written::Journeys(records) => {
            let ids: Vec<&str> = records.iter().map(|(id, _)| *id).collect();
            (records, db::journey_owners(conn, tenant, &ids).await?, true)
        }
        Written::Responses { deciding, ids } => (
            deciding,
            db::response_owners(conn, tenant, ids).await?,
            false,
        ),
    };
    let mut records: HashMap<String, Vec<String>> = HashMap::new();
    for (id, customer) in new
        .iter()
        .map(|(i, c)| (*i, *c))
        .chain(owners.iter().map(|(i, c)| (i.as_str(), c.as_str())))
    {
        let list = records.entry(customer.to_owned()).or_default();
        if !list.iter().any(|r| r == id) {
            list.push(id.to_owned());
        }
    }
    let customers: Vec<String> = records
        .keys()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Read before the assessment: a write committing between the two is in
    // the assessment and changes the stored row after it, so it is seen
    // either way (the row then says the same as the assessment, or more).
    let db::WriteStart {
        model,
        etag,
        key,
        stored,
    } = db::model_key_and_stored_tiers(conn, tenant, &customers)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            what: "tenant",
            id: tenant.0.to_string(),
        })?;
    let now = Utc::now();
    let window = current_window(now, model.risk_window_days);
    let before = assess_customers(conn, tenant, &window, &model.effort_model(), &customers)
        .await?
        .into_iter()
        .map(|a| (a.customer_id, a.tier))
        .collect();
    Ok(Pending {
        holdout_key: holdout_key(&key),
        model,
        etag,
        window,
        now,
        customers,
        before,
        stored,
        records,
        journeys,
    })
}

impl Pending {
    /// Assesses the customers again after the write's upsert (rewriting
    /// their whole-history assessments in the same statement), stores
    /// their current tiers and records the events of the raises; the
    /// write's last statements. Returns the events as stored.
    pub async fn after_write(
        self,
        conn: &mut PgConnection,
        tenant: TenantId,
    ) -> ServiceResult<Vec<StoredEvent>> {
        if self.customers.is_empty() {
            return Ok(Vec::new());
        }
        db::lock_customers(conn, tenant, &self.customers).await?;
        // A statement of its own, after the lock: it sees every write of
        // these customers that committed while this one waited.
        let (etag, stored) = db::etag_and_stored_tiers(conn, tenant, &self.customers).await?;
        if etag != self.etag {
            return Err(ServiceError::Store(StoreError::Conflict(
                sqlx::Error::Protocol(
                    "the scoring model changed during the write; running it again".into(),
                ),
            )));
        }
        let mut previous = self.before.clone();
        for customer in &self.customers {
            let now = stored.get(customer);
            if now != self.stored.get(customer) {
                // Another write of the customer committed since `before`
                // was read: its stored row is the tier without this write.
                match now {
                    Some(row) => previous.insert(customer.clone(), row.tier),
                    None => previous.remove(customer),
                };
            }
        }
        let effort_model = self.model.effort_model();
        let after = assess_and_record(
            conn,
            tenant,
            &self.window,
            (&effort_model, &self.etag),
            &self.customers,
        )
        .await?;
        let previous = &previous;
        db::store_tiers(conn, tenant, &self.customers, &after, self.now).await?;
        let mut raised: Vec<&Assessment> = after
            .iter()
            .filter(|a| a.tier > previous.get(&a.customer_id).copied().unwrap_or(0))
            .collect();
        if raised.is_empty() {
            return Ok(Vec::new());
        }
        raised.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
        let worst: Vec<&str> = raised
            .iter()
            .filter_map(|a| a.worst_journey_id.as_deref())
            .collect();
        let components = db::journey_components(conn, tenant, &worst).await?;
        let events: Vec<NewEvent> = raised
            .iter()
            .map(|a| {
                let cause = self.cause(a);
                NewEvent {
                    customer_id: a.customer_id.clone(),
                    tier: a.tier as i16,
                    previous_tier: previous.get(&a.customer_id).copied().unwrap_or(0) as i16,
                    tier_source: a.tier_source as i16,
                    reasons: a
                        .worst_journey_id
                        .as_deref()
                        .and_then(|id| components.get(id))
                        .map(|c| reasons(c, &effort_model))
                        .unwrap_or_default(),
                    journey_id: cause.clone().filter(|_| self.journeys),
                    response_id: cause.filter(|_| !self.journeys),
                    holdout: is_holdout(
                        &self.holdout_key,
                        &a.customer_id,
                        self.model.holdout_share,
                    ),
                }
            })
            .collect();
        let stored = record_events(conn, tenant, &events).await?;
        let high = EffortTier::High.number() as i16;
        let starts: Vec<HighTierStart> = stored
            .iter()
            .filter(|e| e.tier == high)
            .map(|e| HighTierStart {
                customer_id: e.customer_id.clone(),
                seq: e.seq,
                started_at: e.occurred_at,
                holdout: e.holdout,
            })
            .collect();
        db::record_high_tier_starts(conn, tenant, &starts).await?;
        db::notify_events(conn, tenant).await?;
        Ok(stored)
    }

    /// The record of the batch that raised `a`: the one that decides the
    /// new tier when it is of the batch (the worst journey, the latest
    /// `ease` answer), else the customer's first record in the batch (one
    /// that took a deciding record away, say).
    fn cause(&self, a: &Assessment) -> Option<String> {
        let mine = self.records.get(&a.customer_id)?;
        let deciding = if self.journeys {
            a.worst_journey_id.as_ref()
        } else {
            a.latest_ease_response_id.as_ref()
        };
        deciding
            .filter(|d| mine.contains(d))
            .or_else(|| mine.first())
            .cloned()
    }
}

/// Customers per transaction of a recompute pass.
pub const RECOMPUTE_BATCH: i64 = 500;

/// Brings every tenant's current tiers and whole-history assessments
/// (`store::assessments`) to its model in force, after a scoring-model
/// change (SPEC §12.1), in transactions of at most `batch` customers, each
/// recording its progress (so a restart resumes the pass, and a change
/// during a pass restarts it); the last one records the model as complete
/// for the assessments. Returns the customers reassessed.
///
/// No events: a model change is not a customer having a hard time, and
/// re-tiering a whole customer base at once would flood every watch and
/// webhook with raises nobody caused. The next write of a customer
/// compares against the tier over the window at that instant anyway
/// ([`before_write`]), so what the recompute stores is never what a write
/// compares with. Each batch takes the customers' tier locks, so it waits
/// for (and never interleaves with) a write of the same customers.
pub async fn recompute_pending(pool: &sqlx::PgPool, batch: i64) -> ServiceResult<u64> {
    let mut total = 0;
    for pass in db::pending_recomputes(pool).await? {
        let tenant = TenantId(pass.tenant_id);
        let mut after = pass.after_customer;
        let mut etag = pass.model_etag;
        loop {
            let mut tx = pool.begin().await?;
            // It appends tier-count deltas: the tenant's key share first,
            // as every write takes it (`store::tenants::hold`).
            crate::store::tenants::hold(&mut tx, tenant).await?;
            let Some((model, current)) = db::model_with_etag(&mut tx, tenant).await? else {
                break;
            };
            if current != etag {
                // Changed again since the pass was planned: start over.
                etag = current;
                after.clear();
            }
            let customers = db::customers_after(&mut tx, tenant, &after, batch).await?;
            db::lock_customers(&mut tx, tenant, &customers).await?;
            let window = current_window(Utc::now(), model.risk_window_days);
            let assessed = assess_and_record(
                &mut tx,
                tenant,
                &window,
                (&model.effort_model(), &etag),
                &customers,
            )
            .await?;
            db::store_tiers(&mut tx, tenant, &customers, &assessed, Utc::now()).await?;
            let done = (customers.len() as i64) < batch;
            if let Some(last) = customers.last() {
                after.clone_from(last);
            }
            db::advance_recompute(&mut tx, tenant, &etag, &after, done).await?;
            if done {
                // Every customer with records has been walked under this
                // model (in this pass, or by writes since it started).
                mark_complete(&mut tx, tenant, &etag).await?;
            }
            tx.commit().await?;
            total += customers.len() as u64;
            if done {
                break;
            }
        }
    }
    Ok(total)
}

/// Runs [`recompute_pending`] every `interval` until aborted (aborting
/// mid-batch rolls that batch back; its progress was not recorded).
pub async fn recompute_in_background(pool: sqlx::PgPool, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match recompute_pending(&pool, RECOMPUTE_BATCH).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                customers = n,
                "current tiers recomputed under the new model"
            ),
            Err(err) => {
                tracing::warn!(error = %err, "recompute of current tiers failed; will retry")
            }
        }
    }
}
