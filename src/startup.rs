//! Builds the server: the same code path in production and in tests.

use std::{future::Future, net::SocketAddr, time::Duration};

use anyhow::Context;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::transport::{Server, server::TcpIncoming};
use tonic_health::ServingStatus;

use crate::{
    api::{
        AppState, catalog::CatalogServiceImpl, customer::CustomerServiceImpl,
        journey::JourneyServiceImpl, outcome::OutcomeServiceImpl, scoring::ScoringServiceImpl,
        survey::SurveyServiceImpl,
    },
    auth::AuthLayer,
    config::ServeArgs,
    health,
    proto::{
        self,
        v1::{
            catalog_service_server::CatalogServiceServer,
            customer_service_server::CustomerServiceServer,
            journey_service_server::JourneyServiceServer,
            outcome_service_server::OutcomeServiceServer,
            scoring_service_server::ScoringServiceServer,
            survey_service_server::SurveyServiceServer,
        },
    },
    telemetry::RpcSpanLayer,
};

/// A bound, not yet running server.
pub struct Application {
    listener: TcpListener,
    pool: PgPool,
    args: ServeArgs,
}

impl Application {
    /// Binds the listener (port 0 picks a free one). The pool must already
    /// be migrated.
    pub async fn build(args: ServeArgs, pool: PgPool) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(args.listen).await.with_context(|| {
            format!("cannot listen on {} (is another gapscore already running? set --listen or GAPSCORE_LISTEN)", args.listen)
        })?;
        Ok(Self {
            listener,
            pool,
            args,
        })
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
            args,
        } = self;
        let (reporter, health_service) = tonic_health::server::health_reporter();
        health::set_all(&reporter, ServingStatus::NotServing).await;
        let watcher = tokio::spawn(health::watch_database(
            pool.clone(),
            reporter.clone(),
            args.health_interval(),
        ));

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

        let state = AppState { pool: pool.clone() };
        let max = args.max_message_bytes;
        macro_rules! limited {
            ($server:ident, $impl:ident) => {
                $server::new($impl {
                    state: state.clone(),
                })
                .max_decoding_message_size(max)
                .max_encoding_message_size(max)
            };
        }

        let builder = Server::builder()
            .max_concurrent_streams(args.max_concurrent_streams)
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)));
        let router = builder
            .layer(RpcSpanLayer {
                unary_timeout: Some(args.request_timeout()),
            })
            .layer(AuthLayer::new(pool.clone()))
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            .add_service(limited!(SurveyServiceServer, SurveyServiceImpl))
            .add_service(limited!(JourneyServiceServer, JourneyServiceImpl))
            .add_service(limited!(OutcomeServiceServer, OutcomeServiceImpl))
            .add_service(limited!(CustomerServiceServer, CustomerServiceImpl))
            .add_service(limited!(ScoringServiceServer, ScoringServiceImpl))
            .add_service(limited!(CatalogServiceServer, CatalogServiceImpl));

        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // TCP_NODELAY: a unary response is written as headers, body and
        // trailers; with Nagle's algorithm the last write waits for the
        // client's delayed ACK, adding ~40 ms to every call (measured by
        // gapscore-bench: a 1 ms query answered in 48 ms).
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let mut server = tokio::spawn(router.serve_with_incoming_shutdown(incoming, async {
            let _ = stop_rx.await;
        }));

        tokio::select! {
            result = &mut server => {
                watcher.abort();
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
        let _ = stop_tx.send(());
        match tokio::time::timeout(args.shutdown_grace(), &mut server).await {
            Ok(result) => result?.context("server failed")?,
            Err(_) => {
                tracing::warn!("grace period over: cancelling remaining calls");
                server.abort();
            }
        }
        pool.close().await;
        tracing::info!("stopped");
        Ok(())
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
            let pool = crate::store::connect_lazy(url, &args.pool_config())?;
            crate::store::migrate(&pool).await?;
            anyhow::Ok(pool)
        };
        match attempt.await {
            Ok(pool) => return Ok(pool),
            Err(err) if is_retryable(&err) => {
                tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "PostgreSQL is not reachable yet; retrying (check DATABASE_URL)");
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
