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
    spawn_app, sql, timestamp, ts, window,
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

/// Issue 13: the demo makes every figure of SPEC §10–§11 meaningful, as the
/// server answers them (the story is in `src/tools/demo/data.rs`).
#[sqlx::test]
async fn the_demo_shows_real_change_a_worse_segment_weighted_drivers_and_a_misfit_prior(
    pool: PgPool,
) {
    use gapscore::proto::v1::*;

    let app = spawn_app(pool.clone()).await;
    let key = demo::load(&pool).await.expect("demo loads");
    let scoring = app.scoring_as(Some(&key));
    let nps = |filter| GetChangeRequest {
        metric: TrendMetric::NetScore as i32,
        question: "likelihood_to_recommend".into(),
        role: RespondentRole::Customer as i32,
        filter,
        ..Default::default()
    };

    // A real change: NPS of October 2026 against September's.
    let change = scoring
        .clone()
        .get_change(GetChangeRequest {
            baseline_start_time: Some(ts("2026-09-01T00:00:00Z")),
            baseline_end_time: Some(ts("2026-10-01T00:00:00Z")),
            ..nps(window("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"))
        })
        .await
        .unwrap()
        .into_inner()
        .change
        .unwrap();
    let difference = change.difference.unwrap();
    assert!(difference < -10.0, "{change:?}");
    assert!(change.significant, "{change:?}");
    assert!(change.p_value.unwrap() < 0.001, "{change:?}");
    assert!(change.difference_ci.unwrap().upper < 0.0, "{change:?}");
    for w in [change.baseline.unwrap(), change.current.unwrap()] {
        assert!(w.sample_size > 300, "{w:?}");
    }

    // The monthly trend over the demo: October's change from September is
    // the same test, and the only one significant after FDR control.
    let start = demo::demo_start().to_rfc3339();
    let end = demo::demo_end().to_rfc3339();
    let r = nps(window(&start, &end));
    let trend = scoring
        .clone()
        .get_trend(GetTrendRequest {
            metric: r.metric,
            bucket: TrendBucket::Month as i32,
            filter: r.filter,
            question: r.question,
            role: r.role,
            to_role: 0,
            confidence_level: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(trend.points.len(), 7, "May to November 2026");
    let flagged: Vec<_> = trend
        .points
        .iter()
        .filter(|p| {
            p.change_from_previous
                .as_ref()
                .and_then(|c| c.q_value)
                .is_some_and(|q| q < 0.05)
        })
        .filter_map(|p| p.bucket_start)
        .collect();
    assert_eq!(flagged, [ts("2026-10-01T00:00:00Z")]);
    let october = trend.points[5].change_from_previous.unwrap();
    assert!((october.difference.unwrap() - difference).abs() < 1e-9);
    assert!(october.significant);

    // A segment really worse than the rest: EMEA's customers.
    let gaps = scoring
        .clone()
        .get_perception_gap(GetPerceptionGapRequest {
            group_by: "region".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let emea = gaps
        .groups
        .iter()
        .find(|g| g.label_value == "emea")
        .and_then(|g| g.report.as_ref())
        .expect("an EMEA group");
    for question in ["likelihood_to_recommend", "overall_experience", "speed"] {
        let q = emea.questions.iter().find(|q| q.question == question);
        let rest = q.and_then(|q| q.vs_rest).expect("EMEA against the rest");
        assert!(rest.gap_points < 0.0, "{question}: {rest:?}");
        assert!(rest.significant_after_fdr, "{question}: {rest:?}");
    }

    // Drivers that differ in weight: none dominates, several count.
    let drivers = scoring
        .clone()
        .get_key_drivers(GetKeyDriversRequest::default())
        .await
        .unwrap()
        .into_inner();
    let weights: Vec<(&str, f64)> = drivers
        .drivers
        .iter()
        .map(|d| (d.question.as_str(), d.rescaled_weight.unwrap()))
        .collect();
    let largest = weights.iter().map(|w| w.1).fold(0.0, f64::max);
    assert!(largest < 70.0, "{weights:?}");
    assert!(
        weights.iter().filter(|w| w.1 > 5.0).count() >= 3,
        "{weights:?}"
    );
    // The top priority: a heavy driver leaders overrate.
    assert_eq!(drivers.drivers[0].question, "speed", "{weights:?}");
    let map = scoring
        .clone()
        .get_priority_map(GetPriorityMapRequest::default())
        .await
        .unwrap()
        .into_inner();
    let quadrants: std::collections::BTreeSet<i32> =
        map.questions.iter().map(|q| q.quadrant).collect();
    assert!(quadrants.len() >= 3, "{map:?}");
    assert!(
        map.questions
            .iter()
            .filter_map(|q| q.derived_importance)
            .filter(|w| *w > 5.0)
            .count()
            >= 3,
        "derived importance spreads too: {map:?}"
    );

    // A tier whose observed rate departs from the published prior: high
    // effort customers speak badly of the company about half the time,
    // not 81% of it.
    let loyalty = scoring
        .clone()
        .get_loyalty_risk(GetLoyaltyRiskRequest::default())
        .await
        .unwrap()
        .into_inner();
    let word_of_mouth = loyalty
        .calibration_quality
        .iter()
        .find(|c| c.kind == OutcomeKind::NegativeWordOfMouth as i32)
        .expect("word-of-mouth outcomes");
    let high = word_of_mouth
        .tiers
        .iter()
        .find(|t| t.tier == EffortTier::High as i32)
        .unwrap();
    let ci = high.observed_rate_ci.unwrap();
    assert!(high.outcomes > 100, "{high:?}");
    assert!(ci.upper < high.predicted, "{high:?}");
    assert!(
        word_of_mouth.brier_posterior_loo < word_of_mouth.brier_prior,
        "the tenant's outcomes correct the priors: {word_of_mouth:?}"
    );
}
