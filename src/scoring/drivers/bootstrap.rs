//! Percentile-bootstrap intervals of Johnson's raw weights (SPEC §11).
//!
//! Resampling needs the cases themselves, not only their sums, so this is
//! the one key-driver computation that sees case rows. Its cost is bounded
//! three ways: the cases come packed, one byte per score (every score is
//! shifted to 0..=100 by its scale minimum, `store::drivers`), at most
//! `MAX_BOOTSTRAP_CASES` of them (the service's bound); identical cases are
//! collapsed into one pattern with a multiplicity, so a resample costs
//! O(n) draws plus O(patterns × m²) sums rather than O(n × m²); and
//! [`bootstrap_samples_within`] lowers the number of resamples to what
//! [`MAX_BOOTSTRAP_WORK`] allows.
//!
//! A resample draws n of the n cases with replacement (ChaCha8 seeded with
//! the caller's seed, so a seed gives the same intervals on every platform
//! and run), computes [`relative_weights`] of the resample, and the
//! interval of each driver is the `(1 − c)/2` and `(1 + c)/2` percentiles
//! (linear interpolation, numpy's default) of its raw weights over the
//! resamples. A resample whose outcome happens to be constant has no
//! weights and is skipped (counted in [`BootstrapIntervals::skipped`]).

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{CrossProducts, DriversError, relative_weights};
use crate::scoring::stats::{Interval, percentile_cont};

/// Operations one bootstrap may cost, counted as resamples × (patterns ×
/// m(m + 1)/2 + m³) for m variables: about a second of one core.
pub const MAX_BOOTSTRAP_WORK: u64 = 1_000_000_000;

/// Complete cases packed one byte per score, row-major: each case's
/// driver scores in order, then the outcome's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedCases {
    variables: usize,
    values: Vec<u8>,
}

impl PackedCases {
    /// `values` holds whole cases of `drivers + 1` scores.
    pub fn new(drivers: usize, values: Vec<u8>) -> Result<Self, DriversError> {
        let variables = drivers + 1;
        if !values.len().is_multiple_of(variables) {
            return Err(DriversError::Shape {
                expected: values.len().div_ceil(variables) * variables,
                actual: values.len(),
            });
        }
        Ok(PackedCases { variables, values })
    }

    pub fn cases(&self) -> usize {
        self.values.len() / self.variables
    }

    pub fn drivers(&self) -> usize {
        self.variables - 1
    }

    fn case(&self, i: usize) -> &[u8] {
        &self.values[i * self.variables..(i + 1) * self.variables]
    }

    /// The distinct cases and, per case, the index of its pattern.
    fn patterns(&self) -> (Vec<&[u8]>, Vec<u32>) {
        let mut index: HashMap<&[u8], u32> = HashMap::new();
        let mut patterns = Vec::new();
        let of = (0..self.cases())
            .map(|i| {
                let case = self.case(i);
                *index.entry(case).or_insert_with(|| {
                    patterns.push(case);
                    (patterns.len() - 1) as u32
                })
            })
            .collect();
        (patterns, of)
    }

    /// The sums of the cases, each counted `weights[p]` times by pattern.
    fn weighted_sums(
        &self,
        patterns: &[&[u8]],
        weights: &[u32],
    ) -> Result<CrossProducts, DriversError> {
        let m = self.variables;
        let mut n = 0u64;
        let mut sums = vec![0u64; m];
        let mut products = vec![0u64; m * m];
        for (case, &w) in patterns.iter().zip(weights) {
            if w == 0 {
                continue;
            }
            let w = u64::from(w);
            n += w;
            for (i, &x) in case.iter().enumerate() {
                let wx = w * u64::from(x);
                sums[i] += wx;
                for (j, &y) in case.iter().enumerate().skip(i) {
                    products[i * m + j] += wx * u64::from(y);
                }
            }
        }
        // Integers up to 100² × cases: exact in f64 below 2^53.
        let to_f64 = |v: Vec<u64>| v.into_iter().map(|x| x as f64).collect();
        CrossProducts::new(n, to_f64(sums), to_f64(products))
    }
}

/// The number of resamples of at most `requested` that [`MAX_BOOTSTRAP_WORK`]
/// allows for these cases (at least 1 when `requested` is).
pub fn bootstrap_samples_within(cases: &PackedCases, requested: u32) -> u32 {
    let m = cases.variables as u64;
    let patterns = cases.patterns().0.len() as u64;
    let per_sample = (patterns * m * (m + 1) / 2 + m * m * m + cases.cases() as u64).max(1);
    let allowed = (MAX_BOOTSTRAP_WORK / per_sample).max(1);
    requested.min(u32::try_from(allowed).unwrap_or(u32::MAX))
}

/// The bootstrap of every driver's raw weight.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapIntervals {
    /// Resamples drawn.
    pub samples: u32,
    /// Of those, resamples without weights (a constant outcome).
    pub skipped: u32,
    /// Per driver in input order: the percentile interval of its raw
    /// weight, `None` when no resample had weights.
    pub intervals: Vec<Option<Interval>>,
}

