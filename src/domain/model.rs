//! A tenant's scoring model (SPEC §7.5) and its one set of rules.
//!
//! [`ScoringModel`] is what the store keeps (as JSON) and what every score
//! reads; [`ProposedModel`] is a model as a caller sends it, before the
//! rules: [`ProposedModel::validate`] checks every rule, names every
//! violation, and only then yields a `ScoringModel`. The pure scoring
//! functions read the parts they need through `ScoringModel::effort_model()`
//! and `ScoringModel::prior_model()`, defined next to those views in
//! `scoring`.

use serde::{Deserialize, Serialize};

use crate::scoring::holdout::MAX_HOLDOUT_SHARE;

use super::{
    enums::OutcomeKind,
    violations::{Violations, check_confidence_level},
};

/// Largest effort weight and prior strength accepted. Far above any useful
/// value (the effort index is capped at 100), low enough that no effort sum
/// overflows a double: PostgreSQL raises an error on float overflow, so a
/// model with weights near f64::MAX made every effort query of the tenant
/// fail with INTERNAL.
pub const MAX_MODEL_NUMBER: f64 = 1_000_000.0;

/// Smallest prior strength accepted (SPEC §7.5 asks only for > 0). A
/// millionth of a pseudo-observation is already no prior at all beside one
/// real outcome, so nothing a tenant could mean is refused; below it,
/// MEDIUM's half strength and α = mean × strength run down into subnormal
/// and zero doubles, where a Beta distribution no longer exists
/// (5e-324 / 2 is 0) and its quantiles cannot be computed.
pub const MIN_PRIOR_STRENGTH: f64 = 1e-6;

/// Prior means of one outcome kind for the LOW and HIGH tiers (SPEC §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OutcomePriorMeans {
    pub low: f64,
    pub high: f64,
}

/// Effort weights of SPEC §6.1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffortWeights {
    /// Points per customer touchpoint beyond the first.
    pub extra_contact: f64,
    pub channel_switch: f64,
    pub failed_self_service: f64,
    pub transfer: f64,
    pub repeated_information: f64,
    /// Points per customer minute beyond `free_minutes`.
    pub minute: f64,
    /// Customer minutes that cost no points.
    pub free_minutes: f64,
    /// Most points customer time can add.
    pub time_cap: f64,
    /// Points when no touchpoint is `RESOLVED`.
    pub unresolved: f64,
}

impl Default for EffortWeights {
    fn default() -> Self {
        Self {
            extra_contact: 15.0,
            channel_switch: 10.0,
            failed_self_service: 10.0,
            transfer: 10.0,
            repeated_information: 10.0,
            minute: 0.5,
            free_minutes: 5.0,
            time_cap: 30.0,
            unresolved: 30.0,
        }
    }
}

impl EffortWeights {
    /// Every weight with its field name, in the order of the message.
    fn named(&self) -> [(&'static str, f64); 9] {
        [
            ("extra_contact", self.extra_contact),
            ("channel_switch", self.channel_switch),
            ("failed_self_service", self.failed_self_service),
            ("transfer", self.transfer),
            ("repeated_information", self.repeated_information),
            ("minute", self.minute),
            ("free_minutes", self.free_minutes),
            ("time_cap", self.time_cap),
            ("unresolved", self.unresolved),
        ]
    }

    /// Every weight is a number from 0 to [`MAX_MODEL_NUMBER`].
    fn check(&self, v: &mut Violations, field: &str) {
        for (name, value) in self.named() {
            if !(0.0..=MAX_MODEL_NUMBER).contains(&value) {
                v.add(
                    format!("{field}.{name}"),
                    "must be a number from 0 to 1,000,000",
                );
            }
        }
    }
}

/// A tenant's scoring settings (SPEC §7.5), stored as JSON so new settings
/// can be added without a migration: the serde names are the stored shape
/// and must not change. `Default` is SPEC's defaults, which every new
/// tenant starts with; its priors are the published figures of SPEC §7.2
/// (CEB; HBR 2010; Gartner).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoringModel {
    pub min_group_size: i32,
    pub confidence_level: f64,
    pub weights: EffortWeights,
    /// An effort index below this is LOW.
    pub low_effort_below: f64,
    /// An effort index at or above this is HIGH.
    pub high_effort_from: f64,
    /// Weight of a published prior, in pseudo-observations.
    pub prior_strength: f64,
    pub negative_word_of_mouth: OutcomePriorMeans,
    pub disloyalty: OutcomePriorMeans,
    pub repurchase: OutcomePriorMeans,
    pub spend_increase: OutcomePriorMeans,
    /// Days of the rolling window of a customer's current tier (SPEC
    /// §12.1). Stored models from before the setting existed read as the
    /// default.
    #[serde(default = "default_risk_window_days")]
    pub risk_window_days: i32,
    /// Days at-risk events are kept for watches and webhooks.
    #[serde(default = "default_event_retention_days")]
    pub event_retention_days: i32,
    /// Share of at-risk customers held out from follow-ups (SPEC §12.2).
    #[serde(default)]
    pub holdout_share: f64,
}

