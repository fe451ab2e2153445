//! The expectation gaps (SPEC §16.2): per RATING question, customers'
//! experience against their own expectation (gap 5, paired) and
//! leadership's and staff's belief about what customers expect against
//! what customers expect (gap 1). The answers are summed in PostgreSQL
//! (`store::frames`: paired sums and moments, never answer rows) and
//! scored by `scoring::expectation` under the [`Context`] of the call.
//!
//! Decisions where SPEC §16.2 is silent:
//! - Without `questions`, every RATING question with an EXPECTATION answer
//!   in scope from any role is reported. Questions the caller names are
//!   always reported, with zero respondents (suppressed) when there is no
//!   data; duplicates are reported once.
//! - A test is shown from `max(min_group_size, 2)` respondents per side:
//!   the model's threshold (§5), and the fewest a t-test needs.
//! - Gap 1 compares each inside role with every customer who stated an
//!   expectation of the question, paired or not.
//! - The q-values are over every test shown in the response: each gap 5
//!   and each gap 1.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    ServiceResult, Services,
    context::Context,
    frames::{self, FramePlan},
};
use crate::{
    domain::{
        Numbered, Scope, TenantId, Violations, enums::AnswerFrame,
        violations::check_confidence_level,
    },
    scoring::{
        Role,
        expectation::{ExpectationFigures, belief, control_expectation_fdr, customer_gap},
        frames::PairedSums,
        stats::Moments,
    },
    store::frames::{self as store, FrameQuery},
};

/// What a caller asks for, before it is checked against the catalog.
#[derive(Debug, Clone, Default)]
pub struct ExpectationQuery {
    pub scope: Scope,
    /// Question keys as given (empty: every RATING question with
    /// EXPECTATION answers).
    pub questions: Vec<String>,
    /// The requested confidence level (`None`: the model's).
    pub confidence: Option<f64>,
}

/// An [`ExpectationQuery`] checked against the catalog: what
/// [`expectation_gap`] computes.
#[derive(Debug, Clone)]
pub struct ExpectationPlan(FramePlan);

impl ExpectationQuery {
    /// Checks the query under `ctx`. `found` holds what the caller found
    /// converting the request (its filter), so every violation is reported
    /// at once, in field order: filter, `questions[i]`, `confidence_level`.
    pub fn plan(self, found: Violations, ctx: &Context) -> Result<ExpectationPlan, Violations> {
        let mut v = found;
        let questions = frames::check_questions(&mut v, &self.questions, ctx);
        if let Some(c) = self.confidence {
            check_confidence_level(&mut v, "confidence_level", c);
        }
        v.into_result()?;
        Ok(ExpectationPlan(FramePlan::new(
            self.scope,
            questions,
            self.confidence,
            ctx,
        )))
    }
}

impl ExpectationPlan {
    /// The plan of a composed score (the priority map, the scorecard) over
    /// `scope` at `confidence`: `questions` that are not RATING questions
    /// of the catalog are left out; none means every RATING question with
    /// EXPECTATION answers.
    pub fn plan_for(
        scope: Scope,
        questions: &[String],
        confidence: f64,
        ctx: &Context,
    ) -> ExpectationPlan {
        ExpectationPlan(FramePlan::for_questions(scope, questions, confidence, ctx))
    }
}

/// The expectation gaps of one question.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionExpectation {
    pub question: String,
    pub figures: ExpectationFigures,
}

/// The expectation gaps of a scope, questions by key.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectationGap {
    pub questions: Vec<QuestionExpectation>,
    pub confidence: f64,
    pub min_group_size: u64,
}

impl ExpectationGap {
    /// The figures of `key`, if reported.
    pub fn question(&self, key: &str) -> Option<&ExpectationFigures> {
        self.questions
            .iter()
            .find(|q| q.question == key)
            .map(|q| &q.figures)
    }
}

