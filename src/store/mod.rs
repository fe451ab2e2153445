//! PostgreSQL storage: connection, schema and one module per record kind.
//!
//! Everything here speaks sqlx and domain types, never tonic: a
//! [`StoreError`] reaches the caller as `service::ServiceError::Store`,
//! which the transport maps to a status once, in `grpc::error`.

pub mod assessments;
pub mod case_rollup;
pub mod catalog;
pub mod customers;
pub mod drivers;
pub mod effort;
pub mod effort_rollup;
pub mod effort_sql;
pub mod events;
pub mod follow_ups;
pub mod frame_rollup;
pub mod frames;
pub mod gap;
pub mod journey_efforts;
pub mod journeys;
pub mod loyalty;
pub mod outcomes;
pub mod responses;
pub mod risk;
pub mod rollup;
pub mod scope;
pub mod tenants;
pub mod tiers;
pub mod trend;
pub mod webhooks;

use std::{str::FromStr, time::Duration};

use sqlx::{
    ConnectOptions, Connection, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};

/// Embedded migrations, run at start and by `gapscore migrate`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// A storage failure, split by what the caller can do about it (SPEC §14's
/// code table: each variant is one answer the transport gives).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot do any work right now, for the reason in
    /// `outage`: retry later, against the same or another replica.
    #[error("database unavailable ({}): {source}", outage.describe())]
    Unavailable {
        outage: Outage,
        #[source]
        source: sqlx::Error,
    },
    /// The database is healthy but every pooled connection stayed busy for
    /// the whole acquire timeout: the service is overloaded, not the
    /// database down. Only the service can tell this from an outage (a
    /// pool also times out while it cannot connect), so the store never
    /// builds it; see `service::pool_probe`.
    #[error("no database connection became free in time")]
    PoolExhausted,
    /// A deadlock (40P01) or serialization failure (40001): the transaction
    /// was rolled back because of a concurrent one, and running it again is
    /// expected to succeed.
    #[error("transaction conflict: {0}")]
    Conflict(#[source] sqlx::Error),
    /// A statement was cancelled (57014): its `statement_timeout` expired
    /// or someone cancelled it.
    #[error("statement cancelled: {0}")]
    Cancelled(#[source] sqlx::Error),
    /// Anything else the database reported: a bug or a broken invariant.
    #[error("database error: {0}")]
    Internal(#[source] sqlx::Error),
}

/// Why the database cannot do the work now. Each is retryable, and each
/// has its own `ErrorInfo` reason so an operator sees at once which it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// Not reachable, shutting down, out of connection slots, or the pool
    /// is closed (the service is stopping).
    Unreachable,
    /// A read-only transaction (25006): after a failover the service is
    /// talking to a standby.
    ReadOnly,
    /// Disk full (53100).
    DiskFull,
    /// Out of memory (53200).
    OutOfMemory,
}

impl Outage {
    /// The `ErrorInfo` reason.
    pub fn reason(self) -> &'static str {
        match self {
            Outage::Unreachable => "DATABASE_UNAVAILABLE",
            Outage::ReadOnly => "DATABASE_READ_ONLY",
            Outage::DiskFull => "DATABASE_DISK_FULL",
            Outage::OutOfMemory => "DATABASE_OUT_OF_MEMORY",
        }
    }

    /// For messages and logs.
    pub fn describe(self) -> &'static str {
        match self {
            Outage::Unreachable => "the database is unavailable",
            Outage::ReadOnly => "the database is read-only (a standby after a failover?)",
            Outage::DiskFull => "the database's disk is full",
            Outage::OutOfMemory => "the database is out of memory",
        }
    }
}

impl StoreError {
    /// A pool timeout, the one error whose meaning depends on the
    /// database's health at the time (see [`StoreError::PoolExhausted`]).
    pub fn is_pool_timeout(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable {
                source: sqlx::Error::PoolTimedOut,
                ..
            }
        )
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        let code = match &err {
            sqlx::Error::Database(db) => db.code().map(|code| code.into_owned()),
            _ => None,
        };
        let outage = match code.as_deref() {
            Some("40P01" | "40001") => return StoreError::Conflict(err),
            Some("57014") => return StoreError::Cancelled(err),
            Some("25006") => Outage::ReadOnly,
            Some("53100") => Outage::DiskFull,
            Some("53200") => Outage::OutOfMemory,
            _ if is_unavailable(&err) => Outage::Unreachable,
            _ => return StoreError::Internal(err),
        };
        StoreError::Unavailable {
            outage,
            source: err,
        }
    }
}

