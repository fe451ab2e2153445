//! The CSV columns of each kind and how a cell becomes a field and back.
//!
//! Cells are text as a person would type it: enum values by their short
//! name in any case (`customer`, `PHONE`; the full proto name such as
//! `RESPONDENT_ROLE_CUSTOMER` is accepted too), timestamps in RFC 3339,
//! labels as a JSON object (`{"region":"north"}`, since label values may
//! hold any character), themes separated by `;`. An empty cell is the
//! field's default. The server judges everything else (scales, required
//! fields, lengths), so a CSV file meets the same rules as the RPCs.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use prost_types::Timestamp;

use super::{
    csv_file::{Group, Layout, Rows},
    report::Rejection,
};
use crate::proto::v1::{
    Answer, AnswerFrame, Channel, Initiator, Journey, Outcome, OutcomeKind, RespondentRole,
    SurveyResponse, Touchpoint, TouchpointOutcome,
};

/// A record read from CSV, with the line of each of its items.
pub struct FromCsv<R> {
    pub record: R,
    pub item_lines: Vec<u64>,
}

/// Survey responses: one row per answer.
pub static SURVEY: Layout = Layout {
    id: "response_id",
    record: &[
        "role",
        "respondent_id",
        "survey_id",
        "submitted_at",
        "labels",
    ],
    item: &[
        "question",
        "frame",
        "competitor",
        "score",
        "themes",
        "comment",
    ],
};

/// Journeys: one row per touchpoint.
pub static JOURNEYS: Layout = Layout {
    id: "journey_id",
    record: &["customer_id", "intent", "labels"],
    item: &[
        "channel",
        "initiator",
        "occurred_at",
        "duration_seconds",
        "wait_seconds",
        "outcome",
        "transfers",
        "repeated_information",
    ],
};

/// Outcomes: one row per outcome.
pub static OUTCOMES: Layout = Layout {
    id: "outcome_id",
    record: &["customer_id", "kind", "occurred", "observed_at"],
    item: &[],
};

/// Collects the faults of one record's cells.
struct Cells<'a> {
    layout: &'a Layout,
    faults: Vec<Rejection>,
}

impl Cells<'_> {
    fn record<T>(
        &mut self,
        group: &Group,
        column: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let i = self.layout.record.iter().position(|c| *c == column)?;
        self.parse(group.line, column, &group.record[i], parse)
    }

    fn item<T>(
        &mut self,
        (line, values): &(u64, Vec<String>),
        column: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        let i = self.layout.item.iter().position(|c| *c == column)?;
        self.parse(*line, column, &values[i], parse)
    }

    fn parse<T>(
        &mut self,
        line: u64,
        column: &str,
        value: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<T> {
        match parse(value) {
            Ok(v) => Some(v),
            Err(description) => {
                self.faults.push(Rejection {
                    line,
                    field: column.into(),
                    description,
                });
                None
            }
        }
    }

    fn done<R>(self, record: R, group: &Group) -> Result<FromCsv<R>, Vec<Rejection>> {
        if self.faults.is_empty() {
            Ok(FromCsv {
                record,
                item_lines: group.items.iter().map(|(line, _)| *line).collect(),
            })
        } else {
            Err(self.faults)
        }
    }
}

fn text(value: &str) -> Result<String, String> {
    Ok(value.to_owned())
}

/// An enum cell: its short name (after `prefix`) or full name, any case;
/// empty is the zero value.
fn enum_cell<E: Into<i32>>(
    prefix: &'static str,
    from_name: fn(&str) -> Option<E>,
    names: &'static [&'static str],
) -> impl Fn(&str) -> Result<i32, String> {
    move |value| {
        let value = value.trim();
        if value.is_empty() {
            return Ok(0);
        }
        let upper = value.to_ascii_uppercase();
        from_name(&upper)
            .or_else(|| from_name(&format!("{prefix}{upper}")))
            .map(Into::into)
            .ok_or_else(|| format!("{value:?} is not one of {}", names.join(", ")))
    }
}

/// The short name of an enum value, lower case; empty for the zero value.
fn enum_name(prefix: &str, full: &str, number: i32) -> String {
    if number == 0 {
        String::new()
    } else {
        full.strip_prefix(prefix)
            .unwrap_or(full)
            .to_ascii_lowercase()
    }
}

fn timestamp(value: &str) -> Result<Option<Timestamp>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let at = DateTime::parse_from_rfc3339(value)
        .map_err(|e| format!("{value:?} is not an RFC 3339 timestamp ({e})"))?
        .with_timezone(&Utc);
    Ok(Some(Timestamp {
        seconds: at.timestamp(),
        nanos: at.timestamp_subsec_nanos() as i32,
    }))
}

