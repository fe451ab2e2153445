//! How well the loyalty model fits the tenant (SPEC §10.6): Brier scores of
//! the priors and of the leave-one-out posteriors, and per tier the prior
//! against the observed rate.
//!
//! Every figure follows from the counts the calibration already holds (k
//! occurrences of n outcomes per (tier, kind) cell): within a cell every
//! outcome that occurred gets the same prediction, and so does every one
//! that did not, so a Brier score is a weighted sum over cells, with no
//! per-outcome rows.

use serde::{Deserialize, Serialize};

use super::{OutcomeKind, PosteriorTable};
use crate::{
    domain::enums::EffortTier,
    scoring::stats::{Interval, wilson_interval},
};

/// The fit of the model for one outcome kind with observed outcomes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationQuality {
    pub kind: OutcomeKind,
    /// Outcomes of this kind attributed to a tier (SPEC §7.3).
    pub outcomes: u64,
    /// Mean squared error of each outcome's tier prior mean.
    pub brier_prior: f64,
    /// Mean squared error of each outcome's leave-one-out posterior mean.
    pub brier_posterior_loo: f64,
    /// LOW, MEDIUM, HIGH.
    pub tiers: Vec<TierCalibration>,
}

/// One tier's prior against what the tenant observed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TierCalibration {
    pub tier: EffortTier,
    /// The prior mean (the published figure, or MEDIUM's interpolation).
    pub predicted: f64,
    /// k / n; `None` without outcomes in this tier.
    pub observed_rate: Option<f64>,
    /// Wilson interval of `observed_rate`.
    pub observed_rate_ci: Option<Interval>,
    pub outcomes: u64,
}

