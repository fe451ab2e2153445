//! The priority map (SPEC §16.4): which questions customers care about
//! most and where they are least satisfied, composed from the scores the
//! service already has.
//!
//! - Questions: the RATING questions with CUSTOMER EXPERIENCE answers in
//!   scope, except the outcome questions [`OUTCOME_QUESTIONS`].
//! - Performance and the delivery gap come from one perception-gap call
//!   (`service::gap`) over those questions: the favorable share of
//!   customers × 100 with its Wilson interval, and the LEADERSHIP→CUSTOMER
//!   `gap_points`. A question whose customers number fewer than
//!   `min_group_size` is suppressed like there: only its counts are
//!   reported, and it is not placed.
//! - Stated importance: customers' IMPORTANCE answers (`store::frames`
//!   sums), absent below `min_group_size` respondents.
//! - Derived importance: the rescaled relative weight of each unsuppressed
//!   question against [`DERIVED_OUTCOME`] (SPEC §11), over the complete
//!   cases (`store::drivers`), when the model can run.
//! - Placement and order: `scoring::priority::place`.
//!
//! Decisions where SPEC §16.4 is silent:
//! - The key-driver model's drivers are the map's unsuppressed questions;
//!   it runs with at least max(`min_group_size`, drivers + 2) complete
//!   cases (§11's threshold) and at most [`MAX_DRIVERS`] drivers; beyond
//!   that derived importance is absent (`derived_cases` 0), as it is
//!   without any unsuppressed question.
//! - Stated importance needs `min_group_size` IMPORTANCE respondents (and
//!   at least one, when the threshold is 0); its interval needs two.
//! - `expectation_gap_points` is customers' gap 5 from the expectation-gap
//!   service (§16.2) over the same scope, where it is shown (not
//!   suppressed).

use std::collections::BTreeMap;

use super::{
    ServiceResult, Services,
    context::{self, Context},
    expectation::{self, ExpectationGap, ExpectationPlan},
    gap::{self, GapQuery, PerceptionGap},
    scorecard::comparison,
};
use crate::{
    domain::{Numbered, Scope, TenantId, Violations, enums::AnswerFrame, enums::QuestionKind},
    scoring::{
        Interval, Role,
        drivers::{CrossProducts, relative_weights},
        priority::{
            ImportanceSource, PriorityInput, Quadrant, StatedImportance, place, stated_importance,
        },
        stats::Moments,
    },
    store::{
        drivers::{self, CompleteCaseSums, Variable},
        frames::{self, FrameQuery},
    },
};

pub use crate::store::drivers::MAX_DRIVERS;

/// The outcome questions SPEC §16.4 leaves off the map: they are what the
/// others drive, not things to work on.
pub const OUTCOME_QUESTIONS: [&str; 3] = ["likelihood_to_recommend", "overall_experience", "csat"];

/// The outcome derived importance is measured against.
pub const DERIVED_OUTCOME: &str = "likelihood_to_recommend";

/// What a caller asks for.
#[derive(Debug, Clone, Default)]
pub struct PriorityQuery {
    pub scope: Scope,
    /// The requested confidence level (`None`: the model's).
    pub confidence: Option<f64>,
}

/// Customers' performance on one question, in points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Performance {
    /// Favorable share × 100.
    pub value: f64,
    /// Wilson score interval × 100.
    pub ci: Interval,
}

/// One question of the map.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityQuestion {
    pub question: String,
    /// CUSTOMER respondents with an EXPERIENCE answer.
    pub respondents: u64,
    /// `respondents < min_group_size`: only the counts are reported.
    pub suppressed: bool,
    /// CUSTOMER respondents with an IMPORTANCE answer.
    pub importance_respondents: u64,
    pub stated_importance: Option<StatedImportance>,
    /// Rescaled relative weight, % of R².
    pub derived_importance: Option<f64>,
    /// `None` exactly when suppressed.
    pub performance: Option<Performance>,
    /// Customers' gap 5 (§16.2), when shown.
    pub expectation_gap_points: Option<f64>,
    /// LEADERSHIP→CUSTOMER gap points (§5), when both sides are shown.
    pub delivery_gap_points: Option<f64>,
    /// `None` when not placed.
    pub quadrant: Option<Quadrant>,
}

/// The key-driver model behind derived importance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DerivedModel {
    pub r_squared: f64,
}

