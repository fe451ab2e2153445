use super::*;
use proptest::prelude::*;

/// `|actual − expected| ≤ rel · max(1, |expected|)`: relative for large
/// values, absolute near 0 (where a relative bound is meaningless).
#[track_caller]
pub(crate) fn assert_close(actual: f64, expected: f64, rel: f64) {
    let tol = rel * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tol,
        "expected {expected}, got {actual} (diff {:e}, tolerance {tol:e})",
        (actual - expected).abs()
    );
}

#[track_caller]
fn assert_interval(actual: Interval, expected: (f64, f64), rel: f64) {
    assert_close(actual.lower, expected.0, rel);
    assert_close(actual.upper, expected.1, rel);
}

const TOL: f64 = 1e-9;

#[test]
fn z_matches_textbook_values() {
    assert_close(z_for_confidence(0.95).unwrap(), 1.959963984540054, 1e-12);
    assert_close(z_for_confidence(0.90).unwrap(), 1.6448536269514722, 1e-12);
    assert_close(z_for_confidence(0.99).unwrap(), 2.5758293035489004, 1e-12);
    assert_close(z_for_confidence(0.5).unwrap(), 0.6744897501960817, 1e-12);
}

#[test]
fn z_is_none_outside_the_open_unit_interval() {
    for level in [1.0, 0.0, -0.5, 1.5, f64::NAN, f64::INFINITY] {
        assert_eq!(z_for_confidence(level), None, "{level}");
    }
    assert_eq!(wilson_interval(1, 2, 1.0), None);
}

// Reference values: printed by tests/reference/stats_reference.py
// (statsmodels 0.15.0, scipy 1.17.1).

#[test]
fn wilson_matches_statsmodels() {
    // proportion_confint(x, n, alpha=1 - c, method="wilson")
    let cases: &[(u64, u64, f64, (f64, f64))] = &[
        (80, 100, 0.95, (0.7111708344068411, 0.8666330666689676)),
        (8, 100, 0.95, (0.041093461484380624, 0.14998107700948735)),
        (0, 10, 0.95, (0.0, 0.2775327998628892)),
        (10, 10, 0.95, (0.7224672001371107, 0.9999999999999999)),
        (1, 1, 0.95, (0.20654931437723745, 1.0)),
        (3, 7, 0.9, (0.186443190363956, 0.7105229089864071)),
        (3, 7, 0.99, (0.11637368051613817, 0.8102850959116124)),
        (523, 1200, 0.95, (0.40802642067482403, 0.46404975773586027)),
    ];
    for &(x, n, c, expected) in cases {
        assert_interval(wilson_interval(x, n, c).unwrap(), expected, TOL);
    }
}

#[test]
fn wilson_is_exact_at_the_boundaries() {
    let zero = wilson_interval(0, 25, 0.95).unwrap();
    assert_eq!(zero.lower, 0.0);
    assert!(zero.upper > 0.0 && zero.upper < 1.0);
    let all = wilson_interval(25, 25, 0.95).unwrap();
    assert_eq!(all.upper, 1.0);
    assert!(all.lower > 0.0 && all.lower < 1.0);
}

#[test]
fn wilson_is_none_without_data() {
    assert_eq!(wilson_interval(0, 0, 0.95), None);
    assert_eq!(wilson_interval(3, 2, 0.95), None);
}

#[test]
fn newcombe_matches_spec_example() {
    let ci = newcombe_diff_interval(80, 100, 8, 100, 0.95).unwrap();
    assert_eq!((ci.lower * 10_000.0).round() / 100.0, 60.69);
    assert_eq!((ci.upper * 10_000.0).round() / 100.0, 79.72);
}

#[test]
fn newcombe_matches_statsmodels() {
    // confint_proportions_2indep(x1, n1, x2, n2, compare="diff",
    //                            method="newcomb", alpha=1 - c)
    // (x1, n1, x2, n2, confidence, (lower, upper))
    type Case = (u64, u64, u64, u64, f64, (f64, f64));
    let cases: &[Case] = &[
        (
            80,
            100,
            8,
            100,
            0.95,
            (0.6069160851430027, 0.7971601212607812),
        ),
        (
            8,
            100,
            80,
            100,
            0.95,
            (-0.7971601212607812, -0.6069160851430027),
        ),
        (5, 5, 0, 7, 0.95, (0.4393529903596999, 1.0)),
        (
            0,
            12,
            0,
            9,
            0.95,
            (-0.2991450484195441, 0.24249400665524085),
        ),
        (
            30,
            40,
            45,
            90,
            0.9,
            (0.09779865701683046, 0.37723145623453425),
        ),
        (
            30,
            40,
            45,
            90,
            0.99,
            (0.008624262734893973, 0.43568882223124417),
        ),
    ];
    for &(x1, n1, x2, n2, c, expected) in cases {
        assert_interval(
            newcombe_diff_interval(x1, n1, x2, n2, c).unwrap(),
            expected,
            TOL,
        );
    }
    assert_eq!(newcombe_diff_interval(1, 0, 1, 2, 0.95), None);
}

