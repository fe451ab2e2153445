//! The outbox's store contract (`store::events`), on which watches, the
//! webhook worker and the follow-up effect build: sequence numbers in
//! commit order, events stored as written.

use gapscore::store::events::{NewEvent, events_after, record_events};
use sqlx::PgPool;

use crate::helpers::app::spawn_app;

fn event(customer: &str, reasons: &[&str]) -> NewEvent {
    NewEvent {
        customer_id: customer.into(),
        tier: 3,
        previous_tier: 0,
        tier_source: 2,
        reasons: reasons.iter().map(|r| r.to_string()).collect(),
        journey_id: Some(format!("j-{customer}")),
        response_id: None,
        holdout: customer.ends_with('h'),
    }
}

#[sqlx::test]
async fn events_are_stored_as_written_and_read_in_sequence(pool: PgPool) {
    let app = spawn_app(pool).await;
    let tenant = app.tenant;
    let mut tx = app.pool.begin().await.unwrap();
    let written = record_events(
        &mut tx,
        tenant,
        &[
            event("a", &["3 contacts", "2 failed"]),
            event("bh", &[]),
            event("c", &["x"]),
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let seqs: Vec<i64> = written.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert_eq!(written[0].reasons, ["3 contacts", "2 failed"]);
    assert!(written[1].reasons.is_empty() && written[1].holdout);
    assert_eq!(written[2].journey_id.as_deref(), Some("j-c"));

    let mut conn = app.pool.acquire().await.unwrap();
    let read = events_after(&mut conn, tenant, 1, 10).await.unwrap();
    assert_eq!(read, written[1..]);
    assert!(
        events_after(&mut conn, tenant, 3, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test]
async fn a_later_writer_waits_so_sequence_numbers_follow_commit_order(pool: PgPool) {
    let app = spawn_app(pool).await;
    let tenant = app.tenant;
    let mut first = app.pool.begin().await.unwrap();
    let one = record_events(&mut first, tenant, &[event("a", &[])])
        .await
        .unwrap();
    let pool = app.pool.clone();
    let second = tokio::spawn(async move {
        let mut tx = pool.begin().await.unwrap();
        let two = record_events(&mut tx, tenant, &[event("b", &[])])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        two[0].seq
    });
    // The second writer cannot get a number while the first is open.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !second.is_finished(),
        "the counter row lock serializes writers"
    );
    let mut conn = app.pool.acquire().await.unwrap();
    assert!(
        events_after(&mut conn, tenant, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    first.commit().await.unwrap();
    assert_eq!((one[0].seq, second.await.unwrap()), (1, 2));
}
