//! Command line and environment: flags with environment fallbacks, one struct.

use std::{net::SocketAddr, num::NonZeroU32, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

/// gapscore: perception-gap, effort and loyalty-risk scores over gRPC.
#[derive(Debug, Parser)]
#[command(name = "gapscore", version, about, propagate_version = true)]
pub struct Cli {
    /// PostgreSQL URL; the database is created if missing.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "postgres://localhost:5432/gapscore",
        global = true
    )]
    pub database_url: String,

    /// Log format.
    #[arg(
        long,
        env = "GAPSCORE_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub serve: ServeArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `serve` when omitted.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC service (the default).
    Serve,
    /// Create the database if missing and apply migrations, then exit.
    Migrate,
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Load a realistic demonstration data set into the `demo` tenant and
    /// print an API key and ready-to-paste grpcurl commands.
    Demo,
    /// Print the OpenAPI 3 document of the JSON-over-HTTP API (generated
    /// from the protos; also served at `GET /openapi.json`).
    Openapi,
    /// Read survey responses, journeys or outcomes from a CSV or JSON Lines
    /// file and submit them to a running server; every rejected line is
    /// reported with its number, and a re-run changes nothing (README,
    /// "Bulk files", lists the columns).
    Import {
        /// What the file holds.
        #[arg(value_enum)]
        kind: crate::tools::bulk::Kind,
        /// The file (its extension, .csv or .jsonl, gives the format).
        file: PathBuf,
        /// The file's format, when its extension does not say.
        #[arg(long, value_enum)]
        format: Option<crate::tools::bulk::Format>,
        /// Records per call (1-1,000; a call also stays under 1 MiB).
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..=1000))]
        batch_size: u16,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Write every survey response, journey or outcome of the key's tenant
    /// to a CSV or JSON Lines file that `import` reads back.
    Export {
        /// What to export.
        #[arg(value_enum)]
        kind: crate::tools::bulk::Kind,
        /// The file to write (standard output when omitted).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The format, when the extension of --out does not say.
        #[arg(long, value_enum)]
        format: Option<crate::tools::bulk::Format>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Render a tenant's scorecard as a one-page HTML report with a chart of
    /// the favorable share per question and role, and the priority map.
    Report {
        /// The tenant's name (`demo` after `gapscore demo`).
        #[arg(long)]
        tenant: String,
        /// Write the report to this file instead of standard output.
        #[arg(long, value_name = "FILE.html")]
        out: Option<PathBuf>,
    },
}

/// `gapscore tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its first API key (shown once).
    Create {
        /// The tenant's unique name.
        name: String,
    },
    /// Remove a tenant entirely: every record, question, model and key of
    /// it, in one transaction; prints the rows removed per table.
    Delete {
        /// The tenant's name.
        name: String,
    },
}

/// `gapscore key ...`
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create another API key for a tenant (shown once).
    Create {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
    },
    /// List a tenant's keys (ids and dates, never secrets).
    List {
        /// The tenant's name.
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a key by its id; it stops working immediately.
    Revoke {
        /// The key id shown by `key create` or `key list`.
        key_id: String,
    },
}

/// The running server a bulk command talks to, and as whom.
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The server's URL: http://host:port, or https://host:port with
    /// --ca-cert.
    #[arg(
        long,
        env = "GAPSCORE_SERVER",
        default_value = "http://127.0.0.1:50051"
    )]
    pub server: String,
    /// The API key of the tenant the records belong to.
    #[arg(long, env = "GAPSCORE_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// PEM certificate of the authority that signed the server's TLS
    /// certificate (for an https URL).
    #[arg(long, env = "GAPSCORE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
}

