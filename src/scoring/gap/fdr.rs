//! False discovery rate control over the comparisons of one response
//! (SPEC §10.2): a response with every question × role pair × group runs
//! dozens of tests, and at a 0.95 level one in twenty "significant" gaps
//! among true nulls is noise.

use serde::{Deserialize, Serialize};

use crate::scoring::stats::benjamini_hochberg;

/// What a test's place in its family says of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FdrControl {
    /// Benjamini–Hochberg adjusted p-value over the family.
    pub q_value: f64,
    /// `q_value < 1 − confidence`.
    pub significant_after_fdr: bool,
}

impl FdrControl {
    /// The figures of a test that is a family of its own: BH over one
    /// p-value leaves it as it is, q = p. A comparison starts with these
    /// until [`control_fdr`] sets them over its response.
    pub fn alone(p_value: f64, confidence: f64) -> Self {
        FdrControl {
            q_value: p_value,
            significant_after_fdr: p_value < 1.0 - confidence,
        }
    }
}

/// A test whose p-value belongs to a family.
pub trait Tested {
    fn p_value(&self) -> f64;
    fn set_fdr(&mut self, fdr: FdrControl);
}

/// Sets every member's [`FdrControl`] over the whole family:
///
/// ```text
/// q_i = BH(p_1 … p_m)_i
/// significant_after_fdr_i = q_i < 1 − confidence
/// ```
///
/// Declaring the members with `q < α` significant keeps the expected share
/// of false discoveries among them at most α = 1 − confidence. An empty
/// family changes nothing.
pub fn control_fdr<'a, T: Tested + 'a>(
    family: impl IntoIterator<Item = &'a mut T>,
    confidence: f64,
) {
    let mut members: Vec<&mut T> = family.into_iter().collect();
    let p_values: Vec<f64> = members.iter().map(|t| t.p_value()).collect();
    let alpha = 1.0 - confidence;
    for (member, q_value) in members.iter_mut().zip(benjamini_hochberg(&p_values)) {
        member.set_fdr(FdrControl {
            q_value,
            significant_after_fdr: q_value < alpha,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Test(f64, Option<FdrControl>);

    impl Tested for Test {
        fn p_value(&self) -> f64 {
            self.0
        }
        fn set_fdr(&mut self, fdr: FdrControl) {
            self.1 = Some(fdr);
        }
    }

    #[test]
    fn a_family_gets_benjamini_hochberg_q_values() {
        // multipletests(p, method='fdr_bh'), significance_reference.py.
        let p = [0.01, 0.04, 0.03, 0.04, 0.2, 0.001, 0.5, 1.0, 0.04];
        let mut tests: Vec<Test> = p.iter().map(|&p| Test(p, None)).collect();
        control_fdr(&mut tests, 0.95);
        let got: Vec<FdrControl> = tests.iter().map(|t| t.1.unwrap()).collect();
        assert_eq!(got[5].q_value, 0.009000000000000001);
        assert_eq!(got[0].q_value, 0.045000000000000005);
        assert_eq!(got[1].q_value, 0.060000000000000005);
        let significant: Vec<bool> = got.iter().map(|f| f.significant_after_fdr).collect();
        assert_eq!(
            significant,
            [true, false, false, false, false, true, false, false, false]
        );
        // At 0.90 the 0.06 are discoveries too.
        control_fdr(&mut tests, 0.90);
        assert!(tests[1].1.unwrap().significant_after_fdr);
        assert!(!tests[4].1.unwrap().significant_after_fdr);
    }

    #[test]
    fn a_family_of_one_keeps_its_p_value() {
        let mut one = [Test(0.03, None)];
        control_fdr(&mut one, 0.95);
        assert_eq!(one[0].1, Some(FdrControl::alone(0.03, 0.95)));
        assert_eq!(FdrControl::alone(0.03, 0.95).q_value, 0.03);
        assert!(FdrControl::alone(0.03, 0.95).significant_after_fdr);
        assert!(!FdrControl::alone(0.06, 0.95).significant_after_fdr);
        control_fdr(&mut Vec::<Test>::new(), 0.95);
    }
}
