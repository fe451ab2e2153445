//! `WatchAtRiskCustomers` (SPEC §12.1): a tenant's at-risk events as a
//! stream, in sequence (= commit) order, resumable by a sealed token, and
//! the background upkeep of the outbox (retention).
//!
//! A watch holds no database connection while it waits: it reads a page
//! of events after its position (one pooled connection, under the
//! tenant's budget, given back at once), sends them, and sleeps until the
//! tenant's wake-up ([`EventHub`]: a `LISTEN` on `store::tiers::EVENTS_CHANNEL`,
//! which every replica's writes `pg_notify` at commit), a poll interval
//! (the fallback when a notification is lost, e.g. while the listening
//! connection reconnects), the next key check, or shutdown.
//!
//! The resume token is the sequence number of the event it comes with,
//! sealed under the tenant's page-token key ([`super::page::seal`]): opaque,
//! unforgeable, valid on every replica and across restarts. Resuming after
//! N yields exactly the events after N, because numbers are handed out in
//! commit order (`store::events`). Retention keeps `purged_seq`; a token
//! behind it would silently skip events, so it is `OUT_OF_RANGE`.

use std::{
    collections::HashMap,
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::{ServiceError, ServiceResult, Services, budget::BudgetExhausted, page};
use crate::{
    domain::{Numbered, TenantId, enums::EffortTier},
    store::{
        events::{self as store, StoredEvent},
        tenants,
    },
};

/// Events read per page: a watch far behind catches up in reads of this
/// size, each on a connection of its own given back before sending.
pub const WATCH_PAGE: i64 = 200;
/// How long a watch waits without a wake-up before it looks anyway.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Events buffered per watch between its reader and its client.
const SEND_BUFFER: usize = 64;

/// What ends a watch besides its client.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The token's successors were purged by retention.
    #[error(
        "the events after this resume_token are past their retention and were deleted; \
         start a new watch without a token"
    )]
    OutOfRange,
    /// The caller's key was revoked while the watch was open.
    #[error("the API key was revoked")]
    Revoked,
    /// The server is shutting down; resume on another replica.
    #[error("the server is shutting down; resume with the last resume_token")]
    ShuttingDown,
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<crate::store::StoreError> for WatchError {
    fn from(err: crate::store::StoreError) -> Self {
        WatchError::Service(err.into())
    }
}

/// One event as a watch hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchedEvent {
    pub event: StoredEvent,
    pub resume_token: String,
}

/// Checks the caller's key again: `Ok(false)` once it is revoked.
pub type KeyCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ServiceResult<bool>> + Send>> + Send + Sync>;

/// What a watch asks for.
#[derive(Clone)]
pub struct WatchQuery {
    pub min_tier: EffortTier,
    pub resume_token: String,
    pub key_check: Option<KeyCheck>,
}

/// The per-process side of watches: one wake-up signal per tenant, the
/// count of open watches per tenant, and the shutdown signal.
pub struct EventHub {
    wakers: Mutex<HashMap<TenantId, watch::Sender<u64>>>,
    open: Mutex<HashMap<TenantId, u32>>,
    shutdown: watch::Sender<bool>,
    /// Open watches per tenant on this replica.
    pub max_watches: u32,
    /// How often an open watch's key is checked again.
    pub key_recheck: Duration,
    pub poll_interval: Duration,
}

impl EventHub {
    pub fn new(max_watches: u32, key_recheck: Duration) -> Self {
        Self {
            wakers: Mutex::default(),
            open: Mutex::default(),
            shutdown: watch::channel(false).0,
            max_watches: max_watches.max(1),
            key_recheck,
            poll_interval: POLL_INTERVAL,
        }
    }

