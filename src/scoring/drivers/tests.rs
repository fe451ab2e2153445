use super::*;
use proptest::prelude::*;
use serde::Deserialize;
use std::collections::BTreeMap;

/// tests/reference/drivers_dataset.json and drivers_expected.json, written
/// by significance_reference.py (numpy's eigh for Johnson's method, and
/// lstsq on the standardized data for R²).
const DATASET: &str = include_str!("../../../tests/reference/drivers_dataset.json");
const EXPECTED: &str = include_str!("../../../tests/reference/drivers_expected.json");

#[derive(Deserialize)]
struct Dataset {
    scenarios: BTreeMap<String, Scenario>,
}

#[derive(Deserialize)]
struct Scenario {
    drivers: Vec<String>,
    cases: Vec<Vec<f64>>,
}

#[derive(Deserialize)]
struct Expected {
    r_squared: f64,
    r_squared_ols: f64,
    raw_weights: Vec<f64>,
    rescaled_weights: Vec<f64>,
}

fn reference() -> Vec<(String, Scenario, Expected)> {
    let dataset: Dataset = serde_json::from_str(DATASET).unwrap();
    let mut expected: BTreeMap<String, Expected> = serde_json::from_str(EXPECTED).unwrap();
    let cases: Vec<_> = dataset
        .scenarios
        .into_iter()
        .map(|(name, scenario)| {
            let e = expected.remove(&name).unwrap();
            (name, scenario, e)
        })
        .collect();
    assert_eq!(cases.len(), 3);
    cases
}

fn sums_of(drivers: usize, cases: &[Vec<f64>]) -> CrossProducts {
    let mut sums = CrossProducts::empty(drivers).unwrap();
    for case in cases {
        sums.add_case(case).unwrap();
    }
    sums
}

/// As SQL would aggregate them: the upper triangle only, the rest 0.
fn sql_sums(drivers: usize, cases: &[Vec<f64>]) -> CrossProducts {
    let v = drivers + 1;
    let mut sums = vec![0.0; v];
    let mut products = vec![0.0; v * v];
    for case in cases {
        for i in 0..v {
            sums[i] += case[i];
            for j in i..v {
                products[i * v + j] += case[i] * case[j];
            }
        }
    }
    CrossProducts::new(cases.len() as u64, sums, products).unwrap()
}

#[track_caller]
fn assert_relative(actual: f64, expected: f64, rel: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= rel * expected.abs(),
        "{what}: expected {expected}, got {actual}"
    );
}

#[test]
fn relative_weights_match_numpy() {
    for (name, scenario, expected) in reference() {
        let k = scenario.drivers.len();
        for sums in [sums_of(k, &scenario.cases), sql_sums(k, &scenario.cases)] {
            let weights = relative_weights(&sums).unwrap();
            assert_eq!(weights.cases, 40);
            assert_relative(weights.r_squared, expected.r_squared, 1e-9, &name);
            // The independent check: the least-squares R² of the raw data.
            assert_relative(weights.r_squared, expected.r_squared_ols, 1e-9, &name);
            assert_eq!(weights.drivers.len(), k);
            for (j, driver) in weights.drivers.iter().enumerate() {
                let what = format!("{name} {}", scenario.drivers[j]);
                assert_relative(driver.raw_weight, expected.raw_weights[j], 1e-9, &what);
                let rescaled = driver.rescaled_weight.unwrap();
                assert_relative(rescaled, expected.rescaled_weights[j], 1e-9, &what);
            }
        }
    }
}

#[test]
fn a_constant_driver_is_left_out_with_weight_zero() {
    let reference = reference();
    let four = &reference.iter().find(|c| c.0 == "four_drivers").unwrap().1;
    let constant = &reference.iter().find(|c| c.0 == "constant").unwrap().1;
    let with = relative_weights(&sums_of(5, &constant.cases)).unwrap();
    let without = relative_weights(&sums_of(4, &four.cases)).unwrap();
    let parking = with.drivers[4];
    assert_eq!(parking.raw_weight, 0.0);
    assert_eq!(parking.rescaled_weight, Some(0.0));
    assert!(!parking.varies);
    assert!(with.drivers[..4].iter().all(|d| d.varies));
    // Exactly the weights of the model without it.
    assert_eq!(&with.drivers[..4], &without.drivers[..]);
    assert_eq!(with.r_squared, without.r_squared);
}

#[test]
fn copies_of_a_driver_share_its_weight() {
    // Speed asked twice: the copy takes half, and together they carry what
    // speed alone did; R² is unchanged.
    let reference = reference();
    let four = &reference.iter().find(|c| c.0 == "four_drivers").unwrap().1;
    let doubled: Vec<Vec<f64>> = four.cases.iter().map(|c| vec![c[0], c[0], c[4]]).collect();
    let single: Vec<Vec<f64>> = four.cases.iter().map(|c| vec![c[0], c[4]]).collect();
    let two = relative_weights(&sums_of(2, &doubled)).unwrap();
    let one = relative_weights(&sums_of(1, &single)).unwrap();
    let (a, b) = (two.drivers[0].raw_weight, two.drivers[1].raw_weight);
    assert_relative(a, b, 1e-12, "the two copies");
    assert_relative(a + b, one.drivers[0].raw_weight, 1e-12, "together");
    assert_relative(two.r_squared, one.r_squared, 1e-12, "R²");
    assert_relative(
        two.drivers[0].rescaled_weight.unwrap(),
        50.0,
        1e-12,
        "rescaled",
    );
}

