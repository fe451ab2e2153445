//! The measured effect of following up high-effort customers (SPEC §12.2):
//! the outcome rate of the customers followed up against that of the
//! holdout, from the counts `store::follow_ups` aggregates in SQL.
//!
//! Each rate carries its Wilson interval; the difference is the change
//! from the comparison arm to the followed-up arm of `change` (Newcombe's
//! interval, the pooled two-proportion z-test), so it agrees with every
//! other difference of shares the service reports.

use super::change::{WindowSample, change};
use super::stats::{Interval, share, wilson_interval};

/// Customers of one arm and, of them, those with the outcome afterwards.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArmCounts {
    pub customers: u64,
    pub occurred: u64,
}

/// The customers raised to HIGH in a window, by what happened after.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EffectCounts {
    pub followed_up: ArmCounts,
    pub holdout: ArmCounts,
    /// Neither held out nor followed up.
    pub not_followed_up: ArmCounts,
}

/// One arm's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arm {
    pub customers: u64,
    pub occurred: u64,
    /// occurred / customers; `None` without customers.
    pub rate: Option<f64>,
    /// Wilson interval of the rate; `None` with it.
    pub rate_ci: Option<Interval>,
}

impl Arm {
    fn of(counts: ArmCounts, confidence: f64) -> Arm {
        Arm {
            customers: counts.customers,
            occurred: counts.occurred,
            rate: share(counts.occurred, counts.customers),
            rate_ci: wilson_interval(counts.occurred, counts.customers, confidence),
        }
    }

    fn sample(&self) -> WindowSample {
        WindowSample::Proportion {
            successes: self.occurred,
            n: self.customers,
        }
    }
}

/// The comparison of the two arms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowUpEffect {
    pub followed_up: Arm,
    /// The holdout, or (when `confounded`) the customers not followed up.
    pub comparison: Arm,
    /// followed_up rate − comparison rate, in points; `None` unless both
    /// arms have customers.
    pub difference_points: Option<f64>,
    /// Newcombe's interval of the difference, in points.
    pub difference_ci: Option<Interval>,
    /// Two-sided pooled z-test p-value of "no difference".
    pub p_value: Option<f64>,
    /// `difference_ci` excludes 0.
    pub significant: bool,
    /// No customer was held out: the comparison is with the customers not
    /// followed up, which is observational (whoever chose whom to call may
    /// have chosen by how likely the outcome was).
    pub confounded: bool,
}

