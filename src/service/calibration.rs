//! A per-process cache of each tenant's outcome calibration (SPEC §7).
//!
//! The calibration attributes every outcome of the tenant to the customer's
//! tier over the 90 days before it, so it reads all of the tenant's
//! outcomes and their customers' answers and journeys: about a second at
//! ten million answers, for a table of 3 × 3 counts that changes only when
//! the tenant's data changes. `GetCustomerRisk`, `GetLoyaltyRisk` and the
//! scorecard all need it, so it is computed once and reused:
//!
//! - keyed by tenant and effort model (a model update changes the tiers,
//!   hence the key);
//! - invalidated by every write this process acknowledges for the tenant
//!   that changed something ([`CalibrationCache::wrote`], called after the
//!   write's commit, whether or not the call then succeeded; a batch whose
//!   records were all `unchanged` changed nothing and retires nothing): an
//!   entry is used only if no such write happened since *before* it was
//!   computed, so a reader never sees a calibration older than a write
//!   acknowledged to anyone before the read began;
//! - and, for writes made by *other* processes (a second replica,
//!   `gapscore demo`), which this process cannot see, limited to `ttl`.
//!
//! Concurrent misses share one computation (single flight): readers that
//! find the same generation wait for the same [`OnceCell`], and only the
//! first runs the query. A reader that finds a newer generation (a write
//! landed meanwhile) starts its own computation at once instead of queueing
//! behind the older one. If the computing caller is cancelled or fails, the
//! next waiter takes over.
//!
//! It also keeps the last scoring model each tenant's `GetCustomerRisk`
//! saw, with its etag ([`CalibrationCache::model`]): not trusted as such,
//! but what that call's one statement is built under and checks against
//! the etag in force in its own snapshot (`store::risk`), so the call needs
//! no round trip of its own to read the model.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::OnceCell;

use crate::{
    domain::{TenantId, model::ScoringModel},
    scoring::{
        effort::EffortModel,
        loyalty::{OutcomeCounts, TierKindTable},
    },
};

/// The calibration table.
pub type Calibration = TierKindTable<OutcomeCounts>;

/// One computation of a key's calibration, at one write generation.
struct Slot {
    generation: u64,
    /// When its computation was first asked for.
    at: Instant,
    table: Arc<OnceCell<Calibration>>,
}

/// See the module documentation.
pub struct CalibrationCache {
    ttl: Duration,
    /// Writes acknowledged per tenant.
    generations: Mutex<HashMap<TenantId, u64>>,
    /// The latest slot per (tenant, effort model as text).
    slots: Mutex<HashMap<(TenantId, String), Slot>>,
    /// The last model seen per tenant, with its etag (see the module
    /// documentation: a guess that a statement verifies).
    models: Mutex<HashMap<TenantId, Arc<(ScoringModel, String)>>>,
}

impl CalibrationCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generations: Mutex::default(),
            slots: Mutex::default(),
            models: Mutex::default(),
        }
    }

    /// The last model (and its etag) recorded for `tenant`, if any; only a
    /// guess, to be checked against the etag in force where it is used.
    pub fn model(&self, tenant: TenantId) -> Option<Arc<(ScoringModel, String)>> {
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
            .cloned()
    }

    /// Records the model in force for `tenant` as of some read, with its
    /// etag. One entry per tenant, so the map is bounded by the tenants.
    pub fn remember_model(&self, tenant: TenantId, model: ScoringModel, etag: String) {
        self.models
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tenant, Arc::new((model, etag)));
    }

    /// Records that a write for `tenant` that changed something was (or may
    /// have been) committed.
    pub fn wrote(&self, tenant: TenantId) {
        *self
            .generations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(tenant)
            .or_default() += 1;
    }

    fn generation(&self, tenant: TenantId) -> u64 {
        self.generations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&tenant)
            .copied()
            .unwrap_or(0)
    }

    /// The cell holding (or about to hold) the calibration of `key` as of
    /// `generation`: the current slot's while it is valid, else a new one.
    fn cell(&self, key: (TenantId, String), generation: u64) -> Arc<OnceCell<Calibration>> {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if !slots.contains_key(&key) {
            // A new model for the tenant: the old models' entries are dead.
            slots.retain(|(t, _), _| *t != key.0);
        }
        let valid = |s: &Slot| s.generation == generation && s.at.elapsed() < self.ttl;
        match slots.get(&key) {
            Some(slot) if valid(slot) => slot.table.clone(),
            _ => {
                let table = Arc::new(OnceCell::new());
                slots.insert(
                    key,
                    Slot {
                        generation,
                        at: Instant::now(),
                        table: table.clone(),
                    },
                );
                table
            }
        }
    }

    /// The calibration of `tenant` under `model`: from the cache when
    /// valid, else from `compute` — run by one of the callers that miss at
    /// the same time, whose result the others share.
    pub async fn get<E>(
        &self,
        tenant: TenantId,
        model: &EffortModel,
        compute: impl AsyncFnOnce() -> Result<Calibration, E>,
    ) -> Result<Calibration, E> {
        // Read before computing: a write acknowledged after this point
        // bumps the generation and retires what is computed now.
        let generation = self.generation(tenant);
        let cell = self.cell((tenant, format!("{model:?}")), generation);
        if let Some(table) = cell.get() {
            metrics::counter!("gapscore_calibration_cache_total", "result" => "hit").increment(1);
            return Ok(*table);
        }
        let mut computed = false;
        let table = cell
            .get_or_try_init(|| {
                computed = true;
                compute()
            })
            .await?;
        let result = if computed { "miss" } else { "shared" };
        metrics::counter!("gapscore_calibration_cache_total", "result" => result).increment(1);
        Ok(*table)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn table(n: u64) -> Calibration {
        let mut t = Calibration::default();
        t.get_mut(
            crate::domain::enums::EffortTier::High,
            crate::scoring::loyalty::OutcomeKind::Disloyalty,
        )
        .occurred = n;
        t
    }

    #[tokio::test]
    async fn concurrent_misses_compute_once_and_a_write_retires_the_entry() {
        let cache = CalibrationCache::new(Duration::from_secs(3600));
        let model = EffortModel::default();
        let runs = AtomicU32::new(0);
        let compute = async || {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, ()>(table(1))
        };
        let got =
            futures::future::join_all((0..8).map(|_| cache.get(TenantId(1), &model, compute)))
                .await;
        assert!(got.iter().all(|t| *t == Ok(table(1))));
        assert_eq!(runs.load(Ordering::SeqCst), 1, "one computation shared");
        cache.get(TenantId(1), &model, compute).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1, "then a hit");
        cache.wrote(TenantId(1));
        cache.get(TenantId(1), &model, compute).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2, "a write retires it");
        cache.get(TenantId(2), &model, compute).await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3, "tenants are apart");
    }

    #[tokio::test]
    async fn a_failed_computation_is_retried_by_the_next_caller() {
        let cache = CalibrationCache::new(Duration::from_secs(3600));
        let model = EffortModel::default();
        let failed = cache
            .get(TenantId(1), &model, async || Err::<Calibration, _>("down"))
            .await;
        assert_eq!(failed, Err("down"));
        let ok = cache
            .get(TenantId(1), &model, async || Ok::<_, &str>(table(2)))
            .await;
        assert_eq!(ok, Ok(table(2)));
    }
}
