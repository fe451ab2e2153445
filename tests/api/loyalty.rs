//! ScoringService.GetLoyaltyRisk, CustomerService.GetCustomerRisk and
//! ListAtRiskCustomers (SPEC §7).

use gapscore::proto::v1::{
    Channel, EffortTier, GetCustomerRiskRequest, GetCustomerRiskResponse, GetLoyaltyRiskRequest,
    GetLoyaltyRiskResponse, Initiator, Journey, ListAtRiskCustomersRequest,
    ListAtRiskCustomersResponse, Outcome, OutcomeKind, RespondentRole, ScoreFilter, TierSource,
    Touchpoint, TouchpointOutcome,
};
use sqlx::PgPool;
use tonic::Code;

use crate::helpers::{
    TestApp,
    assert::{Z95, wilson},
    card_update, ease_response, easy, error_reason, journey_from, outcome, refused_at, spawn_app,
    spawn_app_with, stuck, two_calls, violation_fields, window,
};

const HIGH: i32 = EffortTier::High as i32;
const MEDIUM: i32 = EffortTier::Medium as i32;
const LOW: i32 = EffortTier::Low as i32;
const CES: i32 = TierSource::Ces as i32;
const JOURNEYS: i32 = TierSource::Journeys as i32;
const NWOM: OutcomeKind = OutcomeKind::NegativeWordOfMouth;
const DISLOYALTY: OutcomeKind = OutcomeKind::Disloyalty;