#[test]
fn one_driver_carries_its_squared_correlation() {
    let x = [3.0, 5.0, 6.0, 6.0, 8.0, 9.0, 2.0];
    let y = [4.0, 6.0, 5.0, 7.0, 9.0, 8.0, 3.0];
    let cases: Vec<Vec<f64>> = x.iter().zip(&y).map(|(&a, &b)| vec![a, b]).collect();
    // Pearson's r, two-pass.
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mx, my) = (mean(&x), mean(&y));
    let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let syy: f64 = y.iter().map(|b| (b - my).powi(2)).sum();
    let r = sxy / (sxx * syy).sqrt();
    let weights = relative_weights(&sums_of(1, &cases)).unwrap();
    assert_relative(weights.drivers[0].raw_weight, r * r, 1e-12, "r²");
    assert_relative(weights.r_squared, r * r, 1e-12, "R²");
    assert_eq!(weights.drivers[0].rescaled_weight, Some(100.0));
}

#[test]
fn no_varying_driver_explains_nothing() {
    let cases = vec![vec![5.0, 1.0], vec![5.0, 3.0], vec![5.0, 2.0]];
    let weights = relative_weights(&sums_of(1, &cases)).unwrap();
    assert_eq!(weights.r_squared, 0.0);
    assert_eq!(
        weights.drivers,
        vec![DriverWeight {
            raw_weight: 0.0,
            rescaled_weight: None,
            varies: false
        }]
    );
    // No drivers at all: the same.
    let outcome_only = vec![vec![1.0], vec![3.0]];
    let none = relative_weights(&sums_of(0, &outcome_only)).unwrap();
    assert_eq!((none.r_squared, none.drivers.len()), (0.0, 0));
}

#[test]
fn uncorrelated_drivers_have_no_share_of_nothing() {
    // The outcome is exactly uncorrelated with the driver: R² = 0.
    let cases = vec![
        vec![1.0, 1.0],
        vec![2.0, 2.0],
        vec![3.0, 1.0],
        vec![2.0, 0.0],
    ];
    let weights = relative_weights(&sums_of(1, &cases)).unwrap();
    assert_eq!(weights.r_squared, 0.0);
    assert_eq!(weights.drivers[0].rescaled_weight, None);
    assert!(weights.drivers[0].varies);
}

#[test]
fn what_cannot_be_weighed_is_an_error() {
    let constant_outcome = vec![vec![1.0, 4.0], vec![2.0, 4.0], vec![3.0, 4.0]];
    assert_eq!(
        relative_weights(&sums_of(1, &constant_outcome)),
        Err(DriversError::ConstantOutcome)
    );
    let one_case = vec![vec![1.0, 4.0]];
    assert_eq!(
        relative_weights(&sums_of(1, &one_case)),
        Err(DriversError::TooFewCases { cases: 1 })
    );
    assert_eq!(
        relative_weights(&CrossProducts::empty(3).unwrap()),
        Err(DriversError::TooFewCases { cases: 0 })
    );
    let too_many = DriversError::TooManyDrivers {
        drivers: MAX_DRIVERS + 1,
        max: MAX_DRIVERS,
    };
    assert_eq!(CrossProducts::empty(MAX_DRIVERS + 1), Err(too_many.clone()));
    let v = MAX_DRIVERS + 2;
    assert_eq!(
        CrossProducts::new(10, vec![0.0; v], vec![0.0; v * v]),
        Err(too_many)
    );
    assert_eq!(
        CrossProducts::new(10, vec![0.0; 3], vec![0.0; 8]),
        Err(DriversError::Shape {
            expected: 9,
            actual: 8
        })
    );
    assert_eq!(
        CrossProducts::new(10, vec![], vec![]),
        Err(DriversError::Shape {
            expected: 1,
            actual: 0
        })
    );
    let mut sums = CrossProducts::empty(2).unwrap();
    assert_eq!(
        sums.add_case(&[1.0, 2.0]),
        Err(DriversError::Shape {
            expected: 3,
            actual: 2
        })
    );
    assert_eq!(sums.cases(), 0);
}

/// A deterministic pseudo-random score on 0–10 (a small LCG), so the test
/// at the bound needs no data file.
fn scores(seed: u64, count: usize) -> Vec<f64> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) % 11) as f64
        })
        .collect()
}

