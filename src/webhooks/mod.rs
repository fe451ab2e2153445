//! Signed webhooks (SPEC §12.1): the background worker that delivers the
//! outbox's at-risk events to each tenant's webhooks, at least once, with
//! Standard Webhooks signatures and exponential backoff for up to 24 hours.
//!
//! Every replica runs one worker; the database decides who does what (see
//! `store::webhooks`), so any number of replicas deliver each attempt once.
//! A worker holds no database connection while it waits for a receiver,
//! and uses a pool of its own; a receiver has at most one attempt in
//! flight, so a slow, hanging or failing receiver costs one delivery slot
//! and never slows ingest or the other webhooks.

pub mod backoff;
pub mod client;
pub mod payload;
pub mod signing;
pub mod target;
mod worker;

use std::time::Duration;

use sqlx::PgPool;

/// How the worker runs (from `ServeArgs`, `--webhook-*`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The wait after a first failed attempt; it doubles with each one.
    pub retry_base: Duration,
    /// No attempt is made later than this after the event was fanned out;
    /// the delivery is FAILED then.
    pub give_up_after: Duration,
    /// One attempt's limit (connect, TLS, the answer's headers).
    pub timeout: Duration,
    /// Attempts in flight at once in this process.
    pub concurrency: usize,
    /// How often the worker looks for new events and due retries.
    pub poll: Duration,
    /// Whether `http` to loopback is allowed (also checked at delivery, so
    /// withdrawing the permission stops such deliveries).
    pub allow_http_loopback: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(5),
            give_up_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            concurrency: 16,
            poll: Duration::from_millis(500),
            allow_http_loopback: false,
        }
    }
}

impl Settings {
    /// How long a claimed attempt is leased: past its timeout and the
    /// writing of its outcome, so only a worker that died loses its lease.
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(2)
    }
}

/// The running worker; dropping it stops it and its attempts in flight
/// (their leases run out and another worker retries them).
pub struct Worker(tokio::task::JoinHandle<()>);

impl Drop for Worker {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Connections of the worker's own pool: the loop uses one at a time, the
/// attempts in flight one each briefly to record their outcomes.
const POOL_CONNECTIONS: u32 = 4;

/// Starts the worker with the server's settings, on a small pool of its own
/// to the database of `tenants` (the tenant calls' pool), so deliveries
/// neither take connections from tenant calls nor wait behind them.
pub fn spawn(tenants: &PgPool, args: &crate::config::ServeArgs) -> Worker {
    let config = crate::store::PoolConfig {
        max_connections: POOL_CONNECTIONS,
        ..args.pool_config()
    };
    let pool = crate::store::open_pool((*tenants.connect_options()).clone(), &config);
    spawn_on(pool, args.webhook_settings())
}

/// Starts the worker on `pool`.
pub fn spawn_on(pool: PgPool, settings: Settings) -> Worker {
    Worker(tokio::spawn(worker::run(pool, settings)))
}
