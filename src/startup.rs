//! Builds the server: the same code path in production and in tests.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::{
    codec::CompressionEncoding,
    transport::{Server, server::TcpIncoming},
};
use tonic_health::ServingStatus;

use crate::{
    auth::AuthLayer,
    config::ServeArgs,
    decode::DecodeBudgetLayer,
    grpc::{
        catalog::CatalogServiceImpl, customer::CustomerServiceImpl, journey::JourneyServiceImpl,
        outcome::OutcomeServiceImpl, scoring::ScoringServiceImpl, survey::SurveyServiceImpl,
        webhook::WebhookServiceImpl,
    },
    health,
    http::HttpJsonLayer,
    layer::{BoxFuture, Check, Guard, check_layer},
    limits::{InFlightLayer, TenantBudgetLayer, TenantRateLimitLayer},
    proto::{
        self,
        v1::{
            catalog_service_server::CatalogServiceServer,
            customer_service_server::CustomerServiceServer,
            journey_service_server::JourneyServiceServer,
            outcome_service_server::OutcomeServiceServer,
            scoring_service_server::ScoringServiceServer,
            survey_service_server::SurveyServiceServer,
            webhook_service_server::WebhookServiceServer,
        },
    },
    service::{Services, budget::DbBudget, replica::ReadReplica},
    telemetry::RpcSpanLayer,
    tls,
};
use tokio_rustls::TlsAcceptor;

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    /// The pool the server was given (migrated); closed at shutdown.
    pool: PgPool,
    /// Tenant calls' pool: `statement_timeout` below the unary limit,
    /// abandoned queries' connections closed (`store::open_pool`).
    tenants: PgPool,
    /// Authentication and health only, so they never wait behind tenant
    /// queries, however many connections those hold.
    control: PgPool,
    /// The read replica's pool (`--database-read-url`), if any.
    replica: Option<PgPool>,
    args: ServeArgs,
    tls: Option<TlsAcceptor>,
}

/// The TLS acceptor of `--tls-cert`/`--tls-key`, checked now ([`tls::acceptor`]).
fn load_tls(args: &ServeArgs) -> anyhow::Result<Option<TlsAcceptor>> {
    match (&args.tls_cert, &args.tls_key) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => tls::acceptor(cert, key).map(Some),
        _ => anyhow::bail!("TLS needs both --tls-cert and --tls-key"),
    }
}

/// Plaintext is for loopback only, unless explicitly allowed: API keys
/// travel in every call's headers.
fn check_plaintext(args: &ServeArgs, tls: bool) -> anyhow::Result<()> {
    if tls || args.allow_plaintext || args.listen.ip().is_loopback() {
        return Ok(());
    }
    anyhow::bail!(
        "refusing to serve plaintext gRPC on {} (API keys would cross the network unencrypted): \
         give a certificate with --tls-cert/--tls-key (GAPSCORE_TLS_CERT/GAPSCORE_TLS_KEY), \
         listen on a loopback address, or set --allow-plaintext (GAPSCORE_ALLOW_PLAINTEXT=true) \
         when a proxy in front of gapscore terminates TLS",
        args.listen
    )
}

/// Checks the TLS files and the plaintext rule without binding anything, so
/// `serve` can refuse a bad setup before it touches the database.
pub fn check_transport(args: &ServeArgs) -> anyhow::Result<()> {
    let tls = load_tls(args)?;
    check_plaintext(args, tls.is_some())
}

impl Application {
    /// Checks the TLS settings and binds the listener (port 0 picks a free
    /// one). The pool must already be migrated; the server serves from two
    /// pools of its own to the same database, with its settings (tenant
    /// calls, and the small control pool of authentication and health).
    pub async fn build(args: ServeArgs, pool: PgPool) -> anyhow::Result<Self> {
        let tls = load_tls(&args)?;
        check_plaintext(&args, tls.is_some())?;
        let listener = TcpListener::bind(args.listen).await.with_context(|| {
            format!("cannot listen on {} (is another gapscore already running? set --listen or GAPSCORE_LISTEN)", args.listen)
        })?;
        let options = (*pool.connect_options()).clone();
        let tenants = crate::store::open_pool(options.clone(), &args.pool_config());
        let control = crate::store::open_pool(options, &args.control_pool_config());
        let replica = match &args.database_read_url {
            Some(url) => Some(crate::store::open_pool(
                crate::store::connect_options(url).context("--database-read-url")?,
                &crate::store::PoolConfig {
                    // A replica that went away is noticed within a second,
                    // and its reads run again on the primary.
                    acquire_timeout: args.db_acquire_timeout().min(REPLICA_ACQUIRE_TIMEOUT),
                    ..args.read_pool_config()
                },
            )),
            None => None,
        };
        Ok(Self {
            listener,
            pool,
            tenants,
            control,
            replica,
            args,
            tls,
        })
    }