/// Percentile-bootstrap intervals at `confidence` of the raw weights of
/// `cases` from `samples` resamples drawn with `seed` (see the module
/// documentation).
pub fn bootstrap_raw_weights(
    cases: &PackedCases,
    samples: u32,
    seed: u64,
    confidence: f64,
) -> Result<BootstrapIntervals, DriversError> {
    let k = cases.drivers();
    let n = cases.cases();
    if n < 2 {
        return Err(DriversError::TooFewCases { cases: n as u64 });
    }
    let (patterns, pattern_of) = cases.patterns();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut weights = vec![0u32; patterns.len()];
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(samples as usize); k];
    let mut skipped = 0;
    for _ in 0..samples {
        weights.iter_mut().for_each(|w| *w = 0);
        for _ in 0..n {
            weights[pattern_of[rng.random_range(0..n)] as usize] += 1;
        }
        match relative_weights(&cases.weighted_sums(&patterns, &weights)?) {
            Ok(w) => {
                for (draw, d) in draws.iter_mut().zip(&w.drivers) {
                    draw.push(d.raw_weight);
                }
            }
            Err(DriversError::ConstantOutcome | DriversError::NoConvergence) => skipped += 1,
            Err(other) => return Err(other),
        }
    }
    let tail = (1.0 - confidence) / 2.0;
    let intervals = draws
        .into_iter()
        .map(|mut draw| {
            draw.sort_by(f64::total_cmp);
            let lower = percentile_cont(&draw, tail)?;
            let upper = percentile_cont(&draw, 1.0 - tail)?;
            Some(Interval::new(lower, upper))
        })
        .collect();
    Ok(BootstrapIntervals {
        samples,
        skipped,
        intervals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 60 cases of 3 drivers (one a copy of another) and an outcome.
    fn cases() -> PackedCases {
        let mut values = Vec::new();
        for i in 0..60u32 {
            let a = (i * 7 % 11) as u8;
            let b = (i * 3 % 5) as u8;
            let y = ((u32::from(a) * 2 + u32::from(b) + i % 4) % 11) as u8;
            values.extend([a, b, a, y]);
        }
        PackedCases::new(3, values).unwrap()
    }

    fn point_estimate(cases: &PackedCases) -> Vec<f64> {
        let (patterns, of) = cases.patterns();
        let mut weights = vec![0; patterns.len()];
        for p in of {
            weights[p as usize] += 1;
        }
        let sums = cases.weighted_sums(&patterns, &weights).unwrap();
        relative_weights(&sums)
            .unwrap()
            .drivers
            .iter()
            .map(|d| d.raw_weight)
            .collect()
    }

    #[test]
    fn a_seed_gives_the_same_intervals_and_another_seed_others() {
        let c = cases();
        let a = bootstrap_raw_weights(&c, 200, 7, 0.95).unwrap();
        let b = bootstrap_raw_weights(&c, 200, 7, 0.95).unwrap();
        assert_eq!(a, b);
        let other = bootstrap_raw_weights(&c, 200, 8, 0.95).unwrap();
        assert_ne!(a.intervals, other.intervals);
        assert_eq!((a.samples, a.skipped), (200, 0));
    }

    #[test]
    fn intervals_cover_the_point_estimate() {
        let c = cases();
        let point = point_estimate(&c);
        let boot = bootstrap_raw_weights(&c, 500, 1, 0.95).unwrap();
        for (w, ci) in point.iter().zip(&boot.intervals) {
            let ci = ci.unwrap();
            assert!(ci.lower <= *w && *w <= ci.upper, "{w} outside {ci:?}");
        }
        // The copies share their weight in every resample.
        let (a, copy) = (boot.intervals[0].unwrap(), boot.intervals[2].unwrap());
        assert!((a.lower - copy.lower).abs() < 1e-9 && (a.upper - copy.upper).abs() < 1e-9);
    }

    #[test]
    fn a_driver_without_variance_has_a_zero_interval() {
        let values: Vec<u8> = (0..30u8)
            .flat_map(|i| [i % 7, 3, (i % 7) / 2 + i % 2])
            .collect();
        let c = PackedCases::new(2, values).unwrap();
        let boot = bootstrap_raw_weights(&c, 50, 3, 0.9).unwrap();
        assert_eq!(boot.intervals[1], Some(Interval::new(0.0, 0.0)));
    }

    #[test]
    fn resamples_with_a_constant_outcome_are_skipped() {
        // Two cases, one of each outcome: about half the resamples repeat one.
        let c = PackedCases::new(1, vec![0, 0, 1, 1]).unwrap();
        let boot = bootstrap_raw_weights(&c, 100, 5, 0.95).unwrap();
        assert!(boot.skipped > 20 && boot.skipped < 80, "{}", boot.skipped);
        assert!(boot.intervals[0].is_some());
        let one = PackedCases::new(1, vec![0, 0]).unwrap();
        assert_eq!(
            bootstrap_raw_weights(&one, 10, 0, 0.95),
            Err(DriversError::TooFewCases { cases: 1 })
        );
    }

    #[test]
    fn the_work_budget_lowers_the_samples() {
        let c = cases();
        assert_eq!(bootstrap_samples_within(&c, 2000), 2000);
        let big =
            PackedCases::new(100, (0..20_000 * 101).map(|i| (i % 97) as u8).collect()).unwrap();
        let allowed = bootstrap_samples_within(&big, 2000);
        assert!((1..2000).contains(&allowed), "{allowed}");
        assert!(PackedCases::new(2, vec![1, 2]).is_err());
    }
}