#[test]
fn pooled_z_test_matches_statsmodels() {
    // proportions_ztest([x1, x2], [n1, n2], alternative="two-sided")
    let cases: &[(u64, u64, u64, u64, f64)] = &[
        (80, 100, 8, 100, 1.1069972132181755e-24),
        (30, 40, 45, 90, 0.007747593679451278),
        (12, 20, 10, 20, 0.5250099664186034),
        (5, 5, 0, 7, 0.0005320055051392492),
    ];
    for &(x1, n1, x2, n2, expected) in cases {
        let p = pooled_z_test_p_value(x1, n1, x2, n2);
        // Relative even for tiny p-values: erfc keeps them precise.
        assert!(
            (p - expected).abs() <= TOL * expected,
            "{x1}/{n1} vs {x2}/{n2}: expected {expected}, got {p}"
        );
    }
}

#[test]
fn pooled_z_test_is_one_when_undefined() {
    assert_eq!(pooled_z_test_p_value(0, 10, 0, 20), 1.0);
    assert_eq!(pooled_z_test_p_value(10, 10, 20, 20), 1.0);
    assert_eq!(pooled_z_test_p_value(3, 10, 0, 0), 1.0);
    assert_eq!(pooled_z_test_p_value(0, 0, 0, 0), 1.0);
    assert_eq!(pooled_z_test_p_value(4, 10, 4, 10), 1.0);
}

/// scipy.stats.beta(a, b): (a, b, c, mean, var, ppf((1-c)/2), ppf((1+c)/2)).
pub(crate) const BETA_REFERENCE: &[(f64, f64, f64, f64, f64, f64, f64)] = &[
    (
        40.5,
        9.5,
        0.95,
        0.81,
        0.0030176470588235294,
        0.6915452736369296,
        0.9050376914264296,
    ),
    (
        0.5,
        49.5,
        0.95,
        0.01,
        0.00019411764705882354,
        9.970066657287018e-06,
        0.049723385287822046,
    ),
    (
        10.25,
        14.75,
        0.9,
        0.41,
        0.009303846153846154,
        0.2552753332509225,
        0.573078760825851,
    ),
    (
        48.0,
        2.0,
        0.99,
        0.96,
        0.0007529411764705883,
        0.8579350749716737,
        0.997868249914412,
    ),
    (
        70.5,
        19.5,
        0.95,
        0.7833333333333333,
        0.0018650793650793651,
        0.6930866280385355,
        0.8616652668521917,
    ),
    (
        10.25,
        14.75,
        0.95,
        0.41,
        0.009303846153846154,
        0.22958310776175847,
        0.6040628341694254,
    ),
];

#[test]
fn beta_matches_scipy() {
    for &(a, b, c, mean, var, lo, hi) in BETA_REFERENCE {
        assert_close(beta_mean(a, b).unwrap(), mean, 1e-12);
        assert_close(beta_variance(a, b).unwrap(), var, 1e-12);
        let ci = beta_credible_interval(a, b, c).unwrap();
        // Relative to the bound itself: the lower bound can be ~1e-5.
        assert!(
            (ci.lower - lo).abs() <= TOL * lo && (ci.upper - hi).abs() <= TOL * hi,
            "Beta({a}, {b}) at {c}: expected [{lo}, {hi}], got {ci:?}"
        );
    }
}

/// (a, b, conf, lo, hi): exact quantiles past [`LARGE_SHAPE`], where the
/// interval is the normal limit (stats_reference.py).
const LARGE_BETA_REFERENCE: &[(f64, f64, f64, f64, f64)] = &[
    (2e6, 3e6, 0.95, 0.39957063135388876, 0.40042944441834716),
    (1.5e6, 4e7, 0.99, 0.03606998908142929, 0.03621925152185158),
    (2.5e6, 10.0, 0.95, 0.9999931661142716, 0.9999980818498139),
];

#[test]
fn beta_past_the_large_shape_is_its_normal_limit_within_1e_6() {
    for &(a, b, c, lo, hi) in LARGE_BETA_REFERENCE {
        assert!(a.max(b) > LARGE_SHAPE);
        let ci = beta_credible_interval(a, b, c).unwrap();
        assert_close(ci.lower, lo, 1e-6);
        assert_close(ci.upper, hi, 1e-6);
    }
}