    fn waker(&self, tenant: TenantId) -> watch::Receiver<u64> {
        let mut wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        wakers
            .entry(tenant)
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Wakes the watches of `tenant` (a notification arrived).
    pub fn wake(&self, tenant: TenantId) {
        let wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = wakers.get(&tenant) {
            w.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Wakes every watch (notifications may have been lost).
    pub fn wake_all(&self) {
        let wakers = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        for w in wakers.values() {
            w.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    /// Ends every open watch (`ShuttingDown`) and refuses new ones.
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// A slot of `tenant`'s open watches, or the budget error.
    fn admit(self: &Arc<Self>, tenant: TenantId) -> ServiceResult<WatchSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(tenant).or_default();
        if *n >= self.max_watches {
            return Err(ServiceError::Budget(BudgetExhausted {
                budget: "open_watches",
                what: "open watches",
                limit: self.max_watches,
                retry_after: super::budget::BUDGET_RETRY_DELAY,
            }));
        }
        *n += 1;
        Ok(WatchSlot {
            hub: self.clone(),
            tenant,
        })
    }

    /// Watches of `tenant` open on this replica.
    pub fn open_watches(&self, tenant: TenantId) -> u32 {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(&tenant).copied().unwrap_or(0)
    }
}

/// One open watch, counted until dropped.
struct WatchSlot {
    hub: Arc<EventHub>,
    tenant: TenantId,
}

impl Drop for WatchSlot {
    fn drop(&mut self) {
        let mut open = self.hub.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.tenant) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.tenant);
            }
        }
    }
}

/// The fingerprint resume tokens are sealed with: bound to the tenant and
/// to watches (a page token of a list does not open as one).
fn token_fingerprint(tenant: TenantId) -> String {
    page::fingerprint(
        tenant.0,
        &crate::proto::v1::WatchAtRiskCustomersRequest::default(),
    )
}

/// Whether a watch of `min_tier` sees `event`: it crossed `min_tier`
/// (its tier is at least `min_tier`, its previous tier below it).
pub fn crosses(event: &StoredEvent, min_tier: EffortTier) -> bool {
    let min = min_tier.number() as i16;
    event.tier >= min && event.previous_tier < min
}

/// Opens a watch: checks the token and the tenant's watch budget, then
/// streams events from a task of its own until the client goes, the key is
/// revoked, the server shuts down, or an error (the last item).
pub async fn watch(
    services: &Services,
    tenant: TenantId,
    query: WatchQuery,
) -> Result<ReceiverStream<Result<WatchedEvent, WatchError>>, WatchError> {
    let hub = services.events.clone();
    if *hub.shutdown.borrow() {
        return Err(WatchError::ShuttingDown);
    }
    let secret = tenants::page_token_key(&services.pool, tenant)
        .await?
        .ok_or_else(|| ServiceError::NotFound {
            what: "tenant",
            id: tenant.0.to_string(),
        })?;
    let fingerprint = token_fingerprint(tenant);
    let resume: Option<i64> = page::open(&secret, &fingerprint, &query.resume_token)
        .map_err(|_| ServiceError::invalid("resume_token", "is not a resume token of a watch"))?;
    let slot = hub.admit(tenant)?;
    let position = {
        let db = services.db(tenant, 1).await?;
        let mut conn = db.acquire().await.map_err(ServiceError::from)?;
        store::stream_position(&mut conn, tenant).await?
    };
    let after = match resume {
        None => position.last_seq,
        Some(seq) if seq < position.purged_seq => return Err(WatchError::OutOfRange),
        Some(seq) if seq > position.last_seq || seq < 0 => {
            return Err(
                ServiceError::invalid("resume_token", "is not a resume token of a watch").into(),
            );
        }
        Some(seq) => seq,
    };
    let (tx, rx) = mpsc::channel(SEND_BUFFER);
    let services = services.clone();
    tokio::spawn(async move {
        let _slot = slot;
        let run = Watch {
            services: &services,
            tenant,
            min_tier: query.min_tier,
            secret,
            fingerprint,
            key_check: query.key_check,
            after,
        };
        if let Err(end) = run.run(&tx).await {
            let _ = tx.send(Err(end)).await;
        }
    });
    Ok(ReceiverStream::new(rx))
}

/// One watch's loop.
struct Watch<'a> {
    services: &'a Services,
    tenant: TenantId,
    min_tier: EffortTier,
    secret: Vec<u8>,
    fingerprint: String,
    key_check: Option<KeyCheck>,
    /// The last sequence number looked at.
    after: i64,
}

type Sender = mpsc::Sender<Result<WatchedEvent, WatchError>>;

