//! Validation of the `ScoreFilter` fields shared by list and scoring requests.

use chrono::{DateTime, Utc};

use super::validate::{Violations, check_labels, is_key, timestamp_to_utc};
use crate::proto::v1::ScoreFilter;

/// A validated half-open window `[start, end)`; either side may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

/// Checks `filter.start_time` / `filter.end_time`: valid timestamps, and
/// `start_time < end_time` when both are set.
pub fn check_window(v: &mut Violations, filter: &ScoreFilter) -> Window {
    let mut bound = |field: &str, ts: Option<&prost_types::Timestamp>| {
        let ts = ts?;
        let t = timestamp_to_utc(ts);
        if t.is_none() {
            v.add(field, "is not a valid timestamp (years 0001-9999)");
        }
        t
    };
    let start = bound("filter.start_time", filter.start_time.as_ref());
    let end = bound("filter.end_time", filter.end_time.as_ref());
    if let (Some(s), Some(e)) = (start, end)
        && s >= e
    {
        v.add("filter.end_time", "must be after filter.start_time");
    }
    Window { start, end }
}

/// Checks `filter.labels` with the record label rules.
pub fn check_filter_labels(v: &mut Violations, filter: &ScoreFilter) {
    check_labels(v, "filter.labels", filter.labels.iter());
}

/// Checks an optional `filter.intent`; `None` when unset.
pub fn check_filter_intent(v: &mut Violations, filter: &ScoreFilter) -> Option<String> {
    if filter.intent.is_empty() {
        return None;
    }
    if !is_key(&filter.intent) {
        v.add("filter.intent", "must match [a-z][a-z0-9_]{0,62}");
    }
    Some(filter.intent.clone())
}
