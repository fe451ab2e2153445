//! Errors keep their meaning under stress (issue 11, findings 7-10, 17 and
//! the matching guarantees of finding 16; SPEC §14): overlapping batches
//! never deadlock into an error, every SQLSTATE of the code table reaches
//! the client as its code, a read-only database is UNAVAILABLE and
//! NOT_SERVING, an exhausted pool is RESOURCE_EXHAUSTED, deadlines come
//! back DEADLINE_EXCEEDED, metric labels stay bounded and no input panics.

use std::time::{Duration, Instant};

use gapscore::proto::v1::*;
use sqlx::{Connection, PgConnection, PgPool};
use tonic::{Code, Request, Status};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_types::StatusExt;

use crate::helpers::{
    app::wait_for_health, error_reason, fixtures, internals::status_of_database_error, outcome,
    simple_journey, spawn_app, spawn_app_with, violation_fields,
};

/// Rounds of racing batches: each round is one chance to deadlock (the
/// issue saw 3 deadlocks in 5 runs of one round).
const RACE_ROUNDS: usize = 12;
/// Ids per round; each racer sends 3/4 of them, so half are shared.
const RACE_IDS: usize = 400;

/// The ids of round `round`: `a` ascending over the first 3/4, `b`
/// descending over the last 3/4, so the shared half meet in opposite
/// orders.
fn racing_ids(prefix: &str, round: usize) -> (Vec<String>, Vec<String>) {
    let ids: Vec<String> = (0..RACE_IDS)
        .map(|i| format!("{prefix}-{round}-{i:04}"))
        .collect();
    let a = ids[..RACE_IDS * 3 / 4].to_vec();
    let mut b = ids[RACE_IDS / 4..].to_vec();
    b.reverse();
    (a, b)
}

/// Both racers' counts, checked: no error, every record counted once, and
/// each distinct id inserted by exactly one of them.
fn check_race(
    round: usize,
    (a, b): (Result<IngestCounts, Status>, Result<IngestCounts, Status>),
) -> [i64; 3] {
    let (a, b) = (
        a.unwrap_or_else(|e| panic!("round {round}: racer a failed: {e:?}")),
        b.unwrap_or_else(|e| panic!("round {round}: racer b failed: {e:?}")),
    );
    let sent = 2 * (RACE_IDS * 3 / 4) as i64;
    assert_eq!(
        a.inserted + a.updated + a.unchanged + b.inserted + b.updated + b.unchanged,
        sent,
        "round {round}: {a:?} {b:?}"
    );
    assert_eq!(
        a.inserted + b.inserted,
        RACE_IDS as i64,
        "round {round}: each distinct id is inserted exactly once: {a:?} {b:?}"
    );
    [
        a.inserted + b.inserted,
        a.updated + b.updated,
        a.unchanged + b.unchanged,
    ]
}

#[sqlx::test]
async fn overlapping_journey_batches_racing_in_opposite_orders_never_fail(pool: PgPool) {
    let app = spawn_app(pool).await;
    for round in 0..RACE_ROUNDS {
        let (a, b) = racing_ids("j", round);
        // Racer b sends different content for the shared ids, so they
        // are updated, not unchanged, when a got there first.
        let journeys = |ids: &[String], at: &str| {
            ids.iter()
                .map(|id| simple_journey(id, "c1", at))
                .collect::<Vec<_>>()
        };
        let (ja, jb) = (
            journeys(&a, "2026-03-02T10:00:00Z"),
            journeys(&b, "2026-03-02T11:00:00Z"),
        );
        let counts = tokio::join!(app.submit_journeys(ja), app.submit_journeys(jb));
        let [_, updated, unchanged] = check_race(round, counts);
        assert_eq!(updated + unchanged, (RACE_IDS / 2) as i64, "round {round}");
    }
}

#[sqlx::test]
async fn overlapping_outcome_batches_racing_in_opposite_orders_never_fail(pool: PgPool) {
    let app = spawn_app(pool).await;
    for round in 0..RACE_ROUNDS {
        let (a, b) = racing_ids("o", round);
        let outcomes = |ids: &[String], at: &str| {
            ids.iter()
                .map(|id| outcome(id, "c1", OutcomeKind::Repurchase, at))
                .collect::<Vec<_>>()
        };
        let (oa, ob) = (
            outcomes(&a, "2026-03-02T10:00:00Z"),
            outcomes(&b, "2026-03-02T11:00:00Z"),
        );
        let counts = tokio::join!(app.submit_outcomes(oa), app.submit_outcomes(ob));
        check_race(round, counts);
    }
}

