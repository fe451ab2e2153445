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
/// A prior without weight and no outcomes (α + β = 0, which a valid model
/// cannot give but a model stored before `MIN_PRIOR_STRENGTH` could) has
/// the limits of a vanishing strength: the prior mean, its Bernoulli
/// variance m(1 − m), and the whole of `[0, 1]` as its interval, so that no
/// report panics or shows NaN.
pub fn posterior(prior: &Prior, occurred: u64, not_occurred: u64, confidence: f64) -> Posterior {
    let alpha = prior.alpha() + occurred as f64;
    let beta = prior.beta() + not_occurred as f64;
    let vague = prior.mean.clamp(0.0, 1.0);
    Posterior {
        prior_mean: prior.mean,
        prior_strength: prior.strength,
        interpolated: prior.interpolated,
        observed: occurred + not_occurred,
        occurrences: occurred,
        alpha,
        beta,
        mean: beta_mean(alpha, beta).unwrap_or(vague),
        variance: beta_variance(alpha, beta).unwrap_or(vague * (1.0 - vague)),
        interval: beta_credible_interval(alpha, beta, confidence)
            .unwrap_or(Interval::new(0.0, 1.0)),
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
                interval: moments.zip(z).map(|((mean, var), z)| {
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

pub mod quality;

#[cfg(test)]
mod tests;
