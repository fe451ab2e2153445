//! Conversions between protobuf's well-known types and domain values, used
//! by every message conversion of the gRPC transport.

use chrono::{DateTime, Utc};

use crate::{
    domain::{Scope, Violations, Window, scope::ScopeInput},
    proto::v1::ScoreFilter,
};

/// The window of a `ScoreFilter` (either bound optional), reported under
/// `{field}.start_time` / `{field}.end_time`.
pub fn window(v: &mut Violations, field: &str, filter: &ScoreFilter) -> Window {
    let mut bound = |name: &str, ts: Option<&prost_types::Timestamp>| {
        let ts = ts?;
        let t = timestamp_to_utc(ts);
        if t.is_none() {
            v.add(
                format!("{field}.{name}"),
                "is not a valid timestamp (years 0001-9999)",
            );
        }
        t
    };
    let start = bound("start_time", filter.start_time.as_ref());
    let end = bound("end_time", filter.end_time.as_ref());
    let window = Window { start, end };
    window.check(v, field);
    window
}

/// A `ScoreFilter` (all parts optional) as a [`Scope`], violations under
/// `field` (e.g. `filter.labels["region"]`).
pub fn scope(v: &mut Violations, field: &str, filter: Option<&ScoreFilter>) -> Scope {
    let Some(f) = filter else {
        return Scope::default();
    };
    let window = window(v, field, f);
    Scope::check(
        v,
        field,
        ScopeInput {
            window,
            labels: Some(&f.labels),
            survey_id: &f.survey_id,
            intent: &f.intent,
        },
    )
}

/// A required timestamp, converted to UTC; `max_future` bounds how far ahead it may be.
pub fn check_timestamp(
    v: &mut Violations,
    field: &str,
    value: Option<&prost_types::Timestamp>,
    max_future: Option<chrono::Duration>,
) -> Option<DateTime<Utc>> {
    let Some(ts) = value else {
        v.add(field, "is required");
        return None;
    };
    let Some(t) = timestamp_to_utc(ts) else {
        v.add(field, "is not a valid timestamp (years 0001-9999)");
        return None;
    };
    if let Some(ahead) = max_future
        && t > chrono::Utc::now() + ahead
    {
        v.add(
            field,
            format!(
                "must not be more than {} minutes in the future",
                ahead.num_minutes()
            ),
        );
        return None;
    }
    Some(t)
}

/// Converts a protobuf timestamp; `None` outside years 1-9999 or with invalid nanos.
pub fn timestamp_to_utc(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return None;
    }
    if !crate::domain::scope::TIME_RANGE_SECONDS.contains(&ts.seconds) {
        return None;
    }
    chrono::DateTime::from_timestamp(ts.seconds, ts.nanos as u32)
}

/// Converts to a protobuf timestamp.
pub fn utc_to_timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_outside_the_protobuf_range_are_rejected() {
        assert!(
            timestamp_to_utc(&prost_types::Timestamp {
                seconds: 0,
                nanos: -1
            })
            .is_none()
        );
        assert!(
            timestamp_to_utc(&prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: 0
            })
            .is_none()
        );
        assert!(
            timestamp_to_utc(&prost_types::Timestamp {
                seconds: 1,
                nanos: 5
            })
            .is_some()
        );
    }

    /// The domain table (`domain::enums`) against the generated proto enums:
    /// every domain value's number is the proto value of the same name, and
    /// every proto value but UNSPECIFIED has a domain value.
    #[test]
    fn the_domain_enum_numbers_are_the_proto_numbers() {
        use crate::domain::{Numbered, enums};
        use crate::proto::v1 as p;

        fn same<D: Numbered + std::fmt::Debug>(proto_name: impl Fn(i32) -> Option<String>) {
            for &(value, number) in D::NUMBERS {
                let name =
                    proto_name(number).unwrap_or_else(|| panic!("{value:?}: no proto {number}"));
                let domain = format!("{value:?}").to_uppercase();
                assert!(
                    name.replace('_', "").ends_with(&domain),
                    "{value:?} = {number} is {name} in the proto"
                );
            }
            let proto_values = (1..64).filter(|n| proto_name(*n).is_some()).count();
            let domain_values = D::NUMBERS.iter().filter(|(_, n)| *n != 0).count();
            assert_eq!(
                proto_values,
                domain_values,
                "{}",
                std::any::type_name::<D>()
            );
        }
        fn name<E: TryFrom<i32>>(n: i32, as_str: fn(&E) -> &'static str) -> Option<String> {
            E::try_from(n).ok().map(|e| as_str(&e).to_owned())
        }
        same::<enums::Role>(|n| name(n, p::RespondentRole::as_str_name));
        same::<enums::Channel>(|n| name(n, p::Channel::as_str_name));
        same::<enums::Initiator>(|n| name(n, p::Initiator::as_str_name));
        same::<enums::TouchpointOutcome>(|n| name(n, p::TouchpointOutcome::as_str_name));
        same::<enums::OutcomeKind>(|n| name(n, p::OutcomeKind::as_str_name));
        same::<enums::QuestionKind>(|n| name(n, p::QuestionKind::as_str_name));
        same::<enums::EffortTier>(|n| name(n, p::EffortTier::as_str_name));
        same::<enums::TierSource>(|n| name(n, p::TierSource::as_str_name));
        same::<enums::AnswerFrame>(|n| name(n, p::AnswerFrame::as_str_name));
        same::<enums::FollowUpAction>(|n| name(n, p::FollowUpAction::as_str_name));
    }
}