/// Settings of the gRPC server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(
        long,
        env = "GAPSCORE_LISTEN",
        default_value = "127.0.0.1:50051",
        global = true
    )]
    pub listen: SocketAddr,

    /// Address for Prometheus metrics at /metrics (off when unset).
    #[arg(long, env = "GAPSCORE_METRICS_LISTEN", global = true)]
    pub metrics_listen: Option<SocketAddr>,

    /// PEM certificate chain for TLS (with --tls-key).
    #[arg(long, env = "GAPSCORE_TLS_CERT", global = true, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key for TLS (with --tls-cert).
    #[arg(long, env = "GAPSCORE_TLS_KEY", global = true, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Serve plaintext gRPC on a non-loopback address. Without TLS
    /// (`--tls-cert`/`--tls-key`) the server refuses to listen on anything but
    /// a loopback address unless this is set, e.g. behind a TLS-terminating
    /// load balancer or service mesh.
    #[arg(long, env = "GAPSCORE_ALLOW_PLAINTEXT", global = true)]
    pub allow_plaintext: bool,

    /// Calls served at once, across all connections; calls beyond it are
    /// rejected at once with RESOURCE_EXHAUSTED (health and reflection are
    /// exempt).
    #[arg(
        long,
        env = "GAPSCORE_MAX_IN_FLIGHT",
        default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub max_in_flight: u32,

    /// Calls per second each tenant may make (off when unset); calls beyond
    /// it get RESOURCE_EXHAUSTED with reason RATE_LIMITED and a RetryInfo.
    #[arg(long, env = "GAPSCORE_TENANT_RATE_LIMIT", global = true)]
    pub tenant_rate_limit: Option<NonZeroU32>,

    /// Calls a tenant may make in a burst above its rate (default: one
    /// second's worth).
    #[arg(long, env = "GAPSCORE_TENANT_RATE_BURST", global = true)]
    pub tenant_rate_burst: Option<NonZeroU32>,

    /// HTTP/2 concurrent streams allowed per connection.
    #[arg(
        long,
        env = "GAPSCORE_MAX_CONCURRENT_STREAMS",
        default_value_t = 256,
        global = true
    )]
    pub max_concurrent_streams: u32,

    /// Largest request or response message, bytes.
    #[arg(long, env = "GAPSCORE_MAX_MESSAGE_BYTES", default_value_t = 4 * 1024 * 1024, global = true)]
    pub max_message_bytes: usize,

    /// Bytes that decoded request messages may take at once, across all
    /// calls (estimated from each message before it is decoded, and held
    /// until its call has answered); a message that does not fit gets
    /// RESOURCE_EXHAUSTED with reason DECODE_BUDGET_EXHAUSTED and a
    /// RetryInfo. Bounds the memory of requests, which the message size
    /// alone does not: a 4 MiB message can decode to far more.
    #[arg(
        long,
        env = "GAPSCORE_MAX_DECODED_BYTES_IN_FLIGHT",
        default_value_t = 256 * 1024 * 1024,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub max_decoded_bytes_in_flight: u64,

    /// Upper bound on any unary call, seconds (client deadlines that are
    /// shorter win).
    #[arg(
        long,
        env = "GAPSCORE_REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// How long in-flight calls may finish after SIGTERM/SIGINT, seconds.
    #[arg(
        long,
        env = "GAPSCORE_SHUTDOWN_GRACE_SECS",
        default_value_t = 10,
        global = true
    )]
    pub shutdown_grace_secs: u64,

    /// Database connections in the pool of tenant calls (authentication and
    /// health have their own, --db-control-connections).
    #[arg(
        long,
        env = "GAPSCORE_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,

    /// How long a call waits for a database connection (and, before that,
    /// for its tenant's connection budget), ms.
    #[arg(
        long,
        env = "GAPSCORE_DB_ACQUIRE_TIMEOUT_MS",
        default_value_t = 3000,
        global = true
    )]
    pub db_acquire_timeout_ms: u64,

    /// Connections of the separate pool that authentication and health
    /// checks use, so they never wait behind tenant queries.
    #[arg(
        long,
        env = "GAPSCORE_DB_CONTROL_CONNECTIONS",
        default_value_t = 2,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub db_control_connections: u32,

    /// A PostgreSQL streaming replica (hot standby) of the database for
    /// scoring, list and get reads (SPEC §15); writes, authentication, the
    /// rollup compactor, the outbox and its workers stay on the primary. A
    /// call that must see its own writes sends `x-gapscore-consistency:
    /// primary`. Off when unset.
    #[arg(long, env = "GAPSCORE_DATABASE_READ_URL", global = true)]
    pub database_read_url: Option<String>,

    /// Replay lag, milliseconds, above which reads go to the primary
    /// instead of the replica (measured by the health watcher at every
    /// --health-interval-ms).
    #[arg(
        long,
        env = "GAPSCORE_DATABASE_READ_MAX_LAG_MS",
        default_value_t = 1000,
        global = true
    )]
    pub database_read_max_lag_ms: u64,

    /// Seconds after which a client connection is asked to go away
    /// (HTTP/2 GOAWAY; the client reconnects, through its load balancer,
    /// possibly to another replica), so long-lived connections spread onto
    /// replicas added since they opened (SPEC §15). 0: never.
    #[arg(
        long,
        env = "GAPSCORE_MAX_CONNECTION_AGE_SECS",
        default_value_t = 1800,
        global = true
    )]
    pub max_connection_age_secs: u64,

    /// Seconds a connection past its age keeps serving its calls in flight
    /// before it is closed. The default is the longest a client stream may
    /// live (--stream-max-lifetime-secs), so no upload is cut by the
    /// rotation; a watch is, and resumes from its last token.
    #[arg(
        long,
        env = "GAPSCORE_MAX_CONNECTION_AGE_GRACE_SECS",
        default_value_t = 3600,
        global = true
    )]
    pub max_connection_age_grace_secs: u64,

    /// Calls one tenant may have in flight at once (client streams are
    /// counted by --tenant-max-streams instead); beyond it RESOURCE_EXHAUSTED
    /// with reason TENANT_BUDGET_EXHAUSTED and a RetryInfo.
    #[arg(
        long,
        env = "GAPSCORE_TENANT_MAX_IN_FLIGHT",
        default_value_t = 64,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub tenant_max_in_flight: u32,

    /// Database connections one tenant's calls may use at once; a call
    /// waits for them at most --db-acquire-timeout-ms, then
    /// RESOURCE_EXHAUSTED (TENANT_BUDGET_EXHAUSTED).
    #[arg(
        long,
        env = "GAPSCORE_TENANT_MAX_DB_CONNECTIONS",
        default_value_t = 4,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub tenant_max_db_connections: u32,

    /// Client streams (`Stream*`) one tenant may have open at once; beyond
    /// it RESOURCE_EXHAUSTED (TENANT_BUDGET_EXHAUSTED).
    #[arg(
        long,
        env = "GAPSCORE_TENANT_MAX_STREAMS",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub tenant_max_streams: u32,

    /// A client stream with no message for this long is ended
    /// (DEADLINE_EXCEEDED, reason STREAM_IDLE_TIMEOUT), seconds.
    #[arg(
        long,
        env = "GAPSCORE_STREAM_IDLE_TIMEOUT_SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub stream_idle_timeout_secs: u64,

    /// A client stream open this long is ended before its next message
    /// (DEADLINE_EXCEEDED, reason STREAM_MAX_LIFETIME), seconds.
    #[arg(
        long,
        env = "GAPSCORE_STREAM_MAX_LIFETIME_SECS",
        default_value_t = 3600,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub stream_max_lifetime_secs: u64,

    /// How often an open client stream's API key is checked again, seconds:
    /// a revoked key ends the stream UNAUTHENTICATED within this time.
    #[arg(
        long,
        env = "GAPSCORE_STREAM_KEY_RECHECK_SECS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub stream_key_recheck_secs: u64,

    /// `WatchAtRiskCustomers` streams one tenant may have open at once on
    /// this replica; beyond it RESOURCE_EXHAUSTED (TENANT_BUDGET_EXHAUSTED,
    /// budget `open_watches`).
    #[arg(
        long,
        env = "GAPSCORE_TENANT_MAX_WATCHES",
        default_value_t = 8,
        value_parser = clap::value_parser!(u32).range(1..),
        global = true
    )]
    pub tenant_max_watches: u32,

    /// How often the outbox's upkeep runs, ms: events past their
    /// retention are deleted and a scoring-model change's recompute of
    /// current tiers advances (both in bounded batches).
    #[arg(
        long,
        env = "GAPSCORE_EVENT_UPKEEP_INTERVAL_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub event_upkeep_interval_ms: u64,

    /// How often health checks the database, ms.
    #[arg(
        long,
        env = "GAPSCORE_HEALTH_INTERVAL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub health_interval_ms: u64,

    /// How often the perception-gap rollup's pending deltas are folded, ms.
    /// Scores are exact either way; folding keeps the rollup small.
    #[arg(
        long,
        env = "GAPSCORE_ROLLUP_COMPACT_INTERVAL_MS",
        default_value_t = 5000,
        global = true
    )]
    pub rollup_compact_interval_ms: u64,

    /// How long a cached outcome calibration may be reused, seconds. This
    /// process's own writes invalidate it at once; the limit is for writes
    /// by other processes (replicas). 0 disables the cache.
    #[arg(
        long,
        env = "GAPSCORE_CALIBRATION_CACHE_SECS",
        default_value_t = 10,
        global = true
    )]
    pub calibration_cache_secs: u64,

    /// Allow webhooks to `http` URLs on loopback addresses (receivers on
    /// this host, tests); otherwise only `https` URLs are accepted.
    #[arg(
        long,
        env = "GAPSCORE_WEBHOOK_ALLOW_HTTP_LOOPBACK",
        default_value_t = false,
        global = true
    )]
    pub webhook_allow_http_loopback: bool,

    /// The wait after a webhook delivery's first failed attempt, ms; it
    /// doubles with each failure (with jitter, at most an hour).
    #[arg(
        long,
        env = "GAPSCORE_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 5000,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub webhook_retry_base_ms: u64,

    /// How long a webhook delivery is retried before it is FAILED, seconds.
    #[arg(
        long,
        env = "GAPSCORE_WEBHOOK_GIVE_UP_SECS",
        default_value_t = 86_400,
        global = true
    )]
    pub webhook_give_up_secs: u64,

    /// One webhook delivery attempt's limit (connect, TLS, answer), ms.
    #[arg(
        long,
        env = "GAPSCORE_WEBHOOK_TIMEOUT_MS",
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub webhook_timeout_ms: u64,

    /// Webhook delivery attempts in flight at once in this process.
    #[arg(
        long,
        env = "GAPSCORE_WEBHOOK_CONCURRENCY",
        default_value_t = 16,
        value_parser = clap::value_parser!(u64).range(1..=1024),
        global = true
    )]
    pub webhook_concurrency: u64,

    /// How often the webhook worker looks for new events and due retries, ms.
    #[arg(
        long,
        env = "GAPSCORE_WEBHOOK_POLL_MS",
        default_value_t = 500,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub webhook_poll_ms: u64,
}

