//! Student's t distribution: the two-sided quantile for a confidence level
//! and the two-sided tail of a t statistic, for every number of degrees of
//! freedom from 1 to the billions.

use statrs::distribution::{Continuous, ContinuousCDF, StudentsT};

use super::incomplete_beta::regularized_incomplete_beta;
use super::z_for_confidence;

/// Two-sided p-value of a t statistic with `df` degrees of freedom:
///
/// ```text
/// p = P(|T_df| ≥ |t|) = I_{df/(df + t²)}(df/2, 1/2)
/// ```
///
/// (the regularized incomplete beta of `incomplete_beta`,
/// precise in both tails; `t = ±∞` gives 0).
///
/// `None` when `t` is NaN or `df` is outside `[1, MAX_DEGREES_OF_FREEDOM]`.
pub fn t_two_sided_p_value(t: f64, df: f64) -> Option<f64> {
    if t.is_nan() || !valid_df(df) {
        return None;
    }
    let t2 = t * t;
    // x = df/(df + t²) and y = t²/(df + t²), each from its own side, in a
    // form that stays defined at t = 0 and t = ±∞.
    let x = 1.0 / (1.0 + t2 / df);
    let y = 1.0 / (1.0 + df / t2);
    Some(regularized_incomplete_beta(df / 2.0, 0.5, x, y))
}

/// Two-sided Student t quantile for a confidence level, the t analogue of
/// [`z_for_confidence`]:
///
/// ```text
/// t = F⁻¹_df((1 + level)/2),  so that P(|T_df| ≤ t) = level
/// ```
///
/// e.g. df = 11 at 0.95 → 2.200985.
///
/// - `df ≥ 1000`: the Cornish–Fisher expansion in 1/df (Abramowitz &
///   Stegun 26.7.5, four terms), `z + g₁(z)/df + g₂(z)/df² + g₃(z)/df³ +
///   g₄(z)/df⁴`, within 3e-14 of scipy there for levels up to 0.999.
///   statrs's quantile is not used there: it is off by 1e-7 at 3·10⁴, by
///   1% at 2·10⁶, and does not return at 10⁸.
/// - below: statrs's quantile (within 5e-9 there), refined by Newton's
///   method on [`t_two_sided_p_value`] until it moves by less than a few
///   units in the last place.
///
/// `None` unless `level` is strictly between 0 and 1 and `df` is in
/// `[1, MAX_DEGREES_OF_FREEDOM]`.
pub fn t_for_confidence(level: f64, df: f64) -> Option<f64> {
    let z = z_for_confidence(level)?;
    if !valid_df(df) {
        return None;
    }
    if df >= CORNISH_FISHER_DF {
        return Some(cornish_fisher(z, df));
    }
    let dist = StudentsT::new(0.0, 1.0, df).ok()?;
    let alpha = 1.0 - level;
    let mut t = dist.inverse_cdf(0.5 + level / 2.0);
    for _ in 0..4 {
        // tail(t) − α falls with t at rate 2·pdf(t).
        let step = (t_two_sided_p_value(t, df)? - alpha) / (2.0 * dist.pdf(t));
        if !step.is_finite() {
            break;
        }
        t += step;
        if step.abs() <= 4.0 * f64::EPSILON * t {
            break;
        }
    }
    Some(t)
}

/// The most degrees of freedom these functions take: far above any count
/// of respondents (a t test on `u64` counts has at most 2⁶⁵), far below
/// where the terms of the continued fraction would overflow (~10¹⁵⁰).
pub const MAX_DEGREES_OF_FREEDOM: f64 = 1e30;

/// Every t test here has at least one degree of freedom (n ≥ 2; Welch's
/// df is at least min(nₐ, n_b) − 1).
fn valid_df(df: f64) -> bool {
    (1.0..=MAX_DEGREES_OF_FREEDOM).contains(&df)
}

/// From here on the quantile is the Cornish–Fisher expansion.
const CORNISH_FISHER_DF: f64 = 1000.0;

