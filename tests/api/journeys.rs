//! JourneyService through the real server: ingest, effort components,
//! idempotency, validation, streaming, reads, pagination and tenancy.

use std::collections::BTreeMap;

use gapscore::proto::v1::{
    Channel, EffortTier, GetJourneyRequest, Initiator, Journey, ListJourneysRequest, ScoreFilter,
    StreamJourneysRequest, SubmitJourneysRequest, Touchpoint, TouchpointOutcome,
};
use sqlx::{
    PgPool,
    postgres::{PgPoolOptions, PgSslMode},
};
use tonic::Code;

use crate::{
    helpers::{
        TestApp, card_update_journey, error_reason, refused_at, simple_journey, spawn_app,
        spawn_app_with, sql::rows_in, tp, ts, violation_fields,
    },
    proxy::Proxy,
};

async fn submit(app: &TestApp, journeys: Vec<Journey>) -> Result<(i64, i64, i64), tonic::Status> {
    let c = app.submit_journeys(journeys).await?;
    Ok((c.inserted, c.updated, c.unchanged))
}

async fn get(app: &TestApp, id: &str) -> Result<Journey, tonic::Status> {
    Ok(app
        .journeys()
        .get_journey(GetJourneyRequest { id: id.into() })
        .await?
        .into_inner()
        .journey
        .unwrap())
}

async fn stored_journeys(pool: &PgPool) -> i64 {
    rows_in(pool, "journeys").await
}

