//! Reads served by a real PostgreSQL streaming standby (SPEC §15): a
//! private primary and a `pg_basebackup -R` hot standby of it. Which
//! server answered is made visible by pausing the standby's replay: a
//! write committed after the pause is on the primary only.

use std::{sync::Arc, time::Duration};

use gapscore::proto::v1::{ListOutcomesRequest, Outcome, OutcomeKind};
use sqlx::{PgPool, postgres::PgPoolOptions};
use tonic::{Code, Request};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::{
    cluster::Cluster,
    helpers::{
        TestApp,
        app::{health, wait_for_health_of},
        internals::migrate,
        outcome, spawn_app_with,
    },
};

const REPLICA: &str = "gapscore.ReadReplica";

struct Clusters {
    /// Kept so the primary lives (and is removed) with the test.
    _primary: Arc<Cluster>,
    standby: Arc<Cluster>,
    /// Direct connections to the standby, to pause and resume its replay.
    standby_pool: PgPool,
}

async fn clusters() -> (Clusters, PgPool) {
    let primary = Arc::new(
        tokio::task::spawn_blocking(Cluster::create)
            .await
            .expect("a private PostgreSQL cluster (initdb/pg_ctl as postgres)"),
    );
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(primary.connect_options())
        .await
        .unwrap();
    migrate(&pool).await.unwrap();
    let of = primary.clone();
    let standby = Arc::new(
        tokio::task::spawn_blocking(move || Cluster::standby_of(&of))
            .await
            .expect("a streaming standby (pg_basebackup -R)"),
    );
    let standby_pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(standby.connect_options())
        .await
        .unwrap();
    let clusters = Clusters {
        _primary: primary,
        standby,
        standby_pool,
    };
    (clusters, pool)
}

impl Clusters {
    fn read_url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            self.standby.port
        )
    }

    async fn pause_replay(&self, paused: bool) {
        let call = if paused {
            "SELECT pg_wal_replay_pause()"
        } else {
            "SELECT pg_wal_replay_resume()"
        };
        sqlx::query(call).execute(&self.standby_pool).await.unwrap();
    }

    /// Waits until the standby holds `n` outcomes.
    async fn standby_has(&self, n: i64) {
        for _ in 0..200 {
            let held: i64 = sqlx::query_scalar("SELECT count(*) FROM outcomes")
                .fetch_one(&self.standby_pool)
                .await
                .unwrap();
            if held == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the standby never caught up to {n} outcomes");
    }
}

fn outcomes(prefix: &str, n: usize) -> Vec<Outcome> {
    (0..n)
        .map(|i| {
            outcome(
                &format!("{prefix}-{i}"),
                &format!("c-{i}"),
                OutcomeKind::Repurchase,
                "2026-03-01T10:00:00Z",
            )
        })
        .collect()
}

/// The outcomes ListOutcomes returns, read where `consistency` sends it.
async fn listed(app: &TestApp, consistency: Option<&str>) -> Result<usize, tonic::Status> {
    let mut request = Request::new(ListOutcomesRequest {
        page_size: 1000,
        ..Default::default()
    });
    if let Some(value) = consistency {
        request
            .metadata_mut()
            .insert("x-gapscore-consistency", value.parse().unwrap());
    }
    Ok(app
        .outcomes()
        .list_outcomes(request)
        .await?
        .into_inner()
        .outcomes
        .len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_standby_unless_the_primary_is_asked_for_and_fall_back_when_it_goes() {
    let (clusters, pool) = clusters().await;
    let app = spawn_app_with(pool, |args| {
        args.database_read_url = Some(clusters.read_url());
        // Long enough that the paused standby still counts as usable.
        args.database_read_max_lag_ms = 60_000;
    })
    .await;
    wait_for_health_of(
        &app.channel,
        REPLICA,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;

    app.submit_outcomes(outcomes("a", 5)).await.unwrap();
    clusters.standby_has(5).await;
    clusters.pause_replay(true).await;
    // Committed on the primary, not replayed on the standby.
    app.submit_outcomes(outcomes("b", 3)).await.unwrap();

    assert_eq!(
        listed(&app, None).await.unwrap(),
        5,
        "a default read is the standby's"
    );
    assert_eq!(listed(&app, Some("any")).await.unwrap(), 5);
    assert_eq!(
        listed(&app, Some("primary")).await.unwrap(),
        8,
        "x-gapscore-consistency: primary reads the caller's own writes"
    );
    let bad = listed(&app, Some("strong")).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message().contains("x-gapscore-consistency"),
        "{}",
        bad.message()
    );

    clusters.pause_replay(false).await;
    clusters.standby_has(8).await;
    assert_eq!(listed(&app, None).await.unwrap(), 8);

    // The standby goes away under load: every read still answers, from
    // the primary, and the replica's own health says so while the
    // service stays SERVING.
    let standby = clusters.standby.clone();
    let stopping = tokio::task::spawn_blocking(move || standby.stop());
    for _ in 0..20 {
        assert_eq!(
            listed(&app, None).await.unwrap(),
            8,
            "a read failed with the standby gone"
        );
    }
    stopping.await.unwrap();
    for _ in 0..20 {
        assert_eq!(listed(&app, None).await.unwrap(), 8);
    }
    wait_for_health_of(
        &app.channel,
        REPLICA,
        ServingStatus::NotServing,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(health(&app.channel, "").await, Some(ServingStatus::Serving));

    // Back: reads return to it.
    clusters.standby.start();
    wait_for_health_of(
        &app.channel,
        REPLICA,
        ServingStatus::Serving,
        Duration::from_secs(20),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_standby_is_passed_over_for_the_primary() {
    let (clusters, pool) = clusters().await;
    let app = spawn_app_with(pool, |args| {
        args.database_read_url = Some(clusters.read_url());
        args.database_read_max_lag_ms = 300;
    })
    .await;
    wait_for_health_of(
        &app.channel,
        REPLICA,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;
    app.submit_outcomes(outcomes("a", 2)).await.unwrap();
    clusters.standby_has(2).await;
    clusters.pause_replay(true).await;
    app.submit_outcomes(outcomes("b", 4)).await.unwrap();
    // Behind the primary for longer than the bound: reads go to the primary.
    wait_for_health_of(
        &app.channel,
        REPLICA,
        ServingStatus::NotServing,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(listed(&app, None).await.unwrap(), 6);
    clusters.pause_replay(false).await;
    wait_for_health_of(
        &app.channel,
        REPLICA,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(listed(&app, None).await.unwrap(), 6);
}