#[sqlx::test]
async fn erasure_racing_overlapping_submits_never_fails(pool: PgPool) {
    let app = spawn_app(pool).await;
    for round in 0..RACE_ROUNDS / 2 {
        let (a, b) = racing_ids("e", round);
        let journeys = |ids: &[String]| {
            ids.iter()
                .map(|id| simple_journey(id, "c1", "2026-03-02T10:00:00Z"))
                .collect::<Vec<_>>()
        };
        app.submit_journeys(journeys(&b)).await.unwrap();
        let (submitted, erased) = tokio::join!(
            app.submit_journeys(journeys(&a)),
            app.erase(Some(&app.key), "c1")
        );
        submitted.unwrap_or_else(|e| panic!("round {round}: submit failed: {e:?}"));
        erased.unwrap_or_else(|e| panic!("round {round}: erasure failed: {e:?}"));
    }
}

/// The status a SQLSTATE raised by PostgreSQL itself reaches a client as.
async fn status_of_sqlstate(pool: &PgPool, sqlstate: &str) -> Status {
    let err = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DO $$ BEGIN RAISE EXCEPTION 'provoked by a test' USING ERRCODE = '{sqlstate}'; END $$"
    )))
    .execute(pool)
    .await
    .expect_err("the DO block raises");
    status_of_database_error(err)
}

#[sqlx::test]
async fn database_errors_reach_the_client_as_the_code_table_says(pool: PgPool) {
    // SPEC §14: (SQLSTATE, code, reason, retryable).
    let table = [
        ("40P01", Code::Aborted, "TRANSACTION_CONFLICT", true),
        ("40001", Code::Aborted, "TRANSACTION_CONFLICT", true),
        ("25006", Code::Unavailable, "DATABASE_READ_ONLY", true),
        ("53100", Code::Unavailable, "DATABASE_DISK_FULL", true),
        ("53200", Code::Unavailable, "DATABASE_OUT_OF_MEMORY", true),
        ("53300", Code::Unavailable, "DATABASE_UNAVAILABLE", true),
        ("57P01", Code::Unavailable, "DATABASE_UNAVAILABLE", true),
        (
            "57014",
            Code::DeadlineExceeded,
            "STATEMENT_CANCELLED",
            false,
        ),
        ("23505", Code::Internal, "INTERNAL", false),
        ("42703", Code::Internal, "INTERNAL", false),
    ];
    for (sqlstate, code, reason, retryable) in table {
        let status = status_of_sqlstate(&pool, sqlstate).await;
        assert_eq!(status.code(), code, "{sqlstate}: {status:?}");
        assert_eq!(error_reason(&status), reason, "{sqlstate}");
        assert_eq!(
            status.get_details_retry_info().is_some(),
            retryable,
            "{sqlstate}: RetryInfo"
        );
        assert!(
            !status.message().contains("provoked"),
            "{sqlstate}: the database's words stay in the log: {}",
            status.message()
        );
    }
}

#[sqlx::test]
async fn a_real_deadlock_is_aborted_with_retry_info(pool: PgPool) {
    // Two transactions lock two rows in opposite orders: PostgreSQL picks a
    // victim and raises 40P01 in it.
    sqlx::query("CREATE TABLE locks (id int PRIMARY KEY)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO locks VALUES (1), (2)")
        .execute(&pool)
        .await
        .unwrap();
    let (mut t1, mut t2) = (pool.begin().await.unwrap(), pool.begin().await.unwrap());
    let lock = |id: i32| sqlx::query("SELECT id FROM locks WHERE id = $1 FOR UPDATE").bind(id);
    lock(1).execute(&mut *t1).await.unwrap();
    lock(2).execute(&mut *t2).await.unwrap();
    let (r1, r2) = tokio::join!(lock(2).execute(&mut *t1), lock(1).execute(&mut *t2));
    let err = match (r1, r2) {
        (Err(err), _) | (_, Err(err)) => err,
        _ => panic!("no deadlock"),
    };
    let status = status_of_database_error(err);
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    assert_eq!(error_reason(&status), "TRANSACTION_CONFLICT");
    assert!(status.get_details_retry_info().is_some());
}

/// A connection of its own to the test database, outside every pool.
async fn admin(pool: &PgPool) -> PgConnection {
    PgConnection::connect_with(&pool.connect_options())
        .await
        .expect("an admin connection")
}

