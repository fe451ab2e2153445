//! The expectation gaps of one RATING question (SPEC §16.2, SERVQUAL):
//! gap 5, customers' experience against their own expectation (paired),
//! and gap 1, an inside role's belief about what customers expect against
//! what customers expect (two independent samples).

use super::{
    RatingQuestion, Role,
    frames::{PairedSums, PointsTest, control_fdr, paired_test, shown_from, welch_test},
    stats::{Interval, Moments, wilson_interval},
};

/// Gap 5 over the CUSTOMER responses that answered the question in both
/// the EXPECTATION and the EXPERIENCE frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerGap {
    /// Paired respondents.
    pub respondents: u64,
    /// Fewer respondents than [`shown_from`]: only the count is shown.
    pub suppressed: bool,
    /// `None` exactly when suppressed.
    pub figures: Option<CustomerGapFigures>,
}

/// The figures of a gap 5 that is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerGapFigures {
    pub mean_expectation: f64,
    pub mean_experience: f64,
    /// Mean of (experience − expectation) in points, with the paired t
    /// interval and p-value: negative when customers got less than they
    /// expected.
    pub gap: PointsTest,
    /// Respondents whose experience is below their expectation.
    pub shortfalls: u64,
    /// `shortfalls / respondents`.
    pub shortfall_share: f64,
    /// Wilson score interval of `shortfall_share`.
    pub shortfall_share_ci: Interval,
}

/// Gap 5 of one question from the paired sums of experience −
/// expectation.
pub fn customer_gap(
    sums: &PairedSums,
    scale: &RatingQuestion,
    min_group_size: u64,
    confidence: f64,
) -> CustomerGap {
    let n = sums.respondents;
    let figures = (n >= shown_from(min_group_size))
        .then(|| {
            let (mean_experience, mean_expectation) = sums.means()?;
            Some(CustomerGapFigures {
                mean_expectation,
                mean_experience,
                gap: paired_test(sums, scale, confidence)?,
                shortfalls: sums.below,
                shortfall_share: sums.below as f64 / n as f64,
                shortfall_share_ci: wilson_interval(sums.below, n, confidence)?,
            })
        })
        .flatten();
    CustomerGap {
        respondents: n,
        suppressed: figures.is_none(),
        figures,
    }
}

/// Gap 1 of one inside role.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Belief {
    /// The role's respondents with an EXPECTATION answer.
    pub respondents: u64,
    /// CUSTOMER respondents with an EXPECTATION answer.
    pub customer_respondents: u64,
    /// Either side has fewer respondents than [`shown_from`]: only the
    /// two counts are shown.
    pub suppressed: bool,
    /// `None` exactly when suppressed.
    pub figures: Option<BeliefFigures>,
}

/// The figures of a gap 1 that is shown.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeliefFigures {
    pub mean_expectation: f64,
    pub customer_mean_expectation: f64,
    /// (role mean − customer mean) in points, with Welch's t interval and
    /// p-value: positive when the role believes customers expect more than
    /// they do.
    pub gap: PointsTest,
}

/// Gap 1 of one role from the moments of its EXPECTATION scores and of
/// customers'.
pub fn belief(
    role: Moments,
    customers: Moments,
    scale: &RatingQuestion,
    min_group_size: u64,
    confidence: f64,
) -> Belief {
    let shown = role.n.min(customers.n) >= shown_from(min_group_size);
    let figures = shown
        .then(|| {
            Some(BeliefFigures {
                mean_expectation: role.mean()?,
                customer_mean_expectation: customers.mean()?,
                gap: welch_test(role, customers, scale, confidence)?,
            })
        })
        .flatten();
    Belief {
        respondents: role.n,
        customer_respondents: customers.n,
        suppressed: figures.is_none(),
        figures,
    }
}

/// Both expectation gaps of one question.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectationFigures {
    pub customers: CustomerGap,
    /// LEADERSHIP's, then STAFF's; a role without EXPECTATION answers is
    /// left out.
    pub beliefs: Vec<(Role, Belief)>,
}

