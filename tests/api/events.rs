//! At-risk events (SPEC §12.1): the current tier kept at write time, the
//! outbox written in the write's transaction, and `WatchAtRiskCustomers`
//! over a real server and a real PostgreSQL.
//!
//! "Nothing raised" is shown without waiting for silence: after the write
//! that must raise nothing, a write that must raise is made, and the next
//! event on the watch has to be that one.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use gapscore::proto::v1::{
    AtRiskEvent, EffortTier, ListAtRiskCustomersRequest, TierSource, WatchAtRiskCustomersRequest,
    WatchAtRiskCustomersResponse,
};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use tonic::{Code, Streaming};

use crate::helpers::{
    TestApp, card_update, ease_response, easy, error_reason,
    internals::{Application, ServeArgs, revoke_key},
    journey_from, spawn_app, spawn_app_with, stuck, two_calls,
};

/// An RFC 3339 time `hours` before now (inside the 90-day window).
fn hours_ago(hours: i64) -> String {
    (Utc::now() - chrono::Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A HIGH journey (index 90) of `customer`.
fn high(id: &str, customer: &str) -> gapscore::proto::v1::Journey {
    journey_from(id, customer, &hours_ago(2), &card_update())
}

async fn open_watch(
    app: &TestApp,
    min_tier: EffortTier,
    token: &str,
) -> Result<Streaming<WatchAtRiskCustomersResponse>, tonic::Status> {
    watch_with(app.customers(), min_tier, token).await
}

async fn watch_with(
    mut client: gapscore::proto::v1::customer_service_client::CustomerServiceClient<
        gapscore::client::Authed,
    >,
    min_tier: EffortTier,
    token: &str,
) -> Result<Streaming<WatchAtRiskCustomersResponse>, tonic::Status> {
    Ok(client
        .watch_at_risk_customers(WatchAtRiskCustomersRequest {
            min_tier: min_tier as i32,
            resume_token: token.into(),
        })
        .await?
        .into_inner())
}

/// The next message of a watch (a generous bound, so a broken watch fails
/// the test instead of hanging it).
async fn next(
    stream: &mut Streaming<WatchAtRiskCustomersResponse>,
) -> WatchAtRiskCustomersResponse {
    tokio::time::timeout(Duration::from_secs(30), stream.message())
        .await
        .expect("an event within 30 s")
        .expect("the watch is healthy")
        .expect("the watch is open")
}

async fn next_event(stream: &mut Streaming<WatchAtRiskCustomersResponse>) -> AtRiskEvent {
    next(stream)
        .await
        .event
        .expect("every message has an event")
}

/// The status a watch ends with.
async fn end_of(stream: &mut Streaming<WatchAtRiskCustomersResponse>) -> tonic::Status {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.message())
            .await
            .expect("the watch ends within 30 s")
        {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the watch ended without a status"),
            Err(status) => return status,
        }
    }
}

async fn events_of(pool: &PgPool, customer: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM at_risk_events WHERE customer_id = $1")
        .bind(customer)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test]