/// Computes the expectation gaps of `plan`.
pub async fn expectation_gap(
    services: &Services,
    tenant: TenantId,
    plan: &ExpectationPlan,
) -> ServiceResult<ExpectationGap> {
    let plan = &plan.0;
    let keys = plan.questions.keys();
    let query = FrameQuery {
        scope: &plan.scope,
        frame: AnswerFrame::Expectation,
        questions: keys.as_deref(),
        competitor: None,
    };
    // Two queries at once.
    let (pairs, moments) = read!(services, tenant, 2, |pool| {
        Ok(tokio::try_join!(
            store::paired_sums(pool, tenant, query, Role::Customer),
            store::moments(pool, tenant, query),
        )?)
    })?;

    let pairs: BTreeMap<&str, PairedSums> = pairs
        .iter()
        .map(|row| (row.question.as_str(), frames::paired_sums(row)))
        .collect();
    let mut by_role: BTreeMap<(&str, Role), Moments> = BTreeMap::new();
    for row in &moments {
        if let Some(role) = Role::from_db(row.role) {
            by_role.insert((row.question.as_str(), role), frames::moments(row));
        }
    }
    let with_data: BTreeSet<String> = moments.iter().map(|r| r.question.clone()).collect();

    let reported = plan.questions.reported(&with_data);
    let mut figures: Vec<ExpectationFigures> = reported
        .iter()
        .map(|&key| {
            let scale = &plan.questions.scales[key];
            let customers = by_role
                .get(&(key, Role::Customer))
                .copied()
                .unwrap_or_default();
            let beliefs = [Role::Leadership, Role::Staff]
                .into_iter()
                .filter_map(|role| {
                    let inside = by_role.get(&(key, role)).filter(|m| m.n > 0)?;
                    let b = belief(
                        *inside,
                        customers,
                        scale,
                        plan.min_group_size,
                        plan.confidence,
                    );
                    Some((role, b))
                })
                .collect();
            ExpectationFigures {
                customers: customer_gap(
                    &pairs.get(key).copied().unwrap_or_default(),
                    scale,
                    plan.min_group_size,
                    plan.confidence,
                ),
                beliefs,
            }
        })
        .collect();
    control_expectation_fdr(&mut figures, plan.confidence);
    Ok(ExpectationGap {
        questions: reported
            .into_iter()
            .zip(figures)
            .map(|(key, figures)| QuestionExpectation {
                question: key.to_owned(),
                figures,
            })
            .collect(),
        confidence: plan.confidence,
        min_group_size: plan.min_group_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{model::ScoringModel, question::built_in_questions};

    fn ctx() -> Context {
        Context {
            model: ScoringModel::default(),
            etag: String::new(),
            catalog: built_in_questions(),
        }
    }

    #[test]
    fn a_composed_score_plans_its_own_questions_and_level() {
        let keys = ["speed", "improve", "no_such_question", "ease", "speed"].map(String::from);
        let ExpectationPlan(plan) = ExpectationPlan::plan_for(Scope::default(), &keys, 0.9, &ctx());
        // THEMES and unknown keys are left out, not refused.
        assert_eq!(
            plan.questions.keys(),
            Some(vec!["ease".to_owned(), "speed".to_owned()])
        );
        assert!(plan.questions.explicit);
        assert_eq!((plan.confidence, plan.min_group_size), (0.9, 5));

        let ExpectationPlan(every) = ExpectationPlan::plan_for(Scope::default(), &[], 0.95, &ctx());
        assert!(!every.questions.explicit);
        assert_eq!(every.questions.keys(), None);
    }

    #[test]
    fn a_request_is_refused_at_every_field() {
        let query = ExpectationQuery {
            scope: Scope::default(),
            questions: vec!["improve".into(), "sped".into()],
            confidence: Some(0.2),
        };
        let v = query.plan(Violations::default(), &ctx()).unwrap_err();
        let fields: Vec<&str> = v.items().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["questions[0]", "questions[1]", "confidence_level"]);
    }
}
