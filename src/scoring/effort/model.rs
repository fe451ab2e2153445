//! The effort part of the scoring model, as the effort functions read it.

use serde::{Deserialize, Serialize};

use super::EffortTier;
pub use crate::domain::model::EffortWeights;
use crate::domain::model::ScoringModel;

/// A tenant's effort weights and tier thresholds (SPEC §6.1, §7.5): the
/// part of [`ScoringModel`] the effort functions read, under the model's
/// own field names. The rules it satisfies are checked once, on the whole
/// model (`domain::model`). `Default` is SPEC's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffortModel {
    pub weights: EffortWeights,
    /// An effort index below this is LOW.
    pub low_effort_below: f64,
    /// An effort index at or above this is HIGH.
    pub high_effort_from: f64,
}

impl Default for EffortModel {
    fn default() -> Self {
        ScoringModel::default().effort_model()
    }
}

/// The view is defined here, next to the functions that read it, so that
/// `domain` depends on nothing of `scoring`.
impl ScoringModel {
    /// The effort part of the model.
    pub fn effort_model(&self) -> EffortModel {
        EffortModel {
            weights: self.weights,
            low_effort_below: self.low_effort_below,
            high_effort_from: self.high_effort_from,
        }
    }
}

/// Tier of an effort index: `HIGH` if `index ≥ high_effort_from`, `LOW` if
/// `index < low_effort_below`, otherwise `MEDIUM` (SPEC §6.1).
pub fn tier_for_index(effort_index: f64, model: &EffortModel) -> EffortTier {
    if effort_index >= model.high_effort_from {
        EffortTier::High
    } else if effort_index < model.low_effort_below {
        EffortTier::Low
    } else {
        EffortTier::Medium
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_spec_s() {
        let m = EffortModel::default();
        assert_eq!((m.low_effort_below, m.high_effort_from), (20.0, 50.0));
        assert_eq!((m.weights.extra_contact, m.weights.minute), (15.0, 0.5));
    }

    #[test]
    fn tiers_follow_thresholds() {
        let m = EffortModel::default();
        assert_eq!(tier_for_index(0.0, &m), EffortTier::Low);
        assert_eq!(tier_for_index(19.99, &m), EffortTier::Low);
        assert_eq!(tier_for_index(20.0, &m), EffortTier::Medium);
        assert_eq!(tier_for_index(49.99, &m), EffortTier::Medium);
        assert_eq!(tier_for_index(50.0, &m), EffortTier::High);
        assert_eq!(tier_for_index(100.0, &m), EffortTier::High);
        let no_medium = EffortModel {
            low_effort_below: 40.0,
            high_effort_from: 40.0,
            ..m
        };
        assert_eq!(tier_for_index(39.0, &no_medium), EffortTier::Low);
        assert_eq!(tier_for_index(40.0, &no_medium), EffortTier::High);
        assert!(EffortTier::High > EffortTier::Medium && EffortTier::Medium > EffortTier::Low);
    }
}
