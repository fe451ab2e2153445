//! `change` against tests/reference/change_reference.py (statsmodels'
//! Newcombe, proportions_ztest and multipletests; scipy's Welch
//! `ttest_ind(equal_var=False)` and its confidence interval; numpy for the
//! adjusted Wald and the gap variance sum), and its edge cases.

use serde_json::Value;

use super::*;
use crate::scoring::stats::tests::assert_close;

const TOL: f64 = 1e-9;

fn reference() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/reference/change_reference.out.json"
    ))
    .expect("the reference output is JSON")
}

fn u(v: &Value, i: usize) -> u64 {
    v[i].as_u64().unwrap()
}

fn f(v: &Value, i: usize) -> f64 {
    v[i].as_f64().unwrap()
}

#[track_caller]
fn check(got: Change, want: &Value) {
    let field = |k: &str| want[k].as_f64().unwrap();
    assert_close(got.difference, field("difference"), TOL);
    let ci = got.difference_ci.expect("an interval");
    assert_close(ci.lower, field("lower"), TOL);
    assert_close(ci.upper, field("upper"), TOL);
    assert_close(got.p_value.expect("a p-value"), field("p_value"), TOL);
    assert_eq!(got.significant, ci.excludes_zero());
}

#[test]
fn proportions_match_statsmodels() {
    for case in reference()["proportion"].as_array().unwrap() {
        let (b, c) = (&case["baseline"], &case["current"]);
        let level = case["level"].as_f64().unwrap();
        let sample = |v: &Value| WindowSample::Proportion {
            successes: u(v, 0),
            n: u(v, 1),
        };
        check(change(&sample(b), &sample(c), level).unwrap(), case);
        // A question without unfavorable_max: its net score is the share.
        let net = |v: &Value| WindowSample::Net {
            favorable: u(v, 0),
            unfavorable: None,
            n: u(v, 1),
        };
        check(change(&net(b), &net(c), level).unwrap(), case);
    }
}

#[test]
fn net_scores_match_the_adjusted_wald_arithmetic() {
    for case in reference()["net"].as_array().unwrap() {
        let sample = |v: &Value| WindowSample::Net {
            favorable: u(v, 0),
            unfavorable: Some(u(v, 1)),
            n: u(v, 2),
        };
        let level = case["level"].as_f64().unwrap();
        check(
            change(&sample(&case["baseline"]), &sample(&case["current"]), level).unwrap(),
            case,
        );
    }
}

#[test]
fn means_match_scipy_welch() {
    for case in reference()["mean"].as_array().unwrap() {
        let sample = |v: &Value| WindowSample::Mean(Moments::new(u(v, 0), f(v, 1), f(v, 2)));
        let level = case["level"].as_f64().unwrap();
        check(
            change(&sample(&case["baseline"]), &sample(&case["current"]), level).unwrap(),
            case,
        );
    }
}

#[test]
fn gaps_match_the_variance_sum() {
    for case in reference()["gap"].as_array().unwrap() {
        let sample = |v: &Value| WindowSample::Gap {
            points: f(v, 0),
            ci: Interval::new(f(v, 1), f(v, 2)),
        };
        let level = case["level"].as_f64().unwrap();
        check(
            change(&sample(&case["baseline"]), &sample(&case["current"]), level).unwrap(),
            case,
        );
    }
}

#[test]
fn a_series_changes_against_the_previous_point_with_data_and_bh_over_all() {
    let reference = reference();
    let series = &reference["series"];
    let samples: Vec<Option<WindowSample>> = series["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (!p.is_null()).then(|| WindowSample::Proportion {
                successes: u(p, 0),
                n: u(p, 1),
            })
        })
        .collect();
    let got = changes_from_previous(&samples, series["level"].as_f64().unwrap());
    let want = series["changes"].as_array().unwrap();
    assert_eq!(got.len(), want.len());
    for (got, want) in got.iter().zip(want) {
        match got {
            None => assert!(want.is_null()),
            Some((change, q)) => {
                check(*change, want);
                assert_close(q.unwrap(), want["q_value"].as_f64().unwrap(), TOL);
            }
        }
    }
}

