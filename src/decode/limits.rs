//! The element limits the scanner checks on the wire, per (message type,
//! field), with the services' own constants and words.
//!
//! A wire limit must never reject a request the service accepts: where a
//! service counts after normalisation (themes de-duplicated case-
//! insensitively, label maps whose repeated keys prost folds into one), the
//! raw count is the service's own raw limit (themes: `MAX_SUBMITTED_THEMES`)
//! or [`DEDUP_SLACK`] times the limit (labels). A field the services do not
//! limit is not listed: its decoded size still counts against the budget.

use crate::{
    domain::{enums::OutcomeKind, violations::MAX_LABELS},
    service::{
        drivers::MAX_DRIVERS,
        follow_ups::MAX_FOLLOW_UPS,
        journeys::{MAX_JOURNEYS, MAX_TOUCHPOINTS},
        outcomes::MAX_OUTCOMES,
        questions::MAX_REQUESTED_QUESTIONS,
        survey::{MAX_ANSWERS, MAX_RESPONSES_PER_MESSAGE, MAX_SUBMITTED_THEMES, MAX_THEMES},
    },
};

/// How many raw elements a de-duplicated field may carry per element
/// allowed after de-duplication: generous for a client that sends `Price`
/// and `price`, and still a constant bound on the work and memory before
/// the service's own check.
pub const DEDUP_SLACK: usize = 4;

/// Raw themes per answer: the survey service counts them against the same
/// constant before any per-theme work, so wire and service agree exactly.
const RAW_THEMES: usize = MAX_SUBMITTED_THEMES;
/// Raw label entries per map.
const RAW_LABELS: usize = DEDUP_SLACK * MAX_LABELS;

/// The most elements `message.field` may carry in one message, and the
/// violation's description given the count found.
#[derive(Debug)]
pub struct WireLimit {
    /// Full message name, e.g. `gapscore.v1.SurveyResponse`.
    pub message: &'static str,
    pub field: &'static str,
    pub max: usize,
    pub describe: fn(usize) -> String,
}

/// Labels of a record or filter.
fn labels(n: usize) -> String {
    format!(
        "at most {MAX_LABELS} labels are allowed (and at most {RAW_LABELS} entries on the wire), got {n}"
    )
}

/// Question keys of a score request: the words of `service::questions`.
fn questions(n: usize) -> String {
    format!("at most {MAX_REQUESTED_QUESTIONS} questions are allowed, got {n}")
}

fn responses(n: usize) -> String {
    format!("must contain 1-{MAX_RESPONSES_PER_MESSAGE} responses, got {n}")
}

fn drivers(n: usize) -> String {
    format!("at most {MAX_DRIVERS} driver questions are weighed, got {n}")
}

fn journeys(n: usize) -> String {
    format!("at most {MAX_JOURNEYS} journeys are allowed per message, got {n}")
}

/// Every wire limit; [`super::schema::Schema`] attaches them to their fields.
pub static WIRE_LIMITS: &[WireLimit] = &[
    WireLimit {
        message: "gapscore.v1.GetPerceptionGapRequest",
        field: "questions",
        max: MAX_REQUESTED_QUESTIONS,
        describe: questions,
    },
    WireLimit {
        message: "gapscore.v1.GetExpectationGapRequest",
        field: "questions",
        max: MAX_REQUESTED_QUESTIONS,
        describe: questions,
    },
    WireLimit {
        message: "gapscore.v1.GetCompetitiveGapRequest",
        field: "questions",
        max: MAX_REQUESTED_QUESTIONS,
        describe: questions,
    },
    WireLimit {
        message: "gapscore.v1.GetKeyDriversRequest",
        field: "driver_questions",
        max: MAX_DRIVERS,
        describe: drivers,
    },
    WireLimit {
        message: "gapscore.v1.SubmitSurveyResponsesRequest",
        field: "responses",
        max: MAX_RESPONSES_PER_MESSAGE,
        describe: responses,
    },
    WireLimit {
        message: "gapscore.v1.StreamSurveyResponsesRequest",
        field: "responses",
        max: MAX_RESPONSES_PER_MESSAGE,
        describe: responses,
    },
    WireLimit {
        message: "gapscore.v1.SurveyResponse",
        field: "answers",
        max: MAX_ANSWERS,
        describe: |n| format!("at most {MAX_ANSWERS} answers are allowed, got {n}"),
    },
    WireLimit {
        message: "gapscore.v1.SurveyResponse",
        field: "labels",
        max: RAW_LABELS,
        describe: labels,
    },
    WireLimit {
        message: "gapscore.v1.Answer",
        field: "themes",
        max: RAW_THEMES,
        describe: |n| {
            format!(
                "at most {MAX_THEMES} distinct themes are allowed (and at most {RAW_THEMES} themes before de-duplication), got {n}"
            )
        },
    },
    WireLimit {
        message: "gapscore.v1.SubmitJourneysRequest",
        field: "journeys",
        max: MAX_JOURNEYS,
        describe: journeys,
    },
    WireLimit {
        message: "gapscore.v1.StreamJourneysRequest",
        field: "journeys",
        max: MAX_JOURNEYS,
        describe: journeys,
    },
    WireLimit {
        message: "gapscore.v1.Journey",
        field: "touchpoints",
        max: MAX_TOUCHPOINTS,
        describe: |n| {
            format!("at most {MAX_TOUCHPOINTS} touchpoints are allowed per journey, got {n}")
        },
    },
    WireLimit {
        message: "gapscore.v1.Journey",
        field: "labels",
        max: RAW_LABELS,
        describe: labels,
    },
    WireLimit {
        message: "gapscore.v1.SubmitOutcomesRequest",
        field: "outcomes",
        max: MAX_OUTCOMES,
        describe: |n| format!("at most {MAX_OUTCOMES} outcomes are allowed per request, got {n}"),
    },
    WireLimit {
        message: "gapscore.v1.RecordFollowUpsRequest",
        field: "follow_ups",
        max: MAX_FOLLOW_UPS,
        describe: |n| {
            format!("at most {MAX_FOLLOW_UPS} follow_ups are allowed per request, got {n}")
        },
    },
    WireLimit {
        message: "gapscore.v1.ScoreFilter",
        field: "labels",
        max: RAW_LABELS,
        describe: labels,
    },
    // More priors than kinds always repeats or misnames a kind, which the
    // model's check rejects.
    WireLimit {
        message: "gapscore.v1.ScoringModel",
        field: "priors",
        max: OutcomeKind::ALL.len(),
        describe: |n| {
            format!(
                "at most {} priors are allowed (one per OutcomeKind), got {n}",
                OutcomeKind::ALL.len()
            )
        },
    },
];