    /// Whether the server speaks TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` resolves, then lets in-flight calls finish for
    /// at most the grace period and closes the pool.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            listener,
            pool,
            tenants,
            control,
            replica,
            args,
            tls,
        } = self;
        let (reporter, health_service) = tonic_health::server::health_reporter();
        health::set_all(&reporter, ServingStatus::NotServing).await;
        // The health check's own connection, to the control pool's server.
        let health_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with((*control.connect_options()).clone());
        let watcher = tokio::spawn(health::watch_database(
            health_pool,
            control.clone(),
            reporter.clone(),
            args.health_interval(),
        ));
        // Background work like a tenant's, on the tenants' pool: one
        // connection at a time, never in the way of authentication.
        let compactor = tokio::spawn(compact_rollup(
            tenants.clone(),
            args.rollup_compact_interval(),
        ));
        // Delivers at-risk events to webhooks until this function returns.
        let _webhooks = crate::webhooks::spawn(&tenants, &args);

        let reflection = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(
                    tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
                )
        };
        let reflection_v1 = reflection().build_v1()?;
        let reflection_v1alpha = reflection().build_v1alpha()?;

        // At-risk events (SPEC §12.1): one LISTEN connection of its own
        // wakes this replica's watches; the outbox's upkeep (retention, the
        // recompute after a model change) runs on the tenants' pool.
        let events = std::sync::Arc::new(crate::service::events::EventHub::new(
            args.tenant_max_watches,
            Duration::from_secs(args.stream_key_recheck_secs),
        ));
        let listen_pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with((*tenants.connect_options()).clone());
        let upkeep = Duration::from_millis(args.event_upkeep_interval_ms);
        let event_tasks = [
            tokio::spawn(crate::service::events::listen(listen_pool, events.clone())),
            tokio::spawn(crate::service::events::purge_expired(
                tenants.clone(),
                upkeep,
                1000,
            )),
            tokio::spawn(crate::service::tiers::recompute_in_background(
                tenants.clone(),
                upkeep,
            )),
        ];
        let mut state = Services::new(tenants.clone(), args.calibration_cache_ttl())
            .with_db_budget(DbBudget::new(
                args.tenant_max_db_connections,
                args.db_acquire_timeout(),
            ))
            .with_events(events.clone())
            .with_webhook_policy(args.webhook_allow_http_loopback);
        let replica_watcher = replica.clone().map(|pool| {
            let replica = ReadReplica::new(pool, args.database_read_max_lag());
            state = state.clone().with_read_replica(replica.clone());
            tokio::spawn(replica.watch(control.clone(), reporter.clone(), args.health_interval()))
        });
        let max = args.max_message_bytes;
        macro_rules! limited {
            ($server:ident, $impl:ident) => {
                $server::new($impl {
                    state: state.clone(),
                })
                .max_decoding_message_size(max)
                .max_encoding_message_size(max)
                // gzip when the client asks (`grpc-accept-encoding`); a
                // compressed message is decompressed up to `max`, and what
                // the codec counts is the decompressed message.
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
            };
        }

        let mut builder = Server::builder()
            // HTTP/1.1 for JSON over HTTP (src/http/); gRPC needs HTTP/2.
            .accept_http1(true)
            .max_concurrent_streams(args.max_concurrent_streams)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)));
        if args.max_connection_age_secs > 0 {
            builder = builder
                .max_connection_age(Duration::from_secs(args.max_connection_age_secs))
                .max_connection_age_grace(Duration::from_secs(args.max_connection_age_grace_secs));
        }
        // Outermost first: JSON over HTTP, which turns each HTTP/JSON call
        // into the gRPC call it stands for and sends it through everything
        // below (src/http/); then every call gets its span (so rejections are logged
        // and counted), then the global in-flight bound, authentication, and
        // the per-tenant checks, which need the tenant: the rate limit, then
        // the budgets (so a rate-limited call never holds a budget slot);
        // innermost, the scope in which the call's messages take their
        // decoded size from the server-wide budget.
        let (cut_tx, cut_rx) = tokio::sync::watch::channel(false);
        let router = builder
            .layer(HttpJsonLayer::new(max))
            .layer(RpcSpanLayer {
                unary_timeout: Some(args.request_timeout()),
            })
            .layer(CutLayer(cut_rx))
            .layer(InFlightLayer::new(args.max_in_flight))
            .layer(AuthLayer::new(control.clone()))
            .layer(TenantRateLimitLayer::new(
                args.tenant_rate_limit,
                args.tenant_rate_burst,
            ))
            .layer(TenantBudgetLayer::new(
                args.tenant_max_in_flight,
                args.tenant_max_streams,
                args.stream_limits(),
            ))
            .layer(DecodeBudgetLayer::new(args.max_decoded_bytes_in_flight))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(limited!(SurveyServiceServer, SurveyServiceImpl))
            .add_service(limited!(JourneyServiceServer, JourneyServiceImpl))
            .add_service(limited!(OutcomeServiceServer, OutcomeServiceImpl))
            .add_service(limited!(CustomerServiceServer, CustomerServiceImpl))
            .add_service(limited!(ScoringServiceServer, ScoringServiceImpl))
            .add_service(limited!(CatalogServiceServer, CatalogServiceImpl))
            .add_service(limited!(WebhookServiceServer, WebhookServiceImpl));

        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // TCP_NODELAY: a unary response is written as headers, body and
        // trailers; with Nagle's algorithm the last write waits for the
        // client's delayed ACK, adding ~40 ms to every call (measured by
        // gapscore-bench: a 1 ms query answered in 48 ms).
        let stopped = async {
            let _ = stop_rx.await;
        };
        let mut server = match tls {
            Some(acceptor) => tokio::spawn(
                router.serve_with_incoming_shutdown(tls::incoming(listener, acceptor), stopped),
            ),
            None => {
                let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
                tokio::spawn(router.serve_with_incoming_shutdown(incoming, stopped))
            }
        };

        tokio::select! {
            result = &mut server => {
                watcher.abort();
                compactor.abort();
                replica_watcher.iter().for_each(|w| w.abort());
                event_tasks.iter().for_each(|t| t.abort());
                return result?.context("server failed");
            }
            () = shutdown => {}
        }
        tracing::info!(
            grace_secs = args.shutdown_grace_secs,
            "shutting down: finishing in-flight calls"
        );
        health::set_all(&reporter, ServingStatus::NotServing).await;
        watcher.abort();
        compactor.abort();
        replica_watcher.iter().for_each(|w| w.abort());
        event_tasks.iter().for_each(|t| t.abort());
        // Open watches end now (UNAVAILABLE, resume elsewhere): they would
        // otherwise hold their connections open through the grace period.
        events.shut_down();
        let _ = stop_tx.send(());
        match tokio::time::timeout(args.shutdown_grace(), &mut server).await {
            Ok(result) => result?.context("server failed")?,
            Err(_) => {
                tracing::warn!("grace period over: cancelling remaining calls");
                // Each connection is a task of its own, which aborting the
                // server would leave running: the calls are cut here, their
                // transactions dropped (rolled back), their answers sent.
                let _ = cut_tx.send(true);
                if tokio::time::timeout(CUT_WAIT, &mut server).await.is_err() {
                    server.abort();
                }
            }
        }
        let close_replica = async {
            if let Some(replica) = &replica {
                replica.close().await;
            }
        };
        tokio::join!(
            tenants.close(),
            control.close(),
            pool.close(),
            close_replica
        );
        tracing::info!("stopped");
        Ok(())
    }
}

