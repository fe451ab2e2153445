//! Key drivers (SPEC §11): which customer ratings move an outcome most,
//! and which of leadership's misreadings therefore cost the most.
//!
//! - The point estimate uses every complete case, through their sums
//!   aggregated in SQL (`store::drivers::complete_case_sums`); the
//!   relative weights are `scoring::drivers`.
//! - The bootstrap needs the cases themselves: at most
//!   [`MAX_BOOTSTRAP_CASES`] of them are fetched, packed one byte per score
//!   (`store::drivers::complete_cases`; above the cap the first cases in
//!   a fixed pseudo-random order of the responses, walked from an index), and resampled off the async runtime
//!   (`spawn_blocking`) with a cost bounded by
//!   `scoring::drivers::bootstrap::MAX_BOOTSTRAP_WORK` (fewer resamples
//!   when the bound requires it; the response says how many were drawn).
//!   The call holds one tenant connection budget slot per query, like every
//!   score (SPEC §14), and its work is bounded by cases × resamples ×
//!   drivers², independent of the tenant's data size.
//! - The gaps are the perception gap's (`service::gap`) over the drivers.
//!
//! Decisions where SPEC §11 is silent:
//! - Questions named twice among `driver_questions` count once (as in every
//!   `questions` field); the outcome among them is a violation.
//! - Without `driver_questions` and with more than [`MAX_DRIVERS`] RATING
//!   questions with customer data, the call is `FAILED_PRECONDITION`
//!   (`TOO_MANY_DRIVERS`): name the drivers.
//! - An outcome every complete case scored the same is
//!   `FAILED_PRECONDITION` (`CONSTANT_OUTCOME`): there is nothing to explain.
//! - `priority` is 0 when the rescaled weight or the LEADERSHIP→CUSTOMER
//!   gap is absent; drivers tie-break by rescaled weight, then key.

use std::collections::BTreeSet;

use super::{
    ServiceError, ServiceResult, Services,
    blocking::off_runtime,
    context::Context,
    gap::{self, GapQuery},
    questions::{self, CatalogIndex},
    scorecard::comparison,
};
use crate::{
    domain::{Scope, TenantId, Violations, violations::unknown_question},
    scoring::{
        Interval, Role,
        drivers::{
            CrossProducts, DriverWeight, DriversError,
            bootstrap::{
                BootstrapIntervals, PackedCases, bootstrap_raw_weights, bootstrap_samples_within,
            },
            relative_weights,
        },
    },
    store::drivers::{self as store, Variable},
};

pub use crate::store::drivers::MAX_DRIVERS;

/// The outcome when the request names none.
pub const DEFAULT_OUTCOME: &str = "likelihood_to_recommend";
/// Resamples when the request names no number.
pub const DEFAULT_BOOTSTRAP_SAMPLES: u32 = 200;
/// Most resamples a request may ask for (SPEC §11).
pub const MAX_BOOTSTRAP_SAMPLES: u32 = 2_000;
/// Most complete cases the bootstrap resamples.
pub const MAX_BOOTSTRAP_CASES: u32 = 20_000;

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct KeyDriversQuery {
    pub scope: Scope,
    /// Empty: [`DEFAULT_OUTCOME`].
    pub outcome_question: String,
    /// Empty: every other RATING question with CUSTOMER answers in scope.
    pub driver_questions: Vec<String>,
    pub confidence: Option<f64>,
    pub bootstrap_samples: Option<i32>,
    pub seed: u64,
}

/// One driver of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyDriver {
    pub question: String,
    pub weight: DriverWeight,
    /// Percentile bootstrap interval of the raw weight.
    pub raw_weight_ci: Option<Interval>,
    pub leadership_gap_points: Option<f64>,
    pub staff_gap_points: Option<f64>,
    /// rescaled_weight × max(0, leadership_gap_points) / 100.
    pub priority: f64,
}

/// The key-driver model of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyDrivers {
    pub outcome_question: String,
    pub cases: u64,
    pub r_squared: f64,
    /// By priority, largest first.
    pub drivers: Vec<KeyDriver>,
    pub bootstrap_samples: u32,
    pub bootstrap_skipped: u32,
    pub bootstrap_cases: u64,
    pub seed: u64,
    pub confidence: f64,
    pub min_group_size: u64,
}

/// The checked request: outcome and named drivers (empty: every one with
/// data), each with its scale minimum.
struct Checked {
    outcome: (String, i32),
    named: Vec<String>,
    samples: u32,
}