fn january() -> Option<ScoreFilter> {
    window("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
}

fn with_labels(filter: Option<ScoreFilter>, key: &str, value: &str) -> Option<ScoreFilter> {
    let mut f = filter.unwrap_or_default();
    f.labels.insert(key.into(), value.into());
    Some(f)
}

async fn risk(app: &TestApp, filter: Option<ScoreFilter>) -> GetLoyaltyRiskResponse {
    app.scoring()
        .get_loyalty_risk(GetLoyaltyRiskRequest {
            filter,
            confidence_level: None,
        })
        .await
        .expect("GetLoyaltyRisk")
        .into_inner()
}

async fn customer(app: &TestApp, id: &str, filter: Option<ScoreFilter>) -> GetCustomerRiskResponse {
    app.customers()
        .get_customer_risk(GetCustomerRiskRequest {
            customer_id: id.into(),
            filter,
            confidence_level: None,
        })
        .await
        .expect("GetCustomerRisk")
        .into_inner()
}

fn tier_counts(r: &GetLoyaltyRiskResponse) -> Vec<(i32, i64)> {
    r.tiers.iter().map(|t| (t.tier, t.customers)).collect()
}

fn assert_close(actual: f64, expected: f64) {
    crate::helpers::assert_rel_close(actual, expected, 1e-12);
}

/// The posterior mean of (tier, kind) in a loyalty report.
fn posterior_mean(r: &GetLoyaltyRiskResponse, tier: i32, kind: OutcomeKind) -> (f64, i64, i64) {
    let o = r.outcomes.iter().find(|o| o.kind == kind as i32).unwrap();
    let t = o.tier_rates.iter().find(|t| t.tier == tier).unwrap();
    (t.posterior_mean, t.observed, t.occurrences)
}

#[sqlx::test]
async fn tiers_come_from_the_latest_ease_answer_before_journeys(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    let eu = [("region", "eu")];
    // ann: a HIGH journey, but her ease answer says LOW: CES decides.
    d.journey("j-ann", "ann", "2026-01-10T09:00:00Z", &card_update())
        .await;
    d.ease("r-ann", "ann", "2026-01-12T09:00:00Z", 6).await;
    // bob: journeys only, the worst decides (67.5, HIGH).
    d.journey("j-bob-1", "bob", "2026-01-05T09:00:00Z", &easy())
        .await;
    let stuck_start = "2026-01-06T09:00:00Z";
    d.journey_with(("j-bob-2", "bob", "x"), &eu, stuck_start, &stuck())
        .await;
    // cat: the latest answer in the window (2) decides, not the earlier 6
    // or the later 7 outside the window.
    d.ease("r-cat-1", "cat", "2026-01-03T09:00:00Z", 6).await;
    let at_20 = "2026-01-20T09:00:00Z";
    let role = RespondentRole::Customer;
    d.ease_with(("r-cat-2", role, "cat"), ("", &eu), at_20, 2)
        .await;
    d.ease("r-cat-3", "cat", "2026-02-02T09:00:00Z", 7).await;
    // dan: 4 is MEDIUM.
    d.ease("r-dan", "dan", "2026-01-04T09:00:00Z", 4).await;
    // eve: 28.5 is MEDIUM; fay: 0 is LOW.
    d.journey("j-eve", "eve", "2026-01-07T09:00:00Z", &two_calls(1))
        .await;
    d.journey("j-fay", "fay", "2026-01-08T09:00:00Z", &easy())
        .await;
    // gus: only data before the window; hal: a staff answer.
    d.ease("r-gus", "gus", "2025-12-20T09:00:00Z", 2).await;
    let staff = RespondentRole::Staff;
    d.ease_with(("r-hal", staff, "hal"), ("", &[]), at_20, 1)
        .await;
    // ivy: two answers at the same instant: the greater response id wins.
    d.ease("r-ivy-b", "ivy", "2026-01-09T09:00:00Z", 1).await;
    d.ease("r-ivy-a", "ivy", "2026-01-09T09:00:00Z", 7).await;

    let r = risk(&app, january()).await;
    assert_eq!(r.customers, 7);
    assert_eq!(tier_counts(&r), [(LOW, 2), (MEDIUM, 2), (HIGH, 3)]);
    let shares: Vec<f64> = r.tiers.iter().map(|t| t.share).collect();
    assert_eq!(shares, [2.0 / 7.0, 2.0 / 7.0, 3.0 / 7.0]);

    let expect = [
        ("ann", LOW, CES, Some(6)),
        ("bob", HIGH, JOURNEYS, None),
        ("cat", HIGH, CES, Some(2)),
        ("dan", MEDIUM, CES, Some(4)),
        ("eve", MEDIUM, JOURNEYS, None),
        ("fay", LOW, JOURNEYS, None),
        ("ivy", HIGH, CES, Some(1)),
    ];
    for (id, tier, source, latest_ease) in expect {
        let c = customer(&app, id, january()).await;
        assert_eq!(
            (c.tier, c.tier_source, c.latest_ease),
            (tier, source, latest_ease),
            "{id}"
        );
    }
    // Without a window cat's latest answer is the 7 of February.
    let c = customer(&app, "cat", None).await;
    assert_eq!((c.tier, c.latest_ease), (LOW, Some(7)));

    // Labels apply to both sources: only cat's labelled answer and bob's
    // labelled journey are in scope.
    let r = risk(&app, with_labels(january(), "region", "eu")).await;
    assert_eq!(tier_counts(&r), [(LOW, 0), (MEDIUM, 0), (HIGH, 2)]);
    let eu_only = with_labels(january(), "region", "eu");
    let c = customer(&app, "bob", eu_only.clone()).await;
    assert_eq!((c.tier, c.worst_journey_id.as_str()), (HIGH, "j-bob-2"));
    assert_eq!(c.journeys.len(), 1);
    let c = customer(&app, "cat", eu_only).await;
    assert_eq!((c.tier, c.latest_ease), (HIGH, Some(2)));
}

/// `n` journeys of `touchpoints` on 2026-01-15 for customers
/// `{prefix}0000`, `{prefix}0001`, …
fn many_journeys(prefix: &str, n: usize, touchpoints: &[Touchpoint]) -> Vec<Journey> {
    (0..n)
        .map(|i| {
            let customer = format!("{prefix}{i:04}");
            let id = format!("{customer}-j");
            journey_from(&id, &customer, "2026-01-15T00:00:00Z", touchpoints)
        })
        .collect()
}

#[sqlx::test]
async fn the_headline_counts_likely_detractors_with_the_default_priors(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    let high = many_journeys("h", 1200, &card_update());
    let (first, rest) = high.split_at(1000);
    d.journeys(first.to_vec()).await;
    d.journeys(rest.to_vec()).await;
    d.journeys(many_journeys("l", 300, &easy())).await;
    d.journeys(many_journeys("m", 500, &two_calls(1))).await;
    let r = risk(&app, january()).await;
    assert_eq!(r.confidence_level, 0.95);
    assert_eq!(r.customers, 2000);
    assert_eq!(tier_counts(&r), [(LOW, 300), (MEDIUM, 500), (HIGH, 1200)]);
    assert_close(r.likely_detractors, 1200.0 * 0.81);
    assert_eq!(
        r.headline,
        "of our 1,200 high-effort customers, about 972 are likely to speak badly of us"
    );

    // Everything else in closed form from the tier counts and SPEC §7's
    // default priors (no outcomes: every posterior is its prior), computed
    // here independently of src/scoring.
    let ci = r.high_share_ci.unwrap();
    let (lo, hi) = wilson(1200.0, 2000.0, Z95);
    assert_close(ci.lower, lo);
    assert_close(ci.upper, hi);
    // (kind, LOW mean, HIGH mean) of §7.2.
    let priors = [
        (OutcomeKind::NegativeWordOfMouth, 0.01, 0.81),
        (OutcomeKind::Disloyalty, 0.09, 0.96),
        (OutcomeKind::Repurchase, 0.94, 0.04),
        (OutcomeKind::SpendIncrease, 0.88, 0.04),
    ];
    let kinds: Vec<i32> = r.outcomes.iter().map(|o| o.kind).collect();
    let want_kinds: Vec<i32> = priors.iter().map(|p| p.0 as i32).collect();
    assert_eq!(kinds, want_kinds);
    for (got, &(kind, low, high)) in r.outcomes.iter().zip(&priors) {
        // (tier, customers, prior mean, prior strength, interpolated)
        let tiers = [
            (LOW, 300.0, low, 50.0, false),
            (MEDIUM, 500.0, (low + high) / 2.0, 25.0, true),
            (HIGH, 1200.0, high, 50.0, false),
        ];
        let share: f64 = tiers.iter().map(|t| t.1 / 2000.0 * t.2).sum();
        // Var of Beta(m s, (1 − m) s) is m (1 − m) / (s + 1).
        let var: f64 = tiers
            .iter()
            .map(|t| (t.1 / 2000.0_f64).powi(2) * t.2 * (1.0 - t.2) / (t.3 + 1.0))
            .sum();
        assert_close(got.expected_share, share);
        assert_close(got.expected_customers, share * 2000.0);
        let ci = got.expected_share_ci.unwrap();
        assert_close(ci.lower, (share - Z95 * var.sqrt()).max(0.0));
        assert_close(ci.upper, (share + Z95 * var.sqrt()).min(1.0));
        assert_eq!(got.tier_rates.len(), 3, "{kind:?}");
        for (rate, &(tier, _, mean, _, interpolated)) in got.tier_rates.iter().zip(&tiers) {
            assert_eq!(
                (
                    rate.tier,
                    rate.prior_interpolated,
                    rate.observed,
                    rate.occurrences
                ),
                (tier, interpolated, 0, 0),
                "{kind:?}"
            );
            assert_close(rate.prior_mean, mean);
            assert_close(rate.posterior_mean, mean);
        }
    }
    // NWOM: 0.15 × 0.01 + 0.25 × 0.41 + 0.6 × 0.81.
    let nwom = &r.outcomes[0];
    assert_close(nwom.expected_share, 0.15 * 0.01 + 0.25 * 0.41 + 0.6 * 0.81);
    let rates: Vec<f64> = nwom.tier_rates.iter().map(|t| t.prior_mean).collect();
    assert_close(rates[1], 0.41);
    assert_eq!((rates[0], rates[2]), (0.01, 0.81));
}

#[sqlx::test]
async fn small_and_empty_scopes_have_readable_headlines(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    let r = risk(&app, None).await;
    assert_eq!(r.customers, 0);
    assert_eq!(tier_counts(&r), [(LOW, 0), (MEDIUM, 0), (HIGH, 0)]);
    assert!(r.tiers.iter().all(|t| t.share == 0.0));
    assert_eq!(r.high_share_ci, None);
    assert_eq!(r.likely_detractors, 0.0);
    assert_eq!(r.headline, "no customers with effort data in scope");
    for o in &r.outcomes {
        assert_eq!((o.expected_share, o.expected_customers), (0.0, 0.0));
        assert_eq!(o.expected_share_ci, None);
        assert_eq!(o.tier_rates.len(), 3);
        assert!(o.tier_rates.iter().all(|t| t.posterior_mean.is_finite()));
    }

    d.journey("j1", "c1", "2026-01-10T09:00:00Z", &easy()).await;
    let r = risk(&app, None).await;
    assert_eq!(
        r.headline,
        "none of our 1 assessed customer had a high-effort experience"
    );
    d.journey("j2", "c2", "2026-01-10T09:00:00Z", &card_update())
        .await;
    let r = risk(&app, None).await;
    assert_eq!(
        r.headline,
        "of our 1 high-effort customer, about 1 is likely to speak badly of us"
    );
    for c in ["c3", "c4", "c5", "c6"] {
        d.journey(&format!("j-{c}"), c, "2026-01-10T09:00:00Z", &stuck())
            .await;
    }
    let r = risk(&app, None).await;
    assert_close(r.likely_detractors, 5.0 * 0.81);
    assert_eq!(
        r.headline,
        "of our 5 high-effort customers, about 4 are likely to speak badly of us"
    );
}

#[sqlx::test]
async fn outcomes_calibrate_the_posteriors_by_the_tier_before_them(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    let jan10 = "2026-01-10T09:00:00Z";
    let mut journeys: Vec<_> = ["h1", "h2", "h3", "h4", "m1", "n1"]
        .into_iter()
        .map(|c| journey_from(&format!("j-{c}"), c, jan10, &card_update()))
        .collect();
    journeys.push(journey_from("j-l1", "l1", jan10, &easy()));
    app.data().journeys(journeys).await;
    // m1 said it was easy before the outcome: CES decides (LOW).
    d.ease("r-m1", "m1", "2026-01-20T09:00:00Z", 6).await;
    // n1 said so only after the outcome: the journey decides (HIGH).
    d.ease("r-n1", "n1", "2026-03-01T09:00:00Z", 7).await;

    // HIGH, NWOM: h1, h2, h4 occurred, h3 did not.
    app.data()
        .outcome("o1", "h1", NWOM, true, "2026-02-01T00:00:00Z")
        .await;
    app.data()
        .outcome("o2", "h2", NWOM, true, "2026-03-01T00:00:00Z")
        .await;
    app.data()
        .outcome("o3", "h3", NWOM, false, "2026-02-15T00:00:00Z")
        .await;
    // Exactly 90 days after the journey: still inside [observed − 90 d, observed).
    app.data()
        .outcome("o4", "h4", NWOM, true, "2026-04-10T09:00:00Z")
        .await;
    // A second later the journey is out of the 90 days: not attributed.
    app.data()
        .outcome("o5", "h4", NWOM, false, "2026-04-10T09:00:01Z")
        .await;
    // At the journey's own instant: nothing before it, not attributed.
    app.data().outcome("o6", "h3", NWOM, false, jan10).await;
    // A customer with no data at all.
    app.data()
        .outcome("o7", "ghost", NWOM, true, "2026-02-01T00:00:00Z")
        .await;
    // LOW, NWOM: l1 did not, m1 did.
    app.data()
        .outcome("o8", "l1", NWOM, false, "2026-02-01T00:00:00Z")
        .await;
    app.data()
        .outcome("o9", "m1", NWOM, true, "2026-02-01T00:00:00Z")
        .await;
    // HIGH, DISLOYALTY: h1 and n1.
    app.data()
        .outcome("o10", "h1", DISLOYALTY, true, "2026-02-01T00:00:00Z")
        .await;
    app.data()
        .outcome("o11", "n1", DISLOYALTY, true, "2026-02-01T00:00:00Z")
        .await;

    // The report covers January; calibration uses every outcome.
    let r = risk(&app, january()).await;
    // h1-h4, n1 HIGH (n1's answer is after January); m1 LOW by CES; l1 LOW.
    assert_eq!(tier_counts(&r), [(LOW, 2), (MEDIUM, 0), (HIGH, 5)]);
    let (mean, observed, occurred) = posterior_mean(&r, HIGH, NWOM);
    assert_eq!((observed, occurred), (4, 3));
    assert_close(mean, (40.5 + 3.0) / (50.0 + 4.0));
    let (mean, observed, occurred) = posterior_mean(&r, LOW, NWOM);
    assert_eq!((observed, occurred), (2, 1));
    assert_close(mean, (0.5 + 1.0) / (50.0 + 2.0));
    let (mean, observed, occurred) = posterior_mean(&r, HIGH, DISLOYALTY);
    assert_eq!((observed, occurred), (2, 2));
    assert_close(mean, (48.0 + 2.0) / (50.0 + 2.0));
    let (mean, observed, _) = posterior_mean(&r, MEDIUM, NWOM);
    assert_eq!(observed, 0);
    assert_close(mean, 0.41);
    assert_close(r.likely_detractors, 5.0 * 43.5 / 54.0);

    // The customer view shows the same calibrated rates for its tier.
    let c = customer(&app, "h1", None).await;
    assert_eq!(c.tier, HIGH);
    let nwom = c.outcomes.iter().find(|o| o.kind == NWOM as i32).unwrap();
    assert_close(nwom.posterior_mean, 43.5 / 54.0);

    // A weaker prior lets the tenant's outcomes weigh more.
    app.update_scoring_model(|model| {
        model.prior_strength = 10.0;
    })
    .await;
    let r = risk(&app, january()).await;
    let (mean, _, _) = posterior_mean(&r, HIGH, NWOM);
    assert_close(mean, (8.1 + 3.0) / (10.0 + 4.0));
    let c = customer(&app, "h1", None).await;
    assert_close(c.outcomes[0].posterior_mean, (8.1 + 3.0) / 14.0);
}

#[sqlx::test]
async fn customer_risk_explains_the_worst_journey(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    let journeys = vec![
        journey_from("j-card", "cust-1", "2026-01-10T09:00:00Z", &card_update()),
        journey_from("j-easy", "cust-1", "2026-01-20T09:00:00Z", &easy()),
        journey_from("j-other", "cust-2", "2026-01-20T09:00:00Z", &stuck()),
    ];
    app.data().journeys(journeys).await;

    let c = customer(&app, "cust-1", None).await;
    assert_eq!(c.customer_id, "cust-1");
    assert_eq!(
        (c.tier, c.tier_source, c.latest_ease),
        (HIGH, JOURNEYS, None)
    );
    let journeys: Vec<_> = c
        .journeys
        .iter()
        .map(|j| {
            (
                j.journey_id.as_str(),
                j.intent.as_str(),
                j.effort_index,
                j.effort_tier,
            )
        })
        .collect();
    assert_eq!(
        journeys,
        [
            ("j-easy", "update_payment_method", 0.0, LOW),
            ("j-card", "update_payment_method", 90.0, HIGH),
        ]
    );
    assert_eq!(c.journeys_in_scope, 2);
    assert_eq!(
        (c.worst_journey_id.as_str(), c.worst_effort_index),
        ("j-card", 90.0)
    );
    assert_eq!(
        c.reasons,
        [
            "3 contacts across 3 channels",
            "2 channel switches",
            "2 failed self-service attempts",
            "45 minutes of the customer's time",
        ]
    );
    let outcomes: Vec<_> = c
        .outcomes
        .iter()
        .map(|o| (o.kind, o.posterior_mean))
        .collect();
    assert_eq!(
        outcomes,
        [
            (OutcomeKind::NegativeWordOfMouth as i32, 0.81),
            (OutcomeKind::Disloyalty as i32, 0.96),
            (OutcomeKind::Repurchase as i32, 0.04),
            (OutcomeKind::SpendIncrease as i32, 0.04),
        ]
    );
    let ci = c.outcomes[0].posterior_ci.unwrap();
    assert!(ci.lower < 0.81 && 0.81 < ci.upper, "{ci:?}");

    // A later ease answer of 5 decides the tier; the reasons still explain
    // the worst journey.
    d.ease("r1", "cust-1", "2026-02-01T09:00:00Z", 5).await;
    let c = customer(&app, "cust-1", None).await;
    assert_eq!((c.tier, c.tier_source, c.latest_ease), (LOW, CES, Some(5)));
    assert_eq!(c.reasons.len(), 4);
    assert_close(c.outcomes[0].posterior_mean, 0.01);
    // In January, before the answer, the journeys decide again.
    let c = customer(&app, "cust-1", january()).await;
    assert_eq!((c.tier, c.latest_ease), (HIGH, None));

    // The model in force scores the journeys and words the reasons.
    app.update_scoring_model(|model| {
        model.weights.as_mut().unwrap().channel_switch = 0.0;
        model.high_effort_from = 80.0;
    })
    .await;
    let c = customer(&app, "cust-1", january()).await;
    assert_eq!((c.tier, c.worst_effort_index), (MEDIUM, 70.0));
    assert_eq!(c.journeys[1].effort_tier, MEDIUM);
    assert!(
        !c.reasons.iter().any(|r| r.contains("switch")),
        "{:?}",
        c.reasons
    );
    assert_eq!(c.reasons.len(), 3);
}

#[sqlx::test]
async fn customer_risk_is_not_found_without_data_and_validates_the_id(pool: PgPool) {
    let app = spawn_app(pool).await;
    let d = app.data();
    d.journey("j1", "known", "2026-03-10T09:00:00Z", &easy())
        .await;
    d.outcome("o1", "outcome-only", NWOM, true, "2026-03-10T09:00:00Z")
        .await;
    let mut customers = app.customers();
    for (id, filter) in [
        ("nobody", None),
        ("outcome-only", None),
        ("known", january()),
    ] {
        let err = customers
            .get_customer_risk(GetCustomerRiskRequest {
                customer_id: id.into(),
                filter,
                confidence_level: None,
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound, "{id}: {err:?}");
        assert_eq!(error_reason(&err), "NOT_FOUND");
    }
    for bad in ["", "has space", "x".repeat(129).as_str()] {
        assert_eq!(
            refused_at(customers.get_customer_risk(GetCustomerRiskRequest {
                customer_id: bad.into(),
                ..Default::default()
            }))
            .await,
            ["customer_id"]
        );
    }
    assert_eq!(
        refused_at(customers.get_customer_risk(GetCustomerRiskRequest {
            customer_id: "known".into(),
            confidence_level: Some(0.2),
            ..Default::default()
        }))
        .await,
        ["confidence_level"]
    );
}

/// Eleven customers: seven HIGH, two MEDIUM, two LOW.
async fn at_risk_population(app: &TestApp) {
    let (d, jan10) = (app.data(), "2026-01-10T09:00:00Z");
    d.journey("j-a1", "a1", jan10, &card_update()).await;
    d.journey("j-a2", "a2", jan10, &stuck()).await;
    d.journey("j-a3", "a3", jan10, &card_update()).await;
    d.journey("j-a4", "a4", jan10, &stuck()).await;
    d.ease("r-b1", "b1", jan10, 1).await;
    d.ease("r-b2", "b2", jan10, 3).await;
    d.ease("r-b3", "b3", jan10, 2).await;
    d.journey("j-b3", "b3", jan10, &easy()).await;
    d.journey("j-m1", "m1", jan10, &two_calls(1)).await;
    d.ease("r-m2", "m2", jan10, 4).await;
    d.journey("j-l1", "l1", jan10, &easy()).await;
    d.ease("r-l2", "l2", jan10, 7).await;
    d.journey("j-l2", "l2", jan10, &card_update()).await;
}

async fn list(
    app: &TestApp,
    key: Option<&str>,
    min_tier: i32,
    page_size: i32,
    page_token: &str,
) -> Result<ListAtRiskCustomersResponse, tonic::Status> {
    app.customers_as(Some(key.unwrap_or(&app.key)))
        .list_at_risk_customers(ListAtRiskCustomersRequest {
            filter: january(),
            min_tier,
            page_size,
            page_token: page_token.into(),
        })
        .await
        .map(|r| r.into_inner())
}

#[sqlx::test]
async fn at_risk_customers_are_listed_worst_first(pool: PgPool) {
    let app = spawn_app(pool).await;
    at_risk_population(&app).await;
    let r = list(&app, None, 0, 0, "").await.unwrap();
    assert_eq!(r.next_page_token, "");
    let rows: Vec<_> = r
        .customers
        .iter()
        .map(|c| {
            (
                c.customer_id.as_str(),
                c.tier,
                c.tier_source,
                c.worst_effort_index,
                c.worst_journey_id.as_str(),
                c.latest_ease,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("a1", HIGH, JOURNEYS, 90.0, "j-a1", None),
            ("a3", HIGH, JOURNEYS, 90.0, "j-a3", None),
            ("a2", HIGH, JOURNEYS, 67.5, "j-a2", None),
            ("a4", HIGH, JOURNEYS, 67.5, "j-a4", None),
            ("b1", HIGH, CES, 0.0, "", Some(1)),
            ("b2", HIGH, CES, 0.0, "", Some(3)),
            ("b3", HIGH, CES, 0.0, "j-b3", Some(2)),
        ]
    );
    let r = list(&app, None, MEDIUM, 0, "").await.unwrap();
    let ids: Vec<_> = r.customers.iter().map(|c| c.customer_id.as_str()).collect();
    assert_eq!(ids, ["a1", "a3", "a2", "a4", "b1", "b2", "b3", "m1", "m2"]);
}

#[sqlx::test]
async fn at_risk_pages_visit_every_customer_once(pool: PgPool) {
    let app = spawn_app(pool).await;
    at_risk_population(&app).await;
    let all = [
        "a1", "a3", "a2", "a4", "b1", "b2", "b3", "m1", "m2", "l2", "l1",
    ];
    for size in [1, 2, 3, 4, 10, 11, 12] {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let r = list(&app, None, LOW, size, &token).await.unwrap();
            assert!(r.customers.len() <= size as usize);
            seen.extend(r.customers.into_iter().map(|c| c.customer_id));
            pages += 1;
            if r.next_page_token.is_empty() {
                break;
            }
            token = r.next_page_token;
        }
        assert_eq!(seen, all, "page size {size}");
        assert_eq!(pages, all.len().div_ceil(size as usize), "page size {size}");
    }
    // Page size may change between pages (AIP-158); above 1,000 is coerced.
    let first = list(&app, None, LOW, 4, "").await.unwrap();
    let rest = list(&app, None, LOW, 5000, &first.next_page_token)
        .await
        .unwrap();
    assert_eq!(rest.customers.len(), 7);
    assert_eq!(rest.next_page_token, "");

    // A token belongs to its query.
    assert_eq!(
        refused_at(list(&app, None, HIGH, 4, &first.next_page_token)).await,
        ["page_token"]
    );
    let err = list(&app, None, LOW, 4, "not-a-token").await.unwrap_err();
    assert_eq!(violation_fields(&err), ["page_token"]);
    let err = list(&app, None, LOW, -1, "").await.unwrap_err();
    assert_eq!(violation_fields(&err), ["page_size"]);
    let err = list(&app, None, 9, 0, "").await.unwrap_err();
    assert_eq!(violation_fields(&err), ["min_tier"]);
}

#[sqlx::test]
async fn loyalty_and_customers_are_isolated_between_tenants(pool: PgPool) {
    let app = spawn_app(pool).await;
    at_risk_population(&app).await;
    let at = "2026-02-01T00:00:00Z";
    app.data().outcome("o1", "a1", NWOM, false, at).await;
    let other_key = app.add_tenant("globex").await;
    // globex has one customer, with an id acme also uses.
    app.data_as(&other_key)
        .journey("j-a1", "a1", "2026-01-10T09:00:00Z", &easy())
        .await;

    let mine = risk(&app, january()).await;
    assert_eq!(mine.customers, 11);
    let theirs = app
        .scoring_as(Some(&other_key))
        .get_loyalty_risk(GetLoyaltyRiskRequest {
            filter: january(),
            confidence_level: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(theirs.customers, 1);
    assert_eq!(tier_counts(&theirs), [(LOW, 1), (MEDIUM, 0), (HIGH, 0)]);
    // acme's outcome does not calibrate globex's model.
    assert_eq!(posterior_mean(&theirs, HIGH, NWOM).1, 0);
    assert_eq!(posterior_mean(&mine, HIGH, NWOM).1, 1);

    let c = app
        .customers_as(Some(&other_key))
        .get_customer_risk(GetCustomerRiskRequest {
            customer_id: "a1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((c.tier, c.worst_journey_id.as_str()), (LOW, "j-a1"));
    let err = app
        .customers_as(Some(&other_key))
        .get_customer_risk(GetCustomerRiskRequest {
            customer_id: "b1".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let r = list(&app, Some(&other_key), LOW, 0, "").await.unwrap();
    let ids: Vec<_> = r.customers.iter().map(|c| c.customer_id.as_str()).collect();
    assert_eq!(ids, ["a1"]);
    // A page token of acme's is not globex's.
    let page = list(&app, None, LOW, 2, "").await.unwrap();
    assert_eq!(
        refused_at(list(&app, Some(&other_key), LOW, 2, &page.next_page_token)).await,
        ["page_token"]
    );
}

/// (observed, occurred) of HIGH × NWOM in a fresh loyalty report.
async fn high_nwom(app: &TestApp) -> (i64, i64) {
    let (_, observed, occurred) = posterior_mean(&risk(app, None).await, HIGH, NWOM);
    (observed, occurred)
}

#[sqlx::test]
async fn the_cached_calibration_follows_every_acknowledged_write(pool: PgPool) {
    // A long cache life: only the writes themselves can refresh it.
    let app = spawn_app_with(pool, |a| a.calibration_cache_secs = 3600).await;
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
    assert_eq!(high_nwom(&app).await, (1, 1));
    assert_eq!(high_nwom(&app).await, (1, 1), "a cached read agrees");

    // A new outcome, then an edit of it, each seen by the very next read.
    app.data()
        .outcome("o2", "h2", NWOM, false, "2026-02-01T00:00:00Z")
        .await;
    assert_eq!(high_nwom(&app).await, (2, 1));
    app.data()
        .outcome("o2", "h2", NWOM, true, "2026-02-01T00:00:00Z")
        .await;
    assert_eq!(high_nwom(&app).await, (2, 2));
    // The customer view reads the same cache.
    let c = customer(&app, "h2", None).await;
    let nwom = c.outcomes.iter().find(|o| o.kind == NWOM as i32).unwrap();
    assert_close(nwom.posterior_mean, (40.5 + 2.0) / (50.0 + 2.0));

    // A journey that makes a third customer attributable.
    app.data()
        .outcome("o3", "h3", NWOM, false, "2026-02-01T00:00:00Z")
        .await;
    assert_eq!(high_nwom(&app).await, (2, 2), "h3 has no journey yet");
    app.data()
        .journeys(vec![journey_from("j-h3", "h3", jan10, &card_update())])
        .await;
    assert_eq!(high_nwom(&app).await, (3, 2));

    // An erasure.
    app.customers()
        .delete_customer_data(gapscore::proto::v1::DeleteCustomerDataRequest {
            customer_id: "h1".into(),
        })
        .await
        .unwrap();
    assert_eq!(high_nwom(&app).await, (2, 1));
}

#[sqlx::test]
async fn writes_by_another_process_reach_the_calibration_within_its_lifetime(pool: PgPool) {
    let app = spawn_app_with(pool, |a| a.calibration_cache_secs = 1).await;
    let jan10 = "2026-01-10T09:00:00Z";
    app.data()
        .journeys(vec![journey_from("j-h1", "h1", jan10, &card_update())])
        .await;
    app.data()
        .outcome("o1", "h1", NWOM, true, "2026-02-01T00:00:00Z")
        .await;
    assert_eq!(high_nwom(&app).await, (1, 1));
    // Another process erases the outcome behind this server's back.
    sqlx::query("DELETE FROM outcomes WHERE tenant_id = $1 AND id = 'o1'")
        .bind(app.tenant.0)
        .execute(&app.pool)
        .await
        .unwrap();
    let started = std::time::Instant::now();
    while high_nwom(&app).await != (0, 0) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "still cached after 3 s with a 1 s lifetime"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Submits tests/reference/loyalty_dataset.json (journeys, ease answers,
/// outcomes) through the API; returns the data set.
pub(crate) async fn submit_loyalty_dataset(app: &TestApp) -> serde_json::Value {
    use serde_json::Value;
    let data: Value =
        serde_json::from_str(include_str!("../reference/loyalty_dataset.json")).unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let int = |v: &Value| v.as_i64().unwrap();
    let d = app.data();

    let enum_value = |prefix: &str, v: &Value| format!("{prefix}_{}", text(v));
    let journeys: Vec<Journey> = data["journeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            let touchpoints: Vec<Touchpoint> = j["touchpoints"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| Touchpoint {
                    channel: Channel::from_str_name(&enum_value("CHANNEL", &t["channel"])).unwrap()
                        as i32,
                    initiator: Initiator::from_str_name(&enum_value("INITIATOR", &t["initiator"]))
                        .unwrap() as i32,
                    occurred_at: None,
                    duration_seconds: int(&t["minutes"]) as i32 * 60,
                    wait_seconds: int(&t["wait_minutes"]) as i32 * 60,
                    outcome: TouchpointOutcome::from_str_name(&enum_value(
                        "TOUCHPOINT_OUTCOME",
                        &t["outcome"],
                    ))
                    .unwrap() as i32,
                    transfers: int(&t["transfers"]) as i32,
                    repeated_information: t["repeated_information"].as_bool().unwrap(),
                })
                .collect();
            let (id, customer, start) =
                (text(&j["id"]), text(&j["customer_id"]), text(&j["start"]));
            journey_from(&id, &customer, &start, &touchpoints)
        })
        .collect();
    d.journeys(journeys).await;
    let answers = data["ease"].as_array().unwrap().iter().map(|e| {
        let score = int(&e["score"]) as i32;
        ease_response(
            &text(&e["id"]),
            &text(&e["customer_id"]),
            &text(&e["at"]),
            score,
        )
    });
    d.responses(answers.collect()).await;
    let outcomes = data["outcomes"].as_array().unwrap().iter().map(|o| {
        let kind = OutcomeKind::from_str_name(&enum_value("OUTCOME_KIND", &o["kind"])).unwrap();
        Outcome {
            occurred: o["occurred"].as_bool().unwrap(),
            ..outcome(
                &text(&o["id"]),
                &text(&o["customer_id"]),
                kind,
                &text(&o["observed_at"]),
            )
        }
    });
    app.submit_outcomes(outcomes.collect()).await.unwrap();
    data
}

/// A fixed data set (tests/reference/loyalty_dataset.json: journeys
/// touchpoint by touchpoint, ease answers, outcomes), submitted through the
/// API, reports the figures `tests/reference/stats_reference.py` computes
/// from the same raw records with SPEC §6.1 and §7 and scipy/statsmodels
/// (loyalty_expected.json), within 1e-6.
#[sqlx::test]
async fn loyalty_figures_match_the_reference_computed_from_raw_records(pool: PgPool) {
    use serde_json::Value;
    let want: Value =
        serde_json::from_str(include_str!("../reference/loyalty_expected.json")).unwrap();
    let text = |v: &Value| v.as_str().unwrap().to_owned();
    let num = |v: &Value| v.as_f64().unwrap();
    let int = |v: &Value| v.as_i64().unwrap();
    let app = spawn_app(pool).await;
    let data = submit_loyalty_dataset(&app).await;
    let enum_value = |prefix: &str, v: &Value| format!("{prefix}_{}", text(v));

    let close = |got: f64, want: &Value, what: &str| {
        let want = num(want);
        assert!((got - want).abs() <= 1e-6, "{what}: {got} against {want}");
    };
    let (start, end) = (text(&data["window"][0]), text(&data["window"][1]));
    let r = risk(&app, window(&start, &end)).await;
    assert_eq!(r.confidence_level, num(&want["confidence_level"]));
    assert_eq!(r.customers, int(&want["customers"]));
    let tiers: Vec<i64> = ["LOW", "MEDIUM", "HIGH"]
        .iter()
        .map(|t| int(&want["tiers"][t]))
        .collect();
    assert_eq!(
        tier_counts(&r),
        [(LOW, tiers[0]), (MEDIUM, tiers[1]), (HIGH, tiers[2])]
    );
    let ci = r.high_share_ci.unwrap();
    close(ci.lower, &want["high_share_ci"][0], "high share ci");
    close(ci.upper, &want["high_share_ci"][1], "high share ci");
    close(
        r.likely_detractors,
        &want["likely_detractors"],
        "likely detractors",
    );
    let kinds = want["outcomes"].as_array().unwrap();
    assert_eq!(r.outcomes.len(), kinds.len());
    for (got, want) in r.outcomes.iter().zip(kinds) {
        let kind = OutcomeKind::from_str_name(&enum_value("OUTCOME_KIND", &want["kind"])).unwrap();
        assert_eq!(got.kind, kind as i32);
        let what = format!("{kind:?}");
        close(got.expected_share, &want["expected_share"], &what);
        close(got.expected_customers, &want["expected_customers"], &what);
        let ci = got.expected_share_ci.unwrap();
        close(ci.lower, &want["expected_share_ci"][0], &what);
        close(ci.upper, &want["expected_share_ci"][1], &what);
        let rates = want["tier_rates"].as_array().unwrap();
        for ((rate, want), tier) in got.tier_rates.iter().zip(rates).zip([LOW, MEDIUM, HIGH]) {
            let what = format!("{kind:?} tier {tier}");
            assert_eq!(rate.tier, tier, "{what}");
            assert_eq!(
                (rate.observed, rate.occurrences),
                (int(&want["observed"]), int(&want["occurrences"])),
                "{what}"
            );
            close(rate.prior_mean, &want["prior_mean"], &what);
            close(rate.posterior_mean, &want["posterior_mean"], &what);
            let ci = rate.posterior_ci.unwrap();
            close(ci.lower, &want["posterior_ci"][0], &what);
            close(ci.upper, &want["posterior_ci"][1], &what);
        }
    }
    // Each assessed customer's tier, one by one.
    for (id, tier) in want["customer_tiers"].as_object().unwrap() {
        let c = customer(&app, id, window(&start, &end)).await;
        let tier = EffortTier::from_str_name(&format!("EFFORT_TIER_{}", text(tier))).unwrap();
        assert_eq!(c.tier, tier as i32, "{id}");
    }
}