impl Watch<'_> {
    /// Runs until the client goes (`Ok`) or the watch ends (`Err`).
    async fn run(mut self, tx: &Sender) -> Result<(), WatchError> {
        let hub = self.services.events.clone();
        let mut wake = hub.waker(self.tenant);
        let mut shutdown = hub.shutdown.subscribe();
        let mut next_check = tokio::time::Instant::now() + hub.key_recheck;
        loop {
            if *shutdown.borrow_and_update() {
                return Err(WatchError::ShuttingDown);
            }
            if tokio::time::Instant::now() >= next_check {
                self.check_key().await?;
                next_check = tokio::time::Instant::now() + hub.key_recheck;
            }
            // Marked seen before the read: a wake-up during it is not lost.
            wake.borrow_and_update();
            let events = self.read_page().await?;
            let full = events.len() as i64 == WATCH_PAGE;
            for event in events {
                self.after = event.seq;
                if !crosses(&event, self.min_tier) {
                    continue;
                }
                let resume_token = page::seal(&self.secret, &self.fingerprint, &event.seq)
                    .ok_or_else(|| {
                        // Never for a number under a 32-byte key (page::seal).
                        ServiceError::Store(crate::store::StoreError::Internal(
                            sqlx::Error::Protocol("cannot seal a resume token".into()),
                        ))
                    })?;
                let item = WatchedEvent {
                    event,
                    resume_token,
                };
                tokio::select! {
                    sent = tx.send(Ok(item)) => if sent.is_err() { return Ok(()) },
                    _ = shutdown.changed() => return Err(WatchError::ShuttingDown),
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = wake.changed() => {}
                () = tokio::time::sleep(hub.poll_interval) => {}
                () = tokio::time::sleep_until(next_check) => {}
                _ = shutdown.changed() => return Err(WatchError::ShuttingDown),
                () = tx.closed() => return Ok(()),
            }
        }
    }

    /// The next page after the position, on a connection given back at
    /// once; `OutOfRange` when retention passed the position.
    async fn read_page(&self) -> Result<Vec<StoredEvent>, WatchError> {
        let db = self.services.db(self.tenant, 1).await?;
        let mut conn = db.acquire().await.map_err(ServiceError::from)?;
        let position = store::stream_position(&mut conn, self.tenant).await?;
        if self.after < position.purged_seq {
            return Err(WatchError::OutOfRange);
        }
        Ok(store::events_after(&mut conn, self.tenant, self.after, WATCH_PAGE).await?)
    }

    async fn check_key(&self) -> Result<(), WatchError> {
        if let Some(check) = &self.key_check
            && !check().await?
        {
            tracing::info!("API key revoked: ending the watch");
            return Err(WatchError::Revoked);
        }
        Ok(())
    }
}

/// Listens for new events on a connection of its own and wakes the
/// tenant's watches; after a lost connection (notifications may have been
/// missed) wakes them all. Runs until aborted.
pub async fn listen(pool: sqlx::PgPool, hub: Arc<EventHub>) {
    let mut delay = Duration::from_millis(200);
    loop {
        let attempt = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen(crate::store::tiers::EVENTS_CHANNEL).await?;
            // Events committed before the LISTEN took effect.
            hub.wake_all();
            loop {
                match listener.try_recv().await? {
                    Some(n) => match n.payload().parse::<i64>() {
                        Ok(tenant) => hub.wake(TenantId(tenant)),
                        Err(_) => hub.wake_all(),
                    },
                    None => hub.wake_all(),
                }
            }
            #[allow(unreachable_code)]
            Ok::<(), sqlx::Error>(())
        };
        if let Err(err) = attempt.await {
            tracing::warn!(error = %err, "event listener lost its connection; watches poll until it is back");
            hub.wake_all();
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        }
    }
}

/// Deletes events past their tenant's `event_retention_days`, every
/// `interval`, in batches of `batch` (each its own short transaction).
/// Runs until aborted; aborting mid-batch rolls that batch back.
pub async fn purge_expired(pool: sqlx::PgPool, interval: Duration, batch: i64) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(err) = purge_once(&pool, batch).await {
            tracing::warn!(error = %err, "event retention failed; will retry");
        }
    }
}

/// One retention pass over every tenant with expired events; returns how
/// many events went.
pub async fn purge_once(pool: &sqlx::PgPool, batch: i64) -> crate::store::StoreResult<u64> {
    let mut total = 0;
    for due in store::retention_due(pool).await? {
        loop {
            let n = store::purge_expired(pool, due.tenant, due.retention_days, batch).await?;
            total += n;
            if n < batch as u64 {
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(events = total, "purged events past their retention");
    }
    Ok(total)
}