fn check(v: &mut Violations, query: &KeyDriversQuery, catalog: &CatalogIndex<'_>) -> Checked {
    let rating_min = |key: &str| {
        catalog
            .get(key)
            .and_then(|q| questions::rating_scale(q))
            .map(|s| s.scale_min)
    };
    let describe = |key: &str| match catalog.get(key) {
        Some(_) => format!("{key:?} is not a RATING question; only ratings can be weighed"),
        None => unknown_question(key, catalog.keys().copied()),
    };
    let outcome = if query.outcome_question.is_empty() {
        DEFAULT_OUTCOME
    } else {
        query.outcome_question.as_str()
    };
    let outcome_min = rating_min(outcome).unwrap_or_else(|| {
        v.add("outcome_question", describe(outcome));
        0
    });
    let mut named = BTreeSet::new();
    if query.driver_questions.len() > MAX_DRIVERS {
        v.add(
            "driver_questions",
            format!(
                "at most {MAX_DRIVERS} driver questions are weighed, got {}",
                query.driver_questions.len()
            ),
        );
    } else {
        for (i, key) in query.driver_questions.iter().enumerate() {
            if key == outcome {
                v.add(
                    format!("driver_questions[{i}]"),
                    format!("{key:?} is the outcome question; a driver must be another question"),
                );
            } else if rating_min(key).is_some() {
                named.insert(key.clone());
            } else {
                v.add(format!("driver_questions[{i}]"), describe(key));
            }
        }
    }
    let samples = match query.bootstrap_samples {
        None => DEFAULT_BOOTSTRAP_SAMPLES,
        Some(n) if (1..=MAX_BOOTSTRAP_SAMPLES as i32).contains(&n) => n as u32,
        Some(_) => {
            v.add(
                "bootstrap_samples",
                format!("must be between 1 and {MAX_BOOTSTRAP_SAMPLES}"),
            );
            DEFAULT_BOOTSTRAP_SAMPLES
        }
    };
    Checked {
        outcome: (outcome.to_owned(), outcome_min),
        named: named.into_iter().collect(),
        samples,
    }
}