fn timestamp_text(at: Option<&Timestamp>) -> String {
    at.and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, t.nanos.max(0) as u32))
        .map(|t| t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

fn integer(value: &str) -> Result<Option<i32>, String> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value
        .parse()
        .map(Some)
        .map_err(|_| format!("{value:?} is not an integer"))
}

fn boolean(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        _ => Err(format!("{value:?} is not true or false")),
    }
}

fn labels(value: &str) -> Result<BTreeMap<String, String>, String> {
    if value.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    serde_json::from_str(value)
        .map_err(|e| format!("not a JSON object of strings such as {{\"region\":\"north\"}} ({e})"))
}

fn labels_text(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return String::new();
    }
    serde_json::to_string(labels).expect("a map of strings serializes")
}

fn themes(value: &str) -> Result<Vec<String>, String> {
    Ok(value
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect())
}

const ROLES: &[&str] = &["leadership", "staff", "customer"];
const FRAMES: &[&str] = &["experience", "expectation", "importance", "competitor"];
const CHANNELS: &[&str] = &[
    "web",
    "mobile_app",
    "ivr",
    "chatbot",
    "phone",
    "live_chat",
    "email",
    "social",
    "in_person",
];
const INITIATORS: &[&str] = &["customer", "company"];
const TOUCHPOINT_OUTCOMES: &[&str] = &["resolved", "unresolved", "abandoned"];
const OUTCOME_KINDS: &[&str] = &[
    "repurchase",
    "spend_increase",
    "negative_word_of_mouth",
    "disloyalty",
];

pub fn survey_from(group: &Group) -> Result<FromCsv<SurveyResponse>, Vec<Rejection>> {
    let mut cells = Cells {
        layout: &SURVEY,
        faults: Vec::new(),
    };
    let role = enum_cell("RESPONDENT_ROLE_", RespondentRole::from_str_name, ROLES);
    let frame = enum_cell("ANSWER_FRAME_", AnswerFrame::from_str_name, FRAMES);
    let mut response = SurveyResponse {
        id: group.id.clone(),
        role: cells.record(group, "role", role).unwrap_or_default(),
        respondent_id: cells
            .record(group, "respondent_id", text)
            .unwrap_or_default(),
        survey_id: cells.record(group, "survey_id", text).unwrap_or_default(),
        submitted_at: cells.record(group, "submitted_at", timestamp).flatten(),
        labels: cells.record(group, "labels", labels).unwrap_or_default(),
        answers: Vec::new(),
    };
    for item in &group.items {
        response.answers.push(Answer {
            question: cells.item(item, "question", text).unwrap_or_default(),
            score: cells.item(item, "score", integer).flatten(),
            themes: cells.item(item, "themes", themes).unwrap_or_default(),
            comment: cells.item(item, "comment", text).unwrap_or_default(),
            frame: cells.item(item, "frame", &frame).unwrap_or_default(),
            competitor: cells.item(item, "competitor", text).unwrap_or_default(),
        });
    }
    cells.done(response, group)
}

pub fn survey_rows(r: &SurveyResponse) -> Rows {
    Rows {
        id: r.id.clone(),
        record: vec![
            enum_name("RESPONDENT_ROLE_", r.role().as_str_name(), r.role),
            r.respondent_id.clone(),
            r.survey_id.clone(),
            timestamp_text(r.submitted_at.as_ref()),
            labels_text(&r.labels),
        ],
        items: r
            .answers
            .iter()
            .map(|a| {
                vec![
                    a.question.clone(),
                    enum_name("ANSWER_FRAME_", a.frame().as_str_name(), a.frame),
                    a.competitor.clone(),
                    a.score.map(|s| s.to_string()).unwrap_or_default(),
                    a.themes.join(";"),
                    a.comment.clone(),
                ]
            })
            .collect(),
    }
}

pub fn journey_from(group: &Group) -> Result<FromCsv<Journey>, Vec<Rejection>> {
    let mut cells = Cells {
        layout: &JOURNEYS,
        faults: Vec::new(),
    };
    let channel = enum_cell("CHANNEL_", Channel::from_str_name, CHANNELS);
    let initiator = enum_cell("INITIATOR_", Initiator::from_str_name, INITIATORS);
    let outcome = enum_cell(
        "TOUCHPOINT_OUTCOME_",
        TouchpointOutcome::from_str_name,
        TOUCHPOINT_OUTCOMES,
    );
    let mut journey = Journey {
        id: group.id.clone(),
        customer_id: cells.record(group, "customer_id", text).unwrap_or_default(),
        intent: cells.record(group, "intent", text).unwrap_or_default(),
        labels: cells.record(group, "labels", labels).unwrap_or_default(),
        ..Journey::default()
    };
    for item in &group.items {
        let count =
            |cells: &mut Cells, column| cells.item(item, column, integer).flatten().unwrap_or(0);
        journey.touchpoints.push(Touchpoint {
            channel: cells.item(item, "channel", &channel).unwrap_or_default(),
            initiator: cells
                .item(item, "initiator", &initiator)
                .unwrap_or_default(),
            occurred_at: cells.item(item, "occurred_at", timestamp).flatten(),
            duration_seconds: count(&mut cells, "duration_seconds"),
            wait_seconds: count(&mut cells, "wait_seconds"),
            outcome: cells.item(item, "outcome", &outcome).unwrap_or_default(),
            transfers: count(&mut cells, "transfers"),
            repeated_information: cells
                .item(item, "repeated_information", boolean)
                .unwrap_or_default(),
        });
    }
    cells.done(journey, group)
}

