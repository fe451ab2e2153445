//! GetLoyaltyRisk.calibration_quality (SPEC §10.6): Brier scores of the
//! priors and of the leave-one-out posteriors, and per tier the prior
//! against the observed rate, against tests/reference/loyalty_quality_reference.py.

use gapscore::proto::v1::{
    CalibrationQuality, EffortTier, GetLoyaltyRiskRequest, GetLoyaltyRiskResponse, OutcomeKind,
};
use serde_json::Value;
use sqlx::PgPool;

use crate::{
    helpers::{TestApp, card_update, journey_from, spawn_app, window},
    loyalty::submit_loyalty_dataset,
};

fn expected() -> Value {
    serde_json::from_str(include_str!("../reference/loyalty_quality_expected.json")).unwrap()
}

async fn risk_as(app: &TestApp, key: Option<&str>, level: f64) -> GetLoyaltyRiskResponse {
    let mut client = match key {
        Some(key) => app.scoring_as(Some(key)),
        None => app.scoring(),
    };
    client
        .get_loyalty_risk(GetLoyaltyRiskRequest {
            filter: window("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z"),
            confidence_level: Some(level),
        })
        .await
        .expect("GetLoyaltyRisk")
        .into_inner()
}

#[track_caller]
fn close(got: f64, want: &Value, what: &str) {
    let want = want.as_f64().unwrap_or_else(|| panic!("{what}: no number"));
    assert!((got - want).abs() <= 1e-6, "{what}: {got} against {want}");
}

/// Every field of `got` against the script's list for the same data.
#[track_caller]
fn assert_matches(got: &[CalibrationQuality], want: &Value) {
    let want = want.as_array().unwrap();
    let kinds = |k: &Value| {
        OutcomeKind::from_str_name(&format!("OUTCOME_KIND_{}", k.as_str().unwrap())).unwrap() as i32
    };
    let got_kinds: Vec<i32> = got.iter().map(|q| q.kind).collect();
    let want_kinds: Vec<i32> = want.iter().map(|q| kinds(&q["kind"])).collect();
    assert_eq!(got_kinds, want_kinds, "kinds with outcomes");
    for (g, w) in got.iter().zip(want) {
        let what = format!("kind {}", g.kind);
        assert_eq!(g.outcomes, w["outcomes"].as_i64().unwrap(), "{what}");
        close(g.brier_prior, &w["brier_prior"], &what);
        close(g.brier_posterior_loo, &w["brier_posterior_loo"], &what);
        let tiers = w["tiers"].as_array().unwrap();
        assert_eq!(g.tiers.len(), 3, "{what}");
        for (gt, wt) in g.tiers.iter().zip(tiers) {
            let tier =
                EffortTier::from_str_name(&format!("EFFORT_TIER_{}", wt["tier"].as_str().unwrap()))
                    .unwrap();
            let what = format!("{what} tier {tier:?}");
            assert_eq!(gt.tier, tier as i32, "{what}");
            assert_eq!(gt.outcomes, wt["outcomes"].as_i64().unwrap(), "{what}");
            close(gt.predicted, &wt["predicted"], &what);
            match (
                gt.observed_rate,
                gt.observed_rate_ci,
                wt.get("observed_rate"),
            ) {
                (Some(rate), Some(ci), Some(want)) => {
                    close(rate, want, &what);
                    close(ci.lower, &wt["observed_rate_ci"][0], &what);
                    close(ci.upper, &wt["observed_rate_ci"][1], &what);
                }
                (None, None, None) => {}
                other => panic!("{what}: {other:?}"),
            }
        }
    }
}

/// The loyalty data set of tests/api/loyalty.rs, submitted through the
/// API: the calibration quality of every kind equals numpy's over the
/// expanded outcomes.
#[sqlx::test]
async fn calibration_quality_matches_the_reference(pool: PgPool) {
    let app = spawn_app(pool).await;
    submit_loyalty_dataset(&app).await;
    let want = &expected()["loyalty_dataset"];
    let level = want["confidence_level"].as_f64().unwrap();
    let r = risk_as(&app, None, level).await;
    assert_matches(&r.calibration_quality, &want["calibration_quality"]);
}

/// A tenant whose outcomes all fall in the HIGH tier: only the kinds with
/// outcomes are reported, LOW and MEDIUM with their prior and no observed
/// rate; another tenant without outcomes sees an empty list.
#[sqlx::test]
async fn outcomes_in_one_tier_only(pool: PgPool) {
    let app = spawn_app(pool).await;
    let jan10 = "2026-01-10T09:00:00Z";
    let customers: Vec<String> = (0..5).map(|i| format!("h{i}")).collect();
    let journeys = customers
        .iter()
        .map(|c| journey_from(&format!("j-{c}"), c, jan10, &card_update()))
        .collect();
    app.data().journeys(journeys).await;
    let want = &expected()["one_tier"];
    let mut id = 0;
    for cell in want["cells"].as_array().unwrap() {
        assert_eq!(cell[0], "HIGH", "the data set's outcomes are HIGH only");
        let kind =
            OutcomeKind::from_str_name(&format!("OUTCOME_KIND_{}", cell[1].as_str().unwrap()))
                .unwrap();
        let (n, occurred) = (cell[2].as_u64().unwrap(), cell[3].as_u64().unwrap());
        for i in 0..n {
            id += 1;
            app.data()
                .outcome(
                    &format!("o{id}"),
                    &customers[i as usize],
                    kind,
                    i < occurred,
                    "2026-02-01T00:00:00Z",
                )
                .await;
        }
    }
    let level = want["confidence_level"].as_f64().unwrap();
    let r = risk_as(&app, None, level).await;
    assert_eq!(r.confidence_level, level);
    assert_matches(&r.calibration_quality, &want["calibration_quality"]);
    for q in &r.calibration_quality {
        assert!(q.tiers[..2].iter().all(|t| t.outcomes == 0));
    }

    let other = app.add_tenant("globex").await;
    let r = risk_as(&app, Some(&other), level).await;
    assert!(r.calibration_quality.is_empty(), "{r:?}");
}