/// The priority map of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityMap {
    /// In map order: CONCENTRATE_HERE first, then by importance, largest
    /// first; unplaced questions last, by key.
    pub questions: Vec<PriorityQuestion>,
    /// `None` when no question could be placed.
    pub source: Option<ImportanceSource>,
    pub importance_mean: Option<f64>,
    pub performance_mean: Option<f64>,
    /// `None` when the key-driver model could not run.
    pub derived: Option<DerivedModel>,
    /// Complete cases of the key-driver model.
    pub derived_cases: u64,
    pub confidence: f64,
    pub min_group_size: u64,
}

impl PriorityMap {
    /// The first CONCENTRATE_HERE question: the scorecard's top priority.
    pub fn top_priority(&self) -> Option<&PriorityQuestion> {
        self.questions
            .first()
            .filter(|q| q.quadrant == Some(Quadrant::ConcentrateHere))
    }
}

/// Computes the priority map of `query` under `ctx`.
pub async fn priority_map(
    services: &Services,
    tenant: TenantId,
    query: &PriorityQuery,
    ctx: &Context,
) -> ServiceResult<PriorityMap> {
    let confidence = context::confidence(query.confidence, &ctx.model)?;
    let plan = GapQuery {
        scope: query.scope.clone(),
        questions: Vec::new(),
        confidence: Some(confidence),
        group_by: None,
    }
    .plan(Violations::default(), ctx)?
    .without_themes()
    .without_questions(&OUTCOME_QUESTIONS);
    let expectation_plan = ExpectationPlan::plan_for(query.scope.clone(), &[], confidence, ctx);
    let (gaps, expectations) = tokio::try_join!(
        gap::perception_gap(services, tenant, &plan),
        expectation::expectation_gap(services, tenant, &expectation_plan),
    )?;
    priority_map_from_gaps(services, tenant, &query.scope, ctx, &gaps, &expectations).await
}

