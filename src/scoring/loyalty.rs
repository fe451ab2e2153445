//! Loyalty risk (SPEC §7): Beta priors from published effort research,
//! calibrated with the tenant's own outcomes, and the expected share of
//! customers who will speak badly, defect, repurchase or spend more.

pub use crate::domain::enums::OutcomeKind;
use crate::domain::{enums::EffortTier, model::ScoringModel};
use serde::{Deserialize, Serialize};

use super::stats::{
    Interval, beta_credible_interval, beta_mean, beta_variance, share, wilson_interval,
    z_for_confidence,
};

/// Prior mean of every outcome kind for one tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriorMeans {
    pub negative_word_of_mouth: f64,
    pub disloyalty: f64,
    pub repurchase: f64,
    pub spend_increase: f64,
}

impl PriorMeans {
    pub fn get(&self, kind: OutcomeKind) -> f64 {
        match kind {
            OutcomeKind::NegativeWordOfMouth => self.negative_word_of_mouth,
            OutcomeKind::Disloyalty => self.disloyalty,
            OutcomeKind::Repurchase => self.repurchase,
            OutcomeKind::SpendIncrease => self.spend_increase,
        }
    }
}

/// A tenant's priors (SPEC §7.2, §7.5): the part of [`ScoringModel`] the
/// loyalty functions read, per tier rather than per outcome kind, under
/// the model's field names. The rules it satisfies are checked once, on
/// the whole model (`domain::model`). `Default` is SPEC's table with a
/// strength of 50 pseudo-observations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PriorModel {
    /// Weight of a published prior, in pseudo-observations.
    pub prior_strength: f64,
    pub low: PriorMeans,
    pub high: PriorMeans,
}

impl Default for PriorModel {
    fn default() -> Self {
        ScoringModel::default().prior_model()
    }
}

/// The view is defined here, next to the functions that read it, so that
/// `domain` depends on nothing of `scoring`.
impl ScoringModel {
    /// The loyalty priors of the model.
    pub fn prior_model(&self) -> PriorModel {
        let side = |high: bool| {
            let mean = |kind| {
                let p = self.prior(kind);
                if high { p.high } else { p.low }
            };
            PriorMeans {
                negative_word_of_mouth: mean(OutcomeKind::NegativeWordOfMouth),
                disloyalty: mean(OutcomeKind::Disloyalty),
                repurchase: mean(OutcomeKind::Repurchase),
                spend_increase: mean(OutcomeKind::SpendIncrease),
            }
        };
        PriorModel {
            prior_strength: self.prior_strength,
            low: side(false),
            high: side(true),
        }
    }
}

impl PriorModel {
    /// The Beta prior of one (tier, outcome kind):
    ///
    /// ```text
    /// LOW, HIGH: mean = published figure, strength = prior_strength
    /// MEDIUM:    mean = (mean_LOW + mean_HIGH)/2, strength = prior_strength/2
    /// ```
    ///
    /// MEDIUM has no published figure; its midpoint prior is marked
    /// `interpolated` and given half the weight, so the tenant's own
    /// outcomes move it twice as fast.
    pub fn prior(&self, tier: EffortTier, kind: OutcomeKind) -> Prior {
        match tier {
            EffortTier::Low => Prior {
                mean: self.low.get(kind),
                strength: self.prior_strength,
                interpolated: false,
            },
            EffortTier::High => Prior {
                mean: self.high.get(kind),
                strength: self.prior_strength,
                interpolated: false,
            },
            EffortTier::Medium => Prior {
                mean: (self.low.get(kind) + self.high.get(kind)) / 2.0,
                strength: self.prior_strength / 2.0,
                interpolated: true,
            },
        }
    }
}

/// A Beta prior as mean and strength: α = mean × strength,
/// β = (1 − mean) × strength.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Prior {
    pub mean: f64,
    pub strength: f64,
    /// True for MEDIUM, whose prior is interpolated, not published.
    pub interpolated: bool,
}

impl Prior {
    pub fn alpha(&self) -> f64 {
        self.mean * self.strength
    }

    pub fn beta(&self) -> f64 {
        (1.0 - self.mean) * self.strength
    }
}

/// The tenant's observed outcomes of one kind for customers of one tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// Outcomes with `occurred = true`.
    pub occurred: u64,
    /// Outcomes with `occurred = false`.
    pub not_occurred: u64,
}