impl ServeArgs {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs)
    }
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
    pub fn health_interval(&self) -> Duration {
        Duration::from_millis(self.health_interval_ms)
    }
    pub fn calibration_cache_ttl(&self) -> Duration {
        Duration::from_secs(self.calibration_cache_secs)
    }
    pub fn rollup_compact_interval(&self) -> Duration {
        Duration::from_millis(self.rollup_compact_interval_ms)
    }
    pub fn db_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }
    /// Every statement of a call ends before the call's server-side limit,
    /// with a tenth of it (at least 100 ms, at most 5 s) to spare for the
    /// answer; a shorter client deadline cancels the statement instead
    /// (see `store::open_pool`).
    pub fn statement_timeout(&self) -> Duration {
        let limit = self.request_timeout();
        let margin = (limit / 10).clamp(Duration::from_millis(100), Duration::from_secs(5));
        limit.saturating_sub(margin).max(Duration::from_millis(100))
    }
    /// The pool tenant calls use.
    pub fn pool_config(&self) -> crate::store::PoolConfig {
        crate::store::PoolConfig {
            max_connections: self.db_max_connections,
            acquire_timeout: self.db_acquire_timeout(),
            statement_timeout: Some(self.statement_timeout()),
        }
    }
    /// The small pool of authentication and health checks.
    pub fn control_pool_config(&self) -> crate::store::PoolConfig {
        crate::store::PoolConfig {
            max_connections: self.db_control_connections,
            ..self.pool_config()
        }
    }
    /// The replica's pool: the tenant pool's settings.
    pub fn read_pool_config(&self) -> crate::store::PoolConfig {
        self.pool_config()
    }
    pub fn database_read_max_lag(&self) -> Duration {
        Duration::from_millis(self.database_read_max_lag_ms)
    }
    pub fn stream_limits(&self) -> crate::grpc::ingest::StreamLimits {
        crate::grpc::ingest::StreamLimits {
            idle_timeout: Duration::from_secs(self.stream_idle_timeout_secs),
            max_lifetime: Duration::from_secs(self.stream_max_lifetime_secs),
            key_recheck: Duration::from_secs(self.stream_key_recheck_secs),
        }
    }
    /// The webhook worker's settings.
    pub fn webhook_settings(&self) -> crate::webhooks::Settings {
        crate::webhooks::Settings {
            retry_base: Duration::from_millis(self.webhook_retry_base_ms),
            give_up_after: Duration::from_secs(self.webhook_give_up_secs),
            timeout: Duration::from_millis(self.webhook_timeout_ms),
            concurrency: self.webhook_concurrency as usize,
            poll: Duration::from_millis(self.webhook_poll_ms),
            allow_http_loopback: self.webhook_allow_http_loopback,
        }
    }
}

impl Default for ServeArgs {
    /// The defaults of the flags above, for tests and embedding.
    fn default() -> Self {
        Cli::parse_from(["gapscore"]).serve
    }
}