#[test]
fn beta_with_a_zero_shape_is_a_point_mass() {
    assert_eq!(beta_mean(0.0, 50.0), Some(0.0));
    assert_eq!(beta_variance(0.0, 50.0), Some(0.0));
    assert_eq!(
        beta_credible_interval(0.0, 50.0, 0.95),
        Some(Interval::new(0.0, 0.0))
    );
    assert_eq!(
        beta_credible_interval(50.0, 0.0, 0.95),
        Some(Interval::new(1.0, 1.0))
    );
}

#[test]
fn beta_functions_answer_every_input_without_a_panic() {
    // Issue 11, finding 10: a prior strength of 5e-324 made MEDIUM's
    // α = β = 0 and the assertion here ended every loyalty call.
    let odd = [
        0.0,
        5e-324,
        f64::MIN_POSITIVE / 3.0,
        f64::MIN_POSITIVE,
        1e-300,
        0.5,
        50.0,
        f64::MAX,
        f64::INFINITY,
        f64::NAN,
        -1.0,
        -5e-324,
    ];
    for a in odd {
        for b in odd {
            for c in [0.95, 0.0, 1.0, f64::NAN] {
                let mean = beta_mean(a, b);
                let var = beta_variance(a, b);
                let ci = beta_credible_interval(a, b, c);
                assert_eq!(mean.is_some(), beta_parameters_valid(a, b), "{a:e} {b:e}");
                for x in mean.into_iter().chain(var) {
                    assert!((0.0..=1.0).contains(&x), "Beta({a:e}, {b:e}): {x}");
                }
                if let Some(ci) = ci {
                    assert!(
                        0.0 <= ci.lower && ci.lower <= ci.upper && ci.upper <= 1.0,
                        "Beta({a:e}, {b:e}) at {c}: {ci:?}"
                    );
                }
            }
        }
    }
    // Both shapes subnormal: two point masses, P(1) = 0.81.
    let (a, b) = (0.81 * 5e-310, 0.19 * 5e-310);
    assert_eq!(
        beta_credible_interval(a, b, 0.95),
        Some(Interval::new(0.0, 1.0))
    );
    assert_eq!(
        beta_credible_interval(a, b, 0.5),
        Some(Interval::new(1.0, 1.0))
    );
    assert_eq!(beta_mean(0.0, 0.0), None);
    assert_eq!(cosine_similarity(&[1.0], &[1.0, 2.0]), None);
}

#[test]
fn cosine_similarity_basics() {
    assert_close(
        cosine_similarity(&[1.0, 0.0], &[0.0, 1.0]).unwrap(),
        0.0,
        1e-15,
    );
    assert_close(
        cosine_similarity(&[0.2, 0.4], &[0.1, 0.2]).unwrap(),
        1.0,
        1e-15,
    );
    assert_close(
        cosine_similarity(&[0.5, 0.25, 0.0], &[0.1, 0.3, 0.6]).unwrap(),
        0.3296902366978935, // stats_reference.py
        1e-12,
    );
    assert_eq!(cosine_similarity(&[], &[]), None);
    assert_eq!(cosine_similarity(&[0.0, 0.0], &[0.1, 0.2]), None);
}

#[test]
fn percentile_cont_matches_postgres() {
    // SELECT percentile_cont(q) WITHIN GROUP (ORDER BY v)
    //   FROM unnest('{10,20,30,40}'::float8[]) v;
    let v = [10.0, 20.0, 30.0, 40.0];
    assert_eq!(percentile_cont(&v, 0.5), Some(25.0));
    assert_eq!(percentile_cont(&v, 0.9), Some(37.0));
    assert_eq!(percentile_cont(&v, 0.0), Some(10.0));
    assert_eq!(percentile_cont(&v, 1.0), Some(40.0));
    assert_eq!(percentile_cont(&[90.0], 0.9), Some(90.0));
    assert_eq!(percentile_cont(&[], 0.5), None);
    assert_eq!(percentile_cont(&v, 1.5), None);
    assert_eq!(percentile_cont(&v, f64::NAN), None);
}