/// The effect at `confidence`:
///
/// ```text
/// comparison = holdout, or not_followed_up when the holdout is empty (confounded)
/// rateᵢ = occurredᵢ / customersᵢ,  rate_ciᵢ = Wilson(occurredᵢ, customersᵢ)
/// d  = (rate_f − rate_c) × 100
/// ci = Newcombe(x_f, n_f, x_c, n_c) × 100;  p = pooled z-test
/// ```
///
/// A difference needs customers in both arms; with one arm empty, the
/// other's rate is still reported.
pub fn follow_up_effect(counts: &EffectCounts, confidence: f64) -> FollowUpEffect {
    let confounded = counts.holdout.customers == 0;
    let comparison = if confounded {
        counts.not_followed_up
    } else {
        counts.holdout
    };
    let followed_up = Arm::of(counts.followed_up, confidence);
    let comparison = Arm::of(comparison, confidence);
    let difference = change(&comparison.sample(), &followed_up.sample(), confidence);
    FollowUpEffect {
        followed_up,
        comparison,
        difference_points: difference.map(|d| d.difference),
        difference_ci: difference.and_then(|d| d.difference_ci),
        p_value: difference.and_then(|d| d.p_value),
        significant: difference.is_some_and(|d| d.significant),
        confounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(customers: u64, occurred: u64) -> ArmCounts {
        ArmCounts {
            customers,
            occurred,
        }
    }

    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < 1e-6,
            "{actual} is not {expected}"
        );
    }

    #[test]
    fn the_spec_example_of_newcombe_is_the_difference_of_the_arms() {
        // SPEC §5: 80/100 against 8/100 at 95% → [0.6069, 0.7972].
        let counts = EffectCounts {
            followed_up: arm(100, 80),
            holdout: arm(100, 8),
            not_followed_up: arm(500, 400),
        };
        let e = follow_up_effect(&counts, 0.95);
        assert!(!e.confounded);
        assert_eq!(e.comparison.customers, 100, "the holdout, not the rest");
        close(e.difference_points.unwrap(), 72.0);
        let ci = e.difference_ci.unwrap();
        assert!((ci.lower - 60.69).abs() < 0.01 && (ci.upper - 79.72).abs() < 0.01);
        assert!(e.significant);
        assert!(e.p_value.unwrap() < 1e-20);
        close(e.followed_up.rate.unwrap(), 0.8);
        let w = e.followed_up.rate_ci.unwrap();
        // Wilson 80/100 at 95% (Newcombe 1998, table I style): [0.7112, 0.8666].
        assert!((w.lower - 0.7112).abs() < 1e-4 && (w.upper - 0.8666).abs() < 1e-4);
    }

    #[test]
    fn fewer_outcomes_after_a_follow_up_is_a_negative_difference() {
        // 30/200 followed up against 20/50 held out: -25 points.
        let e = follow_up_effect(
            &EffectCounts {
                followed_up: arm(200, 30),
                holdout: arm(50, 20),
                not_followed_up: arm(0, 0),
            },
            0.95,
        );
        close(e.difference_points.unwrap(), -25.0);
        let ci = e.difference_ci.unwrap();
        assert!(ci.upper < 0.0 && ci.lower > -100.0);
        assert!(e.significant);
        // Pooled z: p̂ = 50/250 = 0.2, se = sqrt(0.16 (1/200 + 1/50)) = 0.063246,
        // z = -0.25/0.063246 = -3.952847; p = erfc(3.952847/√2) = 7.72e-5.
        let p = e.p_value.unwrap();
        assert!((p - 7.7227e-5).abs() < 1e-8, "{p}");
    }

    #[test]
    fn without_a_holdout_the_rest_is_compared_and_flagged() {
        let e = follow_up_effect(
            &EffectCounts {
                followed_up: arm(40, 10),
                holdout: arm(0, 0),
                not_followed_up: arm(60, 30),
            },
            0.9,
        );
        assert!(e.confounded);
        assert_eq!((e.comparison.customers, e.comparison.occurred), (60, 30));
        close(e.difference_points.unwrap(), -25.0);
    }

    #[test]
    fn an_empty_arm_has_no_rate_and_there_is_no_difference() {
        let e = follow_up_effect(
            &EffectCounts {
                followed_up: arm(0, 0),
                holdout: arm(12, 3),
                not_followed_up: arm(5, 1),
            },
            0.95,
        );
        assert!(!e.confounded);
        assert_eq!(e.followed_up.rate, None);
        assert_eq!(e.followed_up.rate_ci, None);
        close(e.comparison.rate.unwrap(), 0.25);
        assert!(e.comparison.rate_ci.is_some());
        assert_eq!(e.difference_points, None);
        assert_eq!(e.difference_ci, None);
        assert_eq!(e.p_value, None);
        assert!(!e.significant);

        let nothing = follow_up_effect(&EffectCounts::default(), 0.95);
        assert!(nothing.confounded, "no holdout at all");
        assert_eq!(nothing.comparison.rate, None);
        assert_eq!(nothing.difference_points, None);
    }

    #[test]
    fn identical_arms_are_no_evidence() {
        let e = follow_up_effect(
            &EffectCounts {
                followed_up: arm(30, 0),
                holdout: arm(10, 0),
                not_followed_up: arm(0, 0),
            },
            0.95,
        );
        close(e.difference_points.unwrap(), 0.0);
        assert_eq!(e.p_value, Some(1.0));
        assert!(!e.significant);
        assert_eq!(e.followed_up.rate_ci.unwrap().lower, 0.0);
    }
}
