//! The priority map (SPEC §16.4): importance-performance analysis
//! (Martilla & James 1977, *Journal of Marketing* 41(1)). Each question is
//! placed against the means of importance and performance over the
//! questions placed, in one of four quadrants, and the map is ordered so
//! the questions that need work come first.
//!
//! Importance and performance are both on 0–100: stated importance is the
//! customers' mean IMPORTANCE score normalized to the scale
//! ([`stated_importance`]), derived importance a rescaled relative weight
//! (% of R², SPEC §11), performance the favorable share × 100.

use serde::{Deserialize, Serialize};

use super::stats::{Interval, Moments, mean_t};

/// Stated importance of one question: customers' mean IMPORTANCE score on
/// the question's scale, normalized to 0–100.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StatedImportance {
    pub value: f64,
    /// The t interval, clipped to 0–100; `None` with a single respondent.
    pub ci: Option<Interval>,
}

/// Stated importance from the IMPORTANCE scores' `n`, `Σx` and `Σx²` on a
/// `scale_min`–`scale_max` scale:
///
/// ```text
/// value = (x̄ − scale_min) / (scale_max − scale_min) × 100
/// ci    = x̄ ± t_{n−1, (1 + c)/2} · s/√n, normalized the same way,
///         clipped to [0, 100]
/// ```
///
/// The normalization is linear, so it maps the t interval of the mean
/// (`stats::mean_t`, scipy's `t.interval`) onto the interval of the
/// normalized mean. A mean cannot leave its scale, so neither may its
/// interval: a small, agreeing sample near the top of the scale would
/// otherwise read "importance 95 (85–105)". With every score equal the
/// interval is the point; with one respondent there is none. `None` for
/// no respondents, a bad scale or a level outside (0, 1).
///
/// Example: 5, 4, 4, 5, 3 on 1–5 → x̄ = 4.2, value 80; s = √0.7,
/// t₄ = 2.776445 at 0.95, so x̄ ± 1.038843 → [54.03, 100] after clipping
/// (106.97 before).
pub fn stated_importance(
    scale_min: i32,
    scale_max: i32,
    moments: Moments,
    confidence: f64,
) -> Option<StatedImportance> {
    if scale_min >= scale_max {
        return None;
    }
    let t = mean_t(moments, confidence)?;
    let (min, span) = (
        f64::from(scale_min),
        f64::from(scale_max) - f64::from(scale_min),
    );
    let normalize = |x: f64| (x - min) / span * 100.0;
    Some(StatedImportance {
        value: normalize(t.estimate),
        ci: t
            .interval
            .map(|ci| Interval::new(normalize(ci.lower), normalize(ci.upper)).clamped(0.0, 100.0)),
    })
}

/// A Martilla–James quadrant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Quadrant {
    /// Importance above the mean, performance below it: fix these first.
    ConcentrateHere,
    /// Both above the mean.
    KeepUpTheGoodWork,
    /// Both below the mean.
    LowPriority,
    /// Importance below the mean, performance above it.
    PossibleOverkill,
}

/// Which importance places the questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ImportanceSource {
    /// Customers' IMPORTANCE answers.
    Stated,
    /// Relative weights against the outcome question (SPEC §11).
    Derived,
}

/// What the map knows of one question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorityInput {
    pub question: String,
    /// Performance in points; `None` when the question is suppressed
    /// (then it is never placed).
    pub performance: Option<f64>,
    /// Stated importance in points; `None` when unmeasured.
    pub stated: Option<f64>,
    /// Derived importance in % of R²; `None` when unmeasured.
    pub derived: Option<f64>,
}

/// The placement of the questions of a map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Placement {
    /// `None` when no question can be placed: neither importance is
    /// measured for an unsuppressed question.
    pub source: Option<ImportanceSource>,
    /// Mean importance over the questions placed (`None` when none is).
    pub importance_mean: Option<f64>,
    /// Mean performance over the questions placed.
    pub performance_mean: Option<f64>,
    /// Per input, in input order: its quadrant, `None` when not placed.
    pub quadrants: Vec<Option<Quadrant>>,
    /// Indices into the inputs, in map order (see [`place`]).
    pub order: Vec<usize>,
}

/// How far from the mean (in points) a value still counts as *at* the
/// mean. Means are sums divided by counts, so a value equal to every other
/// (the same importance for every question) can differ from their mean in
/// the last bits; one billionth of a point is far below anything a survey
/// can measure and far above rounding error on 0–100.
pub const AT_MEAN_TOLERANCE: f64 = 1e-9;