proptest! {
    #[test]
    fn wilson_contains_p_and_stays_in_unit_interval(
        n in 1u64..5_000,
        frac in 0.0f64..=1.0,
        level in 0.5f64..0.999,
    ) {
        let x = ((n as f64) * frac).round() as u64;
        let ci = wilson_interval(x, n, level).unwrap();
        let p = x as f64 / n as f64;
        prop_assert!(0.0 <= ci.lower && ci.lower <= p && p <= ci.upper && ci.upper <= 1.0,
            "{x}/{n} at {level}: {ci:?}");
    }

    #[test]
    fn newcombe_contains_the_difference(
        n1 in 1u64..2_000, f1 in 0.0f64..=1.0,
        n2 in 1u64..2_000, f2 in 0.0f64..=1.0,
        level in 0.5f64..0.999,
    ) {
        let x1 = ((n1 as f64) * f1).round() as u64;
        let x2 = ((n2 as f64) * f2).round() as u64;
        let ci = newcombe_diff_interval(x1, n1, x2, n2, level).unwrap();
        let d = x1 as f64 / n1 as f64 - x2 as f64 / n2 as f64;
        prop_assert!(-1.0 <= ci.lower && ci.lower <= d + 1e-12
            && d - 1e-12 <= ci.upper && ci.upper <= 1.0, "{ci:?} vs {d}");
        let p = pooled_z_test_p_value(x1, n1, x2, n2);
        prop_assert!((0.0..=1.0).contains(&p));
    }

    #[test]
    fn beta_interval_is_ordered_and_holds_the_median(
        mean in 0.001f64..0.999, strength in 1.0f64..500.0, level in 0.5f64..0.999,
    ) {
        let (a, b) = (mean * strength, (1.0 - mean) * strength);
        let ci = beta_credible_interval(a, b, level).unwrap();
        prop_assert!(0.0 <= ci.lower && ci.lower <= ci.upper && ci.upper <= 1.0);
        // Any central interval holds the median (for very skewed shapes
        // it need not hold the mean).
        let median = beta_quantile(&Beta::new(a, b).unwrap(), 0.5);
        prop_assert!(ci.contains(median), "{ci:?} vs {median}");
    }

    #[test]
    fn beta_quantile_is_the_generalized_inverse_of_the_cdf(
        mean in 0.001f64..0.999, strength in 1.0f64..500.0, q in 0.0005f64..0.9995,
    ) {
        // inf {x : F(x) ≥ q}: F reaches q at x, and not one float below.
        let dist = Beta::new(mean * strength, (1.0 - mean) * strength).unwrap();
        let x = beta_quantile(&dist, q);
        prop_assert!((0.0..=1.0).contains(&x));
        prop_assert!(beta_cdf(&dist, x) >= q - 1e-9, "F({x}) = {} < {q}", beta_cdf(&dist, x));
        if x > 0.0 {
            let below = f64::from_bits(x.to_bits() - 1);
            prop_assert!(beta_cdf(&dist, below) <= q + 1e-9, "F({below}) = {} > {q}", beta_cdf(&dist, below));
        }
    }
}

#[test]
fn a_tiny_prior_strength_gives_finite_figures() {
    // Beta(0.81 s, 0.19 s), down to strengths so small that s² underflows:
    // the variance is m(1 − m)/(s + 1), not 0/0.
    // (Subnormal shapes are taken at their limit, see
    // `beta_functions_answer_every_input_without_a_panic`.)
    for s in [1e-3, 1e-6, 1e-12, 1e-50, 1e-100, 1e-200, 1e-300] {
        let (a, b) = (0.81 * s, 0.19 * s);
        let mean = beta_mean(a, b).unwrap();
        let var = beta_variance(a, b).unwrap();
        assert!((mean - 0.81).abs() < 1e-9, "s = {s}: mean {mean}");
        assert!(
            (var - 0.81 * 0.19 / (s + 1.0)).abs() < 1e-12,
            "s = {s}: variance {var}"
        );
        let ci = beta_credible_interval(a, b, 0.95).unwrap();
        assert!(
            ci.lower.is_finite() && ci.upper.is_finite() && ci.lower <= ci.upper,
            "s = {s}: {ci:?}"
        );
    }
}

#[test]
fn a_beta_quantile_beyond_f64_resolution_is_the_endpoint() {
    // The case proptest found: Beta(0.99774, 0.00226) at 0.5636. Near 1,
    // P(X > x) ≈ (1 − x)^β, so the 0.218-quantile is 1 − 0.782^(1/β) ≈
    // 1 − 5e-48 and the 0.782-quantile nearer still: both 1.0 in f64 (F at
    // the float just below 1 is about 0.08). statrs gave 0.99999999999996 and,
    // for the median, 0.99999999999989, outside its own interval.
    let a = 0.997743083112334;
    let dist = Beta::new(a, 1.0 - a).unwrap();
    let below_one = f64::from_bits(1.0_f64.to_bits() - 1);
    assert!(
        beta_cdf(&dist, below_one) < 0.1,
        "{}",
        beta_cdf(&dist, below_one)
    );
    let ci = beta_credible_interval(a, 1.0 - a, 0.56359758215457).unwrap();
    assert_eq!((ci.lower, ci.upper), (1.0, 1.0));
    assert_eq!(beta_quantile(&dist, 0.5), 1.0);
    // Where statrs answers, its answer stands: the Beta(2, 3) median, the
    // root of F(x) = x²(6 − 8x + 3x²) = 0.5, is 0.38572756813238956
    // (python3: 200 bisection steps on that polynomial).
    let regular = Beta::new(2.0, 3.0).unwrap();
    assert!((beta_quantile(&regular, 0.5) - 0.385_727_568_132_389_56).abs() < 1e-9);
}