/// Closes every other session of the test database, so pools reconnect
/// and pick up database-level settings.
async fn reconnect_everyone(admin: &mut PgConnection) {
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut *admin)
    .await
    .unwrap();
}

/// Sets `default_transaction_read_only` for the test database.
async fn set_read_only(admin: &mut PgConnection, on: bool) {
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&mut *admin)
        .await
        .unwrap();
    let quoted = database.replace('"', "\"\"");
    let sql = if on {
        format!("ALTER DATABASE \"{quoted}\" SET default_transaction_read_only = on")
    } else {
        format!("ALTER DATABASE \"{quoted}\" RESET default_transaction_read_only")
    };
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&mut *admin)
        .await
        .unwrap();
    reconnect_everyone(admin).await;
}

#[sqlx::test]
async fn a_read_only_database_is_unavailable_and_not_serving_until_writable(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    wait_for_health(&app.channel, ServingStatus::Serving, Duration::from_secs(5)).await;
    let mut admin = admin(&pool).await;

    // What a failover to a standby looks like to the service: `SELECT 1`
    // still works, every write fails with 25006.
    set_read_only(&mut admin, true).await;
    wait_for_health(
        &app.channel,
        ServingStatus::NotServing,
        Duration::from_secs(10),
    )
    .await;
    let started = Instant::now();
    let err = loop {
        let err = app
            .submit_journeys(vec![simple_journey("j1", "c1", "2026-03-02T10:00:00Z")])
            .await
            .expect_err("no write succeeds on a read-only database");
        assert_eq!(err.code(), Code::Unavailable, "{err:?}");
        assert!(err.get_details_retry_info().is_some(), "{err:?}");
        // The first call may still meet a session closed under it.
        if error_reason(&err) == "DATABASE_READ_ONLY" || started.elapsed() > Duration::from_secs(5)
        {
            break err;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(error_reason(&err), "DATABASE_READ_ONLY", "{err:?}");
    assert!(err.message().contains("read-only"), "{}", err.message());

    set_read_only(&mut admin, false).await;
    wait_for_health(
        &app.channel,
        ServingStatus::Serving,
        Duration::from_secs(10),
    )
    .await;
    let started = Instant::now();
    loop {
        match app
            .submit_journeys(vec![simple_journey("j1", "c1", "2026-03-02T10:00:00Z")])
            .await
        {
            Ok(counts) => {
                assert_eq!(counts.inserted, 1);
                break;
            }
            Err(err) => {
                assert_eq!(err.code(), Code::Unavailable, "{err:?}");
                assert!(started.elapsed() < Duration::from_secs(5), "{err:?}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Holds an ACCESS EXCLUSIVE lock on `table` in a transaction of its own
/// until dropped (rolled back): every statement reading the table waits.
async fn lock_table(pool: &PgPool, table: &str) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    )))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx
}

/// Waits until `n` sessions of the test database wait for a lock.
async fn wait_for_lock_waiters(pool: &PgPool, n: i64) {
    let started = Instant::now();
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting >= n {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "only {waiting} of {n} sessions wait for the lock"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[sqlx::test]
async fn an_exhausted_pool_on_a_healthy_database_is_resource_exhausted(pool: PgPool) {
    // Two connections, both held by calls waiting for a lock: the third
    // call finds no connection although the database is healthy (the
    // tenant's own budget, 3, would admit it).
    let app = spawn_app_with(pool.clone(), |a| {
        a.db_max_connections = 2;
        a.tenant_max_db_connections = 3;
        a.db_acquire_timeout_ms = 500;
    })
    .await;
    let held = lock_table(&pool, "questions").await;
    let blocked: Vec<_> = (0..2)
        .map(|_| {
            let mut catalog = app.catalog();
            tokio::spawn(async move { catalog.list_questions(ListQuestionsRequest {}).await })
        })
        .collect();
    wait_for_lock_waiters(&pool, 2).await;

    let err = app
        .catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(error_reason(&err), "DATABASE_POOL_EXHAUSTED");
    assert!(err.get_details_retry_info().is_some(), "{err:?}");

    drop(held);
    for call in blocked {
        call.await
            .unwrap()
            .expect("the held calls finish once the lock is gone");
    }
}

#[sqlx::test]
async fn a_client_deadline_that_expires_on_the_server_is_deadline_exceeded(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let held = lock_table(&pool, "questions").await;
    for deadline in [Duration::from_millis(300), Duration::from_millis(1200)] {
        let mut request = Request::new(ListQuestionsRequest {});
        request.set_timeout(deadline);
        let err = app.catalog().list_questions(request).await.unwrap_err();
        assert_eq!(err.code(), Code::DeadlineExceeded, "{deadline:?}: {err:?}");
    }
    // A stream is bound by its client's deadline too.
    let mut request = Request::new(tokio_stream::pending::<StreamJourneysRequest>());
    request.set_timeout(Duration::from_millis(300));
    let err = app.journeys().stream_journeys(request).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    drop(held);
}

#[sqlx::test]
async fn the_unary_timeout_cuts_unary_calls_and_spares_streams(pool: PgPool) {
    let app = spawn_app_with(pool.clone(), |args| args.request_timeout_secs = 1).await;

    // A stream open three times as long as the unary limit still succeeds.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut journeys = app.journeys();
    let stream = tokio::spawn(async move {
        journeys
            .stream_journeys(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    for (i, at) in ["2026-03-02T10:00:00Z", "2026-03-02T11:00:00Z"]
        .into_iter()
        .enumerate()
    {
        let journeys = vec![simple_journey(&format!("s{i}"), "c1", at)];
        tx.send(StreamJourneysRequest { journeys }).await.unwrap();
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    drop(tx);
    let response = stream.await.unwrap().expect("the long stream succeeds");
    assert_eq!(response.into_inner().messages, 2);

    // A unary call held past the limit is cut.
    let held = lock_table(&pool, "questions").await;
    let err = app
        .catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    drop(held);
}

#[sqlx::test]
async fn a_subnormal_prior_strength_is_refused_and_loyalty_keeps_answering(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.data().ease("r1", "c1", "2026-03-02T10:00:00Z", 4).await;
    for strength in [5e-324, 1e-300, 1e-7] {
        let mut model = app.scoring_model().await;
        model.prior_strength = strength;
        let err = app
            .catalog()
            .update_scoring_model(UpdateScoringModelRequest { model: Some(model) })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{strength:e}: {err:?}");
        assert_eq!(
            violation_fields(&err),
            ["model.prior_strength"],
            "{strength:e}"
        );
    }
    // The smallest strength accepted still scores a MEDIUM customer.
    app.update_scoring_model(|m| m.prior_strength = 1e-6).await;
    let risk = app
        .scoring()
        .get_loyalty_risk(GetLoyaltyRiskRequest::default())
        .await
        .expect("GetLoyaltyRisk answers")
        .into_inner();
    assert!(format!("{risk:?}").contains("customers: 1"), "{risk:?}");
}

#[sqlx::test]
async fn loyalty_ignores_survey_id_and_intent_in_the_filter(pool: PgPool) {
    // SPEC §7.4: loyalty is over the customers assessed in scope (window,
    // labels); a response's survey or a journey's intent does not select
    // customers.
    let app = spawn_app(pool).await;
    let data = app.data();
    data.ease("r1", "c1", "2026-03-02T10:00:00Z", 2).await;
    data.ease("r2", "c2", "2026-03-03T10:00:00Z", 6).await;
    app.submit_journeys(vec![simple_journey("j1", "c3", "2026-03-04T10:00:00Z")])
        .await
        .unwrap();
    app.submit_outcomes(vec![outcome(
        "o1",
        "c1",
        OutcomeKind::NegativeWordOfMouth,
        "2026-03-20T10:00:00Z",
    )])
    .await
    .unwrap();
    let risk = async |filter: Option<ScoreFilter>| {
        app.scoring()
            .get_loyalty_risk(GetLoyaltyRiskRequest {
                filter,
                confidence_level: None,
            })
            .await
            .expect("GetLoyaltyRisk")
            .into_inner()
    };
    let window = fixtures::window("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z");
    let plain = risk(window.clone()).await;
    let mut narrowed = window.unwrap();
    narrowed.survey_id = "no-such-survey".into();
    narrowed.intent = "no_such_intent".into();
    assert_eq!(risk(Some(narrowed)).await, plain);
    assert!(format!("{plain:?}").contains("customers: 3"), "{plain:?}");
}

#[sqlx::test]
async fn a_scale_change_racing_a_submit_never_leaves_answers_off_the_scale(pool: PgPool) {
    // The submit share-locks the question until it commits, UpsertQuestion
    // locks it for update: one of the two sees the other. Scores of 8 fit
    // 1-10 and not 1-5, so "both succeed" would leave answers off the scale.
    let app = spawn_app(pool).await;
    let question = |max: i32| Question {
        key: format!("q_{max}"),
        kind: QuestionKind::Rating as i32,
        text: "Custom".into(),
        scale_min: 1,
        scale_max: max,
        favorable_min: 4.min(max),
        unfavorable_max: None,
        built_in: false,
    };
    let (mut upserts, mut submits) = (0, 0);
    for round in 0..20 {
        let key = format!("race_{round}");
        let mut wide = question(10);
        wide.key = key.clone();
        let mut narrow = question(5);
        narrow.key = key.clone();
        app.catalog()
            .upsert_question(UpsertQuestionRequest {
                question: Some(wide),
            })
            .await
            .unwrap();
        let responses: Vec<SurveyResponse> = (0..200)
            .map(|i| {
                fixtures::response(
                    &format!("r{round}-{i}"),
                    RespondentRole::Customer,
                    "2026-03-02T10:00:00Z",
                    vec![fixtures::rating(&key, 8)],
                )
            })
            .collect();
        let mut catalog = app.catalog();
        let (submitted, upserted) = tokio::join!(
            app.submit_responses(responses),
            catalog.upsert_question(UpsertQuestionRequest {
                question: Some(narrow)
            })
        );
        match (submitted, upserted) {
            (Ok(counts), Err(err)) => {
                assert_eq!(counts.inserted, 200);
                assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
                assert_eq!(error_reason(&err), "QUESTION_HAS_ANSWERS");
                submits += 1;
            }
            (Err(err), Ok(_)) => {
                assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
                let fields = violation_fields(&err);
                assert!(
                    fields.iter().all(|f| f.ends_with(".answers[0].score")),
                    "{fields:?}"
                );
                upserts += 1;
            }
            other => panic!("round {round}: exactly one may succeed: {other:?}"),
        }
    }
    assert_eq!(upserts + submits, 20);
}

/// The server binary, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free local port's address.
fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// The Prometheus text at `http://addr/metrics`.
async fn scrape(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}

/// The series (sample lines) of the `gapscore_rpc_` metrics.
fn rpc_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("gapscore_rpc_"))
        .collect()
}

#[sqlx::test]
async fn keyless_calls_on_random_paths_add_no_metric_series(pool: PgPool) {
    let options = pool.connect_options();
    let database: String = sqlx::query_scalar("SELECT current_database()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let url = format!(
        "postgres://{}@{}:{}/{database}",
        options.get_username(),
        options.get_host(),
        options.get_port()
    );
    let (addr, metrics) = (free_addr(), free_addr());
    let _server = Server(
        std::process::Command::new(env!("CARGO_BIN_EXE_gapscore"))
            .arg("serve")
            .env("DATABASE_URL", &url)
            .env("GAPSCORE_LISTEN", addr.to_string())
            .env("GAPSCORE_METRICS_LISTEN", metrics.to_string())
            .env("GAPSCORE_HEALTH_INTERVAL_MS", "200")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the gapscore binary starts"),
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();
    wait_for_health(&channel, ServingStatus::Serving, Duration::from_secs(30)).await;

    let call = async |path: String| {
        let mut grpc = tonic::client::Grpc::new(channel.clone());
        grpc.ready().await.unwrap();
        let path = http::uri::PathAndQuery::try_from(path).unwrap();
        grpc.unary(
            Request::new(Vec::new()),
            path,
            crate::helpers::raw::RawCodec,
        )
        .await
        .unwrap_err()
    };
    for i in 0..10 {
        let err = call(format!("/gapscore.v1.Nope{i}/Call")).await;
        assert_eq!(err.code(), Code::Unauthenticated);
    }
    let before = scrape(metrics).await;
    for i in 0..300 {
        let err = call(format!("/random.{i:x}{}/M{i}", rand::random::<u64>())).await;
        assert_eq!(err.code(), Code::Unauthenticated);
    }
    let after = scrape(metrics).await;
    assert_eq!(
        rpc_series(&before).len(),
        rpc_series(&after).len(),
        "300 random paths added series"
    );
    assert!(
        after.contains("method=\"unknown\""),
        "{:?}",
        rpc_series(&after)
    );
    assert!(
        after.len() < 64 * 1024,
        "/metrics grew to {} bytes",
        after.len()
    );
    // The pool gauges (finding 16), set by the health watcher.
    for state in ["open", "idle", "in_use"] {
        let gauge = format!("gapscore_db_pool_connections{{state=\"{state}\"}}");
        assert!(after.contains(&gauge), "{gauge} missing");
    }
    assert!(after.contains("gapscore_database_up 1"));
}
