use super::*;
use crate::scoring::stats::tests::{BETA_REFERENCE, assert_close};

fn default_posteriors(confidence: f64) -> PosteriorTable {
    PosteriorTable::from_model(
        &PriorModel::default(),
        &TierKindTable::default(),
        confidence,
    )
}

#[test]
fn default_priors_follow_spec_table() {
    let m = PriorModel::default();
    let p = m.prior(EffortTier::High, OutcomeKind::NegativeWordOfMouth);
    assert_eq!((p.mean, p.strength, p.interpolated), (0.81, 50.0, false));
    assert_close(p.alpha(), 40.5, 1e-12);
    assert_close(p.beta(), 9.5, 1e-12);
    assert_eq!(m.prior(EffortTier::Low, OutcomeKind::Repurchase).mean, 0.94);
    assert_eq!(
        m.prior(EffortTier::Low, OutcomeKind::SpendIncrease).mean,
        0.88
    );
    assert_eq!(
        m.prior(EffortTier::High, OutcomeKind::Disloyalty).mean,
        0.96
    );
    let medium = m.prior(EffortTier::Medium, OutcomeKind::NegativeWordOfMouth);
    assert_close(medium.mean, 0.41, 1e-15);
    assert_eq!((medium.strength, medium.interpolated), (25.0, true));
}

#[test]
fn posteriors_match_scipy() {
    // BETA_REFERENCE rows 0, 4, 5: HIGH/NWOM prior; after 30 of 40
    // occurred; the MEDIUM/NWOM interpolated prior.
    let m = PriorModel::default();
    let cases = [
        (EffortTier::High, 0, 0, BETA_REFERENCE[0]),
        (EffortTier::High, 30, 10, BETA_REFERENCE[4]),
        (EffortTier::Medium, 0, 0, BETA_REFERENCE[5]),
    ];
    for (tier, occurred, not_occurred, (a, b, c, mean, var, lo, hi)) in cases {
        let p = posterior(
            &m.prior(tier, OutcomeKind::NegativeWordOfMouth),
            occurred,
            not_occurred,
            c,
        );
        assert_close(p.alpha, a, 1e-12);
        assert_close(p.beta, b, 1e-12);
        assert_close(p.mean, mean, 1e-12);
        assert_close(p.variance, var, 1e-12);
        assert_close(p.interval.lower, lo, 1e-9);
        assert_close(p.interval.upper, hi, 1e-9);
        assert_eq!(p.observed, occurred + not_occurred);
        assert_eq!(p.occurrences, occurred);
    }
}

#[test]
fn headline_1200_high_effort_customers() {
    let risk = loyalty_risk(
        TierCounts {
            low: 0,
            medium: 0,
            high: 1200,
        },
        &default_posteriors(0.95),
        0.95,
    );
    assert_close(risk.likely_detractors, 972.0, 1e-12);
    let nwom = &risk.outcomes[0];
    assert_eq!(nwom.kind, OutcomeKind::NegativeWordOfMouth);
    assert_close(nwom.expected_share.unwrap(), 0.81, 1e-12);
    assert_close(nwom.expected_customers, 972.0, 1e-12);
    assert_eq!(risk.tiers[2].share, Some(1.0));
    assert_eq!(risk.high_share_ci.unwrap().upper, 1.0);
}

#[test]
fn expected_shares_match_reference() {
    // tests/reference/stats_reference.py: low 500, medium 300, high 1200.
    let expected = [
        (
            0.5499999999999999,
            (0.47912021646013814, 0.6208797835398617),
            1099.9999999999998,
        ),
        (
            0.6772499999999999,
            (0.6297544568344198, 0.72474554316558),
            1354.4999999999998,
        ),
        (0.3325, (0.286266610435607, 0.378733389564393), 665.0),
        (
            0.31300000000000006,
            (0.26437740060796744, 0.3616225993920327),
            626.0000000000001,
        ),
    ];
    let counts = TierCounts {
        low: 500,
        medium: 300,
        high: 1200,
    };
    let risk = loyalty_risk(counts, &default_posteriors(0.95), 0.95);
    assert_eq!(risk.customers, 2000);
    let shares: Vec<_> = risk.tiers.iter().map(|t| (t.tier, t.share)).collect();
    assert_eq!(
        shares,
        [
            (EffortTier::Low, Some(0.25)),
            (EffortTier::Medium, Some(0.15)),
            (EffortTier::High, Some(0.6)),
        ]
    );
    assert_eq!(risk.high_share_ci, wilson_interval(1200, 2000, 0.95));
    for (outcome, (share, (lo, hi), customers)) in risk.outcomes.iter().zip(expected) {
        assert_close(outcome.expected_share.unwrap(), share, 1e-9);
        assert_close(outcome.interval.unwrap().lower, lo, 1e-9);
        assert_close(outcome.interval.unwrap().upper, hi, 1e-9);
        assert_close(outcome.expected_customers, customers, 1e-9);
        assert_eq!(outcome.tier_rates.len(), 3);
        assert!(outcome.tier_rates[1].interpolated);
    }
    assert_close(risk.likely_detractors, 972.0, 1e-12);
}