/// Calibration quality per outcome kind that has attributed outcomes, in
/// [`OutcomeKind::ALL`] order (kinds without outcomes are left out: there
/// is nothing to score). For the cells (t) of a kind, with k_t occurrences
/// of n_t outcomes, prior mean m_t, prior α_t, β_t, and N = Σ n_t:
///
/// ```text
/// brier_prior         = Σ_t [k_t (1 − m_t)² + (n_t − k_t) m_t²] / N
/// loo(y)              = (α_t + k_t − y) / (α_t + β_t + n_t − 1)
/// brier_posterior_loo = Σ_t [k_t (1 − loo(1))² + (n_t − k_t) loo(0)²] / N
/// ```
///
/// The leave-one-out posterior predicts each outcome from the prior and
/// every *other* outcome of its cell, so a model is not credited for
/// having seen the outcome it predicts. With a prior of no weight and a
/// single outcome (α_t + β_t + n_t − 1 = 0, which a valid model cannot
/// give) the prediction is the prior mean, the limit of a vanishing
/// strength.
pub fn calibration_quality(
    posteriors: &PosteriorTable,
    confidence: f64,
) -> Vec<CalibrationQuality> {
    OutcomeKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let cells = EffortTier::ALL.map(|tier| (tier, posteriors.get(tier, kind)));
            let outcomes: u64 = cells.iter().map(|(_, p)| p.observed).sum();
            if outcomes == 0 {
                return None;
            }
            let (mut prior_sq, mut loo_sq) = (0.0, 0.0);
            for (_, p) in &cells {
                let (k, n) = (p.occurrences as f64, p.observed as f64);
                let m = p.prior_mean;
                prior_sq += k * (1.0 - m).powi(2) + (n - k) * m * m;
                let alpha = m * p.prior_strength;
                let denominator = p.prior_strength + n - 1.0;
                let loo = |y: f64| {
                    if denominator > 0.0 {
                        (alpha + k - y) / denominator
                    } else {
                        m
                    }
                };
                if p.occurrences > 0 {
                    loo_sq += k * (1.0 - loo(1.0)).powi(2);
                }
                if p.observed > p.occurrences {
                    loo_sq += (n - k) * loo(0.0).powi(2);
                }
            }
            let total = outcomes as f64;
            Some(CalibrationQuality {
                kind,
                outcomes,
                brier_prior: prior_sq / total,
                brier_posterior_loo: loo_sq / total,
                tiers: cells
                    .iter()
                    .map(|&(tier, p)| TierCalibration {
                        tier,
                        predicted: p.prior_mean,
                        observed_rate: (p.observed > 0)
                            .then(|| p.occurrences as f64 / p.observed as f64),
                        observed_rate_ci: wilson_interval(p.occurrences, p.observed, confidence),
                        outcomes: p.observed,
                    })
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::scoring::{
        loyalty::{OutcomeCounts, PriorModel, TierKindTable},
        stats::tests::assert_close,
    };

    fn expected() -> Value {
        serde_json::from_str(include_str!(
            "../../../tests/reference/loyalty_quality_expected.json"
        ))
        .unwrap()
    }

    fn tier(name: &str) -> EffortTier {
        EffortTier::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .unwrap()
    }

    fn kind(name: &str) -> OutcomeKind {
        OutcomeKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .unwrap()
    }

    fn posteriors(cells: &[(EffortTier, OutcomeKind, u64, u64)], level: f64) -> PosteriorTable {
        let mut counts = TierKindTable::<OutcomeCounts>::default();
        for &(t, k, n, occurred) in cells {
            *counts.get_mut(t, k) = OutcomeCounts {
                occurred,
                not_occurred: n - occurred,
            };
        }
        PosteriorTable::from_model(&PriorModel::default(), &counts, level)
    }

    fn assert_matches(got: &[CalibrationQuality], want: &Value) {
        let want = want.as_array().unwrap();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.kind.as_str(), w["kind"].as_str().unwrap());
            assert_eq!(g.outcomes, w["outcomes"].as_u64().unwrap());
            assert_close(g.brier_prior, w["brier_prior"].as_f64().unwrap(), 1e-12);
            let loo = w["brier_posterior_loo"].as_f64().unwrap();
            assert_close(g.brier_posterior_loo, loo, 1e-12);
            for (gt, wt) in g.tiers.iter().zip(w["tiers"].as_array().unwrap()) {
                assert_eq!(gt.tier.as_str(), wt["tier"].as_str().unwrap());
                assert_eq!(gt.outcomes, wt["outcomes"].as_u64().unwrap());
                assert_close(gt.predicted, wt["predicted"].as_f64().unwrap(), 1e-12);
                assert_eq!(gt.observed_rate, wt["observed_rate"].as_f64());
                match (gt.observed_rate_ci, wt.get("observed_rate_ci")) {
                    (Some(ci), Some(w)) => {
                        assert_close(ci.lower, w[0].as_f64().unwrap(), 1e-12);
                        assert_close(ci.upper, w[1].as_f64().unwrap(), 1e-12);
                    }
                    (None, None) => {}
                    other => panic!("{:?} tier {:?}: {other:?}", g.kind, gt.tier),
                }
            }
        }
    }

    #[test]
    fn outcomes_in_one_tier_only_match_numpy() {
        let e = &expected()["one_tier"];
        let cells: Vec<_> = e["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                let s = |i: usize| c[i].as_str().unwrap();
                let u = |i: usize| c[i].as_u64().unwrap();
                (tier(s(0)), kind(s(1)), u(2), u(3))
            })
            .collect();
        let level = e["confidence_level"].as_f64().unwrap();
        let got = calibration_quality(&posteriors(&cells, level), level);
        assert_matches(&got, &e["calibration_quality"]);
        // LOW and MEDIUM have no outcomes: reported with their prior, no rate.
        assert!(got[0].tiers[..2].iter().all(|t| t.observed_rate.is_none()));
    }

    #[test]
    fn the_loyalty_data_set_matches_numpy() {
        let e = &expected()["loyalty_dataset"];
        let level = e["confidence_level"].as_f64().unwrap();
        let mut cells = Vec::new();
        for q in e["calibration_quality"].as_array().unwrap() {
            for t in q["tiers"].as_array().unwrap() {
                let n = t["outcomes"].as_u64().unwrap();
                let rate = t["observed_rate"].as_f64().unwrap_or(0.0);
                let occurred = (rate * n as f64).round() as u64;
                let (t, k) = (t["tier"].as_str().unwrap(), q["kind"].as_str().unwrap());
                cells.push((tier(t), kind(k), n, occurred));
            }
        }
        let got = calibration_quality(&posteriors(&cells, level), level);
        assert_matches(&got, &e["calibration_quality"]);
    }

    #[test]
    fn kinds_without_outcomes_are_left_out() {
        assert!(calibration_quality(&posteriors(&[], 0.95), 0.95).is_empty());
        let one = [(EffortTier::Low, OutcomeKind::Repurchase, 1, 1)];
        let got = calibration_quality(&posteriors(&one, 0.95), 0.95);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, OutcomeKind::Repurchase);
        // One outcome: the leave-one-out posterior is the prior itself.
        assert_close(got[0].brier_prior, 0.06f64.powi(2), 1e-12);
        assert_close(got[0].brier_posterior_loo, 0.06f64.powi(2), 1e-12);
    }

    #[test]
    fn a_prior_without_weight_predicts_a_single_outcome_by_its_mean() {
        let model = PriorModel {
            prior_strength: 0.0,
            ..PriorModel::default()
        };
        let mut counts = TierKindTable::<OutcomeCounts>::default();
        counts
            .get_mut(EffortTier::High, OutcomeKind::Disloyalty)
            .occurred = 1;
        let p = PosteriorTable::from_model(&model, &counts, 0.95);
        let got = calibration_quality(&p, 0.95);
        assert_close(got[0].brier_posterior_loo, 0.04f64.powi(2), 1e-9);
        assert!(got[0].brier_posterior_loo.is_finite());
    }
}
