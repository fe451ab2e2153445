//! What the services of the framed gaps (`expectation`, `competition`,
//! SPEC §16.2–16.3) share: the checked request — scope, RATING questions,
//! confidence level and suppression threshold — and the store's sums as
//! scoring's.

use super::{
    context::Context,
    questions::{self, Chosen, RatingQuestions},
};
use crate::{
    domain::{Scope, Violations},
    scoring::{frames::PairedSums, stats::Moments},
    store::frames as store,
};

/// A framed-gap request checked against the catalog, the model's settings
/// resolved.
#[derive(Debug, Clone)]
pub struct FramePlan {
    pub scope: Scope,
    pub questions: RatingQuestions,
    pub confidence: f64,
    /// The model's `min_group_size` (a test is shown from
    /// `scoring::frames::shown_from` of it).
    pub min_group_size: u64,
}

/// Checks a request's `questions`: each known and RATING (a THEMES key
/// is refused at `questions[i]`, since THEMES answers are EXPERIENCE
/// only); violations are added to `v`.
pub fn check_questions(v: &mut Violations, requested: &[String], ctx: &Context) -> RatingQuestions {
    let catalog = questions::index(&ctx.catalog);
    let chosen = questions::choose(v, requested, &catalog, questions::rating_only);
    RatingQuestions::of(chosen, &catalog)
}

impl FramePlan {
    /// The plan of checked `questions` and a checked `confidence` (`None`:
    /// the model's).
    pub fn new(
        scope: Scope,
        questions: RatingQuestions,
        confidence: Option<f64>,
        ctx: &Context,
    ) -> FramePlan {
        FramePlan {
            scope,
            questions,
            confidence: confidence.unwrap_or(ctx.model.confidence_level),
            min_group_size: u64::try_from(ctx.model.min_group_size).unwrap_or(0),
        }
    }

    /// The plan of a caller that chose its questions and confidence itself
    /// (a composed score: the priority map, the scorecard): `questions`
    /// that are not RATING questions of the catalog are left out; none
    /// means every RATING question with data.
    pub fn for_questions(
        scope: Scope,
        questions: &[String],
        confidence: f64,
        ctx: &Context,
    ) -> FramePlan {
        let catalog = questions::index(&ctx.catalog);
        let chosen = if questions.is_empty() {
            Chosen::Every
        } else {
            Chosen::Named(
                questions
                    .iter()
                    .filter_map(|key| catalog.get_key_value(key.as_str()).map(|(k, _)| *k))
                    .collect(),
            )
        };
        FramePlan::new(
            scope,
            RatingQuestions::of(chosen, &catalog),
            Some(confidence),
            ctx,
        )
    }
}

/// The store's paired sums as scoring's (SQL counts are never negative).
pub fn paired_sums(row: &store::PairedSums) -> PairedSums {
    PairedSums {
        respondents: count(row.respondents),
        sum_experience: row.sum_experience,
        sum_framed: row.sum_framed,
        sum_sq_difference: row.sum_sq_difference,
        above: count(row.above),
        below: count(row.below),
    }
}

/// The store's moments as scoring's.
pub fn moments(row: &store::FrameMoments) -> Moments {
    Moments::new(count(row.respondents), row.sum as f64, row.sum_sq as f64)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
