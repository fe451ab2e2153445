//! Validates a `ScoreFilter` into a [`Scope`].

use crate::{proto::v1::ScoreFilter, store::scope::Scope};

use super::{
    ApiError,
    validate::{Violations, check_id, check_key, check_labels, timestamp_to_utc},
};

/// Validates `filter` (all parts optional); violations are reported under
/// `field` (e.g. `filter.labels["region"]`).
pub fn scope_from_filter(filter: Option<&ScoreFilter>, field: &str) -> Result<Scope, ApiError> {
    let Some(f) = filter else {
        return Ok(Scope::default());
    };
    let mut v = Violations::default();
    let mut time = |name: &str, ts: Option<&prost_types::Timestamp>| {
        ts.and_then(|ts| {
            let t = timestamp_to_utc(ts);
            if t.is_none() {
                v.add(
                    format!("{field}.{name}"),
                    "is not a valid timestamp (years 0001-9999)",
                );
            }
            t
        })
    };
    let start = time("start_time", f.start_time.as_ref());
    let end = time("end_time", f.end_time.as_ref());
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        v.add(format!("{field}.end_time"), "must be after start_time");
    }
    check_labels(&mut v, &format!("{field}.labels"), f.labels.iter());
    if !f.survey_id.is_empty() {
        check_id(&mut v, &format!("{field}.survey_id"), &f.survey_id);
    }
    if !f.intent.is_empty() {
        check_key(&mut v, &format!("{field}.intent"), &f.intent);
    }
    v.into_result()?;
    let labels =
        (!f.labels.is_empty()).then(|| serde_json::to_value(&f.labels).expect("labels serialize"));
    Ok(Scope {
        start,
        end,
        labels,
        survey_id: (!f.survey_id.is_empty()).then(|| f.survey_id.clone()),
        intent: (!f.intent.is_empty()).then(|| f.intent.clone()),
    })
}
