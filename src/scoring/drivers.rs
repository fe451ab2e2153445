//! What matters most (SPEC §11): Johnson's relative weights of the driver
//! questions for an outcome, from the sums SQL aggregates over the
//! complete cases.
//!
//! Relative weights answer "how much of the outcome's explained variance
//! does each driver carry?" even when drivers are correlated with each
//! other (as satisfaction questions always are), where regression
//! coefficients become unstable and can even turn negative. Johnson (2000, *Multivariate
//! Behavioral Research* 35(1)) replaces the drivers by their closest
//! orthogonal counterparts, regresses the outcome on those, and maps the
//! shares back: the weights are non-negative and sum to the model's R².

use nalgebra::{DMatrix, DVector, SymmetricEigen};
use serde::{Deserialize, Serialize};

use super::stats::centred_product;

pub mod bootstrap;

/// The most drivers one call weighs (SPEC §11 takes every RATING question
/// by default; the catalog has far fewer). Callers check it before
/// aggregating; [`CrossProducts`] refuses more. At 100 the
/// eigen-decomposition and products of the 100 × 100 matrices take about
/// 1 ms optimized (0.1 s in a debug build).
pub const MAX_DRIVERS: usize = 100;

/// Eigenvalues of the driver correlation matrix below this fraction of
/// the largest are taken as 0: the drivers are collinear in that
/// direction (one question is a linear function of others: the same
/// question asked twice, or reversed). Exact collinearity leaves ~1e-16
/// of rounding there, while two questions answered alike but for one
/// point in one case of a million still leave ~1e-7.
pub const COLLINEARITY_TOLERANCE: f64 = 1e-10;

/// Iterations of the symmetric QR algorithm before
/// [`DriversError::NoConvergence`]: a bound that only guarantees the call
/// ends.
const MAX_EIGEN_ITERATIONS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriversError {
    #[error("{drivers} drivers is more than the {max} that relative weights are computed for")]
    TooManyDrivers { drivers: usize, max: usize },
    #[error("expected {expected} values, got {actual}")]
    Shape { expected: usize, actual: usize },
    #[error("{cases} complete cases cannot be correlated; at least 2 are needed")]
    TooFewCases { cases: u64 },
    #[error("every case gave the outcome the same score, so there is no variance to explain")]
    ConstantOutcome,
    #[error("the eigen-decomposition of the driver correlations did not converge")]
    NoConvergence,
}

/// Sums over the complete cases of k drivers and the outcome, the
/// variables numbered `0..k` for the drivers and `k` for the outcome:
/// the count `n`, the sums `Σxᵢ` and the sums of products `Σxᵢxⱼ`, a
/// (k + 1) × (k + 1) matrix in row-major order. The matrix is symmetric,
/// so only its upper triangle (`i ≤ j`) is read; SQL need not compute the
/// rest.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossProducts {
    n: u64,
    sums: Vec<f64>,
    products: Vec<f64>,
}

impl CrossProducts {
    /// Sums as SQL aggregates them: `count(*)`, `sum(xᵢ)` per variable and
    /// `sum(xᵢ * xⱼ)` per pair, the outcome last.
    pub fn new(n: u64, sums: Vec<f64>, products: Vec<f64>) -> Result<Self, DriversError> {
        let variables = sums.len();
        check_drivers(variables.saturating_sub(1))?;
        if variables == 0 {
            return Err(DriversError::Shape {
                expected: 1,
                actual: 0,
            });
        }
        if products.len() != variables * variables {
            return Err(DriversError::Shape {
                expected: variables * variables,
                actual: products.len(),
            });
        }
        Ok(CrossProducts { n, sums, products })
    }

    /// No cases yet, for [`CrossProducts::add_case`].
    pub fn empty(drivers: usize) -> Result<Self, DriversError> {
        check_drivers(drivers)?;
        let variables = drivers + 1;
        Ok(CrossProducts {
            n: 0,
            sums: vec![0.0; variables],
            products: vec![0.0; variables * variables],
        })
    }

    /// Adds one complete case: the driver scores in order, then the
    /// outcome's.
    pub fn add_case(&mut self, case: &[f64]) -> Result<(), DriversError> {
        let variables = self.sums.len();
        if case.len() != variables {
            return Err(DriversError::Shape {
                expected: variables,
                actual: case.len(),
            });
        }
        self.n += 1;
        for (i, &x) in case.iter().enumerate() {
            self.sums[i] += x;
            for (j, &y) in case.iter().enumerate().skip(i) {
                self.products[i * variables + j] += x * y;
            }
        }
        Ok(())
    }

    pub fn cases(&self) -> u64 {
        self.n
    }

    pub fn drivers(&self) -> usize {
        self.sums.len() - 1
    }

    /// `Σ(xᵢ − x̄ᵢ)(xⱼ − x̄ⱼ)`, from the upper triangle.
    fn centred(&self, i: usize, j: usize) -> f64 {
        let (i, j) = (i.min(j), i.max(j));
        let product = self.products[i * self.sums.len() + j];
        centred_product(self.n, self.sums[i], self.sums[j], product)
    }
}

fn check_drivers(drivers: usize) -> Result<(), DriversError> {
    if drivers > MAX_DRIVERS {
        return Err(DriversError::TooManyDrivers {
            drivers,
            max: MAX_DRIVERS,
        });
    }
    Ok(())
}