/// The quadrant of a question with `importance` and `performance` against
/// the means of the map (SPEC §16.4):
///
/// ```text
/// importance > mean_i, performance < mean_p  → CONCENTRATE_HERE
/// importance > mean_i, performance ≥ mean_p  → KEEP_UP_THE_GOOD_WORK
/// importance ≤ mean_i, performance < mean_p  → LOW_PRIORITY
/// importance ≤ mean_i, performance ≥ mean_p  → POSSIBLE_OVERKILL
/// ```
///
/// A value at the mean (within [`AT_MEAN_TOLERANCE`]) is classed on the
/// side that calls for no action: importance at the mean is *not above*
/// it, performance at the mean is *not below* it. So CONCENTRATE_HERE (and
/// the scorecard's `top_priority`) needs importance strictly above and
/// performance strictly below the means, and a map whose questions are all
/// equally important has no CONCENTRATE_HERE question: when nothing
/// matters more than anything else, the map does not single one out.
pub fn quadrant(
    importance: f64,
    performance: f64,
    importance_mean: f64,
    performance_mean: f64,
) -> Quadrant {
    let important = importance - importance_mean > AT_MEAN_TOLERANCE;
    let performing = performance - performance_mean >= -AT_MEAN_TOLERANCE;
    match (important, performing) {
        (true, false) => Quadrant::ConcentrateHere,
        (true, true) => Quadrant::KeepUpTheGoodWork,
        (false, false) => Quadrant::LowPriority,
        (false, true) => Quadrant::PossibleOverkill,
    }
}