/// SPEC §12.1's default current-tier window.
pub const DEFAULT_RISK_WINDOW_DAYS: i32 = 90;
/// The longest current-tier window: a year.
pub const MAX_RISK_WINDOW_DAYS: i32 = 366;
/// SPEC §12.1's default event retention.
pub const DEFAULT_EVENT_RETENTION_DAYS: i32 = 7;
/// The longest event retention. Bounded so the outbox a watch may resume
/// from (and the retention purge) stays a bounded amount of work.
pub const MAX_EVENT_RETENTION_DAYS: i32 = 90;

fn default_risk_window_days() -> i32 {
    DEFAULT_RISK_WINDOW_DAYS
}

fn default_event_retention_days() -> i32 {
    DEFAULT_EVENT_RETENTION_DAYS
}

impl Default for ScoringModel {
    fn default() -> Self {
        Self {
            min_group_size: 5,
            confidence_level: 0.95,
            weights: EffortWeights::default(),
            low_effort_below: 20.0,
            high_effort_from: 50.0,
            prior_strength: 50.0,
            negative_word_of_mouth: OutcomePriorMeans {
                low: 0.01,
                high: 0.81,
            },
            disloyalty: OutcomePriorMeans {
                low: 0.09,
                high: 0.96,
            },
            repurchase: OutcomePriorMeans {
                low: 0.94,
                high: 0.04,
            },
            spend_increase: OutcomePriorMeans {
                low: 0.88,
                high: 0.04,
            },
            risk_window_days: DEFAULT_RISK_WINDOW_DAYS,
            event_retention_days: DEFAULT_EVENT_RETENTION_DAYS,
            holdout_share: 0.0,
        }
    }
}

impl ScoringModel {
    /// The prior means of one outcome kind.
    pub fn prior(&self, kind: OutcomeKind) -> OutcomePriorMeans {
        match kind {
            OutcomeKind::NegativeWordOfMouth => self.negative_word_of_mouth,
            OutcomeKind::Disloyalty => self.disloyalty,
            OutcomeKind::Repurchase => self.repurchase,
            OutcomeKind::SpendIncrease => self.spend_increase,
        }
    }

    fn prior_mut(&mut self, kind: OutcomeKind) -> &mut OutcomePriorMeans {
        match kind {
            OutcomeKind::NegativeWordOfMouth => &mut self.negative_word_of_mouth,
            OutcomeKind::Disloyalty => &mut self.disloyalty,
            OutcomeKind::Repurchase => &mut self.repurchase,
            OutcomeKind::SpendIncrease => &mut self.spend_increase,
        }
    }
}

/// One prior as a caller lists it: the kind it is for (`None` when the
/// caller named no known kind) and its means.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProposedPrior {
    pub kind: Option<OutcomeKind>,
    pub means: OutcomePriorMeans,
}

/// A complete scoring model as a caller sends it, before the rules: parts
/// may be missing and the priors are a list, in the caller's order, that
/// may name a kind twice or leave one out.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedModel {
    pub min_group_size: i32,
    pub confidence_level: f64,
    pub weights: Option<EffortWeights>,
    pub low_effort_below: f64,
    pub high_effort_from: f64,
    pub prior_strength: f64,
    pub priors: Vec<ProposedPrior>,
    /// `None`: the default.
    pub risk_window_days: Option<i32>,
    /// `None`: the default.
    pub event_retention_days: Option<i32>,
    pub holdout_share: f64,
}

impl From<&ScoringModel> for ProposedModel {
    /// The model as a caller would send it back, priors in
    /// [`OutcomeKind::ALL`] order.
    fn from(m: &ScoringModel) -> Self {
        ProposedModel {
            min_group_size: m.min_group_size,
            confidence_level: m.confidence_level,
            weights: Some(m.weights),
            low_effort_below: m.low_effort_below,
            high_effort_from: m.high_effort_from,
            prior_strength: m.prior_strength,
            priors: OutcomeKind::ALL
                .map(|kind| ProposedPrior {
                    kind: Some(kind),
                    means: m.prior(kind),
                })
                .to_vec(),
            risk_window_days: Some(m.risk_window_days),
            event_retention_days: Some(m.event_retention_days),
            holdout_share: m.holdout_share,
        }
    }
}

