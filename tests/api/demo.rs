//! The demo tenant answers in every frame (issue 17, item 5) without moving
//! anything it showed before: loaded as it is, and loaded without its framed
//! answers and competitor themes (`demo::without_frames`, which the demo's
//! unit tests prove is exactly the data set of before frames), it gives
//! byte-identical answers to every existing read.

use gapscore::proto::v1::TrendBucket;
use sqlx::PgPool;

use crate::helpers::{
    internals::{create_tenant, demo},
    scores::{Probe, existing_scores, first_difference},
    spawn_app, sql, timestamp,
};

#[sqlx::test]
async fn the_demos_framed_answers_change_no_existing_figure(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("demo loads");
    let (plain, plain_key) = create_tenant(&pool, "demo-without-frames").await;
    let data = demo::generate(demo::SEED, demo::FRAMES_SEED);
    demo::submit(&pool, plain, &demo::without_frames(&data))
        .await
        .expect("the demo without frames loads");
    assert!(
        sql::rows_in(&pool, "framed_answers").await > 10_000,
        "the demo answers in the other frames"
    );

    let probe = Probe {
        start: timestamp(demo::demo_start()),
        end: timestamp(demo::demo_end()),
        region: "emea",
        survey_id: "cx-pulse-2026",
        // The card-update customer, others with and without a survey
        // response (every tenth customer has journeys only), and one
        // unknown.
        customers: [
            "cust-0001",
            "cust-0002",
            "cust-0010",
            "cust-1234",
            "cust-9999",
        ]
        .map(String::from)
        .to_vec(),
        bucket: TrendBucket::Month,
        new_themes: &["competitors_do_better", "competitors_do_worse"],
    };
    let without = existing_scores(&app, &plain_key, &probe).await;
    let with = existing_scores(&app, &key, &probe).await;
    if let Some(difference) = first_difference(&without, &with) {
        panic!("{difference}");
    }
}
