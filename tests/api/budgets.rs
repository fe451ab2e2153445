//! Fairness between tenants and bounded cost (SPEC §14, issue 11 findings
//! 5, 6, 12 and parts of 16): per-tenant budgets, the control pool of
//! authentication and health, statement timeouts and cancellation that
//! frees the connection, stream limits and revocation, the calibration
//! cache, and the shutdown of a stream at the end of the grace period.
//!
//! A database query is made to "run" for as long as a test needs by
//! holding a row lock the query waits for: the test locks the tenant's
//! built-in `ease` question `FOR UPDATE`, and every submit of a response
//! answering `ease` then waits on it (the submit share-locks the questions
//! it answers). `pg_stat_activity` shows such a query as waiting on a
//! `Lock`; nothing here depends on how long anything takes.

use std::time::{Duration, Instant};

use gapscore::proto::v1::{
    GetLoyaltyRiskRequest, ListQuestionsRequest, StreamSurveyResponsesRequest,
    StreamSurveyResponsesResponse, SubmitSurveyResponsesRequest, SurveyResponse,
};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

use crate::helpers::{
    TestApp, app::health, card_update, ease_response, error_reason, internals::revoke_key,
    journey_from, spawn_app_with,
};

// ------------------------------------------------------------- helpers

/// Holds the `ease` question of `tenant` locked until the transaction ends:
/// every submit answering `ease` waits meanwhile.
async fn hold_ease(pool: &PgPool, tenant: i64) -> Transaction<'static, Postgres> {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM questions WHERE tenant_id = $1 AND key = 'ease' FOR UPDATE")
        .bind(tenant)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// Statements of this test's database waiting on a lock, whose text
/// starts with `prefix` (`""`: any).
async fn waiting(pool: &PgPool, prefix: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND wait_event_type = 'Lock' \
           AND starts_with(ltrim(query), $1)",
    )
    .bind(prefix)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Waits until `waiting(prefix)` is `n`; panics after `within`.
