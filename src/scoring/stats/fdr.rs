//! False discovery rate control over a family of tests (SPEC §10.2).

/// Benjamini–Hochberg adjusted p-values ("q-values"), in the order of the
/// input (Benjamini & Hochberg 1995). With the m p-values sorted
/// ascending, `p₍₁₎ ≤ … ≤ p₍ₘ₎`:
///
/// ```text
/// q₍ᵢ₎ = min(1, min_{j ≥ i} p₍ⱼ₎ · m / j)
/// ```
///
/// Declaring every test with `q < α` significant keeps the expected share
/// of false discoveries among them at most α. Equal to statsmodels'
/// `multipletests(p, method='fdr_bh')[1]`; tied p-values get equal
/// q-values, whatever their order. O(m log m) for the sort.
///
/// Empty input gives an empty output. p-values are probabilities; a NaN
/// (a caller's bug) counts toward m, gets a NaN q-value and leaves the
/// others as if it were the largest p-value.
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let sort_key = |i: usize| {
        let p = p_values[i];
        if p.is_nan() { f64::INFINITY } else { p }
    };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| sort_key(i).total_cmp(&sort_key(j)));
    let mut q = vec![f64::NAN; m];
    let mut running = 1.0_f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let p = p_values[i];
        if p.is_nan() {
            continue;
        }
        // p / (j/m) rather than p·m/j: never below p, and statsmodels' rounding.
        running = running.min(p / ((rank + 1) as f64 / m as f64));
        q[i] = running;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// multipletests(p, method='fdr_bh')[1]: (p, q), significance_reference.py.
    const FDR_BH: &[(&[f64], &[f64])] = &[
        (
            &[0.01, 0.04, 0.03, 0.04, 0.2, 0.001, 0.5, 1.0, 0.04],
            &[
                0.045000000000000005,
                0.060000000000000005,
                0.060000000000000005,
                0.060000000000000005,
                0.2571428571428572,
                0.009000000000000001,
                0.5625,
                1.0,
                0.060000000000000005,
            ],
        ),
        (&[0.5], &[0.5]),
        (&[0.03, 0.03, 0.03], &[0.03, 0.03, 0.03]),
        (&[0.0, 1.0, 0.0, 0.2], &[0.0, 1.0, 0.0, 0.26666666666666666]),
        (&[0.9, 0.8, 0.7, 0.6, 0.5], &[0.9, 0.9, 0.9, 0.9, 0.9]),
        (
            &[
                1e-12, 0.049, 0.051, 0.0001, 0.3, 0.049, 0.7, 0.002, 0.011, 0.0125,
            ],
            &[
                1e-11,
                0.06374999999999999,
                0.06374999999999999,
                0.0005,
                0.3333333333333333,
                0.06374999999999999,
                0.7,
                0.006666666666666667,
                0.025,
                0.025,
            ],
        ),
    ];

    #[test]
    fn matches_statsmodels_fdr_bh() {
        for &(p, expected) in FDR_BH {
            let q = benjamini_hochberg(p);
            assert_eq!(q.len(), expected.len());
            for (got, want) in q.iter().zip(expected) {
                assert!(
                    (got - want).abs() <= 1e-12 * want,
                    "{p:?}: {q:?} vs {expected:?}"
                );
            }
        }
    }

    #[test]
    fn empty_in_empty_out() {
        assert_eq!(benjamini_hochberg(&[]), Vec::<f64>::new());
    }

    #[test]
    fn a_nan_is_contained() {
        let q = benjamini_hochberg(&[0.01, f64::NAN, 0.04]);
        assert!(q[1].is_nan());
        // m = 3: 0.01·3/1 = 0.03, 0.04·3/2 = 0.06.
        assert!(
            (q[0] - 0.03).abs() < 1e-15 && (q[2] - 0.06).abs() < 1e-15,
            "{q:?}"
        );
    }

    proptest! {
        /// q ≥ p, q ≤ 1, q is monotone in p, and ties get equal q-values.
        #[test]
        fn q_values_are_ordered_like_p_values(
            p in proptest::collection::vec(
                prop_oneof![0.0f64..=1.0, Just(0.05), Just(0.0), Just(1.0)], 0..300),
        ) {
            let q = benjamini_hochberg(&p);
            prop_assert_eq!(q.len(), p.len());
            for i in 0..p.len() {
                prop_assert!(p[i] <= q[i] && q[i] <= 1.0);
                for j in 0..p.len() {
                    if p[i] < p[j] { prop_assert!(q[i] <= q[j]); }
                    if p[i] == p[j] { prop_assert_eq!(q[i], q[j]); }
                }
            }
        }
    }
}
