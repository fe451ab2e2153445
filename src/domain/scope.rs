//! The one time window and the one scope of a list or scoring query
//! (SPEC §3.4 `ScoreFilter`), and the time rules every record shares.

use chrono::{DateTime, Utc};

use super::violations::{Violations, check_id, check_key, check_labels};

/// A half-open window `[start, end)`; either side may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// Inclusive start.
    pub start: Option<DateTime<Utc>>,
    /// Exclusive end.
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    /// Checks `start < end` when both are set; the violation is reported
    /// under `{field}.end_time`.
    pub fn check(&self, v: &mut Violations, field: &str) {
        if let (Some(s), Some(e)) = (self.start, self.end)
            && e <= s
        {
            v.add(format!("{field}.end_time"), "must be after start_time");
        }
    }
}

/// Seconds of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range of
/// `google.protobuf.Timestamp`, which every stored time stays within.
pub const TIME_RANGE_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// Whether `t` lies in years 0001-9999 ([`TIME_RANGE_SECONDS`]).
pub fn in_time_range(t: DateTime<Utc>) -> bool {
    TIME_RANGE_SECONDS.contains(&t.timestamp())
}

/// How far in the future a record's time may be (clock skew allowance).
pub const MAX_FUTURE_MINUTES: i64 = 5;

/// PostgreSQL keeps microseconds; normalizing first makes what is stored,
/// hashed and returned the same instant.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

/// A validated `ScoreFilter`: every part optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    /// The window on the record's own time (`submitted_at`, `started_at`).
    pub window: Window,
    /// Labels that must all match (`labels @> this`); `None` when empty.
    pub labels: Option<serde_json::Value>,
    /// Survey wave (responses only).
    pub survey_id: Option<String>,
    /// Journey intent (journeys only).
    pub intent: Option<String>,
}

/// The parts of a filter as a transport received them, times already
/// converted (a transport reports unconvertible times itself).
#[derive(Debug, Clone, Default)]
pub struct ScopeInput<'a> {
    pub window: Window,
    pub labels: Option<&'a std::collections::BTreeMap<String, String>>,
    pub survey_id: &'a str,
    pub intent: &'a str,
}

impl Scope {
    /// Validates a filter; violations are added under `field` (e.g.
    /// `filter.labels["region"]`). The window was checked when it was built
    /// ([`Window::check`]). Returns the scope even when violations were
    /// found, so a caller can collect more before failing.
    pub fn check(v: &mut Violations, field: &str, input: ScopeInput<'_>) -> Scope {
        let labels = input.labels.filter(|l| !l.is_empty());
        if let Some(labels) = labels {
            check_labels(v, &format!("{field}.labels"), labels.iter());
        }
        if !input.survey_id.is_empty() {
            check_id(v, &format!("{field}.survey_id"), input.survey_id);
        }
        if !input.intent.is_empty() {
            check_key(v, &format!("{field}.intent"), input.intent);
        }
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Scope {
            window: input.window,
            labels: labels.map(|l| serde_json::to_value(l).expect("labels serialize")),
            survey_id: non_empty(input.survey_id),
            intent: non_empty(input.intent),
        }
    }
}
