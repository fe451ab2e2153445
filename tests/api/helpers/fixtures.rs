//! Record and request builders: the records of SPEC §1 and §6.1 and the
//! small valid records most tests start from.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use gapscore::proto::v1::{
    Answer, AnswerFrame, Channel, Initiator, Journey, Outcome, OutcomeKind, RespondentRole,
    ScoreFilter, SurveyResponse, Touchpoint, TouchpointOutcome,
};
use prost_types::Timestamp;

/// RFC 3339 to UTC.
pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .expect("valid RFC 3339")
        .with_timezone(&Utc)
}

/// A protobuf timestamp of an instant.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

/// A protobuf timestamp from RFC 3339.
pub fn ts(rfc3339: &str) -> Timestamp {
    timestamp(at(rfc3339))
}

/// A label map from pairs.
pub fn label_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The half-open window `[start, end)`.
pub fn window(start: &str, end: &str) -> Option<ScoreFilter> {
    Some(ScoreFilter {
        start_time: Some(ts(start)),
        end_time: Some(ts(end)),
        ..ScoreFilter::default()
    })
}

/// A filter on labels only.
pub fn labels(pairs: &[(&str, &str)]) -> Option<ScoreFilter> {
    Some(ScoreFilter {
        labels: label_map(pairs),
        ..ScoreFilter::default()
    })
}

// ---------------------------------------------------------------- survey

/// A RATING answer.
pub fn rating(question: &str, score: i32) -> Answer {
    Answer {
        question: question.into(),
        score: Some(score),
        ..Default::default()
    }
}

/// A RATING answer in `frame` (SPEC §16.1): EXPECTATION or IMPORTANCE.
pub fn framed(question: &str, frame: AnswerFrame, score: i32) -> Answer {
    Answer {
        frame: frame as i32,
        ..rating(question, score)
    }
}

/// A COMPETITOR answer: how `competitor` did on `question`.
pub fn versus(question: &str, competitor: &str, score: i32) -> Answer {
    Answer {
        competitor: competitor.into(),
        ..framed(question, AnswerFrame::Competitor, score)
    }
}

/// A THEMES answer.
pub fn themes(question: &str, themes: &[&str]) -> Answer {
    Answer {
        question: question.into(),
        themes: themes.iter().map(|t| t.to_string()).collect(),
        ..Default::default()
    }
}

/// A response without respondent, survey or labels.
pub fn response(id: &str, role: RespondentRole, at: &str, answers: Vec<Answer>) -> SurveyResponse {
    SurveyResponse {
        id: id.into(),
        role: role as i32,
        submitted_at: Some(ts(at)),
        answers,
        ..Default::default()
    }
}

/// A CUSTOMER response of `customer_id` with one `ease` answer.
pub fn ease_response(id: &str, customer_id: &str, at: &str, score: i32) -> SurveyResponse {
    SurveyResponse {
        respondent_id: customer_id.into(),
        ..response(
            id,
            RespondentRole::Customer,
            at,
            vec![rating("ease", score)],
        )
    }
}

// ---------------------------------------------------------------- journeys

pub fn tp(
    channel: Channel,
    initiator: Initiator,
    at: &str,
    duration_seconds: i32,
    wait_seconds: i32,
    outcome: TouchpointOutcome,
) -> Touchpoint {
    Touchpoint {
        channel: channel as i32,
        initiator: initiator as i32,
        occurred_at: Some(ts(at)),
        duration_seconds,
        wait_seconds,
        outcome: outcome as i32,
        transfers: 0,
        repeated_information: false,
    }
}

/// A one-touchpoint journey, resolved on the web.
pub fn simple_journey(id: &str, customer_id: &str, at: &str) -> Journey {
    Journey {
        id: id.into(),
        customer_id: customer_id.into(),
        intent: "update_payment_method".into(),
        labels: BTreeMap::new(),
        touchpoints: vec![tp(
            Channel::Web,
            Initiator::Customer,
            at,
            60,
            0,
            TouchpointOutcome::Resolved,
        )],
        effort_index: 0.0,
        effort_tier: 0,
    }
}