/// The description of both effort thresholds.
const THRESHOLDS: &str = "must satisfy 0 < low_effort_below ≤ high_effort_from ≤ 100";

impl ProposedModel {
    /// Checks SPEC §7.5 — `min_group_size` ≥ 1, a confidence level in
    /// [`super::violations::CONFIDENCE_LEVELS`], weights from 0 to
    /// [`MAX_MODEL_NUMBER`], thresholds `0 < low ≤ high ≤ 100`,
    /// `MIN_PRIOR_STRENGTH ≤ prior_strength ≤ MAX_MODEL_NUMBER`, means in `[0, 1]` and every
    /// outcome kind's prior given exactly once — and names every violation
    /// under `field` (`model.weights.minute`, `model.priors[2].low_mean`).
    pub fn validate(self, field: &str) -> Result<ScoringModel, Violations> {
        let mut v = Violations::default();
        if self.min_group_size < 1 {
            v.add(format!("{field}.min_group_size"), "must be at least 1");
        }
        check_confidence_level(
            &mut v,
            &format!("{field}.confidence_level"),
            self.confidence_level,
        );
        match &self.weights {
            None => v.add(format!("{field}.weights"), "is required"),
            Some(w) => w.check(&mut v, &format!("{field}.weights")),
        }
        let (low, high) = (self.low_effort_below, self.high_effort_from);
        if !(low > 0.0 && low <= 100.0) {
            v.add(format!("{field}.low_effort_below"), THRESHOLDS);
        }
        if !(high >= low && high <= 100.0) {
            v.add(format!("{field}.high_effort_from"), THRESHOLDS);
        }
        if !(MIN_PRIOR_STRENGTH..=MAX_MODEL_NUMBER).contains(&self.prior_strength) {
            v.add(
                format!("{field}.prior_strength"),
                "must be from 0.000001 (1e-6) to 1,000,000",
            );
        }
        let risk_window_days = self.risk_window_days.unwrap_or(DEFAULT_RISK_WINDOW_DAYS);
        if !(1..=MAX_RISK_WINDOW_DAYS).contains(&risk_window_days) {
            v.add(
                format!("{field}.risk_window_days"),
                format!("must be from 1 to {MAX_RISK_WINDOW_DAYS}"),
            );
        }
        let event_retention_days = self
            .event_retention_days
            .unwrap_or(DEFAULT_EVENT_RETENTION_DAYS);
        if !(1..=MAX_EVENT_RETENTION_DAYS).contains(&event_retention_days) {
            v.add(
                format!("{field}.event_retention_days"),
                format!("must be from 1 to {MAX_EVENT_RETENTION_DAYS}"),
            );
        }
        if !(0.0..=MAX_HOLDOUT_SHARE).contains(&self.holdout_share) {
            v.add(
                format!("{field}.holdout_share"),
                format!("must be from 0 to {MAX_HOLDOUT_SHARE}"),
            );
        }
        let mut model = ScoringModel {
            risk_window_days,
            event_retention_days,
            holdout_share: self.holdout_share,
            min_group_size: self.min_group_size,
            confidence_level: self.confidence_level,
            weights: self.weights.unwrap_or_default(),
            low_effort_below: low,
            high_effort_from: high,
            prior_strength: self.prior_strength,
            ..ScoringModel::default()
        };
        let mut given = [false; OutcomeKind::ALL.len()];
        for (i, p) in self.priors.iter().enumerate() {
            let path = format!("{field}.priors[{i}]");
            let Some(kind) = p.kind else {
                v.add(format!("{path}.kind"), "must be a known outcome kind");
                continue;
            };
            if std::mem::replace(&mut given[kind.index()], true) {
                v.add(format!("{path}.kind"), "appears more than once");
            }
            for (name, mean) in [("low_mean", p.means.low), ("high_mean", p.means.high)] {
                if !(0.0..=1.0).contains(&mean) {
                    v.add(format!("{path}.{name}"), "must be between 0 and 1");
                }
            }
            *model.prior_mut(kind) = p.means;
        }
        for kind in OutcomeKind::ALL {
            if !given[kind.index()] {
                v.add(
                    format!("{field}.priors"),
                    format!("needs a prior for OUTCOME_KIND_{}", kind.as_str()),
                );
            }
        }
        v.into_result().map(|()| model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_model_is_valid() {
        let model = ScoringModel::default();
        assert_eq!(ProposedModel::from(&model).validate("model"), Ok(model));
    }

    #[test]
    fn the_confidence_level_range_is_inclusive() {
        for (level, ok) in [
            (0.5, true),
            (0.999, true),
            (0.4, false),
            (1.0, false),
            (f64::NAN, false),
        ] {
            let p = ProposedModel {
                confidence_level: level,
                ..ProposedModel::from(&ScoringModel::default())
            };
            assert_eq!(p.validate("model").is_ok(), ok, "{level}");
        }
    }

    #[test]
    fn the_stored_json_shape_is_unchanged() {
        let json = serde_json::to_value(ScoringModel::default()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "confidence_level",
                "disloyalty",
                "event_retention_days",
                "high_effort_from",
                "holdout_share",
                "low_effort_below",
                "min_group_size",
                "negative_word_of_mouth",
                "prior_strength",
                "repurchase",
                "risk_window_days",
                "spend_increase",
                "weights",
            ]
        );
        assert_eq!(json["weights"]["minute"], 0.5);
        assert_eq!(json["repurchase"]["low"], 0.94);
    }

    #[test]
    fn a_subnormal_or_tiny_prior_strength_is_refused() {
        for strength in [5e-324, f64::MIN_POSITIVE, 1e-300, 9.9e-7, 0.0, f64::NAN] {
            let mut p = ProposedModel::from(&ScoringModel::default());
            p.prior_strength = strength;
            let v = p.validate("model").unwrap_err();
            let fields: Vec<_> = v.items().iter().map(|(f, _)| f.as_str()).collect();
            assert_eq!(fields, ["model.prior_strength"], "{strength:e}");
        }
        for strength in [MIN_PRIOR_STRENGTH, 1.0, MAX_MODEL_NUMBER] {
            let mut p = ProposedModel::from(&ScoringModel::default());
            p.prior_strength = strength;
            assert!(p.validate("model").is_ok(), "{strength:e}");
        }
    }

    #[test]
    fn invalid_models_name_every_field() {
        let mut p = ProposedModel::from(&ScoringModel::default());
        p.low_effort_below = 0.0;
        p.prior_strength = -1.0;
        p.confidence_level = 1.0;
        let w = p.weights.as_mut().unwrap();
        w.transfer = -1.0;
        w.minute = 1e308;
        p.priors[0].means.high = 1.5;
        p.priors[1].kind = Some(OutcomeKind::Repurchase);
        p.priors[3].kind = None;
        p.risk_window_days = Some(0);
        p.event_retention_days = Some(91);
        p.holdout_share = 0.51;
        let v = p.validate("model").unwrap_err();
        let fields: Vec<_> = v.items().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "model.confidence_level",
                "model.weights.transfer",
                "model.weights.minute",
                "model.low_effort_below",
                "model.prior_strength",
                "model.risk_window_days",
                "model.event_retention_days",
                "model.holdout_share",
                "model.priors[0].high_mean",
                "model.priors[2].kind",
                "model.priors[3].kind",
                "model.priors",
                "model.priors",
            ]
        );
        assert_eq!(v.items()[11].1, "needs a prior for OUTCOME_KIND_DISLOYALTY");
    }

    #[test]
    fn the_loop_settings_default_when_absent_and_old_models_read_as_defaults() {
        let mut p = ProposedModel::from(&ScoringModel::default());
        p.risk_window_days = None;
        p.event_retention_days = None;
        let m = p.validate("model").unwrap();
        assert_eq!((m.risk_window_days, m.event_retention_days), (90, 7));
        let mut old = serde_json::to_value(ScoringModel::default()).unwrap();
        for key in ["risk_window_days", "event_retention_days", "holdout_share"] {
            old.as_object_mut().unwrap().remove(key);
        }
        let read: ScoringModel = serde_json::from_value(old).unwrap();
        assert_eq!(read, ScoringModel::default());
        let mut edge = ProposedModel::from(&ScoringModel::default());
        edge.risk_window_days = Some(MAX_RISK_WINDOW_DAYS);
        edge.event_retention_days = Some(1);
        edge.holdout_share = MAX_HOLDOUT_SHARE;
        assert!(edge.validate("model").is_ok());
    }
}