async fn until_waiting(pool: &PgPool, prefix: &str, n: i64, within: Duration) {
    let started = Instant::now();
    loop {
        let now = waiting(pool, prefix).await;
        if now == n {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{now} statements waiting on a lock, not {n}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A submit as `key` of one response answering `ease`, in its own task.
fn submit_ease(
    app: &TestApp,
    key: &str,
    id: &str,
) -> tokio::task::JoinHandle<Result<gapscore::proto::v1::IngestCounts, Status>> {
    let mut survey = app.survey_as(Some(key));
    let responses = vec![ease_response(id, "c1", "2026-01-05T10:00:00Z", 2)];
    tokio::spawn(async move {
        survey
            .submit_survey_responses(SubmitSurveyResponsesRequest { responses })
            .await
            .map(|r| r.into_inner().counts.unwrap_or_default())
    })
}

async fn list_questions(app: &TestApp, key: &str) -> Result<(), Status> {
    app.catalog_as(Some(key))
        .list_questions(ListQuestionsRequest {})
        .await
        .map(|_| ())
}

/// RESOURCE_EXHAUSTED for the tenant's `budget`, with a RetryInfo.
fn assert_budget(status: &Status, budget: &str) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(
        error_reason(status),
        "TENANT_BUDGET_EXHAUSTED",
        "{status:?}"
    );
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(
        info.metadata.get("budget").map(String::as_str),
        Some(budget)
    );
    let retry = status
        .get_details_retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RetryInfo with a delay");
    assert!(retry > Duration::ZERO, "{retry:?}");
}

/// The ErrorInfo metadata value `name` of `status`.
fn metadata(status: &Status, name: &str) -> Option<String> {
    status.get_details_error_info()?.metadata.get(name).cloned()
}

/// A client stream of survey responses as acme (or `key`), fed through the
/// returned sender.
fn open_stream(
    app: &TestApp,
    key: &str,
) -> (
    mpsc::Sender<StreamSurveyResponsesRequest>,
    tokio::task::JoinHandle<Result<StreamSurveyResponsesResponse, Status>>,
) {
    let (tx, rx) = mpsc::channel(4);
    let mut survey = app.survey_as(Some(key));
    let call = tokio::spawn(async move {
        survey
            .stream_survey_responses(ReceiverStream::new(rx))
            .await
            .map(|r| r.into_inner())
    });
    (tx, call)
}

fn message(responses: Vec<SurveyResponse>) -> StreamSurveyResponsesRequest {
    StreamSurveyResponsesRequest { responses }
}

fn ease(id: &str) -> SurveyResponse {
    ease_response(id, "c1", "2026-01-05T10:00:00Z", 4)
}

async fn stored_ids(pool: &PgPool, tenant: i64) -> Vec<String> {
    sqlx::query_scalar("SELECT id FROM survey_responses WHERE tenant_id = $1 ORDER BY id")
        .bind(tenant)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn until_stored(pool: &PgPool, tenant: i64, n: usize) {
    let started = Instant::now();
    while stored_ids(pool, tenant).await.len() < n {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{n} responses not stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The call's result, which must come within `within`.
async fn settled<T>(call: tokio::task::JoinHandle<T>, within: Duration) -> T {
    tokio::time::timeout(within, call)
        .await
        .unwrap_or_else(|_| panic!("the call did not end within {within:?}"))
        .expect("the call's task")
}

// --------------------------------------------------------- budgets (5)

#[sqlx::test]
async fn a_tenant_over_its_connection_budget_is_refused_while_another_is_served(pool: PgPool) {
    let app = spawn_app_with(pool, |a| {
        a.db_max_connections = 6;
        a.tenant_max_db_connections = 2;
        a.db_acquire_timeout_ms = 300;
    })
    .await;
    let other = app.add_tenant("other").await;
    let lock = hold_ease(&app.pool, app.tenant.0).await;
    // Two of acme's calls hold both of its connections.
    let held = [
        submit_ease(&app, &app.key, "r1"),
        submit_ease(&app, &app.key, "r2"),
    ];
    until_waiting(&app.pool, "", 2, Duration::from_secs(10)).await;

    let refused = list_questions(&app, &app.key).await.unwrap_err();
    assert_budget(&refused, "db_connections");
    assert_eq!(metadata(&refused, "limit").as_deref(), Some("2"));
    for _ in 0..5 {
        list_questions(&app, &other)
            .await
            .expect("the other tenant is served");
    }
    assert_eq!(health(&app.channel, "").await, Some(ServingStatus::Serving));

    lock.rollback().await.unwrap();
    for call in held {
        settled(call, Duration::from_secs(10))
            .await
            .expect("submit");
    }
    list_questions(&app, &app.key)
        .await
        .expect("served again once its calls ended");
}

#[sqlx::test]
async fn a_tenant_over_its_call_and_stream_budgets_is_refused_while_another_is_served(
    pool: PgPool,
) {
    let app = spawn_app_with(pool, |a| {
        a.tenant_max_in_flight = 2;
        a.tenant_max_streams = 1;
    })
    .await;
    let other = app.add_tenant("other").await;
    let lock = hold_ease(&app.pool, app.tenant.0).await;
    let held = [
        submit_ease(&app, &app.key, "r1"),
        submit_ease(&app, &app.key, "r2"),
    ];
    until_waiting(&app.pool, "", 2, Duration::from_secs(10)).await;

    let refused = list_questions(&app, &app.key).await.unwrap_err();
    assert_budget(&refused, "calls_in_flight");
    // Streams have a budget of their own: acme may still open one...
    let (stream, first) = open_stream(&app, &app.key);
    stream
        .send(message(vec![ease_response(
            "s1",
            "c1",
            "2026-01-05T10:00:00Z",
            4,
        )]))
        .await
        .unwrap();
    // Its message waiting on the lock proves the stream holds its slot at
    // the server; a second stream opened before that could overtake it.
    until_waiting(&app.pool, "", 3, Duration::from_secs(10)).await;
    // ... but not a second while it is open.
    let (_second_tx, second) = open_stream(&app, &app.key);
    let refused = settled(second, Duration::from_secs(10)).await.unwrap_err();
    assert_budget(&refused, "open_streams");

    for _ in 0..5 {
        list_questions(&app, &other)
            .await
            .expect("the other tenant is served");
    }
    let (other_stream, other_call) = open_stream(&app, &other);
    drop(other_stream);
    settled(other_call, Duration::from_secs(10))
        .await
        .expect("the other tenant opens a stream");
    assert_eq!(health(&app.channel, "").await, Some(ServingStatus::Serving));

    lock.rollback().await.unwrap();
    for call in held {
        settled(call, Duration::from_secs(10))
            .await
            .expect("submit");
    }
    drop(stream);
    settled(first, Duration::from_secs(10))
        .await
        .expect("the held stream ends cleanly");
    list_questions(&app, &app.key)
        .await
        .expect("served again once its calls ended");
}

/// Finding 5 and the finding-16 guarantee "pool exhaustion on a healthy
/// database": tenant queries holding every connection of their pool leave
/// health SERVING and authentication working (their own pool), and the
/// waiting call is not reported as a database outage.
#[sqlx::test]
async fn an_exhausted_tenant_pool_leaves_health_and_authentication_alone(pool: PgPool) {
    let app = spawn_app_with(pool, |a| {
        a.db_max_connections = 2;
        a.tenant_max_db_connections = 2;
        a.db_acquire_timeout_ms = 300;
    })
    .await;
    let other = app.add_tenant("other").await;
    let lock = hold_ease(&app.pool, app.tenant.0).await;
    let held = [
        submit_ease(&app, &app.key, "r1"),
        submit_ease(&app, &app.key, "r2"),
    ];
    until_waiting(&app.pool, "", 2, Duration::from_secs(10)).await;

    // Over several health intervals (200 ms in tests).
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(1500) {
        assert_eq!(
            health(&app.channel, "").await,
            Some(ServingStatus::Serving),
            "health flipped with the database healthy"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = list_questions(&app, &other).await.unwrap_err();
    eprintln!(
        "exhausted pool: {:?} {}",
        refused.code(),
        error_reason(&refused)
    );
    assert!(
        !matches!(refused.code(), Code::Unauthenticated),
        "authentication waited behind tenant queries: {refused:?}"
    );
    // SPEC §14: an exhausted pool on a healthy database is
    // RESOURCE_EXHAUSTED (retry later), not an outage.
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert_eq!(error_reason(&refused), "DATABASE_POOL_EXHAUSTED");

    lock.rollback().await.unwrap();
    for call in held {
        settled(call, Duration::from_secs(10))
            .await
            .expect("submit");
    }
    list_questions(&app, &other).await.expect("served again");
}

#[sqlx::test]
async fn a_cancelled_call_cancels_its_query_and_frees_its_connection_at_once(pool: PgPool) {
    let app = spawn_app_with(pool, |a| {
        a.db_max_connections = 1;
        a.db_acquire_timeout_ms = 1000;
    })
    .await;
    let lock = hold_ease(&app.pool, app.tenant.0).await;
    // The client gives up while the query waits on the lock.
    let mut survey = app.survey();
    let call = survey.submit_survey_responses(SubmitSurveyResponsesRequest {
        responses: vec![ease("cancelled")],
    });
    let gave_up = tokio::time::timeout(Duration::from_secs(1), call).await;
    assert!(gave_up.is_err(), "the call ended although its query waits");
    // The lock is still held: the query is gone because it was cancelled,
    // not because it finished.
    until_waiting(&app.pool, "", 0, Duration::from_secs(3)).await;
    // The pool's one connection serves the next call.
    tokio::time::timeout(Duration::from_secs(3), list_questions(&app, &app.key))
        .await
        .expect("the connection is free again")
        .expect("ListQuestions");
    lock.rollback().await.unwrap();
    assert!(stored_ids(&app.pool, app.tenant.0).await.is_empty());
}

/// Client streams are exempt from the unary time limit; their statements
/// still end at the statement timeout below it.
#[sqlx::test]
async fn a_statement_runs_under_a_timeout_below_the_call_limit(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.request_timeout_secs = 1).await;
    let lock = hold_ease(&app.pool, app.tenant.0).await;
    let (stream, call) = open_stream(&app, &app.key);
    stream.send(message(vec![ease("slow")])).await.unwrap();
    let status = settled(call, Duration::from_secs(10)).await.unwrap_err();
    eprintln!(
        "statement timeout: {:?} {}",
        status.code(),
        status.message()
    );
    // SPEC §14: a cancelled statement is DEADLINE_EXCEEDED.
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(
        waiting(&app.pool, "").await,
        0,
        "the statement was cancelled"
    );
    lock.rollback().await.unwrap();
    assert!(stored_ids(&app.pool, app.tenant.0).await.is_empty());
}

// ---------------------------------------------------------- streams (6)

#[sqlx::test]
async fn an_idle_stream_is_ended_and_frees_its_slot(pool: PgPool) {
    let app = spawn_app_with(pool, |a| {
        a.stream_idle_timeout_secs = 1;
        a.tenant_max_streams = 1;
    })
    .await;
    let (stream, call) = open_stream(&app, &app.key);
    stream.send(message(vec![ease("first")])).await.unwrap();
    let status = settled(call, Duration::from_secs(10)).await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(error_reason(&status), "STREAM_IDLE_TIMEOUT");
    assert_eq!(
        metadata(&status, "messages_committed").as_deref(),
        Some("1")
    );
    assert_eq!(stored_ids(&app.pool, app.tenant.0).await, ["first"]);
    // Its slot is free again.
    let (stream, call) = open_stream(&app, &app.key);
    stream.send(message(vec![ease("second")])).await.unwrap();
    drop(stream);
    let done = settled(call, Duration::from_secs(10))
        .await
        .expect("a new stream");
    assert_eq!(done.messages, 1);
}

#[sqlx::test]
async fn a_stream_ends_at_its_maximum_lifetime_between_messages(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.stream_max_lifetime_secs = 2).await;
    let (stream, call) = open_stream(&app, &app.key);
    let opened = Instant::now();
    let feeder = tokio::spawn(async move {
        for i in 0.. {
            let sent = stream.send(message(vec![ease(&format!("m{i:03}"))])).await;
            if sent.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let status = settled(call, Duration::from_secs(20)).await.unwrap_err();
    let lived = opened.elapsed();
    feeder.abort();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(error_reason(&status), "STREAM_MAX_LIFETIME");
    assert!(
        lived >= Duration::from_millis(1900),
        "ended after {lived:?}"
    );
    // Every message it reports committed is stored, whole.
    let committed: usize = metadata(&status, "messages_committed")
        .and_then(|n| n.parse().ok())
        .expect("messages_committed");
    assert!(committed > 0);
    assert_eq!(stored_ids(&app.pool, app.tenant.0).await.len(), committed);
}

#[sqlx::test]
async fn a_revoked_key_ends_an_open_stream_within_seconds_and_commits_nothing_more(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.stream_key_recheck_secs = 1).await;
    let (stream, call) = open_stream(&app, &app.key);
    stream.send(message(vec![ease("before")])).await.unwrap();
    until_stored(&app.pool, app.tenant.0, 1).await;

    let key_id = app.key.split('_').nth(1).expect("gsk_<id>_<secret>");
    assert!(revoke_key(&app.pool, key_id).await);
    let revoked = Instant::now();
    // Past the re-check interval, a message is not committed.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let _ = stream.send(message(vec![ease("after")])).await;
    let status = settled(call, Duration::from_secs(10)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(revoked.elapsed() < Duration::from_secs(10));
    assert_eq!(stored_ids(&app.pool, app.tenant.0).await, ["before"]);
}

// ------------------------------------------------- calibration cache (12)

const NWOM: gapscore::proto::v1::OutcomeKind =
    gapscore::proto::v1::OutcomeKind::NegativeWordOfMouth;

/// Two high-effort customers, h1 with a negative-word-of-mouth outcome.
async fn calibration_data(app: &TestApp) {
    let jan10 = "2026-01-10T09:00:00Z";
    app.data()
        .journeys(vec![
            journey_from("j-h1", "h1", jan10, &card_update()),
            journey_from("j-h2", "h2", jan10, &card_update()),
        ])
        .await;
    app.data()
        .outcome("o1", "h1", NWOM, true, "2026-02-01T00:00:00Z")
        .await;
}

/// (outcomes observed, occurred) of the HIGH tier's NWOM rate, as
/// `GetLoyaltyRisk` reports the calibration.
async fn high_nwom(app: &TestApp) -> (i64, i64) {
    let risk = app
        .scoring()
        .get_loyalty_risk(GetLoyaltyRiskRequest::default())
        .await
        .expect("GetLoyaltyRisk")
        .into_inner();
    let high = gapscore::proto::v1::EffortTier::High as i32;
    let nwom = risk
        .outcomes
        .iter()
        .find(|o| o.kind == NWOM as i32)
        .expect("NWOM");
    let rate = nwom
        .tier_rates
        .iter()
        .find(|t| t.tier == high)
        .expect("HIGH");
    (rate.observed, rate.occurrences)
}

/// Removes o1 behind the server's back (as another process would).
async fn delete_outcome_directly(app: &TestApp) {
    sqlx::query("DELETE FROM outcomes WHERE tenant_id = $1 AND id = 'o1'")
        .bind(app.tenant.0)
        .execute(&app.pool)
        .await
        .unwrap();
}

/// With the cache disabled (`calibration_cache_secs = 0`) the second read
/// would see the deletion.
#[sqlx::test]
async fn the_calibration_cache_serves_repeated_reads_without_recomputing(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.calibration_cache_secs = 3600).await;
    calibration_data(&app).await;
    assert_eq!(high_nwom(&app).await, (1, 1));
    delete_outcome_directly(&app).await;
    assert_eq!(high_nwom(&app).await, (1, 1), "served from the cache");
}

#[sqlx::test]
async fn an_unchanged_resend_keeps_the_cached_calibration_and_a_change_retires_it(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.calibration_cache_secs = 3600).await;
    calibration_data(&app).await;
    assert_eq!(high_nwom(&app).await, (1, 1));
    delete_outcome_directly(&app).await;
    // The same journey again: all unchanged, nothing to retire.
    let counts = app
        .submit_journeys(vec![journey_from(
            "j-h2",
            "h2",
            "2026-01-10T09:00:00Z",
            &card_update(),
        )])
        .await
        .unwrap();
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (0, 0, 1)
    );
    assert_eq!(high_nwom(&app).await, (1, 1), "still cached");
    // A write that changes something retires it.
    app.data()
        .outcome("o9", "nobody", NWOM, true, "2026-02-01T00:00:00Z")
        .await;
    assert_eq!(high_nwom(&app).await, (0, 0), "recomputed after a change");
}

/// Readers that miss at the same time share one computation, and one that
/// misses after a newer write does not queue behind the older computation.
/// The calibration query is held on a lock of `outcomes`, which no other
/// statement of these calls reads.
#[sqlx::test]
async fn concurrent_misses_share_one_calibration_query_and_never_queue(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.calibration_cache_secs = 3600).await;
    calibration_data(&app).await;
    let app = std::sync::Arc::new(app);
    let mut lock = app.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE outcomes IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *lock)
        .await
        .unwrap();
    let read = || {
        let app = app.clone();
        tokio::spawn(async move { high_nwom(&app).await })
    };
    let calibration = "WITH o AS";
    let first = read();
    until_waiting(&app.pool, calibration, 1, Duration::from_secs(10)).await;
    // A change acknowledged meanwhile: later readers need a newer one.
    app.data()
        .journeys(vec![journey_from(
            "j-h3",
            "h3",
            "2026-01-10T09:00:00Z",
            &card_update(),
        )])
        .await;
    let later: Vec<_> = (0..4).map(|_| read()).collect();
    // One more query for the four later readers, run at once.
    until_waiting(&app.pool, calibration, 2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        waiting(&app.pool, calibration).await,
        2,
        "shared, not one each"
    );
    lock.rollback().await.unwrap();
    assert_eq!(settled(first, Duration::from_secs(10)).await, (1, 1));
    for reader in later {
        assert_eq!(settled(reader, Duration::from_secs(10)).await, (1, 1));
    }
}

// ------------------------------------------------ guarantees of finding 16

#[sqlx::test]
async fn with_the_in_flight_limit_saturated_reflection_and_health_still_answer(pool: PgPool) {
    use tonic_reflection::pb::v1::{
        ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
        server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
    };
    let app = spawn_app_with(pool, |a| a.max_in_flight = 2).await;
    let lock = hold_ease(&app.pool, app.tenant.0).await;
    let held = [
        submit_ease(&app, &app.key, "r1"),
        submit_ease(&app, &app.key, "r2"),
    ];
    until_waiting(&app.pool, "", 2, Duration::from_secs(10)).await;
    let refused = list_questions(&app, &app.key).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted);
    assert_eq!(error_reason(&refused), "OVERLOADED");

    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut answers = ServerReflectionClient::new(app.channel.clone())
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection is exempt")
        .into_inner();
    let answer = answers.message().await.unwrap().expect("an answer");
    let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
        panic!("not a service list: {answer:?}");
    };
    assert!(
        list.service
            .iter()
            .any(|s| s.name == "gapscore.v1.SurveyService")
    );
    let status = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .expect("health is exempt")
        .into_inner()
        .status();
    assert_eq!(status, ServingStatus::Serving);

    lock.rollback().await.unwrap();
    for call in held {
        settled(call, Duration::from_secs(10))
            .await
            .expect("submit");
    }
}

#[sqlx::test]
async fn on_shutdown_health_turns_not_serving_and_a_stream_is_cut_at_the_end_of_the_grace_period(
    pool: PgPool,
) {
    const GRACE: Duration = Duration::from_secs(2);
    let mut app = spawn_app_with(pool, |a| a.shutdown_grace_secs = GRACE.as_secs()).await;
    // Connections of our own: the stopping server closes the pool it was
    // given.
    let direct = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with((*app.pool.connect_options()).clone())
        .await
        .unwrap();
    let mut watch = HealthClient::new(app.channel.clone())
        .watch(HealthCheckRequest::default())
        .await
        .expect("Watch")
        .into_inner();
    let mut serving = watch.message().await.unwrap().unwrap().status();
    while serving != ServingStatus::Serving {
        serving = watch.message().await.unwrap().unwrap().status();
    }

    let (stream, call) = open_stream(&app, &app.key);
    stream.send(message(vec![ease("committed")])).await.unwrap();
    until_stored(&direct, app.tenant.0, 1).await;
    // The next message waits on the lock: in progress at the signal.
    let lock = hold_ease(&direct, app.tenant.0).await;
    stream
        .send(message(vec![ease("a-new"), ease("in-progress")]))
        .await
        .unwrap();
    until_waiting(&direct, "", 1, Duration::from_secs(10)).await;

    app.shutdown.take().unwrap().send(()).unwrap();
    let signalled = Instant::now();
    let next = tokio::time::timeout(Duration::from_secs(5), watch.message())
        .await
        .expect("health answered the signal");
    assert_eq!(
        next.unwrap().map(|h| h.status()),
        Some(ServingStatus::NotServing)
    );
    let cut = settled(call, GRACE + Duration::from_secs(10)).await;
    let lasted = signalled.elapsed();
    assert!(cut.is_err(), "the stream was cut: {cut:?}");
    assert!(
        lasted >= GRACE - Duration::from_millis(100),
        "cut after {lasted:?}, before the end of the grace period"
    );
    // The server stops, with the lock still held: nothing waits on it.
    let stopped = tokio::time::timeout(Duration::from_secs(10), &mut app.server)
        .await
        .expect("the server stopped though the lock is still held")
        .expect("server task");
    assert!(stopped.is_ok(), "{stopped:?}");
    until_waiting(&direct, "", 0, Duration::from_secs(3)).await;
    lock.rollback().await.unwrap();
    assert_eq!(
        stored_ids(&direct, app.tenant.0).await,
        ["committed"],
        "the message in progress was rolled back whole"
    );
}

/// SPEC §15: per-tenant budgets are per service process, and the operator
/// does the arithmetic (docs/SCALING.md): with `n` replicas a tenant may
/// hold `n ×` the flags' budget at once, and each replica refuses what is
/// beyond its own share, whatever the others hold.
#[sqlx::test]
async fn two_service_processes_on_one_database_each_enforce_their_share_of_a_budget(pool: PgPool) {
    let app = spawn_app_with(pool.clone(), |a| a.tenant_max_in_flight = 1).await;
    let args = gapscore::config::ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        tenant_max_in_flight: 1,
        ..Default::default()
    };
    let second = crate::helpers::internals::Application::build(args, pool)
        .await
        .expect("the second replica builds");
    let second_addr = second.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(second.run_until(async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{second_addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let replica = crate::helpers::Clients::new(channel, TestApp::bearer(Some(&app.key)));

    let lock = hold_ease(&app.pool, app.tenant.0).await;
    let on_first = submit_ease(&app, &app.key, "r1");
    until_waiting(&app.pool, "", 1, Duration::from_secs(10)).await;
    // The first replica's share is taken...
    assert_budget(
        &list_questions(&app, &app.key).await.unwrap_err(),
        "calls_in_flight",
    );
    // ... the second's is not, until its own call holds it.
    let mut survey = replica.survey();
    let on_second = tokio::spawn(async move {
        survey
            .submit_survey_responses(SubmitSurveyResponsesRequest {
                responses: vec![ease_response("r2", "c2", "2026-01-05T10:00:00Z", 2)],
            })
            .await
    });
    until_waiting(&app.pool, "", 2, Duration::from_secs(10)).await;
    let refused = replica
        .catalog()
        .list_questions(ListQuestionsRequest {})
        .await
        .unwrap_err();
    assert_budget(&refused, "calls_in_flight");

    lock.rollback().await.unwrap();
    settled(on_first, Duration::from_secs(10))
        .await
        .expect("submit on the first");
    settled(on_second, Duration::from_secs(10))
        .await
        .expect("submit on the second");
    stop.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
}

/// SPEC §15: a connection older than `--max-connection-age-secs` is sent
/// away (GOAWAY, then closed after the grace period), so a client that
/// holds one connection reconnects — through its load balancer, to any
/// replica — while a connection to a server with the default age stays.
#[sqlx::test]
async fn connections_are_rotated_at_their_maximum_age(pool: PgPool) {
    let aged = spawn_app_with(pool.clone(), |a| {
        a.max_connection_age_secs = 1;
        a.max_connection_age_grace_secs = 1;
    })
    .await;
    let open = |addr: std::net::SocketAddr| async move {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake::<_, _, http_body_util::Empty<bytes::Bytes>>(
                hyper_util::rt::TokioExecutor::new(),
                hyper_util::rt::TokioIo::new(tcp),
            )
            .await
            .unwrap();
        (sender, tokio::spawn(connection))
    };
    let (_aged_sender, aged_connection) = open(aged.addr).await;
    let ended = tokio::time::timeout(Duration::from_secs(15), aged_connection).await;
    assert!(ended.is_ok(), "the connection outlived its maximum age");

    let args = gapscore::config::ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let default = crate::helpers::internals::Application::build(args, pool)
        .await
        .unwrap();
    let addr = default.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(default.run_until(async {
        let _ = stopped.await;
    }));
    let (_sender, connection) = open(addr).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!connection.is_finished(), "a default connection was closed");
    stop.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
}