/// Johnson's relative weights of every driver, in input order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelativeWeights {
    pub cases: u64,
    /// The share of the outcome's variance the drivers explain together:
    /// the R² of the least-squares fit, and the sum of the raw weights.
    pub r_squared: f64,
    pub drivers: Vec<DriverWeight>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DriverWeight {
    /// The part of R² this driver carries, in `[0, R²]`.
    pub raw_weight: f64,
    /// `raw_weight / R² × 100`; `None` when R² = 0 (a share of nothing).
    pub rescaled_weight: Option<f64>,
    /// False when every case gave the driver the same score: its weight
    /// is 0 and it is left out of the correlation matrix (SPEC §11).
    pub varies: bool,
}

/// Johnson's relative weights (SPEC §11) from the sums over the complete
/// cases. With `R` the correlation matrix of the drivers and `r` their
/// correlations with the outcome (from the centred sums, see
/// `stats::centred_product`):
///
/// ```text
/// R = V Λ Vᵀ                       (symmetric eigen-decomposition)
/// Λ½ = V diag(√λ) Vᵀ               (the symmetric square root of R)
/// β = Λ½⁻¹ r                       (the outcome on the orthogonal drivers)
/// raw_j = Σ_k (Λ½)_jk² β_k²
/// R² = Σ_j raw_j = rᵀ R⁻¹ r,   rescaled_j = raw_j / R² × 100
/// ```
///
/// Collinear drivers (a zero eigenvalue: [`COLLINEARITY_TOLERANCE`]) are
/// not an error: `Λ½⁻¹` becomes the pseudo-inverse `V diag(1/√λ, or 0
/// where λ ≈ 0) Vᵀ`. Since `r` lies in the span of `R`, R² is still that
/// of the least-squares fit, and drivers that are copies of each other
/// share their weight equally. A driver without variance gets weight 0
/// and is left out of `R`; if none varies, R² = 0.
///
/// Errors: fewer than 2 cases (the caller asks for at least
/// max(`min_group_size`, drivers + 2)), an outcome without variance, or an
/// eigen-decomposition that does not converge. (More than [`MAX_DRIVERS`]
/// is refused when the sums are built.)
pub fn relative_weights(sums: &CrossProducts) -> Result<RelativeWeights, DriversError> {
    let k = sums.drivers();
    if sums.n < 2 {
        return Err(DriversError::TooFewCases { cases: sums.n });
    }
    let sd: Vec<f64> = (0..=k)
        .map(|i| sums.centred(i, i).max(0.0).sqrt())
        .collect();
    if sd[k] == 0.0 {
        return Err(DriversError::ConstantOutcome);
    }
    let kept: Vec<usize> = (0..k).filter(|&j| sd[j] > 0.0).collect();
    let correlation = |i: usize, j: usize| {
        if i == j {
            1.0
        } else {
            (sums.centred(i, j) / sd[i] / sd[j]).clamp(-1.0, 1.0)
        }
    };
    let p = kept.len();
    let r = DVector::from_fn(p, |a, _| correlation(kept[a], k));
    let raw_kept = if p == 0 {
        Vec::new()
    } else {
        let matrix = DMatrix::from_fn(p, p, |a, b| correlation(kept[a], kept[b]));
        johnson(matrix, &r)?
    };
    let mut raw = vec![0.0; k];
    for (&j, &w) in kept.iter().zip(&raw_kept) {
        raw[j] = w;
    }
    let r_squared: f64 = raw.iter().sum();
    let drivers = raw
        .iter()
        .enumerate()
        .map(|(j, &raw_weight)| DriverWeight {
            raw_weight,
            rescaled_weight: (r_squared > 0.0).then(|| raw_weight / r_squared * 100.0),
            varies: sd[j] > 0.0,
        })
        .collect();
    Ok(RelativeWeights {
        cases: sums.n,
        r_squared,
        drivers,
    })
}

/// The raw weights for a correlation matrix `R` and correlations `r`.
fn johnson(matrix: DMatrix<f64>, r: &DVector<f64>) -> Result<Vec<f64>, DriversError> {
    let eigen = SymmetricEigen::try_new(matrix, f64::EPSILON, MAX_EIGEN_ITERATIONS)
        .ok_or(DriversError::NoConvergence)?;
    let largest = eigen.eigenvalues.max();
    let floor = COLLINEARITY_TOLERANCE * largest;
    let v = &eigen.eigenvectors;
    let kept = |lambda: f64| lambda > floor;
    let root_diag = eigen
        .eigenvalues
        .map(|lambda| if kept(lambda) { lambda.sqrt() } else { 0.0 });
    let inverse_root_diag = eigen.eigenvalues.map(|lambda| {
        if kept(lambda) {
            1.0 / lambda.sqrt()
        } else {
            0.0
        }
    });
    let root = v * DMatrix::from_diagonal(&root_diag) * v.transpose();
    let inverse_root = v * DMatrix::from_diagonal(&inverse_root_diag) * v.transpose();
    let beta = inverse_root * r;
    let raw = root.map(|x| x * x) * beta.map(|b| b * b);
    Ok(raw.iter().copied().collect())
}

#[cfg(test)]
mod tests;