/// SPEC §1: three reminder e-mails, 20 minutes failing on the web, 10 in the
/// IVR, then a call (8 minutes on hold, 7 talking) that fixes it; March
/// 2026, region emea.
pub fn card_update_journey(id: &str, customer_id: &str) -> Journey {
    use Channel::*;
    use Initiator::*;
    use TouchpointOutcome::*;
    let email = |at| tp(Email, Company, at, 0, 0, TouchpointOutcome::Unspecified);
    Journey {
        id: id.into(),
        customer_id: customer_id.into(),
        intent: "update_payment_method".into(),
        labels: label_map(&[("region", "emea")]),
        touchpoints: vec![
            email("2026-03-01T09:00:00Z"),
            email("2026-03-03T09:00:00Z"),
            email("2026-03-05T09:00:00Z"),
            tp(Web, Customer, "2026-03-06T18:00:00Z", 1200, 0, Unresolved),
            tp(Ivr, Customer, "2026-03-06T18:25:00Z", 600, 0, Unresolved),
            tp(Phone, Customer, "2026-03-06T18:40:00Z", 420, 480, Resolved),
        ],
        effort_index: 0.0,
        effort_tier: 0,
    }
}

/// A customer touchpoint (durations in minutes), to be placed in time by
/// [`journey_from`].
pub fn customer_touch(
    channel: Channel,
    outcome: TouchpointOutcome,
    minutes: i32,
    wait_minutes: i32,
) -> Touchpoint {
    Touchpoint {
        channel: channel as i32,
        initiator: Initiator::Customer as i32,
        occurred_at: None,
        duration_seconds: minutes * 60,
        wait_seconds: wait_minutes * 60,
        outcome: outcome as i32,
        transfers: 0,
        repeated_information: false,
    }
}

/// A company-initiated touchpoint (a reminder e-mail).
pub fn company_touch(channel: Channel) -> Touchpoint {
    Touchpoint {
        channel: channel as i32,
        initiator: Initiator::Company as i32,
        ..Default::default()
    }
}

/// SPEC §1 / §6.1: three reminder e-mails; WEB 20 min unresolved, IVR
/// 10 min unresolved, PHONE 8 min wait + 7 min resolved. Index 90.
pub fn card_update() -> Vec<Touchpoint> {
    use Channel::*;
    use TouchpointOutcome::*;
    vec![
        company_touch(Email),
        company_touch(Email),
        company_touch(Email),
        customer_touch(Web, Unresolved, 20, 0),
        customer_touch(Ivr, Unresolved, 10, 0),
        customer_touch(Phone, Resolved, 7, 8),
    ]
}

/// One WEB visit that resolves in 3 minutes. Index 0.
pub fn easy() -> Vec<Touchpoint> {
    vec![customer_touch(
        Channel::Web,
        TouchpointOutcome::Resolved,
        3,
        0,
    )]
}

/// Two abandoned WEB visits, 10 minutes. 15 + 20 + 2.5 + 30 = 67.5.
pub fn stuck() -> Vec<Touchpoint> {
    use TouchpointOutcome::Abandoned;
    vec![
        customer_touch(Channel::Web, Abandoned, 9, 0),
        customer_touch(Channel::Web, Abandoned, 1, 0),
    ]
}

/// Two PHONE calls, the second resolves; 12 minutes.
/// 15 + 0 + 0 + 3.5 = 18.5 (LOW); with a transfer 28.5 (MEDIUM).
pub fn two_calls(transfers: i32) -> Vec<Touchpoint> {
    use TouchpointOutcome::*;
    let mut second = customer_touch(Channel::Phone, Resolved, 6, 0);
    second.transfers = transfers;
    vec![customer_touch(Channel::Phone, Unresolved, 6, 0), second]
}

/// The journey of `touchpoints`, a minute apart from `start` (so it starts
/// at `start`), intent `update_payment_method`, no labels.
pub fn journey_from(
    id: &str,
    customer_id: &str,
    start: &str,
    touchpoints: &[Touchpoint],
) -> Journey {
    let start = at(start);
    Journey {
        id: id.into(),
        customer_id: customer_id.into(),
        intent: "update_payment_method".into(),
        touchpoints: touchpoints
            .iter()
            .enumerate()
            .map(|(i, t)| Touchpoint {
                occurred_at: Some(timestamp(start + Duration::minutes(i as i64))),
                ..*t
            })
            .collect(),
        ..Default::default()
    }
}

// ---------------------------------------------------------------- outcomes

/// An outcome that occurred.
pub fn outcome(id: &str, customer_id: &str, kind: OutcomeKind, at: &str) -> Outcome {
    Outcome {
        id: id.into(),
        customer_id: customer_id.into(),
        kind: kind as i32,
        occurred: true,
        observed_at: Some(ts(at)),
    }
}
