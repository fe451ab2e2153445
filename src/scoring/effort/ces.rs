//! Survey effort (SPEC §6.3): CES 2.0 from CUSTOMER `ease` answers.

use serde::{Deserialize, Serialize};

use crate::scoring::stats::{Interval, share, wilson_interval};

/// `ease` (CES 2.0, 1–7) answers at or above this are low effort; a
/// customer whose latest answer is one is in the LOW tier (SPEC §7.1, the
/// SQL in `store::loyalty`).
pub const EASE_LOW_EFFORT_MIN: i32 = 5;
/// `ease` answers at or below this are high effort (and a HIGH tier).
pub const EASE_HIGH_EFFORT_MAX: i32 = 3;

/// Survey effort from CUSTOMER `ease` answers (SPEC §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SurveyEffort {
    pub responses: u64,
    /// Mean `ease` score (1–7).
    pub mean: Option<f64>,
    /// Answers ≥ 5.
    pub low_effort: u64,
    pub low_effort_share: Option<f64>,
    pub low_effort_ci: Option<Interval>,
    /// Answers ≤ 3.
    pub high_effort: u64,
    pub high_effort_share: Option<f64>,
    pub high_effort_ci: Option<Interval>,
    /// (low_effort_share − high_effort_share) × 100.
    pub net_ease: Option<f64>,
}

impl SurveyEffort {
    /// From the `(score, count)` histogram of `ease` answers:
    ///
    /// ```text
    /// low = #(score ≥ 5)/n;  high = #(score ≤ 3)/n  (Wilson intervals)
    /// net_ease = (low − high) × 100;  mean = Σ score·count / n
    /// ```
    ///
    /// No anonymity suppression: SPEC §6.3 reports customer effort as is
    /// (apply `min_group_size` in the caller if wanted).
    pub fn from_histogram(histogram: &[(i32, u64)], confidence: f64) -> SurveyEffort {
        let mut n = 0u64;
        let mut low = 0u64;
        let mut high = 0u64;
        let mut sum: i128 = 0;
        for &(score, count) in histogram {
            n += count;
            sum += i128::from(score) * i128::from(count);
            if score >= EASE_LOW_EFFORT_MIN {
                low += count;
            }
            if score <= EASE_HIGH_EFFORT_MAX {
                high += count;
            }
        }
        let low_effort_share = share(low, n);
        let high_effort_share = share(high, n);
        SurveyEffort {
            responses: n,
            mean: (n > 0).then(|| sum as f64 / n as f64),
            low_effort: low,
            low_effort_share,
            low_effort_ci: wilson_interval(low, n, confidence),
            high_effort: high,
            high_effort_share,
            high_effort_ci: wilson_interval(high, n, confidence),
            net_ease: low_effort_share
                .zip(high_effort_share)
                .map(|(l, h)| (l - h) * 100.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::stats::tests::assert_close;

    #[test]
    fn survey_effort_from_ease_histogram() {
        // 1–7: 60 answered 5–7, 10 answered 4, 30 answered 1–3.
        let h = [
            (7, 20),
            (6, 20),
            (5, 20),
            (4, 10),
            (3, 10),
            (2, 10),
            (1, 10),
        ];
        let s = SurveyEffort::from_histogram(&h, 0.90);
        assert_eq!(s.responses, 100);
        assert_eq!((s.low_effort, s.high_effort), (60, 30));
        assert_eq!(s.low_effort_share, Some(0.6));
        assert_eq!(s.high_effort_share, Some(0.3));
        assert_close(s.net_ease.unwrap(), 30.0, 1e-12);
        assert_close(
            s.mean.unwrap(),
            (140 + 120 + 100 + 40 + 30 + 20 + 10) as f64 / 100.0,
            1e-15,
        );
        assert_eq!(
            s.low_effort_ci,
            crate::scoring::stats::wilson_interval(60, 100, 0.90)
        );
        assert_eq!(
            s.high_effort_ci,
            crate::scoring::stats::wilson_interval(30, 100, 0.90)
        );

        let empty = SurveyEffort::from_histogram(&[], 0.95);
        assert_eq!(empty.responses, 0);
        assert_eq!(
            (empty.mean, empty.net_ease, empty.low_effort_ci),
            (None, None, None)
        );

        let all_easy = SurveyEffort::from_histogram(&[(7, 12)], 0.99);
        assert_eq!(all_easy.net_ease, Some(100.0));
        assert_eq!(all_easy.low_effort_ci.unwrap().upper, 1.0);
        assert_eq!(all_easy.high_effort_ci.unwrap().lower, 0.0);
    }
}