pub fn journey_rows(j: &Journey) -> Rows {
    Rows {
        id: j.id.clone(),
        record: vec![
            j.customer_id.clone(),
            j.intent.clone(),
            labels_text(&j.labels),
        ],
        items: j
            .touchpoints
            .iter()
            .map(|t| {
                vec![
                    enum_name("CHANNEL_", t.channel().as_str_name(), t.channel),
                    enum_name("INITIATOR_", t.initiator().as_str_name(), t.initiator),
                    timestamp_text(t.occurred_at.as_ref()),
                    t.duration_seconds.to_string(),
                    t.wait_seconds.to_string(),
                    enum_name("TOUCHPOINT_OUTCOME_", t.outcome().as_str_name(), t.outcome),
                    t.transfers.to_string(),
                    t.repeated_information.to_string(),
                ]
            })
            .collect(),
    }
}

pub fn outcome_from(group: &Group) -> Result<FromCsv<Outcome>, Vec<Rejection>> {
    let mut cells = Cells {
        layout: &OUTCOMES,
        faults: Vec::new(),
    };
    let kind = enum_cell("OUTCOME_KIND_", OutcomeKind::from_str_name, OUTCOME_KINDS);
    let outcome = Outcome {
        id: group.id.clone(),
        customer_id: cells.record(group, "customer_id", text).unwrap_or_default(),
        kind: cells.record(group, "kind", kind).unwrap_or_default(),
        occurred: cells.record(group, "occurred", boolean).unwrap_or_default(),
        observed_at: cells.record(group, "observed_at", timestamp).flatten(),
    };
    cells.done(outcome, group)
}

pub fn outcome_rows(o: &Outcome) -> Rows {
    Rows {
        id: o.id.clone(),
        record: vec![
            o.customer_id.clone(),
            enum_name("OUTCOME_KIND_", o.kind().as_str_name(), o.kind),
            o.occurred.to_string(),
            timestamp_text(o.observed_at.as_ref()),
        ],
        items: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_cells_take_short_and_full_names_in_any_case() {
        let role = enum_cell("RESPONDENT_ROLE_", RespondentRole::from_str_name, ROLES);
        assert_eq!(role("customer"), Ok(RespondentRole::Customer as i32));
        assert_eq!(role(" Staff "), Ok(RespondentRole::Staff as i32));
        assert_eq!(role("RESPONDENT_ROLE_LEADERSHIP"), Ok(1));
        assert_eq!(role(""), Ok(0));
        assert_eq!(
            role("boss").unwrap_err(),
            "\"boss\" is not one of leadership, staff, customer"
        );
        assert_eq!(
            enum_name("RESPONDENT_ROLE_", "RESPONDENT_ROLE_STAFF", 2),
            "staff"
        );
        assert_eq!(
            enum_name("RESPONDENT_ROLE_", "RESPONDENT_ROLE_UNSPECIFIED", 0),
            ""
        );
    }

    #[test]
    fn timestamps_keep_their_nanoseconds_both_ways() {
        let at = timestamp("2026-02-01T10:00:00.123456789+01:00")
            .unwrap()
            .unwrap();
        assert_eq!(timestamp_text(Some(&at)), "2026-02-01T09:00:00.123456789Z");
        assert_eq!(timestamp("").unwrap(), None);
        assert!(timestamp("yesterday").is_err());
    }

    #[test]
    fn labels_are_a_json_object_written_in_key_order() {
        let map = labels(r#"{"b":"x;y=z","a":"1"}"#).unwrap();
        assert_eq!(labels_text(&map), r#"{"a":"1","b":"x;y=z"}"#);
        assert!(labels("region=north").is_err());
        assert!(labels("").unwrap().is_empty());
    }

    #[test]
    fn cells_other_than_enums() {
        assert_eq!(integer(" 7 "), Ok(Some(7)));
        assert_eq!(integer(""), Ok(None));
        assert!(integer("7.5").is_err());
        assert_eq!(boolean("TRUE"), Ok(true));
        assert_eq!(boolean(""), Ok(false));
        assert!(boolean("maybe").is_err());
        assert_eq!(
            themes(" price; ; speed "),
            Ok(vec!["price".into(), "speed".into()])
        );
    }
}
