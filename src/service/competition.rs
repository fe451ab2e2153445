//! The competitive gap (SPEC §16.3): per RATING question and competitor,
//! us against the competitor over the CUSTOMER responses that rated both.
//! The pairs are summed in PostgreSQL (`store::frames::paired_sums`) and
//! scored by `scoring::competition` under the [`Context`] of the call.
//!
//! Decisions where SPEC §16.3 is silent:
//! - Without `questions`, every (question, competitor) with paired answers
//!   in scope is reported. A question the caller names is always
//!   reported: for the named `competitor` when there is one, else, when no
//!   customer paired it with any competitor, as one entry with an empty
//!   competitor; either way with zero respondents (suppressed).
//! - At most [`MAX_COMPETITORS`] competitors are reported; more in scope is
//!   `FAILED_PRECONDITION` (`TOO_MANY_COMPETITORS`), found in SQL without
//!   loading them: the caller names one `competitor`.
//! - A lead is shown from `max(min_group_size, 2)` paired respondents.
//! - The q-values are over the paired t-tests shown in the response (the
//!   sign tests, a second look at the same pairs, are not in the family).
//! - Entries are ordered by question key, then competitor, in byte order.

use std::collections::{BTreeMap, BTreeSet};

use super::{
    ServiceError, ServiceResult, Services,
    context::Context,
    frames::{self, FramePlan},
};
use crate::{
    domain::{
        Scope, TenantId, Violations,
        enums::AnswerFrame,
        violations::{check_confidence_level, check_key},
    },
    scoring::{
        Role,
        competition::{CompetitorLead, competitor_lead, control_lead_fdr},
        frames::PairedSums,
    },
    store::frames::{self as store, FrameQuery},
};

pub use crate::store::frames::MAX_COMPETITORS;

/// What a caller asks for, before it is checked against the catalog.
#[derive(Debug, Clone, Default)]
pub struct CompetitionQuery {
    pub scope: Scope,
    /// Question keys as given (empty: every RATING question with paired
    /// COMPETITOR answers).
    pub questions: Vec<String>,
    /// One competitor (`None`: every competitor in scope).
    pub competitor: Option<String>,
    /// The requested confidence level (`None`: the model's).
    pub confidence: Option<f64>,
}

/// A [`CompetitionQuery`] checked against the catalog: what
/// [`competitive_gap`] computes.
#[derive(Debug, Clone)]
pub struct CompetitionPlan {
    frame: FramePlan,
    competitor: Option<String>,
}

impl CompetitionQuery {
    /// Checks the query under `ctx`. `found` holds what the caller found
    /// converting the request (its filter), so every violation is reported
    /// at once, in field order: filter, `questions[i]`, `competitor`,
    /// `confidence_level`.
    pub fn plan(self, found: Violations, ctx: &Context) -> Result<CompetitionPlan, Violations> {
        let mut v = found;
        let questions = frames::check_questions(&mut v, &self.questions, ctx);
        if let Some(c) = &self.competitor {
            check_key(&mut v, "competitor", c);
        }
        if let Some(c) = self.confidence {
            check_confidence_level(&mut v, "confidence_level", c);
        }
        v.into_result()?;
        Ok(CompetitionPlan {
            frame: FramePlan::new(self.scope, questions, self.confidence, ctx),
            competitor: self.competitor,
        })
    }
}

/// The lead over one competitor on one question.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionLead {
    pub question: String,
    /// `""` only for a named question no customer paired with any
    /// competitor.
    pub competitor: String,
    pub lead: CompetitorLead,
}

/// The competitive gap of a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct CompetitiveGap {
    /// By question key, then competitor.
    pub gaps: Vec<QuestionLead>,
    pub confidence: f64,
    pub min_group_size: u64,
}

/// Computes the competitive gap of `plan`.
pub async fn competitive_gap(
    services: &Services,
    tenant: TenantId,
    plan: &CompetitionPlan,
) -> ServiceResult<CompetitiveGap> {
    let CompetitionPlan { frame, competitor } = plan;
    let keys = frame.questions.keys();
    let query = FrameQuery {
        scope: &frame.scope,
        frame: AnswerFrame::Competitor,
        questions: keys.as_deref(),
        competitor: competitor.as_deref(),
    };
    let rows = read!(services, tenant, 1, |db| {
        Ok(store::paired_sums(db, tenant, query, Role::Customer).await?)
    })?;
    let competitors: BTreeSet<&str> = rows.iter().map(|r| r.competitor.as_str()).collect();
    // The store returns at most MAX_COMPETITORS + 1 competitors: the exact
    // number beyond the limit is not known, and not worth counting.
    if competitors.len() > MAX_COMPETITORS {
        return Err(ServiceError::FailedPrecondition {
            reason: "TOO_MANY_COMPETITORS",
            message: format!(
                "at least {} competitors were rated in scope and at most {MAX_COMPETITORS} \
                 are reported; name one in `competitor` or narrow the filter",
                MAX_COMPETITORS + 1
            ),
        });
    }

    let mut pairs: BTreeMap<(&str, &str), PairedSums> = rows
        .iter()
        .filter(|r| frame.questions.scales.contains_key(&r.question))
        .map(|r| {
            (
                (r.question.as_str(), r.competitor.as_str()),
                frames::paired_sums(r),
            )
        })
        .collect();
    if frame.questions.explicit {
        let entry = competitor.as_deref().unwrap_or_default();
        let paired: BTreeSet<&str> = pairs.keys().map(|&(q, _)| q).collect();
        for key in frame.questions.scales.keys() {
            if !paired.contains(key.as_str()) {
                pairs.insert((key.as_str(), entry), PairedSums::default());
            }
        }
    }
    let mut gaps: Vec<QuestionLead> = pairs
        .into_iter()
        .map(|((question, competitor), sums)| QuestionLead {
            question: question.to_owned(),
            competitor: competitor.to_owned(),
            lead: competitor_lead(
                &sums,
                &frame.questions.scales[question],
                frame.min_group_size,
                frame.confidence,
            ),
        })
        .collect();
    control_lead_fdr(gaps.iter_mut().map(|g| &mut g.lead), frame.confidence);
    Ok(CompetitiveGap {
        gaps,
        confidence: frame.confidence,
        min_group_size: frame.min_group_size,
    })
}