/// A calibrated outcome rate for one (tier, kind) (SPEC §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Posterior {
    pub prior_mean: f64,
    pub prior_strength: f64,
    pub interpolated: bool,
    /// Outcomes observed (occurred + not occurred).
    pub observed: u64,
    /// Outcomes that occurred.
    pub occurrences: u64,
    pub alpha: f64,
    pub beta: f64,
    /// α / (α + β).
    pub mean: f64,
    pub variance: f64,
    /// Equal-tailed credible interval.
    pub interval: Interval,
}

/// Conjugate Beta–binomial update (SPEC §7.3):
///
/// ```text
/// α' = mean × strength + occurred
/// β' = (1 − mean) × strength + not_occurred
/// mean' = α'/(α' + β'),  interval = Beta(α', β') quantiles at (1 ∓ c)/2
/// ```
///
/// # Panics
/// If the prior has `strength ≤ 0` or a mean outside `[0, 1]` (a model
/// with such a prior is rejected by `domain::model`).
pub fn posterior(prior: &Prior, occurred: u64, not_occurred: u64, confidence: f64) -> Posterior {
    let alpha = prior.alpha() + occurred as f64;
    let beta = prior.beta() + not_occurred as f64;
    Posterior {
        prior_mean: prior.mean,
        prior_strength: prior.strength,
        interpolated: prior.interpolated,
        observed: occurred + not_occurred,
        occurrences: occurred,
        alpha,
        beta,
        mean: beta_mean(alpha, beta),
        variance: beta_variance(alpha, beta),
        interval: beta_credible_interval(alpha, beta, confidence),
    }
}

/// One value per (tier, outcome kind).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TierKindTable<T> {
    cells: [[T; 4]; 3],
}

impl<T> TierKindTable<T> {
    pub fn from_fn(mut f: impl FnMut(EffortTier, OutcomeKind) -> T) -> Self {
        TierKindTable {
            cells: EffortTier::ALL.map(|tier| OutcomeKind::ALL.map(|kind| f(tier, kind))),
        }
    }

    pub fn get(&self, tier: EffortTier, kind: OutcomeKind) -> &T {
        &self.cells[tier_index(tier)][kind.index()]
    }

    pub fn get_mut(&mut self, tier: EffortTier, kind: OutcomeKind) -> &mut T {
        &mut self.cells[tier_index(tier)][kind.index()]
    }

    /// Every cell, tiers LOW, MEDIUM, HIGH, kinds in table order.
    pub fn iter(&self) -> impl Iterator<Item = (EffortTier, OutcomeKind, &T)> {
        EffortTier::ALL.into_iter().flat_map(move |tier| {
            OutcomeKind::ALL
                .into_iter()
                .map(move |kind| (tier, kind, self.get(tier, kind)))
        })
    }
}

impl<T: Default> Default for TierKindTable<T> {
    fn default() -> Self {
        TierKindTable::from_fn(|_, _| T::default())
    }
}

fn tier_index(tier: EffortTier) -> usize {
    match tier {
        EffortTier::Low => 0,
        EffortTier::Medium => 1,
        EffortTier::High => 2,
    }
}

/// The posterior of every (tier, kind).
pub type PosteriorTable = TierKindTable<Posterior>;

impl TierKindTable<Posterior> {
    /// Posteriors from the model's priors and the tenant's outcome counts
    /// (`TierKindTable::default()` for none).
    pub fn from_model(
        model: &PriorModel,
        observed: &TierKindTable<OutcomeCounts>,
        confidence: f64,
    ) -> PosteriorTable {
        TierKindTable::from_fn(|tier, kind| {
            let counts = observed.get(tier, kind);
            posterior(
                &model.prior(tier, kind),
                counts.occurred,
                counts.not_occurred,
                confidence,
            )
        })
    }
}

/// Customers assessed per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TierCounts {
    pub low: u64,
    pub medium: u64,
    pub high: u64,
}

impl TierCounts {
    pub fn get(&self, tier: EffortTier) -> u64 {
        match tier {
            EffortTier::Low => self.low,
            EffortTier::Medium => self.medium,
            EffortTier::High => self.high,
        }
    }

    pub fn total(&self) -> u64 {
        self.low + self.medium + self.high
    }
}

