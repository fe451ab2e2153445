//! Operations: health follows the database, outages are UNAVAILABLE, and
//! the service recovers without a restart.

use std::time::{Duration, Instant};

use gapscore::proto::v1::{ListQuestionsRequest, StreamJourneysRequest};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    helpers::{
        app::wait_for_health, error_reason, simple_journey, spawn_app, spawn_app_with, sql::rows_in,
    },
    proxy::Proxy,
};

/// Connects to the test database through `proxy` with a short acquire timeout.
async fn pool_through(pool: &PgPool, proxy: &Proxy) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .host("127.0.0.1")
        .port(proxy.addr.port());
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_millis(500))
        .connect_with(options)
        .await
        .unwrap()
}

#[sqlx::test]
async fn health_and_calls_follow_a_database_outage_and_recover(pool: PgPool) {
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let app = spawn_app(pool_through(&pool, &proxy).await).await;
    wait_for_health(&app.channel, ServingStatus::Serving, Duration::from_secs(5)).await;

    proxy.cut();
    wait_for_health(
        &app.channel,
        ServingStatus::NotServing,
        Duration::from_secs(5),
    )
    .await;
    let started = Instant::now();
    let err = app
        .catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    assert_eq!(error_reason(&err), "DATABASE_UNAVAILABLE");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "failed slowly: {:?}",
        started.elapsed()
    );

    proxy.restore();
    let recovered =
        wait_for_health(&app.channel, ServingStatus::Serving, Duration::from_secs(5)).await;
    eprintln!("health back to SERVING {recovered:?} after the database returned");
    let questions = app.questions().await;
    assert_eq!(questions.len(), 15);
}

#[sqlx::test]
async fn shutdown_lets_in_flight_calls_finish_and_stops_within_the_grace_period(pool: PgPool) {
    let mut app = spawn_app_with(pool, |args| args.shutdown_grace_secs = 2).await;
    // A stream whose first message the server has committed: in flight.
    let message = |id: &str| StreamJourneysRequest {
        journeys: vec![simple_journey(id, "c1", "2026-01-01T00:00:00Z")],
    };
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut journeys = app.journeys();
    let in_flight =
        tokio::spawn(async move { journeys.stream_journeys(ReceiverStream::new(rx)).await });
    tx.send(message("before-signal")).await.unwrap();
    let started = Instant::now();
    while rows_in(&app.pool, "journeys").await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the first message was not committed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    app.shutdown.take().unwrap().send(()).unwrap();
    let signalled = Instant::now();
    // The stream goes on after the signal, then ends normally.
    tokio::time::sleep(Duration::from_millis(300)).await;
    tx.send(message("after-signal"))
        .await
        .expect("the stream is still open");
    drop(tx);
    let response = tokio::time::timeout(Duration::from_secs(3), in_flight)
        .await
        .expect("the in-flight call settled")
        .unwrap()
        .expect("the in-flight call succeeds")
        .into_inner();
    assert_eq!(response.messages, 2);
    assert_eq!(response.counts.unwrap().inserted, 2);
    // Read with a connection of our own: the stopping server closes its pool.
    let direct = PgPoolOptions::new()
        .max_connections(1)
        .connect_with((*app.pool.connect_options()).clone())
        .await
        .unwrap();
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM journeys ORDER BY id")
        .fetch_all(&direct)
        .await
        .unwrap();
    assert_eq!(ids, ["after-signal", "before-signal"]);

    let result = tokio::time::timeout(Duration::from_secs(5), &mut app.server).await;
    let stopped = result
        .expect("server stopped within the grace period")
        .expect("server task joined");
    assert!(stopped.is_ok(), "{stopped:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "took {:?}",
        signalled.elapsed()
    );
    // New connections are refused after shutdown.
    let refused = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .connect()
        .await;
    assert!(refused.is_err());
}
