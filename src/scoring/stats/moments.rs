//! Count, sum and sum of squares of a sample, and the centred sums of
//! squares and products computed from such sums without losing the small
//! difference of two large numbers.

use serde::{Deserialize, Serialize};

/// `n`, `Σx` and `Σx²` of a sample: what SQL's `count(x)`, `sum(x)` and
/// `sum(x * x)` return, and all a t test needs. Integer scores give
/// integer sums, which `f64` holds exactly up to 2⁵³.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Moments {
    pub n: u64,
    pub sum: f64,
    pub sum_sq: f64,
}

impl Moments {
    pub fn new(n: u64, sum: f64, sum_sq: f64) -> Self {
        Moments { n, sum, sum_sq }
    }

    /// The moments of the given values (summed in order, so exact for
    /// integers whose sums stay below 2⁵³).
    pub fn from_values(values: impl IntoIterator<Item = f64>) -> Self {
        values.into_iter().fold(Moments::default(), |m, x| Moments {
            n: m.n + 1,
            sum: m.sum + x,
            sum_sq: m.sum_sq + x * x,
        })
    }

    /// `x̄ = Σx / n`; `None` for an empty sample or non-finite sums.
    pub fn mean(&self) -> Option<f64> {
        self.valid().then(|| self.sum / self.n as f64)
    }

    /// `Σ(x − x̄)²`, see `centred_product`; `None` for an empty sample or
    /// non-finite sums.
    pub fn sum_sq_deviations(&self) -> Option<f64> {
        self.valid()
            .then(|| centred_product(self.n, self.sum, self.sum, self.sum_sq).max(0.0))
    }

    /// Sample variance `s² = Σ(x − x̄)² / (n − 1)`; `None` below two values.
    pub fn variance(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        Some(self.sum_sq_deviations()? / (self.n - 1) as f64)
    }

    fn valid(&self) -> bool {
        self.n > 0 && self.sum.is_finite() && self.sum_sq.is_finite()
    }
}

/// The centred sum of products `Σ(x − x̄)(y − ȳ)` from the raw sums of `n`
/// cases, `Σx`, `Σy` and `Σxy` (`Σ(x − x̄)²` when `x = y`):
///
/// ```text
/// Σ(x − x̄)(y − ȳ) = (n·Σxy − Σx·Σy) / n
/// ```
///
/// The textbook form subtracts two numbers that can be nearly equal (a
/// score that barely varies), so:
/// - when all three sums are integers below 2⁵³ (integer scores, the
///   usual case), the numerator is computed exactly in `i128` and
///   rounded once, and a constant variable gives exactly 0;
/// - otherwise `Σxy − Σx·(Σy/n)` in `f64`, and a result within rounding
///   of 0 (at most 8ε·(|Σxy| + |Σx·Σy/n|)) is 0: no digit of it would be
///   real.
///
/// `n = 0` gives 0.
pub(crate) fn centred_product(n: u64, sum_x: f64, sum_y: f64, sum_xy: f64) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let n_f = n as f64;
    if let (Some(x), Some(y), Some(xy)) = (exact(sum_x), exact(sum_y), exact(sum_xy)) {
        // |n·Σxy| < 2⁶⁴·2⁵³ and |Σx·Σy| < 2¹⁰⁶: no overflow in i128.
        let numerator = i128::from(n) * xy - x * y;
        return numerator as f64 / n_f;
    }
    let product_of_sums = sum_x * (sum_y / n_f);
    let centred = sum_xy - product_of_sums;
    let rounding = 8.0 * f64::EPSILON * (sum_xy.abs() + product_of_sums.abs());
    if centred.abs() <= rounding {
        0.0
    } else {
        centred
    }
}

/// `v` as an integer when `f64` holds it exactly (no fraction, |v| ≤ 2⁵³).
fn exact(v: f64) -> Option<i128> {
    const LIMIT: f64 = 9_007_199_254_740_992.0; // 2⁵³
    (v.fract() == 0.0 && v.abs() <= LIMIT).then_some(v as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_of_values() {
        let m = Moments::from_values([4.0, 6.0, 5.0, 3.0, 7.0]);
        assert_eq!(m, Moments::new(5, 25.0, 135.0));
        assert_eq!(m.mean(), Some(5.0));
        assert_eq!(m.sum_sq_deviations(), Some(10.0));
        assert_eq!(m.variance(), Some(2.5));
    }

    #[test]
    fn empty_and_single_samples() {
        let empty = Moments::default();
        assert_eq!(empty.mean(), None);
        assert_eq!(empty.sum_sq_deviations(), None);
        assert_eq!(empty.variance(), None);
        let one = Moments::new(1, 7.0, 49.0);
        assert_eq!(one.mean(), Some(7.0));
        assert_eq!(one.sum_sq_deviations(), Some(0.0));
        assert_eq!(one.variance(), None);
        assert_eq!(Moments::new(3, f64::NAN, 1.0).mean(), None);
        assert_eq!(Moments::new(3, 1.0, f64::INFINITY).variance(), None);
    }

    #[test]
    fn integer_sums_are_exact_where_the_textbook_form_is_not() {
        // A million scores of 7 and one of 6: Σ(x − x̄)² = 1 − 1/n exactly.
        let n = 1_000_001u64;
        let m = Moments::new(n, 7.0 * 1e6 + 6.0, 49.0 * 1e6 + 36.0);
        let exact = 1.0 - 1.0 / n as f64;
        assert!((m.sum_sq_deviations().unwrap() - exact).abs() <= 4.0 * f64::EPSILON * exact);
        // Constant integer scores: exactly 0, however many.
        let constant = Moments::new(3_000_000_000, 9e9, 2.7e10);
        assert_eq!(constant.sum_sq_deviations(), Some(0.0));
        assert_eq!(constant.variance(), Some(0.0));
    }

    #[test]
    fn non_integer_sums_use_the_float_form_and_snap_rounding_to_zero() {
        // 0.1 is not a binary fraction: three of them do not cancel exactly
        // in the textbook form, and what is left is rounding.
        let m = Moments::from_values([0.1, 0.1, 0.1]);
        assert_eq!(m.sum_sq_deviations(), Some(0.0));
        let halves = Moments::from_values([1.5, 2.5, 4.0]);
        assert!((halves.variance().unwrap() - 1.5833333333333333).abs() < 1e-15);
    }

    #[test]
    fn centred_products_can_be_negative() {
        // x = 1, 2, 3 and y = 3, 2, 1: Σ(x − x̄)(y − ȳ) = −2.
        assert_eq!(centred_product(3, 6.0, 6.0, 10.0), -2.0);
        assert_eq!(centred_product(3, 6.5, 6.0, 10.0), 10.0 - 6.5 * 2.0);
        assert_eq!(centred_product(0, 1.0, 1.0, 1.0), 0.0);
    }
}
