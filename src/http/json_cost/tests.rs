//! The model against the allocator: the bytes really live at the peak of
//! parsing a body into its message (counted by a wrapper of the system
//! allocator, on the parsing thread only) must stay under the estimate.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    collections::HashSet,
};

use prost_reflect::{Kind, MessageDescriptor};
use serde_json::{Value, json};

use super::estimate;
use crate::http::{descriptors, request::from_json, routes::Routes};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
    static PEAK: Cell<i64> = const { Cell::new(0) };
}

fn note(delta: i64) {
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let live = LIVE.get() + delta;
            LIVE.set(live);
            PEAK.set(PEAK.get().max(live));
        }
    });
}

// SAFETY: every call is passed on to the system allocator unchanged; the
// wrapper only counts sizes in thread-locals that never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as i64);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        unsafe { System.dealloc(p, layout) };
        note(-(layout.size() as i64));
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, layout, new_size) };
        if !q.is_null() {
            // The old and the new block may both be live while it copies.
            note(new_size as i64);
            note(-(layout.size() as i64));
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Peak bytes live while `json` is parsed as a `message` (kept until the
/// end, as the call keeps it until it is encoded).
fn measured(message: &str, json: &[u8]) -> u64 {
    let desc = descriptors::gapscore()
        .get_message_by_name(message)
        .unwrap();
    LIVE.set(0);
    PEAK.set(0);
    COUNTING.set(true);
    let parsed = from_json(&desc, json);
    COUNTING.set(false);
    let parsed = parsed.expect("valid JSON of the message");
    drop(parsed);
    PEAK.get() as u64
}

fn response(i: usize, answers: usize, labels: usize, themes: usize) -> Value {
    let answers: Vec<Value> = (0..answers)
        .map(|a| {
            if themes > 0 {
                json!({ "question": "continue_or_start",
                        "themes": (0..themes).map(|t| format!("theme_{t}")).collect::<Vec<_>>() })
            } else {
                json!({ "question": format!("q{a}"), "score": 4, "comment": "fine", "frame": "ANSWER_FRAME_EXPERIENCE" })
            }
        })
        .collect();
    let labels: serde_json::Map<String, Value> = (0..labels)
        .map(|l| (format!("label_{l}"), json!(format!("value {l}"))))
        .collect();
    json!({
        "id": format!("response-{i}"),
        "role": "RESPONDENT_ROLE_CUSTOMER",
        "respondentId": format!("customer-{i}"),
        "surveyId": "wave-1",
        "submittedAt": "2024-05-01T10:00:00Z",
        "labels": labels,
        "answers": answers,
    })
}

fn batch(responses: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "responses": responses })).unwrap()
}

#[test]
fn the_estimate_bounds_the_parsed_message_within_a_small_factor() {
    let message = "gapscore.v1.SubmitSurveyResponsesRequest";
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "1,000 responses of 10 answers",
            batch((0..1000).map(|i| response(i, 10, 3, 0)).collect()),
        ),
        (
            "100 responses of 16 labels",
            batch((0..100).map(|i| response(i, 1, 16, 0)).collect()),
        ),
        (
            "200 responses of 20 themes",
            batch((0..200).map(|i| response(i, 5, 0, 20)).collect()),
        ),
        ("one response", batch(vec![response(0, 1, 0, 0)])),
    ];
    for (name, json) in cases {
        let real = measured(message, &json);
        let estimate = estimate(&json).unwrap();
        assert!(
            estimate >= real,
            "{name}: estimate {estimate} < real {real}"
        );
        assert!(
            estimate <= 3 * real,
            "{name}: estimate {estimate} > 3 x real {real}"
        );
    }
}

#[test]
fn dense_bodies_are_bounded_too() {
    let message = "gapscore.v1.SubmitSurveyResponsesRequest";
    let empty = format!("{{\"responses\":[{}]}}", vec!["{}"; 200_000].join(","));
    let one_field = format!(
        "{{\"responses\":[{}]}}",
        vec![r#"{"answers":[{"score":1}]}"#; 50_000].join(",")
    );
    let timestamps = format!(
        "{{\"responses\":[{}]}}",
        vec![r#"{"submittedAt":"2024-05-01T10:00:00Z"}"#; 50_000].join(",")
    );
    for (name, json) in [
        ("empty", empty),
        ("one field", one_field),
        ("timestamps", timestamps),
    ] {
        let real = measured(message, json.as_bytes());
        let estimate = estimate(json.as_bytes()).unwrap();
        assert!(
            estimate >= real,
            "{name}: estimate {estimate} < real {real}"
        );
        assert!(
            estimate <= 4 * real,
            "{name}: estimate {estimate} > 4 x real {real}"
        );
        // Many times the JSON's own size: why the budget must see it.
        assert!(
            real > 2 * json.len() as u64,
            "{name}: {real} for {} bytes",
            json.len()
        );
    }
}

#[test]
fn no_request_holds_a_number_or_boolean_that_parses_to_a_message() {
    // The model counts numbers and booleans as their parent's slot; a
    // wrapper type or Struct would break that.
    let mut seen = HashSet::new();
    let mut todo: Vec<MessageDescriptor> = Routes::get().routes.iter().map(|r| r.input()).collect();
    while let Some(message) = todo.pop() {
        if !seen.insert(message.full_name().to_owned()) {
            continue;
        }
        for field in message.fields() {
            if let Kind::Message(nested) = field.kind() {
                let name = nested.full_name();
                assert!(
                    !name.starts_with("google.protobuf.") || name == "google.protobuf.Timestamp",
                    "{}.{} is a {name}: extend the model in json_cost.rs",
                    message.full_name(),
                    field.name()
                );
                todo.push(nested);
            }
        }
    }
}

#[test]
fn invalid_json_has_no_estimate() {
    assert!(estimate(b"{").is_err());
    assert!(estimate(b"{} {}").is_err());
    assert_eq!(estimate(b"{}").unwrap(), 0);
}