/// Controls the false discovery rate over every test of one response:
/// each question's gap 5 and gap 1 tests that are shown ([`control_fdr`]).
pub fn control_expectation_fdr(questions: &mut [ExpectationFigures], confidence: f64) {
    let tests = questions.iter_mut().flat_map(|q| {
        let customers = q.customers.figures.as_mut().map(|f| &mut f.gap);
        let beliefs = q
            .beliefs
            .iter_mut()
            .filter_map(|(_, b)| b.figures.as_mut().map(|f| &mut f.gap));
        customers.into_iter().chain(beliefs)
    });
    control_fdr(tests, confidence);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{
        frames::tests::{SHORT_SPEED, scale},
        stats::tests::assert_close,
    };

    const TOL: f64 = 1e-9;

    // Reference values: tests/reference/frames_reference.out.txt ("unit").

    #[test]
    fn gap_5_matches_scipy_and_statsmodels() {
        let g = customer_gap(&SHORT_SPEED, &scale(1, 5), 5, 0.95);
        assert_eq!((g.respondents, g.suppressed), (6, false));
        let f = g.figures.unwrap();
        assert_close(f.mean_experience, 19.0 / 6.0, TOL);
        assert_close(f.mean_expectation, 26.0 / 6.0, TOL);
        assert_close(f.gap.points, -29.166666666666668, TOL);
        assert_close(f.gap.ci.lower, -54.96158691361683, TOL);
        assert_close(f.gap.ci.upper, -3.3717464197165086, TOL);
        assert_close(f.gap.p_value, 0.0335323976037179, TOL);
        assert_eq!((f.shortfalls, f.shortfall_share), (4, 4.0 / 6.0));
        assert_close(f.shortfall_share_ci.lower, 0.299993315138392, TOL);
        assert_close(f.shortfall_share_ci.upper, 0.9032285888942195, TOL);
    }

    #[test]
    fn gap_5_below_the_threshold_shows_only_its_count() {
        let g = customer_gap(&SHORT_SPEED, &scale(1, 5), 7, 0.95);
        assert_eq!((g.respondents, g.suppressed, g.figures), (6, true, None));
        let one = PairedSums {
            respondents: 1,
            sum_experience: 2,
            sum_framed: 4,
            sum_sq_difference: 4,
            above: 0,
            below: 1,
        };
        assert!(customer_gap(&one, &scale(1, 5), 1, 0.95).suppressed);
        let none = customer_gap(&PairedSums::default(), &scale(1, 5), 5, 0.95);
        assert_eq!((none.respondents, none.suppressed), (0, true));
    }

    /// Leaders [3,4,3,4,3] against customers [5,4,5,5,4,5,4] on 1–7.
    const LEADERS: Moments = Moments {
        n: 5,
        sum: 17.0,
        sum_sq: 59.0,
    };
    const CUSTOMERS: Moments = Moments {
        n: 7,
        sum: 32.0,
        sum_sq: 148.0,
    };

    #[test]
    fn gap_1_matches_scipy_welch() {
        let b = belief(LEADERS, CUSTOMERS, &scale(1, 7), 5, 0.90);
        assert_eq!((b.respondents, b.customer_respondents), (5, 7));
        let f = b.figures.unwrap();
        assert_close(f.mean_expectation, 3.4, TOL);
        assert_close(f.customer_mean_expectation, 32.0 / 7.0, TOL);
        assert_close(f.gap.points, -19.523809523809504, TOL);
        assert_close(f.gap.ci.lower, -29.272002332262794, TOL);
        assert_close(f.gap.ci.upper, -9.775616715356218, TOL);
        assert_close(f.gap.p_value, 0.005377235644995448, TOL);
        assert!(f.gap.significant);
    }

    #[test]
    fn gap_1_is_suppressed_when_either_side_is_small() {
        let b = belief(LEADERS, CUSTOMERS, &scale(1, 7), 6, 0.90);
        assert_eq!((b.suppressed, b.figures), (true, None));
        let b = belief(CUSTOMERS, LEADERS, &scale(1, 7), 6, 0.90);
        assert_eq!((b.respondents, b.customer_respondents), (7, 5));
        assert!(b.suppressed);
        let nobody = Moments {
            n: 0,
            sum: 0.0,
            sum_sq: 0.0,
        };
        assert!(belief(LEADERS, nobody, &scale(1, 7), 1, 0.90).suppressed);
    }

    #[test]
    fn the_fdr_family_is_every_shown_test_of_the_response() {
        let shown = ExpectationFigures {
            customers: customer_gap(&SHORT_SPEED, &scale(1, 5), 5, 0.95),
            beliefs: vec![
                (
                    Role::Leadership,
                    belief(LEADERS, CUSTOMERS, &scale(1, 5), 5, 0.95),
                ),
                (
                    Role::Staff,
                    belief(LEADERS, CUSTOMERS, &scale(1, 5), 6, 0.95),
                ),
            ],
        };
        let hidden = ExpectationFigures {
            customers: customer_gap(&SHORT_SPEED, &scale(1, 5), 9, 0.95),
            beliefs: vec![],
        };
        let mut questions = vec![shown, hidden];
        let p5 = questions[0].customers.figures.unwrap().gap.p_value;
        let p1 = questions[0].beliefs[0].1.figures.unwrap().gap.p_value;
        control_expectation_fdr(&mut questions, 0.95);
        // Two tests: BH q = (max p, min(2·min p, max p)).
        let q5 = questions[0].customers.figures.unwrap().gap.q_value;
        let q1 = questions[0].beliefs[0].1.figures.unwrap().gap.q_value;
        assert_close(q5.max(q1), p5.max(p1), TOL);
        assert_close(q5.min(q1), (2.0 * p5.min(p1)).min(p5.max(p1)), TOL);
        assert!(questions[0].beliefs[1].1.suppressed);
        assert!(questions[1].customers.suppressed);
    }
}