/// Longest wait for a read replica's connection before its read goes to the
/// primary.
const REPLICA_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(1);

/// How long cut calls have to send their answers before the server stops.
const CUT_WAIT: Duration = Duration::from_secs(1);

/// Cuts every call still running when its watch turns `true` (the end of
/// the shutdown grace period), answering `UNAVAILABLE`: the call's future
/// is dropped, which rolls back its open transaction.
#[derive(Clone)]
struct CutLayer(tokio::sync::watch::Receiver<bool>);

check_layer!(CutLayer);

/// The watch a passed call is cut by.
struct CutOff(tokio::sync::watch::Receiver<bool>);

impl Check for CutLayer {
    type Guard = CutOff;

    async fn check<B: Send + 'static>(
        &self,
        request: http::Request<B>,
    ) -> Result<(http::Request<B>, CutOff), tonic::Status> {
        Ok((request, CutOff(self.0.clone())))
    }
}

impl Guard for CutOff {
    fn cut(&mut self) -> Option<BoxFuture<tonic::Status>> {
        let mut cut = self.0.clone();
        Some(Box::pin(async move {
            if cut.wait_for(|cut| *cut).await.is_err() {
                // The server is gone without a cut: nothing to do.
                std::future::pending::<()>().await;
            }
            tonic::Status::unavailable(
                "the server is shutting down; the call was cut at the end of its grace period",
            )
        }))
    }
}