/// Places the questions of a map and orders them (SPEC §16.4):
///
/// - the importance is *stated* when any unsuppressed question has stated
///   importance — then the questions without it are not placed — else
///   *derived* when any has derived importance, else none and nothing is
///   placed;
/// - placed: the unsuppressed questions with that importance; the means
///   are over them; each gets its [`quadrant`];
/// - order: CONCENTRATE_HERE first, then the other placed questions, each
///   part by importance, largest first (ties by key, byte order); the
///   questions not placed last, by key.
pub fn place(inputs: &[PriorityInput]) -> Placement {
    let has = |f: fn(&PriorityInput) -> Option<f64>| {
        inputs
            .iter()
            .any(|q| q.performance.is_some() && f(q).is_some())
    };
    let source = if has(|q| q.stated) {
        Some(ImportanceSource::Stated)
    } else if has(|q| q.derived) {
        Some(ImportanceSource::Derived)
    } else {
        None
    };
    // (importance, performance) of each input that is placed.
    let points: Vec<Option<(f64, f64)>> = inputs
        .iter()
        .map(|q| {
            let importance = match source? {
                ImportanceSource::Stated => q.stated,
                ImportanceSource::Derived => q.derived,
            }?;
            Some((importance, q.performance?))
        })
        .collect();
    let placed: Vec<(f64, f64)> = points.iter().flatten().copied().collect();
    let mean = |f: fn(&(f64, f64)) -> f64| {
        (!placed.is_empty()).then(|| placed.iter().map(f).sum::<f64>() / placed.len() as f64)
    };
    let importance_mean = mean(|p| p.0);
    let performance_mean = mean(|p| p.1);
    let quadrants: Vec<Option<Quadrant>> = points
        .iter()
        .map(|p| {
            let (i, p) = (*p)?;
            Some(quadrant(i, p, importance_mean?, performance_mean?))
        })
        .collect();

    let mut order: Vec<usize> = (0..inputs.len()).collect();
    // Ranks: 0 CONCENTRATE_HERE, 1 other placed, 2 not placed.
    let rank = |i: usize| match quadrants[i] {
        Some(Quadrant::ConcentrateHere) => 0,
        Some(_) => 1,
        None => 2,
    };
    order.sort_by(|&a, &b| {
        let by_importance = match (points[a], points[b]) {
            (Some((x, _)), Some((y, _))) => y.total_cmp(&x),
            _ => std::cmp::Ordering::Equal,
        };
        rank(a)
            .cmp(&rank(b))
            .then(by_importance)
            .then_with(|| inputs[a].question.cmp(&inputs[b].question))
    });
    Placement {
        source,
        importance_mean,
        performance_mean,
        quadrants,
        order,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Quadrant::*;

    fn input(
        key: &str,
        performance: Option<f64>,
        stated: Option<f64>,
        derived: Option<f64>,
    ) -> PriorityInput {
        PriorityInput {
            question: key.into(),
            performance,
            stated,
            derived,
        }
    }

    fn keys(inputs: &[PriorityInput], p: &Placement) -> Vec<String> {
        p.order
            .iter()
            .map(|&i| inputs[i].question.clone())
            .collect()
    }

    /// tests/reference/priority_reference.out.txt: scores, scale, level,
    /// value, interval (scipy `t.interval`, normalized, clipped).
    #[allow(clippy::type_complexity)]
    const STATED: [(&[i32], (i32, i32), f64, f64, (f64, f64)); 5] = [
        (
            &[5, 4, 4, 5, 3],
            (1, 5),
            0.95,
            80.0,
            (54.028734157910804, 100.0),
        ),
        (
            &[5, 4, 4, 5, 3],
            (1, 5),
            0.9,
            80.0,
            (60.0583993111765, 99.9416006888235),
        ),
        (
            &[7, 6, 7, 5, 6, 7, 4],
            (1, 7),
            0.99,
            83.33333333333334,
            (56.36576263282337, 100.0),
        ),
        (
            &[3, 8, 10, 6, 9, 2],
            (0, 10),
            0.95,
            63.33333333333333,
            (29.058908858182463, 97.6077578084842),
        ),
        (
            &[2, 1, 1, 3, 1, 2, 1, 1],
            (1, 5),
            0.95,
            12.5,
            (0.0, 28.299310353423113),
        ),
    ];

    fn moments(scores: &[i32]) -> Moments {
        Moments::from_values(scores.iter().map(|&x| f64::from(x)))
    }

    #[test]
    fn stated_importance_matches_scipy_and_stays_on_the_scale() {
        for (scores, (lo, hi), level, value, (ci_lo, ci_hi)) in STATED {
            let s = stated_importance(lo, hi, moments(scores), level).unwrap();
            let what = format!("{scores:?} at {level}");
            assert!((s.value - value).abs() < 1e-9, "{what}: {}", s.value);
            let ci = s.ci.unwrap();
            assert!((ci.lower - ci_lo).abs() < 1e-9, "{what}: {ci:?}");
            assert!((ci.upper - ci_hi).abs() < 1e-9, "{what}: {ci:?}");
        }
    }

    #[test]
    fn stated_importance_edge_cases() {
        // One respondent: the value, no interval.
        let one = stated_importance(1, 5, moments(&[4]), 0.95).unwrap();
        assert_eq!((one.value, one.ci), (75.0, None));
        // Every score equal: a point interval.
        let same = stated_importance(1, 5, moments(&[2; 6]), 0.95).unwrap();
        assert_eq!(same.value, 25.0);
        assert_eq!(same.ci, Some(Interval::new(25.0, 25.0)));
        // The ends of the scale.
        let top = stated_importance(0, 10, moments(&[10, 10]), 0.95).unwrap();
        assert_eq!(
            (top.value, top.ci),
            (100.0, Some(Interval::new(100.0, 100.0)))
        );
        // Nothing to measure.
        assert_eq!(stated_importance(1, 5, Moments::default(), 0.95), None);
        assert_eq!(stated_importance(5, 5, moments(&[5, 5]), 0.95), None);
        assert_eq!(stated_importance(1, 5, moments(&[3, 4]), 1.0), None);
    }

    #[test]
    fn the_four_quadrants_against_the_means() {
        // Worked example: stated importance 80, 60, 40, 20 (mean 50) and
        // performance 30, 70, 20, 80 (mean 50).
        let inputs = [
            input("speed", Some(30.0), Some(80.0), None),
            input("convenience", Some(70.0), Some(60.0), None),
            input("ease", Some(20.0), Some(40.0), None),
            input("friendly_support", Some(80.0), Some(20.0), None),
        ];
        let p = place(&inputs);
        assert_eq!(p.source, Some(ImportanceSource::Stated));
        assert_eq!(p.importance_mean, Some(50.0));
        assert_eq!(p.performance_mean, Some(50.0));
        assert_eq!(
            p.quadrants,
            [
                Some(ConcentrateHere),
                Some(KeepUpTheGoodWork),
                Some(LowPriority),
                Some(PossibleOverkill)
            ]
        );
        assert_eq!(
            keys(&inputs, &p),
            ["speed", "convenience", "ease", "friendly_support"]
        );
    }

    #[test]
    fn concentrate_here_leads_then_importance_then_unplaced_by_key() {
        // Stated 90, 70, 50, 30, 10 → mean 50; performance 10, 90, 20, 40,
        // 90 → mean 50. `b` and `a` (unplaced) go last in key order.
        let inputs = [
            input("z_low", Some(40.0), Some(30.0), None),
            input("b", Some(55.0), None, Some(99.0)),
            input("y_top", Some(90.0), Some(70.0), None),
            input("x_fix", Some(10.0), Some(90.0), None),
            input("a", None, Some(100.0), Some(1.0)),
            input("w_mid", Some(20.0), Some(50.0), None),
            input("v_over", Some(90.0), Some(10.0), None),
        ];
        let p = place(&inputs);
        assert_eq!(p.importance_mean, Some(50.0));
        assert_eq!(p.performance_mean, Some(50.0));
        assert_eq!(
            keys(&inputs, &p),
            ["x_fix", "y_top", "w_mid", "z_low", "v_over", "a", "b"]
        );
        assert_eq!(p.quadrants[1], None, "no stated importance: not placed");
        assert_eq!(p.quadrants[4], None, "suppressed: never placed");
        // w_mid is at the importance mean: not above it.
        assert_eq!(p.quadrants[5], Some(LowPriority));
    }

    #[test]
    fn a_value_at_the_mean_is_on_the_side_that_calls_for_no_action() {
        assert_eq!(quadrant(50.0, 50.0, 50.0, 50.0), PossibleOverkill);
        assert_eq!(quadrant(50.0, 49.0, 50.0, 50.0), LowPriority);
        assert_eq!(quadrant(51.0, 50.0, 50.0, 50.0), KeepUpTheGoodWork);
        assert_eq!(quadrant(51.0, 49.0, 50.0, 50.0), ConcentrateHere);
        // Within the tolerance counts as at the mean.
        assert_eq!(
            quadrant(50.0 + 1e-12, 50.0 - 1e-12, 50.0, 50.0),
            PossibleOverkill
        );
        assert_eq!(
            quadrant(50.0 + 1e-6, 50.0 - 1e-6, 50.0, 50.0),
            ConcentrateHere
        );
    }

    #[test]
    fn equal_importance_everywhere_singles_nothing_out() {
        // 0.1 three times: the float mean is 0.10000000000000002, not 0.1.
        let inputs = [
            input("a", Some(10.0), Some(0.1), None),
            input("b", Some(40.0), Some(0.1), None),
            input("c", Some(70.0), Some(0.1), None),
        ];
        let p = place(&inputs);
        assert_ne!(p.importance_mean, Some(0.1), "the float mean is off");
        assert_eq!(
            p.quadrants,
            [
                Some(LowPriority),
                Some(PossibleOverkill),
                Some(PossibleOverkill)
            ]
        );
        // Equal importance: key order within each part.
        assert_eq!(keys(&inputs, &p), ["a", "b", "c"]);
    }

    #[test]
    fn derived_importance_when_no_question_has_stated() {
        let inputs = [
            input("a", Some(30.0), None, Some(60.0)),
            input("b", Some(70.0), None, Some(30.0)),
            input("c", Some(50.0), None, None),
            // Stated importance on a suppressed question does not count.
            input("d", None, Some(80.0), Some(10.0)),
        ];
        let p = place(&inputs);
        assert_eq!(p.source, Some(ImportanceSource::Derived));
        assert_eq!(p.importance_mean, Some(45.0));
        assert_eq!(p.performance_mean, Some(50.0));
        assert_eq!(
            p.quadrants,
            [Some(ConcentrateHere), Some(PossibleOverkill), None, None]
        );
        assert_eq!(keys(&inputs, &p), ["a", "b", "c", "d"]);
    }

    #[test]
    fn without_any_importance_nothing_is_placed() {
        let inputs = [
            input("b", Some(30.0), None, None),
            input("a", None, None, None),
        ];
        let p = place(&inputs);
        assert_eq!(p.source, None);
        assert_eq!((p.importance_mean, p.performance_mean), (None, None));
        assert_eq!(p.quadrants, [None, None]);
        assert_eq!(keys(&inputs, &p), ["a", "b"]);
        let empty = place(&[]);
        assert!(empty.order.is_empty() && empty.source.is_none());
    }

    #[test]
    fn one_question_placed_sits_on_both_means() {
        let inputs = [input("only", Some(40.0), Some(70.0), None)];
        let p = place(&inputs);
        assert_eq!(p.importance_mean, Some(70.0));
        assert_eq!(p.performance_mean, Some(40.0));
        assert_eq!(p.quadrants, [Some(PossibleOverkill)]);
    }
}