/// Customers of one tier and their share of all assessed customers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TierShare {
    pub tier: EffortTier,
    pub customers: u64,
    /// `None` when no customer is assessed.
    pub share: Option<f64>,
}

/// The calibrated rate of an outcome in one tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TierRate {
    pub tier: EffortTier,
    /// Posterior mean.
    pub rate: f64,
    /// Posterior credible interval.
    pub interval: Interval,
    pub interpolated: bool,
}

/// The expected prevalence of one outcome among the assessed customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeRisk {
    pub kind: OutcomeKind,
    /// Σ_tier share_tier × rate_tier; `None` with no customers.
    pub expected_share: Option<f64>,
    /// Normal approximation from the posterior variances, clipped to [0, 1].
    pub interval: Option<Interval>,
    /// expected_share × customers (0 with no customers).
    pub expected_customers: f64,
    /// LOW, MEDIUM, HIGH.
    pub tier_rates: Vec<TierRate>,
}

/// SPEC §7.4 `GetLoyaltyRisk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoyaltyRisk {
    /// Customers assessed.
    pub customers: u64,
    /// LOW, MEDIUM, HIGH.
    pub tiers: Vec<TierShare>,
    /// Wilson interval of the HIGH share; `None` with no customers.
    pub high_share_ci: Option<Interval>,
    /// In [`OutcomeKind::ALL`] order.
    pub outcomes: Vec<OutcomeRisk>,
    /// HIGH customers × posterior mean of (HIGH, NEGATIVE_WORD_OF_MOUTH):
    /// "of our 1,200 high-effort customers, about 970 are likely to speak
    /// badly of us". Not rounded.
    pub likely_detractors: f64,
}

/// Loyalty risk over the assessed customers (SPEC §7.4):
///
/// ```text
/// share_t        = customers_t / customers
/// expected_share = Σ_t share_t × mean_t
/// interval       = expected_share ± z·sqrt(Σ_t share_t² × Var_t), clipped to [0, 1]
/// expected_customers = expected_share × customers
/// likely_detractors  = customers_HIGH × mean(HIGH, NEGATIVE_WORD_OF_MOUTH)
/// ```
///
/// The interval treats the tier shares as fixed and carries only the
/// uncertainty of the rates, as SPEC specifies.
pub fn loyalty_risk(
    tier_counts: TierCounts,
    posteriors: &PosteriorTable,
    confidence: f64,
) -> LoyaltyRisk {
    let customers = tier_counts.total();
    let tiers: Vec<TierShare> = EffortTier::ALL
        .into_iter()
        .map(|tier| TierShare {
            tier,
            customers: tier_counts.get(tier),
            share: share(tier_counts.get(tier), customers),
        })
        .collect();
    let z = z_for_confidence(confidence);

    let outcomes = OutcomeKind::ALL
        .into_iter()
        .map(|kind| {
            let tier_rates = EffortTier::ALL
                .into_iter()
                .map(|tier| {
                    let p = posteriors.get(tier, kind);
                    TierRate {
                        tier,
                        rate: p.mean,
                        interval: p.interval,
                        interpolated: p.interpolated,
                    }
                })
                .collect();
            let moments = (customers > 0).then(|| {
                EffortTier::ALL
                    .into_iter()
                    .fold((0.0, 0.0), |(mean, var), tier| {
                        let s = tier_counts.get(tier) as f64 / customers as f64;
                        let p = posteriors.get(tier, kind);
                        (mean + s * p.mean, var + s * s * p.variance)
                    })
            });
            OutcomeRisk {
                kind,
                expected_share: moments.map(|(mean, _)| mean),
                interval: moments.map(|(mean, var)| {
                    let half = z * var.sqrt();
                    Interval::new(mean - half, mean + half).clamped(0.0, 1.0)
                }),
                expected_customers: moments.map_or(0.0, |(mean, _)| mean * customers as f64),
                tier_rates,
            }
        })
        .collect();

    LoyaltyRisk {
        customers,
        tiers,
        high_share_ci: wilson_interval(tier_counts.high, customers, confidence),
        outcomes,
        likely_detractors: tier_counts.high as f64
            * posteriors
                .get(EffortTier::High, OutcomeKind::NegativeWordOfMouth)
                .mean,
    }
}

#[cfg(test)]
mod tests {
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
}