fn cornish_fisher(z: f64, df: f64) -> f64 {
    let z2 = z * z;
    let g1 = z * (z2 + 1.0) / 4.0;
    let g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0;
    let g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0;
    let g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0;
    z + (g1 + (g2 + (g3 + g4 / df) / df) / df) / df
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// stats.t.ppf((1 + level)/2, df): (df, level, t), significance_reference.py.
    const T_QUANTILES: &[(f64, f64, f64)] = &[
        (1.0, 0.5, 1.0000000000000002),
        (1.0, 0.9, 6.313751514675037),
        (1.0, 0.95, 12.706204736174694),
        (1.0, 0.99, 63.656741162871526),
        (1.0, 0.999, 636.6192487687897),
        (1.0001, 0.5, 0.9999584086877985),
        (1.0001, 0.9, 6.312681447960551),
        (1.0001, 0.95, 12.703202820451473),
        (1.0001, 0.99, 63.63153325939531),
        (1.0001, 0.999, 636.2206986299209),
        (2.0, 0.5, 0.8164965809277261),
        (2.0, 0.9, 2.9199855803537242),
        (2.0, 0.95, 4.302652729749462),
        (2.0, 0.99, 9.924843200918287),
        (2.0, 0.999, 31.599054576445365),
        (3.7, 0.5, 0.7464851534824539),
        (3.7, 0.9, 2.1824938039146007),
        (3.7, 0.95, 2.8675207071911895),
        (3.7, 0.99, 4.8692522532278275),
        (3.7, 0.999, 9.474240137124664),
        (9.0, 0.5, 0.7027221467513264),
        (9.0, 0.9, 1.833112932656237),
        (9.0, 0.95, 2.262157162798205),
        (9.0, 0.99, 3.249835541592126),
        (9.0, 0.999, 4.780912585931217),
        (29.0, 0.5, 0.6830438608216131),
        (29.0, 0.9, 1.6991270265334972),
        (29.0, 0.95, 2.045229642132703),
        (29.0, 0.99, 2.756385903670605),
        (29.0, 0.999, 3.6594050194663748),
        (99.0, 0.5, 0.6769759855461531),
        (99.0, 0.9, 1.6603911560169906),
        (99.0, 0.95, 1.9842169515864174),
        (99.0, 0.99, 2.626405457280827),
        (99.0, 0.999, 3.391528833363685),
        (250.0, 0.5, 0.675472361397439),
        (250.0, 0.9, 1.650971489812858),
        (250.0, 0.95, 1.9694983934211532),
        (250.0, 0.99, 2.5956376304661806),
        (250.0, 0.999, 3.329867205673151),
        (999.0, 0.5, 0.6747354103467192),
        (999.0, 0.9, 1.646380345427535),
        (999.0, 0.95, 1.9623414611334493),
        (999.0, 0.99, 2.5807596372676365),
        (999.0, 0.999, 3.3002924403987666),
        (1000.0, 0.5, 0.6747351646070093),
        (1000.0, 0.9, 1.6463788172854643),
        (1000.0, 0.95, 1.9623390808264083),
        (1000.0, 0.99, 2.580754698065951),
        (1000.0, 0.999, 3.300282648423944),
        (4321.5, 0.5, 0.6745465252325202),
        (4321.5, 0.9, 1.6452063049190289),
        (4321.5, 0.95, 1.960513081959134),
        (4321.5, 0.99, 2.5769674714588886),
        (4321.5, 0.999, 3.292779602190031),
        (100000.0, 0.5, 0.674492203553292),
        (100000.0, 0.9, 1.6448688647849696),
        (100000.0, 0.95, 1.9599877075346095),
        (100000.0, 0.99, 2.575878469908375),
        (100000.0, 0.999, 3.2906240314119137),
        (1000000.0, 0.5, 0.6744899955310875),
        (1000000.0, 0.9, 1.6448551507220404),
        (1000000.0, 0.95, 1.959966356814107),
        (1000000.0, 0.99, 2.5758342201053344),
        (1000000.0, 0.999, 3.2905364612487222),
        (1000000000.0, 0.5, 0.6744897504414163),
        (1000000000.0, 0.9, 1.6448536284752415),
        (1000000000.0, 0.95, 1.959963986912325),
        (1000000000.0, 0.99, 2.5758293084654484),
        (1000000000.0, 0.999, 3.2905267412216563),
    ];

    /// 2·stats.t.sf(|t|, df): (t, df, p), significance_reference.py.
    const T_TAILS: &[(f64, f64, f64)] = &[
        (0.0, 1.0, 1.0),
        (0.3, 1.0, 0.8144528418445154),
        (1.7, 1.0, 0.3385060546606654),
        (2.0, 1.0, 0.2951672353008665),
        (5.0, 1.0, 0.1256659163780024),
        (40.0, 1.0, 0.015912179824051624),
        (0.0, 2.5, 1.0),
        (0.3, 2.5, 0.7873423714951973),
        (1.7, 2.5, 0.20561221715988381),
        (2.0, 2.5, 0.1573914957579659),
        (5.0, 2.5, 0.02345118997086185),
        (40.0, 2.5, 0.0001419563429049338),
        (0.0, 9.0, 1.0),
        (0.3, 9.0, 0.7709907037415248),
        (1.7, 9.0, 0.12334766214382385),
        (2.0, 9.0, 0.07655282377070101),
        (5.0, 9.0, 0.0007389679098032426),
        (40.0, 9.0, 1.8982998449339822e-11),
        (0.0, 99.0, 1.0),
        (0.3, 99.0, 0.7648061617402574),
        (1.7, 99.0, 0.09227070974648888),
        (2.0, 99.0, 0.04823969337263296),
        (5.0, 99.0, 2.481396013040949e-06),
        (40.0, 99.0, 6.385085160287251e-63),
        (0.0, 10000.0, 1.0),
        (0.3, 10000.0, 0.7641833912293323),
        (1.7, 10000.0, 0.08916202272770501),
        (2.0, 10000.0, 0.04552726066143543),
        (5.0, 10000.0, 5.830326613662659e-07),
        (40.0, 10000.0, 0.0),
        (0.0, 10000000.0, 1.0),
        (0.3, 10000000.0, 0.7641771618577852),
        (1.7, 10000000.0, 0.08913095661441345),
        (2.0, 10000000.0, 0.04550029089184296),
        (5.0, 10000000.0, 5.733128075008536e-07),
        (40.0, 10000000.0, 0.0),
        (0.0, 1000000000000.0, 1.0),
        (0.3, 1000000000000.0, 0.7641771556221572),
        (1.7, 1000000000000.0, 0.08913092551739712),
        (2.0, 1000000000000.0, 0.04550026389662835),
        (5.0, 1000000000000.0, 5.73303143855025e-07),
        (40.0, 1000000000000.0, 0.0),
        (0.0, 1e30, 1.0),
        (0.3, 1e30, 0.7641771556220948),
        (1.7, 1e30, 0.08913092551708612),
        (2.0, 1e30, 0.04550026389635844),
        (5.0, 1e30, 5.733031437583892e-07),
        (40.0, 1e30, 0.0),
    ];

    #[test]
    fn quantiles_match_scipy() {
        for &(df, level, expected) in T_QUANTILES {
            let got = t_for_confidence(level, df).unwrap();
            assert!(
                (got - expected).abs() <= 1e-12 * expected,
                "df {df} at {level}: expected {expected}, got {got}"
            );
        }
    }

    #[test]
    fn tails_match_scipy() {
        for &(t, df, expected) in T_TAILS {
            for sign in [1.0, -1.0] {
                let got = t_two_sided_p_value(sign * t, df).unwrap();
                assert!(
                    (got - expected).abs() <= 1e-12 * expected,
                    "t {t} df {df}: expected {expected:e}, got {got:e}"
                );
            }
        }
    }

    #[test]
    fn tails_and_quantiles_refuse_what_has_no_answer() {
        assert_eq!(t_two_sided_p_value(f64::NAN, 5.0), None);
        assert_eq!(t_two_sided_p_value(1.0, 0.5), None);
        assert_eq!(t_two_sided_p_value(1.0, f64::NAN), None);
        assert_eq!(t_two_sided_p_value(f64::INFINITY, 5.0), Some(0.0));
        assert_eq!(t_two_sided_p_value(0.0, 5.0), Some(1.0));
        for (level, df) in [
            (1.0, 5.0),
            (0.0, 5.0),
            (f64::NAN, 5.0),
            (0.95, 0.9),
            (0.95, f64::NAN),
        ] {
            assert_eq!(t_for_confidence(level, df), None, "{level} {df}");
        }
        assert_eq!(t_for_confidence(0.95, f64::INFINITY), None);
        assert_eq!(t_two_sided_p_value(1.0, f64::INFINITY), None);
        // At the bound: the normal limit.
        let z = z_for_confidence(0.95).unwrap();
        assert_eq!(t_for_confidence(0.95, MAX_DEGREES_OF_FREEDOM), Some(z));
        let p = t_two_sided_p_value(z, MAX_DEGREES_OF_FREEDOM).unwrap();
        assert!((p - 0.05).abs() < 1e-15, "{p}");
        assert_eq!(t_two_sided_p_value(1e3, MAX_DEGREES_OF_FREEDOM), Some(0.0));
    }

    proptest! {
        /// The quantile is the inverse of the tail, at every df and level
        /// a caller can ask for.
        #[test]
        fn quantile_inverts_the_tail(log_df in 0.0f64..9.0, level in 0.5f64..0.999) {
            let df = 10f64.powf(log_df);
            let t = t_for_confidence(level, df).unwrap();
            let p = t_two_sided_p_value(t, df).unwrap();
            prop_assert!(((1.0 - level) - p).abs() <= 1e-11 * (1.0 - level),
                "df {df} level {level}: t {t} has tail {p}");
        }
    }
}