#[test]
fn a_hundred_drivers_are_weighed() {
    let n = 400;
    let latent = scores(1, n);
    let mut sums = CrossProducts::empty(MAX_DRIVERS).unwrap();
    let noise: Vec<Vec<f64>> = (0..=MAX_DRIVERS).map(|j| scores(j as u64 + 2, n)).collect();
    for i in 0..n {
        let case: Vec<f64> = (0..=MAX_DRIVERS)
            .map(|j| (latent[i] + noise[j][i]) / 2.0)
            .collect();
        sums.add_case(&case).unwrap();
    }
    let weights = relative_weights(&sums).unwrap();
    assert_eq!(weights.drivers.len(), MAX_DRIVERS);
    assert!(weights.r_squared > 0.0 && weights.r_squared <= 1.0);
    let total: f64 = weights
        .drivers
        .iter()
        .map(|d| d.rescaled_weight.unwrap())
        .sum();
    assert!((total - 100.0).abs() < 1e-9, "{total}");
}

/// Rows of 0–10 scores, `k` drivers and the outcome, with some drivers
/// related to the outcome.
fn cases_strategy() -> impl Strategy<Value = (usize, Vec<Vec<f64>>)> {
    (1usize..6)
        .prop_flat_map(|k| {
            let row = proptest::collection::vec(0u8..=10, k + 2);
            (Just(k), proptest::collection::vec(row, k + 3..60))
        })
        .prop_map(|(k, rows)| {
            let cases = rows
                .into_iter()
                .map(|r| {
                    // The last value is a latent score that pulls the outcome.
                    let latent = f64::from(r[k + 1]);
                    let mut case: Vec<f64> = r[..k].iter().map(|&x| f64::from(x)).collect();
                    let outcome = (f64::from(r[k]) + latent + case[0]) / 3.0;
                    case.push(outcome);
                    case
                })
                .collect();
            (k, cases)
        })
}

proptest! {
    /// Weights are non-negative and sum to R² = rᵀR⁺r (computed here by
    /// nalgebra's SVD pseudo-inverse, another route), within [0, 1].
    #[test]
    fn weights_sum_to_the_explained_variance((k, cases) in cases_strategy()) {
        let sums = sums_of(k, &cases);
        let Ok(weights) = relative_weights(&sums) else {
            // Only a constant outcome is refused here.
            prop_assert!(cases.iter().all(|c| c[k] == cases[0][k]));
            return Ok(());
        };
        let total: f64 = weights.drivers.iter().map(|d| d.raw_weight).sum();
        prop_assert!((total - weights.r_squared).abs() < 1e-12);
        prop_assert!(weights.drivers.iter().all(|d| d.raw_weight >= -1e-15));
        prop_assert!((-1e-15..=1.0 + 1e-12).contains(&weights.r_squared));

        let kept: Vec<usize> = (0..k).filter(|&j| weights.drivers[j].varies).collect();
        let corr = |i: usize, j: usize| {
            let n = cases.len() as f64;
            let mean = |c: usize| cases.iter().map(|r| r[c]).sum::<f64>() / n;
            let (mi, mj) = (mean(i), mean(j));
            let sij: f64 = cases.iter().map(|r| (r[i] - mi) * (r[j] - mj)).sum();
            let sii: f64 = cases.iter().map(|r| (r[i] - mi).powi(2)).sum();
            let sjj: f64 = cases.iter().map(|r| (r[j] - mj).powi(2)).sum();
            sij / (sii * sjj).sqrt()
        };
        if !kept.is_empty() {
            let p = kept.len();
            let big_r = DMatrix::from_fn(p, p, |a, b| corr(kept[a], kept[b]));
            let r = DVector::from_fn(p, |a, _| corr(kept[a], k));
            let pinv = big_r.pseudo_inverse(1e-10).unwrap();
            let r_squared = (r.transpose() * pinv * &r)[(0, 0)];
            prop_assert!((weights.r_squared - r_squared).abs() < 1e-9,
                "{} vs {r_squared}", weights.r_squared);
        }
    }

    /// Correlations ignore units: rescaling a driver or the outcome, or
    /// reordering the drivers, changes no weight.
    #[test]
    fn weights_ignore_units_and_order((k, cases) in cases_strategy()) {
        let Ok(base) = relative_weights(&sums_of(k, &cases)) else { return Ok(()); };
        let rescaled: Vec<Vec<f64>> = cases.iter().map(|c| {
            let mut c = c.clone();
            c[0] = 10.0 - c[0];          // the same question asked the other way round
            c[k] = c[k] * 10.0 + 5.0;    // the outcome in other units
            c
        }).collect();
        let other = relative_weights(&sums_of(k, &rescaled)).unwrap();
        for (a, b) in base.drivers.iter().zip(&other.drivers) {
            prop_assert!((a.raw_weight - b.raw_weight).abs() < 1e-9);
        }
        let reversed: Vec<Vec<f64>> = cases.iter().map(|c| {
            let mut d: Vec<f64> = c[..k].iter().rev().copied().collect();
            d.push(c[k]);
            d
        }).collect();
        let flipped = relative_weights(&sums_of(k, &reversed)).unwrap();
        for (a, b) in base.drivers.iter().zip(flipped.drivers.iter().rev()) {
            prop_assert!((a.raw_weight - b.raw_weight).abs() < 1e-9);
        }
    }
}
