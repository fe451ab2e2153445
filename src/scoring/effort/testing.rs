//! Journeys for the effort tests, and a second route to the aggregate.
//!
//! Production aggregates in SQL (`store::effort`) and hands the sums to
//! [`EffortAggregate::from_sums`]; the tests need the same aggregate from
//! journeys, so [`EffortAggregate::from_journeys`] scores each journey with
//! [`effort_breakdown`] and sums in Rust, independently of the SQL.

use super::*;
use crate::scoring::stats::percentile_cont;

/// A touchpoint without transfers or repeats, its times in minutes.
pub(crate) fn tp(
    channel: Channel,
    initiator_customer: bool,
    outcome: TouchpointOutcome,
    duration_minutes: u32,
    wait_minutes: u32,
) -> TouchpointInput {
    TouchpointInput {
        channel,
        initiator_customer,
        outcome,
        duration_seconds: duration_minutes * 60,
        wait_seconds: wait_minutes * 60,
        transfers: 0,
        repeated_information: false,
    }
}

/// SPEC §1 / §6.1: three reminder e-mails, then WEB 20 min unresolved,
/// IVR 10 min unresolved, PHONE 8 min wait + 7 min resolved.
pub(crate) fn spec_journey() -> Vec<TouchpointInput> {
    use TouchpointOutcome::*;
    let email = tp(Channel::Email, false, Unspecified, 0, 0);
    vec![
        email,
        email,
        email,
        tp(Channel::Web, true, Unresolved, 20, 0),
        tp(Channel::Ivr, true, Unresolved, 10, 0),
        tp(Channel::Phone, true, Resolved, 7, 8),
    ]
}

/// The journeys of the aggregate tests: SPEC's (index 90), an easy one
/// resolved on the web in 3 minutes (0), and one stuck on the web twice
/// (15 + 20 + 2.5 + 30 = 67.5), each with its components.
pub(crate) fn spec_easy_stuck() -> [EffortComponents; 3] {
    use TouchpointOutcome::*;
    [
        EffortComponents::from_touchpoints(&spec_journey()),
        EffortComponents::from_touchpoints(&[tp(Channel::Web, true, Resolved, 3, 0)]),
        EffortComponents::from_touchpoints(&[
            tp(Channel::Web, true, Abandoned, 9, 0),
            tp(Channel::Web, true, Abandoned, 1, 0),
        ]),
    ]
}

/// Any touchpoint ingest accepts.
pub(crate) fn arb_touchpoint() -> impl proptest::strategy::Strategy<Value = TouchpointInput> {
    use proptest::prelude::*;
    let outcome = prop_oneof![
        Just(TouchpointOutcome::Unspecified),
        Just(TouchpointOutcome::Resolved),
        Just(TouchpointOutcome::Unresolved),
        Just(TouchpointOutcome::Abandoned),
    ];
    (
        0..Channel::ALL.len(),
        any::<bool>(),
        outcome,
        0u32..=86_400,
        0u32..=86_400,
        0u32..=50,
        any::<bool>(),
    )
        .prop_map(
            |(c, initiator_customer, outcome, d, w, transfers, rep)| TouchpointInput {
                channel: Channel::ALL[c],
                initiator_customer,
                outcome,
                duration_seconds: d,
                wait_seconds: w,
                transfers,
                repeated_information: rep,
            },
        )
}

impl EffortAggregate {
    /// The aggregate of `journeys` under `model`: each scored with
    /// [`effort_breakdown`], summed here, then [`EffortAggregate::from_sums`].
    pub(crate) fn from_journeys<'a>(
        journeys: impl IntoIterator<Item = &'a EffortComponents>,
        model: &EffortModel,
        confidence: f64,
    ) -> EffortAggregate {
        let mut s = EffortSums::default();
        let mut indexes = Vec::new();
        for j in journeys {
            let b = effort_breakdown(j, model);
            indexes.push(b.effort_index);
            match b.tier {
                EffortTier::High => s.high_journeys += 1,
                EffortTier::Medium => s.medium_journeys += 1,
                EffortTier::Low => s.low_journeys += 1,
            }
            s.customer_touchpoints += i64::from(j.customer_touchpoints);
            s.channel_switches += i64::from(j.channel_switches);
            s.customer_seconds += j.customer_seconds;
            s.unresolved_journeys += u64::from(!j.resolved);
            for (sum, component) in s.component_points.iter_mut().zip(EffortComponent::ALL) {
                *sum += b.points(component);
            }
            s.assisted_journeys += u64::from(j.has_assisted);
            s.first_assisted_resolved += u64::from(j.has_assisted && j.first_assisted_resolved);
            s.first_customer_resolved += u64::from(j.first_customer_resolved);
        }
        indexes.sort_by(f64::total_cmp);
        s.journeys = indexes.len() as u64;
        s.effort_index_sum = indexes.iter().sum();
        s.effort_index_sum_sq = indexes.iter().map(|i| i * i).sum();
        s.effort_index_p50 = percentile_cont(&indexes, 0.5);
        s.effort_index_p90 = percentile_cont(&indexes, 0.9);
        EffortAggregate::from_sums(&s, confidence)
    }
}