#[test]
fn a_series_without_data_has_no_changes() {
    assert_eq!(
        changes_from_previous(&[None, None, None], 0.95),
        [None, None, None]
    );
    assert!(changes_from_previous(&[], 0.95).is_empty());
    let one = WindowSample::Proportion { successes: 1, n: 5 };
    assert_eq!(
        changes_from_previous(&[None, Some(one), None], 0.95),
        [None, None, None]
    );
}

#[test]
fn a_mean_of_one_value_has_a_difference_but_no_test() {
    let one = WindowSample::Mean(Moments::new(1, 4.0, 16.0));
    let many = WindowSample::Mean(Moments::from_values([1.0, 2.0, 6.0]));
    let c = change(&one, &many, 0.95).unwrap();
    assert_close(c.difference, 3.0 - 4.0, 1e-15);
    assert_eq!(
        (c.difference_ci, c.p_value, c.significant),
        (None, None, false)
    );
    // In a series such a change counts for nothing in the BH family.
    let series = changes_from_previous(&[Some(one), Some(many)], 0.95);
    assert_eq!(series[1].unwrap().1, None);
}

#[test]
fn empty_and_mismatched_samples_have_no_change() {
    let empty_share = WindowSample::Proportion { successes: 0, n: 0 };
    let share = WindowSample::Proportion { successes: 3, n: 9 };
    assert_eq!(change(&empty_share, &share, 0.95), None);
    assert_eq!(change(&share, &empty_share, 0.95), None);
    let empty_mean = WindowSample::Mean(Moments::default());
    assert_eq!(
        change(
            &empty_mean,
            &WindowSample::Mean(Moments::from_values([1.0])),
            0.95
        ),
        None
    );
    let empty_net = WindowSample::Net {
        favorable: 0,
        unfavorable: Some(0),
        n: 0,
    };
    let net = WindowSample::Net {
        favorable: 2,
        unfavorable: Some(1),
        n: 4,
    };
    assert_eq!(change(&empty_net, &net, 0.95), None);
    let no_unfavorable = WindowSample::Net {
        favorable: 2,
        unfavorable: None,
        n: 4,
    };
    assert_eq!(change(&no_unfavorable, &net, 0.95), None);
    assert_eq!(change(&share, &net, 0.95), None);
    assert_eq!(change(&share, &share, 1.0), None);
}

#[test]
fn identical_samples_change_by_nothing() {
    let share = WindowSample::Proportion { successes: 3, n: 9 };
    let c = change(&share, &share, 0.95).unwrap();
    assert_eq!(c.difference, 0.0);
    assert_eq!(c.p_value, Some(1.0));
    assert!(!c.significant);
    let gap = WindowSample::Gap {
        points: 12.0,
        ci: Interval::new(12.0, 12.0),
    };
    let moved = WindowSample::Gap {
        points: 14.0,
        ci: Interval::new(14.0, 14.0),
    };
    assert_eq!(change(&gap, &gap, 0.95).unwrap().p_value, Some(1.0));
    let c = change(&gap, &moved, 0.95).unwrap();
    assert_eq!(
        (c.difference, c.p_value, c.significant),
        (2.0, Some(0.0), true)
    );
}

#[test]
fn all_promoters_to_all_detractors_stays_within_200_points() {
    let all = WindowSample::Net {
        favorable: 3,
        unfavorable: Some(0),
        n: 3,
    };
    let none = WindowSample::Net {
        favorable: 0,
        unfavorable: Some(3),
        n: 3,
    };
    let c = change(&all, &none, 0.999).unwrap();
    assert_eq!(c.difference, -200.0);
    let ci = c.difference_ci.unwrap();
    assert!(ci.lower >= -200.0 && ci.upper <= 200.0, "{ci:?}");
}

#[test]
fn histogram_moments_are_the_sums_of_the_scores() {
    let m = histogram_moments(&[(1, 2), (4, 3), (7, 1)]);
    assert_eq!(m, Moments::from_values([1.0, 1.0, 4.0, 4.0, 4.0, 7.0]));
    assert_eq!(histogram_moments(&[]), Moments::default());
}