/// The priority map of `scope` from its perception gap `gaps`, computed
/// over every RATING question with data in `scope` (no `questions`, no
/// `group_by`), at the map's confidence level, and its expectation gaps
/// `expectations` (every question with EXPECTATION answers): the scorecard
/// passes its own, so the two agree and nothing is aggregated twice.
/// Outcome questions in `gaps` are left out here.
pub async fn priority_map_from_gaps(
    services: &Services,
    tenant: TenantId,
    scope: &Scope,
    ctx: &Context,
    gaps: &PerceptionGap,
    expectations: &ExpectationGap,
) -> ServiceResult<PriorityMap> {
    let min_group_size = gaps.min_group_size;
    let confidence = gaps.confidence;
    let scale_of: BTreeMap<&str, (i32, i32)> = ctx
        .catalog
        .iter()
        .filter(|q| q.kind == QuestionKind::Rating && q.scale_min < q.scale_max)
        .map(|q| (q.key.as_str(), (q.scale_min, q.scale_max)))
        .collect();
    // The map's questions in key order (the report's order), with their
    // scales.
    let mut questions: Vec<PriorityQuestion> = Vec::new();
    let mut scales: Vec<(i32, i32)> = Vec::new();
    for q in &gaps.overall.questions {
        let customers = q.gap.roles.get(Role::Customer);
        if OUTCOME_QUESTIONS.contains(&q.question.as_str()) || customers.respondents == 0 {
            continue;
        }
        let Some(&scale) = scale_of.get(q.question.as_str()) else {
            continue;
        };
        scales.push(scale);
        questions.push(PriorityQuestion {
            question: q.question.clone(),
            respondents: customers.respondents,
            suppressed: customers.suppressed,
            importance_respondents: 0,
            stated_importance: None,
            derived_importance: None,
            performance: customers.shares.map(|s| Performance {
                value: s.favorable_share * 100.0,
                ci: s.favorable_ci.scaled(100.0),
            }),
            expectation_gap_points: expectations
                .question(&q.question)
                .and_then(|e| e.customers.figures.as_ref())
                .map(|f| f.gap.points),
            delivery_gap_points: comparison(&q.gap.comparisons, Role::Leadership, Role::Customer)
                .map(|c| c.gap_points),
            quadrant: None,
        });
    }

    let keys: Vec<String> = questions.iter().map(|q| q.question.clone()).collect();
    let driver_index: Vec<usize> = (0..questions.len())
        .filter(|&i| !questions[i].suppressed)
        .collect();
    let outcome = scale_of
        .get(DERIVED_OUTCOME)
        .map(|&(scale_min, _)| Variable {
            question: DERIVED_OUTCOME,
            scale_min,
        });
    let drivers: Vec<Variable<'_>> = driver_index
        .iter()
        .map(|&i| Variable {
            question: &keys[i],
            scale_min: scales[i].0,
        })
        .collect();
    let model_can_run = outcome.is_some() && !drivers.is_empty() && drivers.len() <= MAX_DRIVERS;

    let (importance, sums) = if keys.is_empty() {
        (Vec::new(), None)
    } else {
        // Two queries at once.
        read!(services, tenant, 2, |pool| {
            let importance = frames::moments(
                pool,
                tenant,
                FrameQuery {
                    scope,
                    frame: AnswerFrame::Importance,
                    questions: Some(&keys),
                    competitor: None,
                },
            );
            let sums = async {
                match outcome.filter(|_| model_can_run) {
                    Some(outcome) => {
                        drivers::complete_case_sums(pool, tenant, scope, outcome, &drivers)
                            .await
                            .map(Some)
                    }
                    None => Ok(None),
                }
            };
            Ok(tokio::try_join!(importance, sums)?)
        })?
    };

    let index: BTreeMap<&str, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    for row in importance {
        if Role::from_db(row.role) != Some(Role::Customer) {
            continue;
        }
        let Some(&i) = index.get(row.question.as_str()) else {
            continue;
        };
        let q = &mut questions[i];
        q.importance_respondents = u64::try_from(row.respondents).unwrap_or(0);
        if !q.suppressed && q.importance_respondents >= min_group_size.max(1) {
            let (scale_min, scale_max) = scales[i];
            let moments = Moments::new(q.importance_respondents, row.sum as f64, row.sum_sq as f64);
            q.stated_importance = stated_importance(scale_min, scale_max, moments, confidence);
        }
    }

    let mut derived_cases = 0;
    let mut derived = None;
    if let Some(sums) = sums {
        derived_cases = sums.cases;
        let needed = min_group_size.max(drivers.len() as u64 + 2);
        if sums.cases >= needed
            && let Some((r_squared, weights)) = derived_importance(&sums)
        {
            derived = Some(DerivedModel { r_squared });
            for (&i, weight) in driver_index.iter().zip(weights) {
                questions[i].derived_importance = weight;
            }
        }
    }

    let inputs: Vec<PriorityInput> = questions
        .iter()
        .map(|q| PriorityInput {
            question: q.question.clone(),
            performance: q.performance.map(|p| p.value),
            stated: q.stated_importance.map(|s| s.value),
            derived: q.derived_importance,
        })
        .collect();
    let placement = place(&inputs);
    for (q, quadrant) in questions.iter_mut().zip(&placement.quadrants) {
        q.quadrant = *quadrant;
    }
    let mut slots: Vec<Option<PriorityQuestion>> = questions.into_iter().map(Some).collect();
    let ordered = placement
        .order
        .iter()
        .filter_map(|&i| slots[i].take())
        .collect();
    Ok(PriorityMap {
        questions: ordered,
        source: placement.source,
        importance_mean: placement.importance_mean,
        performance_mean: placement.performance_mean,
        derived,
        derived_cases,
        confidence,
        min_group_size,
    })
}

/// R² and the rescaled weight of each driver (in order) of the model on
/// `sums`; `None` when it cannot be computed: an outcome every case scored
/// the same has no variance to explain, and an eigen-decomposition that
/// does not converge has no answer. A weight is `None` when R² = 0.
fn derived_importance(sums: &CompleteCaseSums) -> Option<(f64, Vec<Option<f64>>)> {
    let to_f64 = |v: &[i64]| v.iter().map(|&x| x as f64).collect();
    let products = CrossProducts::new(sums.cases, to_f64(&sums.sums), to_f64(&sums.products));
    match products.and_then(|p| relative_weights(&p)) {
        Ok(w) => Some((
            w.r_squared,
            w.drivers.iter().map(|d| d.rescaled_weight).collect(),
        )),
        Err(err) => {
            tracing::debug!(%err, "no derived importance");
            None
        }
    }
}
