//! Per-tenant database connection budgets (SPEC §14).
//!
//! Every service call that uses the pool first takes, from its tenant's
//! own semaphore, one permit per connection it may use at once
//! ([`Services::db`](super::Services::db)), and holds them while it uses
//! the pool. So one tenant holds at most its budget of the pool's
//! connections, however many calls it makes, and the others find the rest
//! free. A call waits for its own tenant's permits only, and only briefly;
//! then it is answered `RESOURCE_EXHAUSTED` with a `RetryInfo`, for that
//! tenant alone.
//!
//! A call never holds permits while it waits for more (each guard is taken
//! where the pool is used and dropped with that use), so the calls of one
//! tenant cannot deadlock on its budget.

use std::{
    collections::HashMap,
    ops::Deref,
    sync::{Arc, Mutex},
    time::Duration,
};

use sqlx::PgPool;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::TenantId;

/// How long a tenant over a budget is asked to wait before retrying.
pub const BUDGET_RETRY_DELAY: Duration = Duration::from_secs(1);

/// A tenant's call that is over one of its budgets; the transport answers
/// `RESOURCE_EXHAUSTED` (reason `TENANT_BUDGET_EXHAUSTED`) with a
/// `RetryInfo` and the budget's name and size in the metadata.
#[derive(Debug, Clone, thiserror::Error)]
#[error("this tenant's budget of {limit} {what} is exhausted; retry later")]
pub struct BudgetExhausted {
    /// The budget's name in the error metadata: `calls_in_flight`,
    /// `db_connections` or `open_streams`.
    pub budget: &'static str,
    /// What it counts, in words.
    pub what: &'static str,
    pub limit: u32,
    pub retry_after: Duration,
}

/// Per-tenant semaphores of one size, made on a tenant's first use.
pub struct TenantSemaphores {
    limit: u32,
    semaphores: Mutex<HashMap<TenantId, Arc<Semaphore>>>,
}

impl TenantSemaphores {
    pub fn new(limit: u32) -> Self {
        Self {
            limit: limit.max(1),
            semaphores: Mutex::default(),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    fn semaphore(&self, tenant: TenantId) -> Arc<Semaphore> {
        let mut semaphores = self.semaphores.lock().unwrap_or_else(|e| e.into_inner());
        semaphores
            .entry(tenant)
            .or_insert_with(|| Arc::new(Semaphore::new(self.limit as usize)))
            .clone()
    }

    /// One permit of `tenant` now, or `None` when all are taken.
    pub fn try_acquire(&self, tenant: TenantId) -> Option<OwnedSemaphorePermit> {
        self.semaphore(tenant).try_acquire_owned().ok()
    }

    /// `n` permits of `tenant` (at most the budget), waiting at most `wait`.
    pub async fn acquire(
        &self,
        tenant: TenantId,
        n: u32,
        wait: Duration,
    ) -> Option<OwnedSemaphorePermit> {
        let semaphore = self.semaphore(tenant);
        let n = n.clamp(1, self.limit);
        match tokio::time::timeout(wait, semaphore.acquire_many_owned(n)).await {
            Ok(Ok(permit)) => Some(permit),
            // Never closed; a timeout is the budget exhausted.
            _ => None,
        }
    }
}

/// The database connection budgets of every tenant.
pub struct DbBudget {
    per_tenant: TenantSemaphores,
    /// How long a call may wait for its tenant's permits.
    wait: Duration,
}

impl DbBudget {
    pub fn new(connections_per_tenant: u32, wait: Duration) -> Self {
        Self {
            per_tenant: TenantSemaphores::new(connections_per_tenant),
            wait,
        }
    }
}

/// The pool, lent to one call of one tenant for as many connections at
/// once as it took permits for; the permits return when it is dropped.
pub struct Db {
    pool: PgPool,
    _permits: Option<OwnedSemaphorePermit>,
}

impl Deref for Db {
    type Target = PgPool;

    fn deref(&self) -> &PgPool {
        &self.pool
    }
}

/// Lends `pool` to `tenant` for `n` connections at once, within `budget`
/// (`None`: no budget, for operator tools).
pub async fn lend(
    pool: &PgPool,
    budget: Option<&DbBudget>,
    tenant: TenantId,
    n: u32,
) -> Result<Db, BudgetExhausted> {
    let permits = match budget {
        None => None,
        Some(budget) => Some(
            budget
                .per_tenant
                .acquire(tenant, n, budget.wait)
                .await
                .ok_or(BudgetExhausted {
                    budget: "db_connections",
                    what: "database connections",
                    limit: budget.per_tenant.limit(),
                    retry_after: BUDGET_RETRY_DELAY,
                })?,
        ),
    };
    Ok(Db {
        pool: pool.clone(),
        _permits: permits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tenants_have_separate_budgets_and_permits_return_on_drop() {
        let budget = TenantSemaphores::new(2);
        let (a, b) = (TenantId(1), TenantId(2));
        let held = budget.acquire(a, 2, Duration::ZERO).await.expect("a's two");
        assert!(budget.try_acquire(a).is_none(), "a is at its budget");
        assert!(
            budget
                .acquire(a, 1, Duration::from_millis(10))
                .await
                .is_none(),
            "a waits briefly, then is refused"
        );
        assert!(budget.try_acquire(b).is_some(), "b is unaffected");
        drop(held);
        assert!(budget.try_acquire(a).is_some(), "a's permits came back");
    }

    #[tokio::test]
    async fn a_request_above_the_budget_takes_the_whole_budget() {
        let budget = TenantSemaphores::new(2);
        let all = budget
            .acquire(TenantId(1), 5, Duration::ZERO)
            .await
            .expect("clamped to the budget");
        assert_eq!(all.num_permits(), 2);
    }
}
