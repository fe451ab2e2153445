//! A per-process cache of each tenant's outcome calibration (SPEC §7).
//!
//! The calibration attributes every outcome of the tenant to the customer's
//! tier over the 90 days before it, so it reads all of the tenant's
//! outcomes and their customers' answers and journeys: about a second at
//! ten million answers, for a table of 3 × 3 counts that changes only when
//! the tenant writes. `GetCustomerRisk`, `GetLoyaltyRisk` and the
//! scorecard all need it, so it is computed once and reused:
//!
//! - keyed by tenant and effort model (a model update changes the tiers,
//!   hence the key);
//! - invalidated by every write this process acknowledges for the tenant
//!   ([`CalibrationCache::wrote`], called after the write's commit,
//!   whether or not the call then succeeded): an entry is used only if no
//!   write happened since *before* it was computed, so a reader never
//!   sees a calibration older than a write acknowledged to anyone before
//!   the read began;
//! - and, for writes made by *other* processes (a second replica,
//!   `gapscore demo`), which this process cannot see, limited to `ttl`.
//!
//! Concurrent misses for the same key wait for one computation instead of
//! each running the query (the async mutex per key).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sqlx::PgPool;

use crate::{
    domain::TenantId,
    scoring::{
        effort::EffortModel,
        loyalty::{OutcomeCounts, TierKindTable},
    },
    store::{StoreResult, loyalty},
};

/// The calibration table.
pub type Calibration = TierKindTable<OutcomeCounts>;

struct Entry {
    generation: u64,
    at: Instant,
    table: Calibration,
}

type Slot = Arc<tokio::sync::Mutex<Option<Entry>>>;

/// See the module documentation.
pub struct CalibrationCache {
    ttl: Duration,
    /// Writes acknowledged per tenant.
    generations: Mutex<HashMap<TenantId, u64>>,
    /// One slot per (tenant, effort model as text).
    slots: Mutex<HashMap<(TenantId, String), Slot>>,
}

impl CalibrationCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generations: Mutex::default(),
            slots: Mutex::default(),
        }
    }

    /// Records that a write for `tenant` was (or may have been) committed.
    pub fn wrote(&self, tenant: TenantId) {
        *self
            .generations
            .lock()
            .expect("not poisoned")
            .entry(tenant)
            .or_default() += 1;
    }

    fn generation(&self, tenant: TenantId) -> u64 {
        self.generations
            .lock()
            .expect("not poisoned")
            .get(&tenant)
            .copied()
            .unwrap_or(0)
    }

    fn slot(&self, tenant: TenantId, model: &EffortModel) -> Slot {
        let key = (tenant, format!("{model:?}"));
        let mut slots = self.slots.lock().expect("not poisoned");
        if !slots.contains_key(&key) {
            // A new model for the tenant: the old models' entries are dead.
            slots.retain(|(t, _), _| *t != tenant);
        }
        slots.entry(key).or_default().clone()
    }

    /// The calibration of `tenant` under `model`, from the cache when valid.
    pub async fn get(
        &self,
        pool: &PgPool,
        tenant: TenantId,
        model: &EffortModel,
    ) -> StoreResult<Calibration> {
        let slot = self.slot(tenant, model);
        let mut entry = slot.lock().await;
        // Read before computing: a write acknowledged after this point
        // bumps the generation and retires what is computed now.
        let generation = self.generation(tenant);
        if let Some(e) = entry.as_ref()
            && e.generation == generation
            && e.at.elapsed() < self.ttl
        {
            metrics::counter!("gapscore_calibration_cache_total", "result" => "hit").increment(1);
            return Ok(e.table);
        }
        metrics::counter!("gapscore_calibration_cache_total", "result" => "miss").increment(1);
        let at = Instant::now();
        let table = loyalty::calibration(pool, tenant, model).await?;
        *entry = Some(Entry {
            generation,
            at,
            table,
        });
        Ok(table)
    }
}