/// Whether an error means "the database is not there right now" (retry later)
/// rather than "the query is wrong". Connection exceptions (SQLSTATE class 08),
/// shutdowns (57P01-57P03) and too-many-connections (53300) count as outages,
/// and so does a pool timeout (the pool cannot tell an unreachable database
/// from busy connections; the service refines it, see
/// [`StoreError::PoolExhausted`]).
pub fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "53300")
        }),
        _ => false,
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Pool settings. Short acquire timeouts make a database outage fail calls
/// fast instead of hanging until the client's deadline.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// PostgreSQL's `statement_timeout` on every connection of the pool,
    /// with [`CLIENT_CHECK_INTERVAL`] (the serving pools); `None`: the
    /// server's defaults, for migrations and operator commands, whose
    /// statements may rightly run long.
    pub statement_timeout: Option<Duration>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            statement_timeout: None,
        }
    }
}

/// How often a backend running a statement checks that its client is still
/// connected (PostgreSQL 14+ `client_connection_check_interval`). A pool
/// connection whose query was abandoned is closed (see [`open_pool`]); this
/// is how quickly PostgreSQL then stops the query and frees its locks.
pub const CLIENT_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// How long a returned connection may take to answer a sync before it is
/// deemed busy with an abandoned query and closed (see [`open_pool`]). An
/// idle connection answers in well under a millisecond.
pub const RELEASE_PROBE: Duration = Duration::from_millis(250);
/// Parses a PostgreSQL URL. Without a user in the URL or `PGUSER`, connects
/// as the operating-system user, as `psql` does (sqlx 0.9 would otherwise
/// log in as "anonymous").
pub fn connect_options(url: &str) -> anyhow::Result<PgConnectOptions> {
    use anyhow::Context;
    const EXPECTED: &str = "expected postgres://USER:PASSWORD@HOST:PORT/DATABASE, \
                            for example postgres://localhost:5432/gapscore";
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        anyhow::bail!("DATABASE_URL is not a PostgreSQL URL ({EXPECTED})");
    }
    let options = PgConnectOptions::from_str(url)
        .with_context(|| format!("DATABASE_URL is not a valid PostgreSQL URL ({EXPECTED})"))?;
    let has_user = url.split_once("://").is_some_and(|(_, rest)| {
        rest.split(['/', '?'])
            .next()
            .is_some_and(|authority| authority.contains('@'))
    });
    if has_user || std::env::var_os("PGUSER").is_some() {
        return Ok(options);
    }
    Ok(match os_user() {
        Some(user) => options.username(&user),
        None => options,
    })
}

