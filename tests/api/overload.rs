//! Overload: a global bound on calls in flight answers a burst with fast
//! RESOURCE_EXHAUSTED, and a per-tenant rate limit keeps one noisy tenant
//! from starving the others. The service is normal once the burst ends.

use std::time::{Duration, Instant};

use futures::future::join_all;
use gapscore::proto::v1::{ListQuestionsRequest, StreamJourneysRequest};
use sqlx::PgPool;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Status};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_types::StatusExt;

use crate::helpers::{TestApp, error_reason, spawn_app_with};

/// The process's resident memory, KiB (Linux).
pub fn rss_kib() -> u64 {
    crate::helpers::internals::proc_memory_kib(std::process::id()).0
}

async fn list_questions(app: &TestApp, key: &str) -> Result<(), Status> {
    app.catalog_as(Some(key))
        .list_questions(ListQuestionsRequest {})
        .await
        .map(|_| ())
}

fn assert_overloaded(status: &Status) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert_eq!(error_reason(status), "OVERLOADED");
    assert!(status.get_details_retry_info().is_some(), "{status:?}");
}

#[sqlx::test]
async fn calls_beyond_the_in_flight_limit_are_rejected_fast_and_service_resumes(pool: PgPool) {
    const LIMIT: u32 = 4;
    let app = spawn_app_with(pool, |args| args.max_in_flight = LIMIT).await;

    // Occupy every slot with a client stream that stays open. A stream that
    // raced with a probe and was itself rejected is opened again.
    type Held = tokio::task::JoinHandle<
        Result<tonic::Response<gapscore::proto::v1::StreamJourneysResponse>, Status>,
    >;
    let open = || -> (tokio::sync::mpsc::Sender<StreamJourneysRequest>, Held) {
        let (tx, rx) = tokio::sync::mpsc::channel::<StreamJourneysRequest>(1);
        let mut client = app.journeys();
        (
            tx,
            tokio::spawn(async move { client.stream_journeys(ReceiverStream::new(rx)).await }),
        )
    };
    let mut held: Vec<_> = (0..LIMIT).map(|_| open()).collect();
    let saturated = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        for slot in held.iter_mut() {
            if slot.1.is_finished() {
                *slot = open();
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        match list_questions(&app, &app.key).await {
            Err(status) if status.code() == Code::ResourceExhausted => break,
            _ => assert!(
                saturated.elapsed() < Duration::from_secs(10),
                "never saturated"
            ),
        }
    }

    // A burst of 1,000 calls while saturated: every one is rejected, fast.
    let rss_before = rss_kib();
    let started = Instant::now();
    let results = join_all((0..1000).map(|_| async {
        let t = Instant::now();
        (list_questions(&app, &app.key).await, t.elapsed())
    }))
    .await;
    let burst = started.elapsed();
    let mut latencies: Vec<Duration> = results
        .iter()
        .map(|(result, latency)| {
            assert_overloaded(result.as_ref().expect_err("a call got through"));
            *latency
        })
        .collect();
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    eprintln!(
        "overload: 1000 calls rejected in {burst:?}, p99 {p99:?}, RSS {} -> {} KiB",
        rss_before,
        rss_kib()
    );
    assert!(
        burst < Duration::from_secs(10),
        "rejections were slow: {burst:?}"
    );

    // Health still answers while the service is saturated.
    let health = HealthClient::new(app.channel.clone())
        .check(HealthCheckRequest::default())
        .await
        .expect("health is exempt from the limit")
        .into_inner();
    assert_eq!(health.status(), ServingStatus::Serving);

    // Ending the streams frees the slots: service is normal again.
    for (sender, stream) in held {
        drop(sender);
        let response = stream.await.unwrap().expect("held stream ends cleanly");
        assert_eq!(response.into_inner().counts.unwrap_or_default().inserted, 0);
    }
    for _ in 0..20 {
        list_questions(&app, &app.key)
            .await
            .expect("served after the burst");
    }
}

#[sqlx::test]
async fn a_burst_far_above_the_limit_gets_only_ok_or_fast_rejections(pool: PgPool) {
    let app = spawn_app_with(pool, |args| args.max_in_flight = 8).await;
    let started = Instant::now();
    let results = join_all((0..2000).map(|_| list_questions(&app, &app.key))).await;
    let elapsed = started.elapsed();
    let (mut ok, mut rejected) = (0, 0);
    for result in &results {
        match result {
            Ok(()) => ok += 1,
            Err(status) => {
                assert_overloaded(status);
                rejected += 1;
            }
        }
    }
    eprintln!("burst of 2000 at limit 8: {ok} served, {rejected} rejected in {elapsed:?}");
    assert!(ok > 0, "nothing was served");
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    // Afterwards every call is served.
    for _ in 0..50 {
        list_questions(&app, &app.key)
            .await
            .expect("served after the burst");
    }
}

#[sqlx::test]
async fn a_noisy_tenant_is_rate_limited_while_another_is_served(pool: PgPool) {
    let app = spawn_app_with(pool, |args| {
        args.tenant_rate_limit = std::num::NonZeroU32::new(5);
        args.tenant_rate_burst = std::num::NonZeroU32::new(5);
    })
    .await;
    let quiet = app.add_tenant("quiet").await;

    let noisy = join_all((0..100).map(|_| list_questions(&app, &app.key))).await;
    let calm = join_all((0..5).map(|_| list_questions(&app, &quiet))).await;

    let served = noisy.iter().filter(|r| r.is_ok()).count();
    let limited: Vec<&Status> = noisy.iter().filter_map(|r| r.as_ref().err()).collect();
    eprintln!(
        "rate limit 5/s burst 5: noisy tenant {served} served, {} limited",
        limited.len()
    );
    assert!((5..=10).contains(&served), "served {served}");
    let mut longest_retry = Duration::ZERO;
    for status in &limited {
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(error_reason(status), "RATE_LIMITED");
        let retry = status
            .get_details_retry_info()
            .and_then(|r| r.retry_delay)
            .expect("RetryInfo with a delay");
        assert!(retry <= Duration::from_secs(1), "{retry:?}");
        longest_retry = longest_retry.max(retry);
    }
    assert!(
        calm.iter().all(|r| r.is_ok()),
        "the quiet tenant was limited: {calm:?}"
    );

    // After the advertised delay the noisy tenant is served again.
    tokio::time::sleep(longest_retry).await;
    list_questions(&app, &app.key)
        .await
        .expect("served after waiting as told");
}

#[sqlx::test]
async fn no_rate_limit_by_default(pool: PgPool) {
    // 200 calls at once: above the default per-tenant budget of calls in
    // flight, a limit of its own (budgets.rs), so raised out of the way.
    let app = spawn_app_with(pool, |a| a.tenant_max_in_flight = 256).await;
    let results = join_all((0..200).map(|_| list_questions(&app, &app.key))).await;
    assert!(results.iter().all(|r| r.is_ok()));
}