/// Folds the perception-gap rollup's pending deltas every `interval`,
/// tenant by tenant; a tenant whose fold fails is logged with its id and
/// retried next tick while the others are folded. Aborting it
/// mid-statement is safe: each tenant's fold is one statement, so it
/// either commits or rolls back.
async fn compact_rollup(pool: sqlx::PgPool, interval: Duration) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        match crate::store::rollup::compact_pending(&pool).await {
            Ok(pass) => {
                if pass.folded > 0 {
                    tracing::debug!(folded = pass.folded, "rollup compacted");
                }
                for (tenant, err) in pass.failed {
                    tracing::warn!(
                        tenant = tenant.0,
                        error = %err,
                        "rollup compaction failed for this tenant; will retry"
                    );
                }
            }
            Err(err) => tracing::warn!(error = %err, "rollup compaction failed; will retry"),
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Prepares the database for `serve`: creates it if missing and migrates,
/// retrying with backoff while PostgreSQL is down at start.
pub async fn prepare_database(url: &str, args: &ServeArgs) -> anyhow::Result<PgPool> {
    let mut delay = Duration::from_millis(500);
    loop {
        let attempt = async {
            crate::store::ensure_database(url).await?;
            // Without the serving pools' statement timeout: a migration may
            // rightly take longer than any call.
            let config = crate::store::PoolConfig {
                statement_timeout: None,
                ..args.pool_config()
            };
            let pool = crate::store::connect_lazy(url, &config)?;
            crate::store::migrate(&pool).await?;
            anyhow::Ok(pool)
        };
        match attempt.await {
            Ok(pool) => return Ok(pool),
            Err(err) if is_retryable(&err) => {
                let server = crate::store::connect_options(url)
                    .map(|o| crate::store::server_address(&o))
                    .unwrap_or_default();
                tracing::warn!(
                    %server,
                    error = %crate::telemetry::error_chain(&err),
                    retry_in_ms = delay.as_millis() as u64,
                    "PostgreSQL at {server} is not reachable yet; retrying"
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            Err(err) => return Err(err),
        }
    }
}

/// Connection failures are worth retrying; a malformed URL or a failed
/// migration is not.
fn is_retryable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause.downcast_ref::<sqlx::Error>().is_some_and(crate::store::is_unavailable)
            || cause.downcast_ref::<sqlx::migrate::MigrateError>().is_some_and(|m| {
                matches!(m, sqlx::migrate::MigrateError::Execute(e) if crate::store::is_unavailable(e))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_malformed_database_url_fails_at_once_and_says_what_is_expected() {
        for url in [
            "not a url",
            "mysql://localhost/gapscore",
            "postgres://host:port/db",
        ] {
            let started = std::time::Instant::now();
            let err = prepare_database(url, &ServeArgs::default())
                .await
                .expect_err(url);
            let message = crate::telemetry::error_chain(&err);
            assert!(message.starts_with("DATABASE_URL is not a"), "{message}");
            assert!(
                message.contains("postgres://USER:PASSWORD@HOST:PORT/DATABASE"),
                "{message}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "no retries for {url}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_worth_retrying() {
        // Nothing listens on port 1.
        let err = crate::store::ensure_database("postgres://127.0.0.1:1/gapscore")
            .await
            .unwrap_err();
        assert!(is_retryable(&err), "{err:#}");
        let message = crate::telemetry::error_chain(&err);
        assert!(
            message.starts_with("cannot connect to PostgreSQL at 127.0.0.1:1 (is it running?"),
            "{message}"
        );
    }
}
