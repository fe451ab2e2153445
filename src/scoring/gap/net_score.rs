//! An interval on every net score (SPEC §10.1): the adjusted-Wald interval
//! of one net score (NPS for `likelihood_to_recommend`) and of the
//! difference of two (Rocks 2016, *The American Statistician*; Lewis &
//! Sauro, MeasuringU).
//!
//! A net score is the mean of a three-valued answer (+1 favorable, 0
//! neutral, −1 unfavorable), so neither share's Wilson interval describes
//! it. The adjusted Wald adds three pseudo-respondents, ¾ of one favorable,
//! ¾ unfavorable and 1.5 neutral, which keeps the interval away from a
//! zero width at 0 % or 100 % promoters and gives it the best coverage of
//! the six methods Rocks compared.

use statrs::function::erf::erfc;

use crate::scoring::stats::{Interval, z_for_confidence};

/// The adjusted-Wald estimate of one net score, as fractions (not points).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdjustedNet {
    /// NPS' = p' − d'.
    pub net: f64,
    /// SE' = √((p' + d' − (p' − d')²)/n').
    pub standard_error: f64,
}

impl AdjustedNet {
    /// The estimate from n respondents of whom F are favorable and U
    /// unfavorable:
    ///
    /// ```text
    /// n' = n + 3,  p' = (F + 0.75)/n',  d' = (U + 0.75)/n'
    /// NPS' = p' − d'
    /// SE'  = √((p' + d' − (p' − d')²)/n')
    /// ```
    ///
    /// Defined for every n, 0 included (then NPS' = 0 and SE' = √(1/6)),
    /// and SE' is never 0: with p', d' > 0 and p' + d' ≤ 1,
    /// (p' − d')² < (p' + d')² ≤ p' + d'.
    ///
    /// `None` when F + U > n (a favorable score is never unfavorable).
    pub fn new(favorable: u64, unfavorable: u64, n: u64) -> Option<Self> {
        if favorable.checked_add(unfavorable)? > n {
            return None;
        }
        let n_adjusted = n as f64 + 3.0;
        let p = (favorable as f64 + 0.75) / n_adjusted;
        let d = (unfavorable as f64 + 0.75) / n_adjusted;
        let net = p - d;
        Some(AdjustedNet {
            net,
            standard_error: ((p + d - net * net) / n_adjusted).sqrt(),
        })
    }

    /// The interval of the net score in points:
    ///
    /// ```text
    /// (NPS' ± z·SE') × 100, clipped to [−100, 100]
    /// ```
    ///
    /// A net score cannot leave [−100, 100], and the adjusted estimate
    /// near ±1 would without the clip (all of 12 promoters: NPS' = 0.80,
    /// SE' ≈ 0.13, upper bound 1.06 at 95 %).
    ///
    /// `None` for a confidence level outside (0, 1).
    pub fn interval(&self, confidence: f64) -> Option<Interval> {
        let z = z_for_confidence(confidence)?;
        let half = z * self.standard_error;
        Some(
            Interval::new(self.net - half, self.net + half)
                .scaled(100.0)
                .clamped(-100.0, 100.0),
        )
    }
}

/// The adjusted-Wald comparison of two net scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetDifference {
    /// Interval of NPS'_from − NPS'_to, in points.
    pub ci: Interval,
    /// Two-sided p-value of NPS'_from = NPS'_to.
    pub p_value: f64,
}

