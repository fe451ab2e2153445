//! Tier locks after the upsert (docs/decisions/ingest-locks.md): writes of
//! one customer write their records side by side and wait for each other
//! only for the tier comparison, and a write that committed in between
//! gives the next one its previous tier, so two racing raises of one
//! customer are one event.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use sqlx::PgPool;

use crate::helpers::{TestApp, card_update, easy, journey_from, spawn_app};

fn hours_ago(hours: i64) -> String {
    (Utc::now() - chrono::Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Backends of the test database waiting for an advisory lock that have
/// inserted into `journeys` in their transaction (they hold its
/// ROW EXCLUSIVE lock).
async fn waiting_after_their_upsert(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity a \
         WHERE a.datname = current_database() AND a.wait_event_type = 'Lock' \
           AND a.wait_event = 'advisory' \
           AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted \
                         AND l.relation = 'journeys'::regclass AND l.mode = 'RowExclusiveLock')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn submit_high(app: &TestApp, id: &str) {
    app.submit_journeys(vec![journey_from(
        id,
        "carol",
        &hours_ago(1),
        &card_update(),
    )])
    .await
    .expect("the write succeeds");
}

#[sqlx::test]
async fn racing_raises_of_one_customer_upsert_side_by_side_and_are_one_event(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.submit_journeys(vec![journey_from("j0", "carol", &hours_ago(3), &easy())])
        .await
        .unwrap();

    // Hold carol's tier lock (the key of `store::tiers::lock_customers`).
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock($1::int, hashtext('carol'))")
        .bind((app.tenant.0 & 0x7fff_ffff) as i32)
        .execute(&mut *holder)
        .await
        .unwrap();
    // Both writes reach the lock with their journeys written: the upserts
    // did not wait for it (nor for each other). Then the lock is let go.
    let release = async {
        let mut seen = 0;
        for _ in 0..600 {
            seen = waiting_after_their_upsert(&pool).await;
            if seen == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        holder.commit().await.unwrap();
        seen
    };
    let ((), (), seen) = tokio::join!(submit_high(&app, "j1"), submit_high(&app, "j2"), release);
    assert_eq!(
        seen, 2,
        "both writes should wait for the tier lock after their upsert"
    );

    // Both assessed carol LOW before their upserts; the one that got the
    // lock second found the first one's stored HIGH and raised nothing.
    let events: Vec<(i16, i16)> = sqlx::query_as(
        "SELECT previous_tier, tier FROM at_risk_events \
         WHERE tenant_id = $1 AND customer_id = 'carol' ORDER BY seq",
    )
    .bind(app.tenant.0)
    .fetch_all(&pool)
    .await
    .unwrap();
    // j0's raise to LOW (from not assessed), then one raise to HIGH.
    assert_eq!(events, [(0, 1), (1, 3)], "one raise from LOW to HIGH");
    let tier: i16 = sqlx::query_scalar(
        "SELECT tier FROM customer_tiers WHERE tenant_id = $1 AND customer_id = 'carol'",
    )
    .bind(app.tenant.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(tier, 3);
}