/// The current user's name: `$USER`, `$LOGNAME`, or the passwd entry of our uid.
fn os_user() -> Option<String> {
    for var in ["USER", "LOGNAME"] {
        if let Ok(name) = std::env::var(var)
            && !name.is_empty()
        {
            return Some(name);
        }
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

/// `host:port` of the server, for messages (never the user or password).
pub fn server_address(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

/// Creates the database named in `url` if it does not exist yet, connecting
/// to the server's `postgres` database to do so.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let options = connect_options(url)?;
    let Some(name) = options.get_database().map(str::to_owned) else {
        return Ok(());
    };
    if let Ok(conn) = options.connect().await {
        conn.close().await.ok();
        return Ok(());
    }
    let mut admin: PgConnection = options
        .clone()
        .database("postgres")
        .connect()
        .await
        .with_context(|| {
            format!(
                "cannot connect to PostgreSQL at {} (is it running? is DATABASE_URL right?)",
                server_address(&options)
            )
        })?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
            .bind(&name)
            .fetch_one(&mut admin)
            .await?;
    if !exists {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        // The name is quoted as an identifier above; CREATE DATABASE takes no bind parameters.
        match sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {quoted}")))
            .execute(&mut admin)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another replica created it at the same moment.
            Err(sqlx::Error::Database(db)) if db.code().as_deref() == Some("42P04") => {}
            Err(err) => return Err(err).context("cannot create the database"),
        }
    }
    admin.close().await.ok();
    Ok(())
}

/// Opens a lazily connecting pool: the service starts (and reports
/// NOT_SERVING) even when the database is down, and recovers on its own.
pub fn connect_lazy(url: &str, config: &PoolConfig) -> anyhow::Result<PgPool> {
    Ok(open_pool(connect_options(url)?, config))
}

/// A lazily connecting pool over `options` with `config`'s settings.
///
/// A call that is cancelled (its client went away, its deadline passed)
/// drops its query future with the statement still running in PostgreSQL.
/// sqlx then returns the connection by sending a sync and waiting for the
/// answer, which comes only when the statement finishes: the connection
/// stays out of the pool all that time. So a returned connection is probed
/// first, with [`RELEASE_PROBE`] to answer; one that does not is closed
/// instead of returned, which frees its pool slot at once, and PostgreSQL,
/// checking its client every [`CLIENT_CHECK_INTERVAL`], cancels the
/// statement and rolls its transaction back. (A cancel request would need
/// the backend's key, which sqlx 0.9 keeps private.)
pub fn open_pool(options: PgConnectOptions, config: &PoolConfig) -> PgPool {
    let options = match config.statement_timeout {
        Some(timeout) => options.options([
            (
                "statement_timeout",
                format!("{}ms", timeout.as_millis().max(1)),
            ),
            (
                "client_connection_check_interval",
                format!("{}ms", CLIENT_CHECK_INTERVAL.as_millis()),
            ),
        ]),
        None => options,
    };
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .after_release(|conn, _| {
            Box::pin(async move {
                Ok(matches!(
                    tokio::time::timeout(RELEASE_PROBE, conn.ping()).await,
                    Ok(Ok(()))
                ))
            })
        })
        .connect_lazy_with(options)
}

/// Runs the embedded migrations, then, in a database whose sessions have
/// `gapscore.partitioned` on, partitions the tables a migration applied
/// after the last one (9999) added: see `migrations/0020_citus_ready.sql`.
/// A no-op otherwise, and when every table is partitioned already. Under
/// a transaction-scoped advisory lock, so replicas starting together
/// convert once.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    let mut tx = pool.begin().await?;
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('gapscore_partition_by_tenant', 0)),
                CASE WHEN current_setting('gapscore.partitioned', true) = 'on'
                     THEN gapscore_partition_by_tenant() END",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether the database can take writes, in one cheap round trip for the
/// health watcher. `SELECT 1` alone succeeds on a standby after a failover
/// (or with `default_transaction_read_only` on), where every ingest would
/// fail, so the session's read-only state is asked for as well.
pub async fn writable(pool: &PgPool) -> StoreResult<bool> {
    let read_only: bool = sqlx::query_scalar(
        "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on'",
    )
    .fetch_one(pool)
    .await?;
    Ok(!read_only)
}

/// Whether the database accepts a new connection within `within`, on a
/// connection of its own (not from the pool, which may be the thing that
/// is exhausted). Tells an exhausted pool from an unreachable database.
pub async fn accepts_connections(pool: &PgPool, within: Duration) -> bool {
    let options = pool.connect_options();
    match tokio::time::timeout(within, PgConnection::connect_with(&options)).await {
        Ok(Ok(conn)) => {
            conn.close().await.ok();
            true
        }
        _ => false,
    }
}

/// The primary's current WAL position, in bytes from the start of the log.
pub async fn wal_position(pool: &PgPool) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
            .fetch_one(pool)
            .await?,
    )
}

/// How far a streaming replica has replayed the primary's WAL, in bytes
/// from the start of the log; `None` when the server is not in recovery
/// (not a standby: it has everything it will ever have).
pub async fn replayed_position(pool: &PgPool) -> StoreResult<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT CASE WHEN pg_is_in_recovery() \
           THEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint END",
    )
    .fetch_one(pool)
    .await?)
}