#[test]
fn no_customers_means_no_shares_and_no_nan() {
    let risk = loyalty_risk(TierCounts::default(), &default_posteriors(0.99), 0.99);
    assert_eq!(risk.customers, 0);
    assert!(
        risk.tiers
            .iter()
            .all(|t| t.share.is_none() && t.customers == 0)
    );
    assert_eq!(risk.high_share_ci, None);
    assert_eq!(risk.likely_detractors, 0.0);
    for o in &risk.outcomes {
        assert_eq!((o.expected_share, o.interval), (None, None));
        assert_eq!(o.expected_customers, 0.0);
        // Per-tier rates are properties of the model, still reported.
        assert!(o.tier_rates.iter().all(|r| r.rate.is_finite()));
    }
}

#[test]
fn tier_without_customers_contributes_nothing() {
    let counts = TierCounts {
        low: 100,
        medium: 0,
        high: 0,
    };
    let risk = loyalty_risk(counts, &default_posteriors(0.90), 0.90);
    assert_eq!(risk.tiers[2].share, Some(0.0));
    assert_eq!(risk.high_share_ci.unwrap().lower, 0.0);
    assert_eq!(risk.likely_detractors, 0.0);
    assert_close(risk.outcomes[0].expected_share.unwrap(), 0.01, 1e-12);
    let ci = risk.outcomes[0].interval.unwrap();
    // Normal approximation around 0.01 reaches below 0: clipped.
    assert_eq!(ci.lower, 0.0);
    assert!(ci.upper > 0.01 && ci.upper < 0.05);
}

#[test]
fn own_outcomes_move_the_posterior() {
    let mut observed = TierKindTable::<OutcomeCounts>::default();
    *observed.get_mut(EffortTier::High, OutcomeKind::NegativeWordOfMouth) = OutcomeCounts {
        occurred: 30,
        not_occurred: 10,
    };
    let table = PosteriorTable::from_model(&PriorModel::default(), &observed, 0.95);
    let high = table.get(EffortTier::High, OutcomeKind::NegativeWordOfMouth);
    assert_close(high.mean, 70.5 / 90.0, 1e-12);
    // Other cells keep the prior.
    let low = table.get(EffortTier::Low, OutcomeKind::NegativeWordOfMouth);
    assert_eq!((low.observed, low.mean), (0, 0.01));
    assert_eq!(table.iter().count(), 12);
    let risk = loyalty_risk(
        TierCounts {
            low: 0,
            medium: 0,
            high: 1200,
        },
        &table,
        0.95,
    );
    assert_close(risk.likely_detractors, 1200.0 * 70.5 / 90.0, 1e-12);
}

#[test]
fn extreme_prior_means_are_point_masses() {
    let model = PriorModel {
        low: PriorMeans {
            negative_word_of_mouth: 0.0,
            ..PriorModel::default().low
        },
        high: PriorMeans {
            disloyalty: 1.0,
            ..PriorModel::default().high
        },
        ..PriorModel::default()
    };
    let table = PosteriorTable::from_model(&model, &TierKindTable::default(), 0.95);
    let low = table.get(EffortTier::Low, OutcomeKind::NegativeWordOfMouth);
    assert_eq!((low.mean, low.interval), (0.0, Interval::new(0.0, 0.0)));
    let high = table.get(EffortTier::High, OutcomeKind::Disloyalty);
    assert_eq!((high.mean, high.interval), (1.0, Interval::new(1.0, 1.0)));
    // One observed occurrence turns the point mass into a proper Beta.
    let p = posterior(
        &model.prior(EffortTier::Low, OutcomeKind::NegativeWordOfMouth),
        1,
        0,
        0.95,
    );
    assert!(p.mean > 0.0 && p.interval.upper > p.interval.lower);
}

#[test]
fn a_prior_without_weight_has_finite_figures_and_no_panic() {
    // Issue 11, finding 10: a stored prior_strength of 5e-324 gives MEDIUM
    // a strength of 0 (5e-324 / 2 rounds to 0), so α = β = 0.
    let model = PriorModel {
        prior_strength: 5e-324,
        ..PriorModel::default()
    };
    for tier in EffortTier::ALL {
        for kind in OutcomeKind::ALL {
            let prior = model.prior(tier, kind);
            for (occurred, not_occurred) in [(0, 0), (1, 0), (0, 3), (2, 5)] {
                let p = posterior(&prior, occurred, not_occurred, 0.95);
                for x in [p.mean, p.variance, p.interval.lower, p.interval.upper] {
                    assert!(
                        x.is_finite() && (0.0..=1.0).contains(&x),
                        "{tier:?} {kind:?}: {p:?}"
                    );
                }
            }
        }
    }
    let medium = model.prior(EffortTier::Medium, OutcomeKind::NegativeWordOfMouth);
    let p = posterior(&medium, 0, 0, 0.95);
    assert_eq!(p.mean, medium.mean);
    assert_eq!(p.interval, Interval::new(0.0, 1.0));
}
