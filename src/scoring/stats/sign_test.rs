//! The exact sign test (SPEC §16.3): of the customers who rated us and a
//! competitor differently, do more prefer one side than chance allows?

use super::incomplete_beta::regularized_incomplete_beta;

/// Two-sided exact sign test of "wins and losses are equally likely",
/// ties excluded by the caller. With `n = wins + losses` and
/// `k = min(wins, losses)`:
///
/// ```text
/// p = min(1, 2 · P(X ≤ k)),  X ~ Binomial(n, ½)
/// P(X ≤ k) = I_{1/2}(n − k, k + 1)
/// ```
///
/// the binomial tail as a regularized incomplete beta
/// (`incomplete_beta::regularized_incomplete_beta`), so the cost does not grow with `k`:
/// a continued fraction of 0.1–0.2·√n terms at worst (n near 2k), 1,700
/// at n = 10⁸.
///
/// This is scipy's `binomtest(wins, n, 0.5).pvalue`: for p = ½ the
/// outcomes at least as unlikely as `k` are the two tails `≤ k` and
/// `≥ n − k`. (scipy counts as "as unlikely" any probability within
/// a relative 1e-7 of that of `k`; the two differ only within a few
/// outcomes of n/2 past n ≈ 2·10⁷, where both are ≈ 1.)
///
/// 1.0 when there is nothing to test (`wins + losses = 0`) and when
/// `wins = losses`.
pub fn sign_test_p_value(wins: u64, losses: u64) -> f64 {
    let n = u128::from(wins) + u128::from(losses);
    let k = wins.min(losses);
    if n == 0 || 2 * u128::from(k) == n {
        return 1.0;
    }
    let (n, k) = (n as f64, k as f64);
    (2.0 * regularized_incomplete_beta(n - k, k + 1.0, 0.5, 0.5)).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// binomtest(wins, wins + losses, 0.5).pvalue: (wins, losses, p),
    /// significance_reference.py.
    const BINOMTEST: &[(u64, u64, f64)] = &[
        (30, 70, 7.85013964559367e-05),
        (70, 30, 7.85013964559367e-05),
        (5200, 4800, 6.593515598672343e-05),
        (4800, 5200, 6.593515598672343e-05),
        (0, 10, 0.001953125),
        (10, 0, 0.001953125),
        (1, 20, 2.09808349609375e-05),
        (0, 1, 1.0),
        (3, 3, 1.0),
        (7, 8, 1.0),
        (0, 1000, 1.8665272370064378e-301),
        (1, 1000, 9.351301457402253e-299),
        (500000, 502000, 0.0458246952632217),
        (5000000, 5003000, 0.34301500080841996),
        (49990000, 50010000, 0.045511062629572274),
    ];

    #[test]
    fn matches_scipy_binomtest() {
        for &(wins, losses, expected) in BINOMTEST {
            let p = sign_test_p_value(wins, losses);
            // Relative even at 1e-301.
            assert!(
                (p - expected).abs() <= 1e-9 * expected,
                "{wins}/{losses}: expected {expected:e}, got {p:e}"
            );
        }
    }

    #[test]
    fn nothing_to_test_and_even_splits_give_one() {
        assert_eq!(sign_test_p_value(0, 0), 1.0);
        assert_eq!(sign_test_p_value(4, 4), 1.0);
        assert_eq!(sign_test_p_value(u64::MAX, u64::MAX), 1.0);
    }

    #[test]
    fn one_sided_extremes_underflow_to_zero_without_a_panic() {
        // 2 · 2⁻⁵⁰⁰⁰ is far below the smallest double.
        assert_eq!(sign_test_p_value(0, 5000), 0.0);
        assert_eq!(sign_test_p_value(5000, 0), 0.0);
    }

    #[test]
    fn small_cases_equal_the_binomial_sum() {
        // 2 · Σ_{j ≤ k} C(n, j) / 2ⁿ, summed exactly in integers.
        fn by_sum(wins: u64, losses: u64) -> f64 {
            let n = wins + losses;
            let k = wins.min(losses);
            let mut c: u128 = 1;
            let mut tail: u128 = 0;
            for j in 0..=k {
                if j > 0 {
                    c = c * u128::from(n - j + 1) / u128::from(j);
                }
                tail += c;
            }
            (2.0 * tail as f64 / 2f64.powi(n as i32)).min(1.0)
        }
        for n in 1..=60u64 {
            for wins in 0..=n {
                let (p, expected) = (sign_test_p_value(wins, n - wins), by_sum(wins, n - wins));
                assert!(
                    (p - expected).abs() <= 1e-12 * expected,
                    "{wins}/{n}: {p} vs {expected}"
                );
            }
        }
    }

    proptest! {
        #[test]
        fn is_a_symmetric_probability(wins in 0u64..20_000_000, losses in 0u64..20_000_000) {
            let p = sign_test_p_value(wins, losses);
            prop_assert!((0.0..=1.0).contains(&p));
            prop_assert_eq!(p, sign_test_p_value(losses, wins));
        }
    }
}