/// Computes the key drivers of `query` under `ctx`; `found` holds the
/// violations the transport found converting the request (its filter).
pub async fn key_drivers(
    services: &Services,
    tenant: TenantId,
    query: &KeyDriversQuery,
    found: Violations,
    ctx: &Context,
) -> ServiceResult<KeyDrivers> {
    let catalog = questions::index(&ctx.catalog);
    let mut v = found;
    let checked = check(&mut v, query, &catalog);
    let (outcome, outcome_min) = checked.outcome;
    // The plan checks the confidence level, and reports it with the rest.
    let plan = GapQuery {
        scope: query.scope.clone(),
        questions: checked.named.clone(),
        confidence: query.confidence,
        group_by: None,
    }
    .plan(v, ctx)?
    .without_themes()
    .without_questions(&[outcome.as_str()]);
    let gaps = gap::perception_gap(services, tenant, &plan).await?;
    let confidence = gaps.confidence;
    let min_group_size = gaps.min_group_size;

    let keys: Vec<String> = if checked.named.is_empty() {
        gaps.overall
            .questions
            .iter()
            .filter(|q| q.gap.roles.get(Role::Customer).respondents > 0)
            .map(|q| q.question.clone())
            .collect()
    } else {
        checked.named
    };
    if keys.len() > MAX_DRIVERS {
        return Err(ServiceError::FailedPrecondition {
            reason: "TOO_MANY_DRIVERS",
            message: format!(
                "{} RATING questions have customer answers in scope and at most {MAX_DRIVERS} \
                 are weighed; name the driver_questions",
                keys.len()
            ),
        });
    }
    let needed = min_group_size.max(keys.len() as u64 + 2);
    let too_few = |cases: u64| ServiceError::FailedPrecondition {
        reason: "TOO_FEW_CASES",
        message: format!(
            "{cases} complete cases (customer responses that answered {outcome:?} and every \
             driver) and {needed} are needed: max(min_group_size, drivers + 2) for {} drivers",
            keys.len()
        ),
    };
    if keys.is_empty() {
        return Err(too_few(0));
    }
    let variables: Vec<Variable<'_>> = keys
        .iter()
        .map(|key| Variable {
            question: key,
            scale_min: catalog
                .get(key.as_str())
                .and_then(|q| questions::rating_scale(q))
                .map_or(0, |s| s.scale_min),
        })
        .collect();
    let outcome_variable = Variable {
        question: &outcome,
        scale_min: outcome_min,
    };

    // The sums first: their count of cases tells the sample whether it can
    // be walked from its index (`store::drivers::Sample`).
    let (sums, packed) = read!(services, tenant, 1, |pool| {
        let sums =
            store::complete_case_sums(pool, tenant, &query.scope, outcome_variable, &variables)
                .await?;
        if sums.cases < needed {
            return Ok((sums, Vec::new()));
        }
        let sample = store::Sample::of(MAX_BOOTSTRAP_CASES, sums.cases);
        let packed = store::complete_cases(
            pool,
            tenant,
            &query.scope,
            outcome_variable,
            &variables,
            sample,
        )
        .await?;
        Ok((sums, packed))
    })?;
    if sums.cases < needed {
        return Err(too_few(sums.cases));
    }
    let to_f64 = |v: &[i64]| v.iter().map(|&x| x as f64).collect();
    let weights = CrossProducts::new(sums.cases, to_f64(&sums.sums), to_f64(&sums.products))
        .and_then(|p| relative_weights(&p))
        .map_err(model_error)?;

    let cases = PackedCases::new(keys.len(), packed).map_err(model_error)?;
    let bootstrap_cases = cases.cases() as u64;
    let samples = bootstrap_samples_within(&cases, checked.samples);
    let seed = query.seed;
    let bootstrap: BootstrapIntervals =
        off_runtime(move || bootstrap_raw_weights(&cases, samples, seed, confidence))
            .await?
            .map_err(model_error)?;

    let mut drivers: Vec<KeyDriver> = keys
        .iter()
        .zip(&weights.drivers)
        .zip(&bootstrap.intervals)
        .map(|((key, &weight), &raw_weight_ci)| {
            let gap = gaps.overall.question(key);
            let points = |from| {
                gap.and_then(|g| comparison(&g.comparisons, from, Role::Customer))
                    .map(|c| c.gap_points)
            };
            let leadership_gap_points = points(Role::Leadership);
            KeyDriver {
                question: key.clone(),
                weight,
                raw_weight_ci,
                leadership_gap_points,
                staff_gap_points: points(Role::Staff),
                priority: priority(weight.rescaled_weight, leadership_gap_points),
            }
        })
        .collect();
    drivers.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then_with(|| {
                let w = |d: &KeyDriver| d.weight.rescaled_weight.unwrap_or(0.0);
                w(b).total_cmp(&w(a))
            })
            .then_with(|| a.question.cmp(&b.question))
    });
    Ok(KeyDrivers {
        outcome_question: outcome,
        cases: sums.cases,
        r_squared: weights.r_squared,
        drivers,
        bootstrap_samples: bootstrap.samples,
        bootstrap_skipped: bootstrap.skipped,
        bootstrap_cases,
        seed,
        confidence,
        min_group_size,
    })
}

/// SPEC §11: rescaled_weight × max(0, LEADERSHIP→CUSTOMER gap_points) /
/// 100, in the units of the gap (points); 0 when either is absent.
pub fn priority(rescaled_weight: Option<f64>, leadership_gap_points: Option<f64>) -> f64 {
    match (rescaled_weight, leadership_gap_points) {
        (Some(w), Some(g)) => w * g.max(0.0) / 100.0,
        _ => 0.0,
    }
}

fn model_error(err: DriversError) -> ServiceError {
    let reason = match err {
        DriversError::ConstantOutcome => "CONSTANT_OUTCOME",
        DriversError::NoConvergence => "NO_CONVERGENCE",
        DriversError::TooFewCases { .. } => "TOO_FEW_CASES",
        DriversError::TooManyDrivers { .. } => "TOO_MANY_DRIVERS",
        DriversError::Shape { .. } => "INCONSISTENT_CASES",
    };
    ServiceError::FailedPrecondition {
        reason,
        message: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_counts_only_an_overestimate() {
        assert_eq!(priority(Some(40.0), Some(25.0)), 10.0);
        assert_eq!(priority(Some(40.0), Some(-25.0)), 0.0);
        assert_eq!(priority(None, Some(25.0)), 0.0);
        assert_eq!(priority(Some(40.0), None), 0.0);
    }
}