async fn stored_touchpoints(pool: &PgPool) -> i64 {
    rows_in(pool, "touchpoints").await
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Components {
    customer_touchpoints: i32,
    channel_switches: i32,
    failed_self_service: i32,
    transfers: i32,
    repeated_information: i32,
    customer_seconds: i64,
    resolved: bool,
    first_customer_resolved: bool,
    has_assisted: bool,
    first_assisted_resolved: bool,
    distinct_channels: i32,
}

#[sqlx::test]
async fn the_card_update_journey_stores_its_effort_components_and_scores_90_high(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(
        submit(&app, vec![card_update_journey("j-1", "c-1")])
            .await
            .unwrap(),
        (1, 0, 0)
    );

    let (components, started_at): (Components, chrono::DateTime<chrono::Utc>) = {
        let row = sqlx::query_as::<_, Components>(
            "SELECT customer_touchpoints, channel_switches, failed_self_service, transfers,
                 repeated_information, customer_seconds, resolved, first_customer_resolved,
                 has_assisted, first_assisted_resolved, distinct_channels
             FROM journeys WHERE id = 'j-1'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        let started: chrono::DateTime<chrono::Utc> =
            sqlx::query_scalar("SELECT started_at FROM journeys WHERE id = 'j-1'")
                .fetch_one(&app.pool)
                .await
                .unwrap();
        (row, started)
    };
    assert_eq!(
        components,
        Components {
            customer_touchpoints: 3,
            channel_switches: 2,
            failed_self_service: 2,
            transfers: 0,
            repeated_information: 0,
            customer_seconds: 2700,
            resolved: true,
            first_customer_resolved: false,
            has_assisted: true,
            first_assisted_resolved: true,
            distinct_channels: 3,
        }
    );
    // Placed by its first touchpoint, the company's first reminder.
    assert_eq!(started_at.to_rfc3339(), "2026-03-01T09:00:00+00:00");

    let journey = get(&app, "j-1").await.unwrap();
    assert_eq!(journey.effort_index, 90.0);
    assert_eq!(journey.effort_tier(), EffortTier::High);
    let expected = card_update_journey("j-1", "c-1");
    assert_eq!(journey.touchpoints, expected.touchpoints);
    assert_eq!(journey.labels, expected.labels);
    assert_eq!(journey.intent, "update_payment_method");
    assert_eq!(journey.customer_id, "c-1");
}

#[sqlx::test]
async fn a_journey_round_trips_with_every_field(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut journey = simple_journey("j.1:a-B_2", "cust:42", "2026-02-01T10:00:00.123456Z");
    journey.labels = BTreeMap::from([
        ("product".to_string(), "card".to_string()),
        ("region".to_string(), "emea".to_string()),
    ]);
    journey.touchpoints.push(Touchpoint {
        channel: Channel::LiveChat as i32,
        initiator: Initiator::Customer as i32,
        occurred_at: Some(ts("2026-02-01T10:30:00Z")),
        duration_seconds: 86_400,
        wait_seconds: 86_400,
        outcome: TouchpointOutcome::Abandoned as i32,
        transfers: 50,
        repeated_information: true,
    });
    submit(&app, vec![journey.clone()]).await.unwrap();
    let back = get(&app, "j.1:a-B_2").await.unwrap();
    assert_eq!(
        Journey {
            effort_index: 0.0,
            effort_tier: 0,
            ..back.clone()
        },
        journey
    );
    // Effort: 1 extra contact 15 + 1 switch 10 + 50 transfers 500 + 1 repeat
    // 10 + time capped 30: capped at 100.
    assert_eq!(back.effort_index, 100.0);
    assert_eq!(back.effort_tier(), EffortTier::High);
}

#[sqlx::test]
async fn touchpoints_are_stored_in_occurred_at_order_and_ties_keep_request_order(pool: PgPool) {
    use Channel::*;
    use Initiator::*;
    use TouchpointOutcome::*;
    let app = spawn_app(pool).await;
    let mut journey = simple_journey("j-1", "c-1", "2026-01-01T00:00:00Z");
    journey.touchpoints = vec![
        tp(Phone, Customer, "2026-01-01T12:00:00Z", 1, 0, Resolved),
        tp(Web, Customer, "2026-01-01T10:00:00Z", 2, 0, Unresolved),
        tp(Chatbot, Customer, "2026-01-01T11:00:00Z", 3, 0, Unresolved),
        tp(Ivr, Customer, "2026-01-01T10:00:00Z", 4, 0, Unresolved),
        tp(
            Email,
            Company,
            "2026-01-01T09:00:00Z",
            5,
            0,
            TouchpointOutcome::Unspecified,
        ),
        tp(MobileApp, Customer, "2026-01-01T10:00:00Z", 6, 0, Abandoned),
    ];
    submit(&app, vec![journey]).await.unwrap();
    let back = get(&app, "j-1").await.unwrap();
    let order: Vec<i32> = back
        .touchpoints
        .iter()
        .map(|t| t.duration_seconds)
        .collect();
    assert_eq!(order, [5, 2, 4, 6, 3, 1]);
    let seqs: Vec<(i16, i32)> = sqlx::query_as(
        "SELECT seq, duration_seconds FROM touchpoints t JOIN journeys j USING (tenant_id, jid)
         WHERE j.id = 'j-1' ORDER BY seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(seqs, [(0, 5), (1, 2), (2, 4), (3, 6), (4, 3), (5, 1)]);
    // Components follow the sorted order: WEB, IVR, MOBILE_APP, CHATBOT, PHONE.
    let (switches, first_resolved): (i32, bool) = sqlx::query_as(
        "SELECT channel_switches, first_customer_resolved FROM journeys WHERE id = 'j-1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((switches, first_resolved), (4, false));
    let started: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("SELECT started_at FROM journeys WHERE id = 'j-1'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(started.to_rfc3339(), "2026-01-01T09:00:00+00:00");
}

#[sqlx::test]
async fn a_resend_is_unchanged_and_an_edit_replaces_the_journey(pool: PgPool) {
    let app = spawn_app(pool).await;
    let a = card_update_journey("j-a", "c-1");
    let b = simple_journey("j-b", "c-2", "2026-01-01T00:00:00Z");
    assert_eq!(
        submit(&app, vec![a.clone(), b.clone()]).await.unwrap(),
        (1 + 1, 0, 0)
    );
    assert_eq!(
        submit(&app, vec![a.clone(), b.clone()]).await.unwrap(),
        (0, 0, 2)
    );
    // The same journey with touchpoints in another request order, or with
    // output-only fields set, is the same record.
    let mut shuffled = a.clone();
    shuffled.touchpoints.reverse();
    shuffled.effort_index = 12.0;
    shuffled.effort_tier = EffortTier::Low as i32;
    assert_eq!(submit(&app, vec![shuffled]).await.unwrap(), (0, 0, 1));
    assert_eq!(stored_touchpoints(&app.pool).await, 7);

    // Edit: the phone call did not resolve it, and a new journey arrives.
    let mut edited = a.clone();
    edited.touchpoints.truncate(5);
    let c = simple_journey("j-c", "c-3", "2026-01-02T00:00:00Z");
    assert_eq!(
        submit(&app, vec![edited.clone(), b.clone(), c])
            .await
            .unwrap(),
        (1, 1, 1)
    );
    assert_eq!(stored_journeys(&app.pool).await, 3);
    assert_eq!(stored_touchpoints(&app.pool).await, 5 + 1 + 1);
    let back = get(&app, "j-a").await.unwrap();
    assert_eq!(back.touchpoints, edited.touchpoints);
    // 1 extra contact 15 + 1 switch 10 + 2 failed 20 + 30 min → 12.5 + unresolved 30.
    assert_eq!(back.effort_index, 87.5);
    let (resolved, seconds): (bool, i64) =
        sqlx::query_as("SELECT resolved, customer_seconds FROM journeys WHERE id = 'j-a'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((resolved, seconds), (false, 1800));

    // A label change alone is an update too.
    let mut relabeled = edited;
    relabeled
        .labels
        .insert("region".to_string(), "apac".to_string());
    assert_eq!(submit(&app, vec![relabeled]).await.unwrap(), (0, 1, 0));
    assert_eq!(get(&app, "j-a").await.unwrap().labels["region"], "apac");
}

/// A valid journey with one change, sent as the second record of a batch,
/// is rejected with exactly `expected` violation paths and nothing stored.
#[sqlx::test]
async fn every_validation_rule_rejects_with_its_path_and_stores_nothing(pool: PgPool) {
    let app = spawn_app(pool).await;
    let base = card_update_journey("j-2", "c-2");
    let future = chrono::Utc::now() + chrono::Duration::minutes(10);
    let future = prost_types::Timestamp {
        seconds: future.timestamp(),
        nanos: 0,
    };
    let soon = chrono::Utc::now() + chrono::Duration::minutes(2);
    let soon = prost_types::Timestamp {
        seconds: soon.timestamp(),
        nanos: 0,
    };
    type Edit = Box<dyn Fn(&mut Journey)>;
    let cases: Vec<(&str, Edit, Vec<&str>)> = vec![
        (
            "empty id",
            Box::new(|j| j.id.clear()),
            vec!["journeys[1].id"],
        ),
        (
            "bad id",
            Box::new(|j| j.id = "a b".into()),
            vec!["journeys[1].id"],
        ),
        (
            "long id",
            Box::new(|j| j.id = "x".repeat(129)),
            vec!["journeys[1].id"],
        ),
        (
            "empty customer",
            Box::new(|j| j.customer_id.clear()),
            vec!["journeys[1].customer_id"],
        ),
        (
            "bad customer",
            Box::new(|j| j.customer_id = "c/1".into()),
            vec!["journeys[1].customer_id"],
        ),
        (
            "empty intent",
            Box::new(|j| j.intent.clear()),
            vec!["journeys[1].intent"],
        ),
        (
            "bad intent",
            Box::new(|j| j.intent = "Update-Card".into()),
            vec!["journeys[1].intent"],
        ),
        (
            "long intent",
            Box::new(|j| j.intent = "a".repeat(64)),
            vec!["journeys[1].intent"],
        ),
        (
            "bad label key",
            Box::new(|j| {
                j.labels.insert("Region".into(), "x".into());
            }),
            vec!["journeys[1].labels[\"Region\"]"],
        ),
        (
            "empty label value",
            Box::new(|j| {
                j.labels.insert("tier".into(), String::new());
            }),
            vec!["journeys[1].labels[\"tier\"]"],
        ),
        (
            "too many labels",
            Box::new(|j| {
                for k in 0..17 {
                    j.labels.insert(format!("k{k}"), "v".into());
                }
            }),
            vec!["journeys[1].labels"],
        ),
        (
            "no touchpoints",
            Box::new(|j| j.touchpoints.clear()),
            vec!["journeys[1].touchpoints"],
        ),
        (
            "201 touchpoints",
            Box::new(|j| {
                let t = j.touchpoints[3];
                j.touchpoints = vec![t; 201];
            }),
            vec!["journeys[1].touchpoints"],
        ),
        (
            "no channel",
            Box::new(|j| j.touchpoints[4].channel = 0),
            vec!["journeys[1].touchpoints[4].channel"],
        ),
        (
            "unknown channel",
            Box::new(|j| j.touchpoints[4].channel = 99),
            vec!["journeys[1].touchpoints[4].channel"],
        ),
        (
            "no initiator on a company touchpoint",
            Box::new(|j| j.touchpoints[0].initiator = 0),
            vec!["journeys[1].touchpoints[0].initiator"],
        ),
        (
            "unknown initiator",
            Box::new(|j| j.touchpoints[0].initiator = 3),
            vec!["journeys[1].touchpoints[0].initiator"],
        ),
        (
            "no occurred_at",
            Box::new(|j| j.touchpoints[5].occurred_at = None),
            vec!["journeys[1].touchpoints[5].occurred_at"],
        ),
        (
            "occurred_at out of range",
            Box::new(|j| {
                j.touchpoints[5].occurred_at = Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -1,
                })
            }),
            vec!["journeys[1].touchpoints[5].occurred_at"],
        ),
        (
            "occurred_at 10 minutes ahead",
            Box::new(move |j| j.touchpoints[5].occurred_at = Some(future)),
            vec!["journeys[1].touchpoints[5].occurred_at"],
        ),
        (
            "negative duration",
            Box::new(|j| j.touchpoints[3].duration_seconds = -1),
            vec!["journeys[1].touchpoints[3].duration_seconds"],
        ),
        (
            "duration over a day",
            Box::new(|j| j.touchpoints[3].duration_seconds = 86_401),
            vec!["journeys[1].touchpoints[3].duration_seconds"],
        ),
        (
            "negative wait",
            Box::new(|j| j.touchpoints[5].wait_seconds = -5),
            vec!["journeys[1].touchpoints[5].wait_seconds"],
        ),
        (
            "wait over a day",
            Box::new(|j| j.touchpoints[5].wait_seconds = 86_401),
            vec!["journeys[1].touchpoints[5].wait_seconds"],
        ),
        (
            "51 transfers",
            Box::new(|j| j.touchpoints[5].transfers = 51),
            vec!["journeys[1].touchpoints[5].transfers"],
        ),
        (
            "negative transfers",
            Box::new(|j| j.touchpoints[5].transfers = -1),
            vec!["journeys[1].touchpoints[5].transfers"],
        ),
        (
            "customer touchpoint without outcome",
            Box::new(|j| j.touchpoints[4].outcome = 0),
            vec!["journeys[1].touchpoints[4].outcome"],
        ),
        (
            "unknown outcome on a company touchpoint",
            Box::new(|j| j.touchpoints[1].outcome = 7),
            vec!["journeys[1].touchpoints[1].outcome"],
        ),
        (
            "only company touchpoints",
            Box::new(|j| j.touchpoints.truncate(3)),
            vec!["journeys[1].touchpoints"],
        ),
        (
            "duplicate id in the batch",
            Box::new(|j| j.id = "j-1".into()),
            vec!["journeys[1].id"],
        ),
    ];
    for (name, edit, expected) in cases {
        let mut bad = base.clone();
        edit(&mut bad);
        let err = submit(&app, vec![card_update_journey("j-1", "c-1"), bad])
            .await
            .unwrap_err();
        assert_eq!(violation_fields(&err), expected, "{name}: {err:?}");
        assert_eq!(stored_journeys(&app.pool).await, 0, "{name}");
    }

    // Within the rules: a company touchpoint without outcome (the e-mails of
    // `base`), limits at their maximum, 200 touchpoints, a timestamp 2
    // minutes ahead.
    let mut edge = base.clone();
    edge.touchpoints[5].occurred_at = Some(soon);
    edge.touchpoints[5].transfers = 50;
    edge.touchpoints[5].wait_seconds = 86_400;
    let mut long = simple_journey("j-long", "c-3", "2026-01-01T00:00:00Z");
    long.touchpoints = vec![long.touchpoints[0]; 200];
    assert_eq!(submit(&app, vec![edge, long]).await.unwrap(), (2, 0, 0));
}

#[sqlx::test]
async fn one_request_reports_every_violation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut a = card_update_journey("j-1", "c-1");
    a.intent = "9lives".into();
    a.touchpoints[3].outcome = 0;
    a.touchpoints[4].duration_seconds = -1;
    let mut b = card_update_journey("", "c-2");
    b.touchpoints[5].channel = 0;
    b.touchpoints[5].wait_seconds = 100_000;
    let err = submit(
        &app,
        vec![simple_journey("ok", "c", "2026-01-01T00:00:00Z"), a, b],
    )
    .await
    .unwrap_err();
    assert_eq!(
        violation_fields(&err),
        [
            "journeys[1].intent",
            "journeys[1].touchpoints[3].outcome",
            "journeys[1].touchpoints[4].duration_seconds",
            "journeys[2].id",
            "journeys[2].touchpoints[5].channel",
            "journeys[2].touchpoints[5].wait_seconds",
        ]
    );
    assert!(err.message().starts_with("journeys[1].intent: "), "{err:?}");
    assert_eq!(stored_journeys(&app.pool).await, 0);
}

#[sqlx::test]
async fn a_batch_carries_1_to_1000_journeys(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = submit(&app, vec![]).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["journeys"]);
    let many: Vec<Journey> = (0..1001)
        .map(|i| simple_journey(&format!("j-{i}"), "c", "2026-01-01T00:00:00Z"))
        .collect();
    let err = submit(&app, many).await.unwrap_err();
    assert_eq!(violation_fields(&err), ["journeys"]);
    assert_eq!(stored_journeys(&app.pool).await, 0);
}

#[sqlx::test]
async fn a_batch_of_1000_journeys_is_written_in_a_few_round_trips(pool: PgPool) {
    use Channel::*;
    use Initiator::*;
    use TouchpointOutcome::*;
    // The service reaches the database through a proxy that counts round
    // trips (unencrypted, so the proxy can read the protocol). Each of its
    // pools holds one connection, so the warm-up leaves the connection the
    // batches use with its statements prepared (a statement's first use on
    // a connection costs a second round trip, to describe it: counted on
    // whichever connection a batch happened to get, that made the count
    // depend on the pool's choice). The background tasks (health, the
    // rollup compactor, the webhook worker, the outbox's upkeep) run their
    // first pass at startup and then not again during the test.
    let proxy = Proxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let options = (*pool.connect_options())
        .clone()
        .host("127.0.0.1")
        .port(proxy.addr.port())
        .ssl_mode(PgSslMode::Disable);
    let service_pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    let app = spawn_app_with(service_pool, |args| {
        args.db_max_connections = 1;
        args.db_control_connections = 1;
        args.health_interval_ms = 3_600_000;
        args.rollup_compact_interval_ms = 3_600_000;
        args.webhook_poll_ms = 3_600_000;
        args.event_upkeep_interval_ms = 3_600_000;
    })
    .await;
    // Warm up: authentication, the scoring model and prepared statements.
    submit(
        &app,
        vec![simple_journey("warm", "c", "2026-01-01T00:00:00Z")],
    )
    .await
    .unwrap();
    proxy
        .wait_until_quiet(std::time::Duration::from_millis(300))
        .await;
    let journeys: Vec<Journey> = (0..1000)
        .map(|i| {
            let mut j = simple_journey(
                &format!("j-{i}"),
                &format!("c-{}", i % 97),
                "2026-01-01T00:00:00Z",
            );
            j.touchpoints = vec![
                tp(
                    Email,
                    Company,
                    "2026-01-01T00:00:00Z",
                    0,
                    0,
                    TouchpointOutcome::Unspecified,
                ),
                tp(Web, Customer, "2026-01-01T01:00:00Z", 300, 0, Unresolved),
                tp(Chatbot, Customer, "2026-01-01T01:10:00Z", 200, 0, Abandoned),
                tp(
                    Phone,
                    Customer,
                    "2026-01-01T02:00:00Z",
                    400,
                    600,
                    Unresolved,
                ),
                tp(Phone, Customer, "2026-01-02T02:00:00Z", 400, 60, Resolved),
            ];
            j
        })
        .collect();
    let trips = proxy.round_trips();
    assert_eq!(submit(&app, journeys.clone()).await.unwrap(), (1000, 0, 0));
    let insert_trips = proxy.round_trips() - trips;
    let trips = proxy.round_trips();
    assert_eq!(submit(&app, journeys).await.unwrap(), (0, 0, 1000));
    let resend_trips = proxy.round_trips() - trips;
    println!(
        "1,000 journeys × 5 touchpoints: insert in {insert_trips} round trips, \
         unchanged re-send in {resend_trips} round trips"
    );
    assert_eq!(stored_touchpoints(&app.pool).await, 5000 + 1);
    // A handful of statements per batch, not one (or more) per record.
    assert!(
        (1..=MAX_ROUND_TRIPS).contains(&insert_trips),
        "insert: {insert_trips} round trips"
    );
    assert!(
        (1..=MAX_ROUND_TRIPS).contains(&resend_trips),
        "re-send: {resend_trips} round trips"
    );
}

/// Round trips to the database a batch of 1,000 journeys may take on warm
/// connections: its transaction's statements (the current-tier upkeep of
/// SPEC §12.1 adds a constant handful: the model, the previous owners, the
/// stored tiers, two assessments, the tier rows), the key check, and the
/// pools' ping of a connection as it is taken and given back (18 in all
/// today, insert and re-send alike).
const MAX_ROUND_TRIPS: u64 = 20;

#[sqlx::test]
async fn a_stream_commits_each_message_and_stops_at_an_invalid_one(pool: PgPool) {
    let app = spawn_app(pool).await;
    let message = |ids: &[&str]| StreamJourneysRequest {
        journeys: ids
            .iter()
            .map(|id| simple_journey(id, "c-1", "2026-01-01T00:00:00Z"))
            .collect(),
    };
    let ok = app
        .journeys()
        .stream_journeys(tokio_stream::iter(vec![
            message(&["a", "b"]),
            message(&["c"]),
            message(&["a", "d"]),
        ]))
        .await
        .unwrap()
        .into_inner();
    let counts = ok.counts.unwrap();
    assert_eq!(ok.messages, 3);
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (4, 0, 1)
    );

    let mut bad = message(&["f", "g"]);
    bad.journeys[1].touchpoints[0].outcome = 0;
    bad.journeys[1].intent = String::new();
    assert_eq!(
        refused_at(app.journeys().stream_journeys(tokio_stream::iter(vec![
            message(&["e"]),
            message(&["a", "b"]),
            bad,
            message(&["h"]),
        ])))
        .await,
        [
            "messages[2].journeys[1].intent",
            "messages[2].journeys[1].touchpoints[0].outcome"
        ]
    );
    // Messages before the invalid one stay committed; it and later ones do not.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM journeys ORDER BY id")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);

    assert_eq!(
        refused_at(app.journeys().stream_journeys(tokio_stream::iter(vec![
            StreamJourneysRequest { journeys: vec![] }
        ])))
        .await,
        ["messages[0].journeys"]
    );

    let empty = app
        .journeys()
        .stream_journeys(tokio_stream::iter(Vec::<StreamJourneysRequest>::new()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(empty.messages, 0);
}

#[sqlx::test]
async fn get_reports_not_found_and_rejects_bad_ids(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = get(&app, "nope").await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(error_reason(&err), "NOT_FOUND");
    let err = get(&app, "").await.unwrap_err();
    assert_eq!(violation_fields(&err), ["id"]);
}

#[sqlx::test]
async fn pagination_walks_every_journey_exactly_once_in_order(pool: PgPool) {
    let app = spawn_app(pool).await;
    // 57 journeys over 7 distinct start times, so ids break many ties.
    let journeys: Vec<Journey> = (0..57)
        .map(|i| {
            simple_journey(
                &format!("j-{i:02}"),
                "c",
                &format!("2026-01-0{}T00:00:00Z", 1 + (i * 5) % 7),
            )
        })
        .collect();
    submit(&app, journeys.clone()).await.unwrap();
    let mut expected: Vec<(String, String)> = journeys
        .iter()
        .map(|j| {
            let at = j.touchpoints[0].occurred_at.unwrap().seconds;
            (format!("{at:012}"), j.id.clone())
        })
        .collect();
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    for page_size in [1, 10, 57, 1000] {
        let ids = app
            .list_all_journeys(ListJourneysRequest {
                page_size,
                ..Default::default()
            })
            .await;
        assert_eq!(ids, expected, "page_size {page_size}");
    }
    // Default page size is 50.
    let first = app
        .journeys()
        .list_journeys(ListJourneysRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.journeys.len(), 50);
    assert!(!first.next_page_token.is_empty());
    // Journeys in a list carry their effort index.
    assert_eq!(first.journeys[0].effort_tier(), EffortTier::Low);

    // A token belongs to its query.
    assert_eq!(
        refused_at(app.journeys().list_journeys(ListJourneysRequest {
            customer_id: "other".into(),
            page_token: first.next_page_token.clone(),
            ..Default::default()
        }))
        .await,
        ["page_token"]
    );
    assert_eq!(
        refused_at(app.journeys().list_journeys(ListJourneysRequest {
            page_token: "garbage".into(),
            ..Default::default()
        }))
        .await,
        ["page_token"]
    );
    assert_eq!(
        refused_at(app.journeys().list_journeys(ListJourneysRequest {
            page_size: -1,
            ..Default::default()
        }))
        .await,
        ["page_size"]
    );
}

#[sqlx::test]
async fn list_filters_by_window_labels_intent_and_customer(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mk = |id: &str, customer: &str, at: &str, intent: &str, region: Option<&str>| {
        let mut j = simple_journey(id, customer, at);
        j.intent = intent.into();
        if let Some(r) = region {
            j.labels.insert("region".into(), r.into());
            j.labels.insert("product".into(), "card".into());
        }
        j
    };
    submit(
        &app,
        vec![
            mk("j1", "c1", "2026-01-01T00:00:00Z", "pay", Some("emea")),
            mk("j2", "c1", "2026-01-02T00:00:00Z", "cancel", Some("apac")),
            mk("j3", "c2", "2026-01-03T00:00:00Z", "pay", Some("emea")),
            mk("j4", "c2", "2026-01-04T00:00:00Z", "pay", None),
            mk("j5", "c3", "2026-01-05T00:00:00Z", "cancel", Some("emea")),
        ],
    )
    .await
    .unwrap();
    let filtered = |filter: ScoreFilter, customer_id: &str| ListJourneysRequest {
        filter: Some(filter),
        customer_id: customer_id.into(),
        ..Default::default()
    };
    let window = ScoreFilter {
        start_time: Some(ts("2026-01-02T00:00:00Z")),
        end_time: Some(ts("2026-01-05T00:00:00Z")),
        ..Default::default()
    };
    assert_eq!(
        app.list_all_journeys(filtered(window.clone(), "")).await,
        ["j2", "j3", "j4"]
    );
    let emea = ScoreFilter {
        labels: BTreeMap::from([("region".to_string(), "emea".to_string())]),
        ..Default::default()
    };
    assert_eq!(
        app.list_all_journeys(filtered(emea.clone(), "")).await,
        ["j1", "j3", "j5"]
    );
    let pay = ScoreFilter {
        intent: "pay".into(),
        ..Default::default()
    };
    assert_eq!(
        app.list_all_journeys(filtered(pay.clone(), "")).await,
        ["j1", "j3", "j4"]
    );
    assert_eq!(
        app.list_all_journeys(filtered(ScoreFilter::default(), "c2"))
            .await,
        ["j3", "j4"]
    );
    let all = ScoreFilter {
        labels: BTreeMap::from([
            ("region".to_string(), "emea".to_string()),
            ("product".to_string(), "card".to_string()),
        ]),
        intent: "pay".into(),
        survey_id: "ignored-for-journeys".into(),
        ..window
    };
    assert_eq!(app.list_all_journeys(filtered(all, "c2")).await, ["j3"]);

    let bad = ScoreFilter {
        start_time: Some(ts("2026-01-05T00:00:00Z")),
        end_time: Some(ts("2026-01-05T00:00:00Z")),
        labels: BTreeMap::from([("Bad".to_string(), "x".to_string())]),
        intent: "Pay".into(),
        ..Default::default()
    };
    assert_eq!(
        refused_at(app.journeys().list_journeys(filtered(bad, "c 1"))).await,
        [
            "filter.end_time",
            "filter.labels[\"Bad\"]",
            "filter.intent",
            "customer_id"
        ]
    );
}

#[sqlx::test]
async fn tenants_see_only_their_own_journeys_even_with_shared_ids(pool: PgPool) {
    let app = spawn_app(pool).await;
    let b_key = app.add_tenant("b").await;
    let mut acme = card_update_journey("shared", "c-1");
    acme.intent = "acme_intent".into();
    let mut b = simple_journey("shared", "c-1", "2026-01-01T00:00:00Z");
    b.intent = "b_intent".into();

    assert_eq!(submit(&app, vec![acme.clone()]).await.unwrap(), (1, 0, 0));
    let b_counts = app
        .journeys_as(Some(&b_key))
        .submit_journeys(SubmitJourneysRequest {
            journeys: vec![b.clone()],
        })
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!(b_counts.inserted, 1, "same id in another tenant is new");
    let streamed = app
        .journeys_as(Some(&b_key))
        .stream_journeys(tokio_stream::iter(vec![StreamJourneysRequest {
            journeys: vec![
                b.clone(),
                simple_journey("only-b", "c-1", "2026-01-02T00:00:00Z"),
            ],
        }]))
        .await
        .unwrap()
        .into_inner()
        .counts
        .unwrap();
    assert_eq!((streamed.inserted, streamed.unchanged), (1, 1));

    assert_eq!(get(&app, "shared").await.unwrap().intent, "acme_intent");
    let b_get = app
        .journeys_as(Some(&b_key))
        .get_journey(GetJourneyRequest {
            id: "shared".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .journey
        .unwrap();
    assert_eq!(b_get.intent, "b_intent");
    assert_eq!(
        get(&app, "only-b").await.unwrap_err().code(),
        Code::NotFound
    );

    assert_eq!(
        app.list_all_journeys(ListJourneysRequest::default()).await,
        ["shared"]
    );
    let b_list = app
        .journeys_as(Some(&b_key))
        .list_journeys(ListJourneysRequest::default())
        .await
        .unwrap()
        .into_inner();
    let b_ids: Vec<_> = b_list.journeys.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(b_ids, ["shared", "only-b"]);

    // A page token of one tenant is not valid for another.
    let page = app
        .journeys_as(Some(&b_key))
        .list_journeys(ListJourneysRequest {
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        refused_at(app.journeys().list_journeys(ListJourneysRequest {
            page_size: 1,
            page_token: page.next_page_token,
            ..Default::default()
        }))
        .await,
        ["page_token"]
    );

    // Re-sending acme's record in acme is unchanged: b's write did not touch it.
    assert_eq!(submit(&app, vec![acme]).await.unwrap(), (0, 0, 1));
}

#[sqlx::test]
async fn journey_calls_need_a_key(pool: PgPool) {
    let app = spawn_app(pool).await;
    let err = app
        .journeys_as(None)
        .submit_journeys(SubmitJourneysRequest {
            journeys: vec![simple_journey("j", "c", "2026-01-01T00:00:00Z")],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    assert_eq!(stored_journeys(&app.pool).await, 0);
}