async fn a_journey_that_makes_a_customer_high_raises_exactly_one_event(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut watch = open_watch(&app, EffortTier::Unspecified, "").await.unwrap();

    let j1 = high("j1", "alice");
    app.submit_journeys(vec![j1.clone()]).await.unwrap();
    let e = next_event(&mut watch).await;
    assert_eq!(e.customer_id, "alice");
    assert_eq!(e.tier, EffortTier::High as i32);
    assert_eq!(e.previous_tier, EffortTier::Unspecified as i32);
    assert_eq!(e.tier_source, TierSource::Journeys as i32);
    assert_eq!(e.journey_id, "j1");
    assert_eq!(e.response_id, "");
    assert!(!e.holdout, "no holdout share by default");
    // The reasons are GetCustomerRisk's.
    let risk = app
        .customers()
        .get_customer_risk(gapscore::proto::v1::GetCustomerRiskRequest {
            customer_id: "alice".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!e.reasons.is_empty());
    assert_eq!(e.reasons, risk.reasons);
    uuid::Uuid::parse_str(&e.event_id).expect("a UUID");

    // A re-send of the same journey, and a journey that keeps alice HIGH:
    // nothing; bob's raise is the next event.
    let counts = app.submit_journeys(vec![j1]).await.unwrap();
    assert_eq!(counts.unchanged, 1);
    app.submit_journeys(vec![journey_from("j2", "alice", &hours_ago(1), &stuck())])
        .await
        .unwrap();
    app.submit_journeys(vec![high("j3", "bob")]).await.unwrap();
    assert_eq!(next_event(&mut watch).await.customer_id, "bob");
    assert_eq!(events_of(&app.pool, "alice").await, 1);
    // The raise to HIGH is kept for the follow-up effect.
    let starts: i64 =
        sqlx::query_scalar("SELECT count(*) FROM high_tier_starts WHERE customer_id = 'alice'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(starts, 1);
    let (tier, source): (i16, i16) =
        sqlx::query_as("SELECT tier, tier_source FROM customer_tiers WHERE customer_id = 'alice'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((tier, source), (3, TierSource::Journeys as i16));
}

#[sqlx::test]
async fn a_ces_answer_of_3_or_less_raises_and_medium_to_high_names_medium(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut high_watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    let mut medium_watch = open_watch(&app, EffortTier::Medium, "").await.unwrap();

    // carol: MEDIUM by journeys (28.5), then an ease answer of 2: HIGH (CES).
    app.submit_journeys(vec![journey_from(
        "j1",
        "carol",
        &hours_ago(5),
        &two_calls(1),
    )])
    .await
    .unwrap();
    let medium = next_event(&mut medium_watch).await;
    assert_eq!(
        (
            medium.customer_id.as_str(),
            medium.tier,
            medium.previous_tier
        ),
        ("carol", EffortTier::Medium as i32, 0)
    );
    app.submit_responses(vec![ease_response("r1", "carol", &hours_ago(1), 2)])
        .await
        .unwrap();
    let e = next_event(&mut high_watch).await;
    assert_eq!(e.customer_id, "carol");
    assert_eq!(e.tier, EffortTier::High as i32);
    assert_eq!(e.previous_tier, EffortTier::Medium as i32);
    assert_eq!(e.tier_source, TierSource::Ces as i32);
    assert_eq!(e.response_id, "r1");
    assert_eq!(e.journey_id, "");
    // MEDIUM → HIGH does not cross MEDIUM: the MEDIUM watch does not see
    // it; dave's raise to MEDIUM is its next event.
    app.submit_journeys(vec![journey_from(
        "j2",
        "dave",
        &hours_ago(5),
        &two_calls(1),
    )])
    .await
    .unwrap();
    assert_eq!(next_event(&mut medium_watch).await.customer_id, "dave");
    // An answer of 5 (LOW) raises nothing; the HIGH watch next sees erin.
    app.submit_responses(vec![ease_response("r2", "erin", &hours_ago(1), 5)])
        .await
        .unwrap();
    app.submit_responses(vec![ease_response("r3", "erin", &hours_ago(0), 3)])
        .await
        .unwrap();
    let erin = next_event(&mut high_watch).await;
    assert_eq!(
        (
            erin.customer_id.as_str(),
            erin.previous_tier,
            erin.response_id.as_str()
        ),
        ("erin", EffortTier::Low as i32, "r3")
    );
}

#[sqlx::test]
async fn the_min_tier_filter_and_a_bad_min_tier(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut low = open_watch(&app, EffortTier::Low, "").await.unwrap();
    let mut high_watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    app.submit_journeys(vec![journey_from("j1", "lou", &hours_ago(3), &easy())])
        .await
        .unwrap();
    app.submit_journeys(vec![high("j2", "hal")]).await.unwrap();
    let first = next_event(&mut low).await;
    assert_eq!((first.customer_id.as_str(), first.tier), ("lou", 1));
    // hal went from nothing to HIGH: that crosses LOW too.
    assert_eq!(next_event(&mut low).await.customer_id, "hal");
    assert_eq!(next_event(&mut high_watch).await.customer_id, "hal");

    let err = open_watch(&app, EffortTier::High, "not a token")
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let mut client = app.customers();
    let err = client
        .watch_at_risk_customers(WatchAtRiskCustomersRequest {
            min_tier: 9,
            resume_token: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
}

#[sqlx::test]
async fn erasure_removes_the_customers_events_and_tiers(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.submit_journeys(vec![high("j1", "alice"), high("j2", "bob")])
        .await
        .unwrap();
    assert_eq!(events_of(&app.pool, "alice").await, 1);
    app.erase(Some(&app.key), "alice").await.unwrap();
    assert_eq!(events_of(&app.pool, "alice").await, 0);
    assert_eq!(events_of(&app.pool, "bob").await, 1);
    for table in ["customer_tiers", "high_tier_starts"] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE customer_id = 'alice'"
        )))
        .fetch_one(&app.pool)
        .await
        .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    // A watch from before the erasure resumes without the erased event.
    let mut watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    app.submit_journeys(vec![high("j3", "alice")])
        .await
        .unwrap();
    let e = next_event(&mut watch).await;
    assert_eq!((e.customer_id.as_str(), e.previous_tier), ("alice", 0));
}

/// Serves `pool` again (another process's view: a new server, its own
/// pools and hub) and returns it with a client of `key`.
async fn serve_again(
    pool: &PgPool,
    key: &str,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<anyhow::Result<()>>,
    gapscore::client::Clients,
) {
    let args = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..ServeArgs::default()
    };
    let app = Application::build(args, pool.clone()).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let clients = gapscore::client::Clients::new(channel, TestApp::bearer(Some(key)));
    (stop, server, clients)
}

#[sqlx::test]
async fn a_resumed_watch_misses_nothing_and_repeats_nothing_across_a_restart(pool: PgPool) {
    let mut app = spawn_app(pool).await;
    let mut watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    app.submit_journeys(vec![high("j1", "c1")]).await.unwrap();
    app.submit_journeys(vec![high("j2", "c2")]).await.unwrap();
    let first = next(&mut watch).await;
    let second = next(&mut watch).await;
    assert_eq!(first.event.as_ref().unwrap().customer_id, "c1");
    assert_eq!(second.event.as_ref().unwrap().customer_id, "c2");
    assert_ne!(first.resume_token, second.resume_token);

    // The server stops: the open watch ends UNAVAILABLE (resume elsewhere).
    app.shutdown.take().unwrap().send(()).unwrap();
    let status = end_of(&mut watch).await;
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    (&mut app.server).await.unwrap().unwrap();

    // Another server on the same database: c3 raised while nobody watched.
    let (stop, server, clients) = serve_again(&app.pool, &app.key).await;
    let journeys = |id: &str, c: &str| gapscore::proto::v1::SubmitJourneysRequest {
        journeys: vec![high(id, c)],
    };
    clients
        .journeys()
        .submit_journeys(journeys("j3", "c3"))
        .await
        .unwrap();
    let mut resumed = watch_with(clients.customers(), EffortTier::High, &first.resume_token)
        .await
        .unwrap();
    let ids: Vec<String> = [
        next_event(&mut resumed).await,
        next_event(&mut resumed).await,
    ]
    .into_iter()
    .map(|e| e.customer_id)
    .collect();
    assert_eq!(ids, ["c2", "c3"]);
    // Nothing repeated: the next event is the next raise.
    clients
        .journeys()
        .submit_journeys(journeys("j4", "c4"))
        .await
        .unwrap();
    assert_eq!(next_event(&mut resumed).await.customer_id, "c4");
    drop(resumed);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[sqlx::test]
async fn a_token_behind_retention_is_out_of_range(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    app.submit_journeys(vec![high("j1", "c1")]).await.unwrap();
    app.submit_journeys(vec![high("j2", "c2")]).await.unwrap();
    let first = next(&mut watch).await;
    drop(watch);
    // Both events become 8 days old; the default retention is 7 days.
    sqlx::query("UPDATE at_risk_events SET occurred_at = now() - interval '8 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let purged = gapscore::service::events::purge_once(&app.pool, 1)
        .await
        .unwrap();
    assert_eq!(purged, 2, "batches of 1 until nothing is left");
    let (purged_seq,): (i64,) = sqlx::query_as("SELECT purged_seq FROM event_counters")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(purged_seq, 2);
    let err = open_watch(&app, EffortTier::High, &first.resume_token)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::OutOfRange, "{err:?}");
    assert_eq!(error_reason(&err), "RESUME_TOKEN_EXPIRED");
    // A new watch without a token starts from now.
    let mut fresh = open_watch(&app, EffortTier::High, "").await.unwrap();
    app.submit_journeys(vec![high("j3", "c3")]).await.unwrap();
    assert_eq!(next_event(&mut fresh).await.customer_id, "c3");
}

#[sqlx::test]
async fn watches_beyond_the_tenant_limit_are_resource_exhausted(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.tenant_max_watches = 2).await;
    let one = open_watch(&app, EffortTier::High, "").await.unwrap();
    let _two = open_watch(&app, EffortTier::High, "").await.unwrap();
    let err = open_watch(&app, EffortTier::High, "").await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(error_reason(&err), "TENANT_BUDGET_EXHAUSTED");
    // Another tenant is not affected.
    let other = app.add_tenant("globex").await;
    watch_with(app.customers_as(Some(&other)), EffortTier::High, "")
        .await
        .unwrap();
    // A closed watch gives its slot back.
    drop(one);
    let mut reopened = None;
    for _ in 0..100 {
        match open_watch(&app, EffortTier::High, "").await {
            Ok(w) => {
                reopened = Some(w);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(reopened.is_some(), "the slot came back");
}

#[sqlx::test]
async fn a_revoked_key_ends_the_watch(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.stream_key_recheck_secs = 1).await;
    let mut watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    let key_id = app.key.split('_').nth(1).expect("gsk_<id>_<secret>");
    assert!(revoke_key(&app.pool, key_id).await);
    let status = end_of(&mut watch).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
}

/// The holdout rule written from SPEC §12.2 and `scoring::holdout`'s doc,
/// not the server's code: HMAC-SHA256(HMAC-SHA256(page_token_key,
/// "gapscore holdout v1"), customer)[..8] as a big-endian integer < share × 2⁶⁴.
fn held_out(page_token_key: &[u8], customer: &str, share: f64) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(page_token_key).unwrap();
    mac.update(b"gapscore holdout v1");
    let key = mac.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(customer.as_bytes());
    let d = mac.finalize().into_bytes();
    let h = u64::from_be_bytes(d[..8].try_into().unwrap());
    (h as f64) < share * 18_446_744_073_709_551_616.0
}

#[sqlx::test]
async fn the_holdout_is_stable_close_to_the_share_and_on_events_and_lists(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut scoring = app.catalog();
    let current = scoring
        .get_scoring_model(gapscore::proto::v1::GetScoringModelRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut model = current.model.unwrap();
    model.holdout_share = 0.3;
    scoring
        .update_scoring_model(gapscore::proto::v1::UpdateScoringModelRequest { model: Some(model) })
        .await
        .unwrap();
    let mut watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    let n = 600;
    let journeys: Vec<_> = (0..n)
        .map(|i| high(&format!("j{i}"), &format!("c{i}")))
        .collect();
    app.submit_journeys(journeys).await.unwrap();
    let key: Vec<u8> =
        sqlx::query_scalar("SELECT page_token_key FROM tenants WHERE tenant_id = $1")
            .bind(app.tenant.0)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let mut from_events = std::collections::BTreeMap::new();
    for _ in 0..n {
        let e = next_event(&mut watch).await;
        from_events.insert(e.customer_id, e.holdout);
    }
    assert_eq!(from_events.len(), n);
    let held = from_events.values().filter(|h| **h).count() as f64;
    // Binomial sd at n = 600, p = 0.3: 0.0187; 4 sd.
    assert!((held / n as f64 - 0.3).abs() < 0.075, "{held} of {n}");
    for (c, h) in &from_events {
        assert_eq!(*h, held_out(&key, c, 0.3), "{c}");
    }
    // The list says the same, page after page, twice.
    for _ in 0..2 {
        let mut token = String::new();
        let mut listed = std::collections::BTreeMap::new();
        loop {
            let page = app
                .customers()
                .list_at_risk_customers(ListAtRiskCustomersRequest {
                    page_size: 250,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            for c in page.customers {
                listed.insert(c.customer_id, c.holdout);
            }
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(listed, from_events);
    }
}

#[sqlx::test]
async fn a_rolled_back_write_leaves_no_event(pool: PgPool) {
    let app = spawn_app(pool).await;
    // A journey the database refuses, inside the transaction (after the
    // batch passed validation).
    sqlx::query(
        "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'poison'; END $$",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON journeys FOR EACH ROW \
         WHEN (NEW.id = 'poison') EXECUTE FUNCTION refuse_poison()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    let err = app
        .submit_journeys(vec![high("j1", "alice"), high("poison", "bob")])
        .await
        .unwrap_err();
    assert_ne!(err.code(), Code::Ok);
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM at_risk_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);
    let tiers: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_tiers")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(tiers, 0);
    app.submit_journeys(vec![high("j2", "carol")])
        .await
        .unwrap();
    let e = next_event(&mut watch).await;
    assert_eq!(e.customer_id, "carol");
    let (seq,): (i64,) = sqlx::query_as("SELECT seq FROM at_risk_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(seq, 1, "the rolled-back write took no number");
}

#[sqlx::test]
async fn concurrent_writers_produce_gap_free_numbers_seen_once_in_order(pool: PgPool) {
    let app = spawn_app(pool).await;
    let mut watch = open_watch(&app, EffortTier::High, "").await.unwrap();
    let writers = 8;
    let per = 5;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let client = app.journeys();
        tasks.push(tokio::spawn(async move {
            let mut client = client;
            for k in 0..per {
                // Every writer also touches the shared customer "s" (HIGH
                // once): its raise must be recorded exactly once.
                let journeys = vec![
                    high(&format!("w{w}-{k}"), &format!("c{w}-{k}")),
                    high(&format!("s-{w}-{k}"), "s"),
                ];
                client
                    .submit_journeys(gapscore::proto::v1::SubmitJourneysRequest { journeys })
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let total = writers * per + 1;
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM at_risk_events ORDER BY seq")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(seqs, (1..=total as i64).collect::<Vec<_>>());
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..total {
        let e = next_event(&mut watch).await;
        assert!(
            seen.insert(e.customer_id.clone()),
            "{} twice",
            e.customer_id
        );
    }
    assert!(seen.contains("s"));
    assert_eq!(events_of(&app.pool, "s").await, 1);
}

#[sqlx::test]
async fn a_model_change_recomputes_current_tiers_without_events(pool: PgPool) {
    let app = spawn_app(pool).await;
    app.submit_journeys(vec![journey_from("j1", "m", &hours_ago(3), &two_calls(1))])
        .await
        .unwrap();
    let tier = || async {
        sqlx::query_scalar::<_, i16>("SELECT tier FROM customer_tiers WHERE customer_id = 'm'")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    assert_eq!(tier().await, EffortTier::Medium as i16);
    let mut catalog = app.catalog();
    let current = catalog
        .get_scoring_model(gapscore::proto::v1::GetScoringModelRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut model = current.model.unwrap();
    // 28.5 is HIGH from 25.
    model.low_effort_below = 10.0;
    model.high_effort_from = 25.0;
    catalog
        .update_scoring_model(gapscore::proto::v1::UpdateScoringModelRequest { model: Some(model) })
        .await
        .unwrap();
    let n = gapscore::service::tiers::recompute_pending(&app.pool, 1)
        .await
        .unwrap();
    assert!(n >= 1);
    assert_eq!(tier().await, EffortTier::High as i16);
    assert_eq!(events_of(&app.pool, "m").await, 1, "only the first raise");
    // Done: nothing pending until the next change.
    assert_eq!(
        gapscore::service::tiers::recompute_pending(&app.pool, 1)
            .await
            .unwrap(),
        0
    );
}

/// A database crash (`pg_ctl stop -m immediate`) and restart while writers
/// raise customers to HIGH: every acknowledged write has its event, and no
/// event exists without its journey (the outbox commits with the write or
/// not at all). The figures are printed for RELIABILITY.md
/// (`cargo test --test api events::faults -- --nocapture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_a_database_crash_mid_ingest_loses_no_event_and_invents_none() {
    use std::sync::Arc;

    use crate::{cluster::Cluster, helpers::internals::migrate};
    let cluster = Arc::new(
        tokio::task::spawn_blocking(Cluster::create)
            .await
            .expect("a private PostgreSQL cluster (initdb/pg_ctl as postgres)"),
    );
    let service_pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(2))
        .connect_with(cluster.connect_options())
        .await
        .unwrap();
    migrate(&service_pool).await.unwrap();
    let mut app = spawn_app_with(service_pool, |a| a.db_acquire_timeout_ms = 1000).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = app.journeys();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut client = client;
            let mut acked = Vec::new();
            let mut failed = 0;
            let mut k = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let customer = format!("w{w}-{k}");
                let mut request = tonic::Request::new(gapscore::proto::v1::SubmitJourneysRequest {
                    journeys: vec![high(&format!("j-{customer}"), &customer)],
                });
                request.set_timeout(Duration::from_secs(5));
                match client.submit_journeys(request).await {
                    Ok(_) => acked.push(customer),
                    Err(_) => {
                        failed += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                k += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (acked, failed)
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.crash())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acked = Vec::new();
    let mut failed = 0;
    for w in writers {
        let (a, f) = w.await.unwrap();
        acked.extend(a);
        failed += f;
    }

    let direct = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect_with(cluster.connect_options())
        .await
        .unwrap();
    let events: Vec<String> =
        sqlx::query_scalar("SELECT customer_id FROM at_risk_events ORDER BY seq")
            .fetch_all(&direct)
            .await
            .unwrap();
    let journeys: std::collections::BTreeSet<String> =
        sqlx::query_scalar("SELECT customer_id FROM journeys")
            .fetch_all(&direct)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM at_risk_events ORDER BY seq")
        .fetch_all(&direct)
        .await
        .unwrap();
    println!(
        "events under a database crash: {} writes acknowledged, {} failed (retryable), \
         {} events stored, {} journeys stored",
        acked.len(),
        failed,
        events.len(),
        journeys.len()
    );
    assert!(!acked.is_empty() && failed > 0, "the crash hit the load");
    let with_event: std::collections::BTreeSet<&String> = events.iter().collect();
    assert_eq!(with_event.len(), events.len(), "one event per raise");
    for customer in &acked {
        assert!(
            with_event.contains(customer),
            "acknowledged {customer} lost its event"
        );
    }
    for customer in &events {
        assert!(
            journeys.contains(customer),
            "event of {customer} without its journey"
        );
    }
    // Every stored journey raised its customer: its event is there too.
    assert_eq!(journeys.len(), events.len());
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "gap-free"
    );
    app.shutdown.take().unwrap().send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), &mut app.server).await;
}