/// Compares two independent net scores (SPEC §10.1):
///
/// ```text
/// Δ'  = NPS'_from − NPS'_to
/// SE  = √(SE'²_from + SE'²_to)
/// ci  = (Δ' ± z·SE) × 100, clipped to [−200, 200]
/// p   = 2·(1 − Φ(|Δ'|/SE)) = erfc(|Δ'|/(SE·√2))
/// ```
///
/// The difference of two net scores lies in [−200, 200] points; the clip
/// matters only for tiny groups at a high confidence level, where the
/// normal approximation would otherwise report impossible bounds.
///
/// `None` for a confidence level outside (0, 1).
pub fn net_difference(
    from: AdjustedNet,
    to: AdjustedNet,
    confidence: f64,
) -> Option<NetDifference> {
    let z = z_for_confidence(confidence)?;
    let difference = from.net - to.net;
    let se = from.standard_error.hypot(to.standard_error);
    let ci = Interval::new(difference - z * se, difference + z * se)
        .scaled(100.0)
        .clamped(-200.0, 200.0);
    // erfc keeps precision in the far tail, where 1 − Φ would round to 0.
    let p_value = erfc(difference.abs() / (se * std::f64::consts::SQRT_2)).clamp(0.0, 1.0);
    Some(NetDifference { ci, p_value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::stats::tests::assert_close;

    type OneSample = (u64, u64, u64, f64, f64, f64, f64, f64);
    type TwoSample = (u64, u64, u64, u64, u64, u64, f64, f64, f64, f64);

    /// numpy/scipy arithmetic of the formula, tests/reference/nps_reference.py
    /// (nps_reference.out.txt): (F, U, n, level, NPS', SE', lower, upper).
    const ONE_SAMPLE: &[OneSample] = &[
        (
            50,
            20,
            100,
            0.95,
            0.2912621359223301,
            0.07691510421814757,
            14.051130178761607,
            44.20129700570441,
        ),
        (
            5,
            3,
            10,
            0.95,
            0.15384615384615385,
            0.2332216825445723,
            -30.32599443550416,
            61.09522520473494,
        ),
        (
            5,
            3,
            10,
            0.9,
            0.15384615384615385,
            0.2332216825445723,
            -22.97693765710107,
            53.74616842633184,
        ),
        (
            0,
            0,
            0,
            0.95,
            0.0,
            0.408248290463863,
            -80.01519460592183,
            80.01519460592183,
        ),
        (
            12,
            0,
            12,
            0.95,
            0.7999999999999999,
            0.1316561177208767,
            54.19587509227159,
            100.0,
        ),
        (
            0,
            12,
            12,
            0.95,
            -0.7999999999999999,
            0.1316561177208767,
            -100.0,
            -54.19587509227159,
        ),
        (1, 0, 1, 0.999, 0.25, 0.375, -98.3947524309472, 100.0),
        (
            0,
            7,
            7,
            0.999,
            -0.7000000000000001,
            0.18973665961010275,
            -100.0,
            -7.566644960897262,
        ),
        (
            120,
            150,
            400,
            0.99,
            -0.07444168734491313,
            0.04071798871023975,
            -17.932427584632197,
            3.044090115649571,
        ),
        (
            523,
            310,
            1200,
            0.5,
            0.17705735660847882,
            0.023464182799939805,
            16.12310058131922,
            19.288370740376543,
        ),
    ];

    /// (F1, U1, n1, F2, U2, n2, level, lower, upper, p).
    const TWO_SAMPLE: &[TwoSample] = &[
        (
            50,
            20,
            100,
            30,
            40,
            100,
            0.95,
            16.86587974532808,
            60.80402316729327,
            0.0005309253862366105,
        ),
        (
            80,
            5,
            100,
            8,
            70,
            100,
            0.95,
            116.6330212561913,
            149.38639621953686,
            4.7065517800174955e-57,
        ),
        (
            5,
            3,
            10,
            5,
            3,
            10,
            0.95,
            -64.64456435195784,
            64.64456435195784,
            1.0,
        ),
        (
            12,
            0,
            12,
            0,
            12,
            12,
            0.95,
            123.5074565903211,
            196.4925434096789,
            8.444879045638577e-18,
        ),
        (
            1,
            0,
            1,
            0,
            1,
            1,
            0.999,
            -124.50653241351597,
            200.0,
            0.3457785861511603,
        ),
        (
            30,
            10,
            60,
            20,
            15,
            45,
            0.9,
            -4.4021042711003595,
            47.060834429830514,
            0.17273936589654237,
        ),
    ];

    #[test]
    fn one_net_score_matches_the_reference() {
        assert!(!ONE_SAMPLE.is_empty());
        for &(f, u, n, level, net, se, lower, upper) in ONE_SAMPLE {
            let a = AdjustedNet::new(f, u, n).unwrap();
            let what = format!("{f}/{u} of {n} at {level}");
            assert_close(a.net, net, 1e-12 * net.abs().max(1.0));
            assert_close(a.standard_error, se, 1e-12);
            let ci = a.interval(level).unwrap();
            assert!((ci.lower - lower).abs() <= 1e-9, "{what}: {ci:?}");
            assert!((ci.upper - upper).abs() <= 1e-9, "{what}: {ci:?}");
        }
    }

    #[test]
    fn two_net_scores_match_the_reference() {
        assert!(!TWO_SAMPLE.is_empty());
        for &(f1, u1, n1, f2, u2, n2, level, lower, upper, p) in TWO_SAMPLE {
            let what = format!("{f1}/{u1} of {n1} against {f2}/{u2} of {n2} at {level}");
            let d = net_difference(
                AdjustedNet::new(f1, u1, n1).unwrap(),
                AdjustedNet::new(f2, u2, n2).unwrap(),
                level,
            )
            .unwrap();
            assert!((d.ci.lower - lower).abs() <= 1e-9, "{what}: {d:?}");
            assert!((d.ci.upper - upper).abs() <= 1e-9, "{what}: {d:?}");
            assert!((d.p_value - p).abs() <= 1e-9 * p, "{what}: {d:?}");
        }
    }

    #[test]
    fn nobody_is_a_net_score_of_zero_with_the_widest_interval() {
        let a = AdjustedNet::new(0, 0, 0).unwrap();
        assert_eq!(a.net, 0.0);
        assert_close(a.standard_error, (1.0f64 / 6.0).sqrt(), 1e-15);
        let ci = a.interval(0.95).unwrap();
        assert_close(ci.lower, -ci.upper, 1e-12);
        assert!(ci.upper < 100.0);
    }

    #[test]
    fn all_promoters_or_all_detractors_stay_inside_the_scale() {
        for n in [1, 2, 5, 10, 1000] {
            for level in [0.5, 0.95, 0.999] {
                let all = AdjustedNet::new(n, 0, n).unwrap();
                let none = AdjustedNet::new(0, n, n).unwrap();
                let (up, down) = (all.interval(level).unwrap(), none.interval(level).unwrap());
                assert!(-100.0 <= up.lower && up.lower < up.upper && up.upper <= 100.0);
                assert!(-100.0 <= down.lower && down.lower < down.upper && down.upper <= 100.0);
                assert_close(up.lower, -down.upper, 1e-9);
                // The estimate is pulled towards 0 but the bound reaches
                // the observed +100 only when clipped.
                assert!(all.net < 1.0 && all.net > 0.0);
                let d = net_difference(all, none, level).unwrap();
                assert!(-200.0 <= d.ci.lower && d.ci.upper <= 200.0, "{d:?}");
            }
        }
        // A tiny group at 99.9 % reaches the clip.
        let ci = AdjustedNet::new(1, 0, 1).unwrap().interval(0.999).unwrap();
        assert_eq!(ci.upper, 100.0);
        let d = net_difference(
            AdjustedNet::new(1, 0, 1).unwrap(),
            AdjustedNet::new(0, 1, 1).unwrap(),
            0.999,
        )
        .unwrap();
        // Δ' = 0.5 ± 3.29·0.53: the upper bound 224.5 is clipped to 200.
        assert_eq!(d.ci.upper, 200.0);
        assert!(d.ci.lower > -200.0);
    }

    #[test]
    fn equal_net_scores_have_a_p_value_of_one() {
        let a = AdjustedNet::new(30, 20, 100).unwrap();
        let d = net_difference(a, a, 0.95).unwrap();
        assert_eq!(d.p_value, 1.0);
        assert_close(d.ci.lower, -d.ci.upper, 1e-12);
    }

    #[test]
    fn impossible_counts_and_levels_are_refused() {
        assert_eq!(AdjustedNet::new(6, 5, 10), None);
        assert_eq!(AdjustedNet::new(u64::MAX, 1, u64::MAX), None);
        let a = AdjustedNet::new(1, 1, 3).unwrap();
        assert_eq!(a.interval(1.0), None);
        assert_eq!(net_difference(a, a, 0.0), None);
    }
}
