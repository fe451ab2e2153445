//! The countable facts of one journey that its effort is scored from.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{Channel, TouchpointOutcome};

/// The scoring-relevant part of one touchpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchpointInput {
    pub channel: Channel,
    /// True for `INITIATOR_CUSTOMER`, false for company-initiated contacts
    /// (reminder e-mails, callbacks).
    pub initiator_customer: bool,
    pub outcome: TouchpointOutcome,
    /// The customer's active time.
    pub duration_seconds: u32,
    /// Queue or hold time.
    pub wait_seconds: u32,
    pub transfers: u32,
    pub repeated_information: bool,
}

impl TouchpointInput {
    fn is_resolved(&self) -> bool {
        self.outcome == TouchpointOutcome::Resolved
    }
}

/// The countable facts of one journey that effort is scored from.
///
/// Computed once at write time and stored with the journey (plain
/// `i32`/`i64`/`bool` so they bind to SQL columns directly); the index is
/// recomputed from them with the model in force at query time (SPEC §7.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EffortComponents {
    /// Customer-initiated touchpoints.
    pub customer_touchpoints: i32,
    /// Distinct channels among customer touchpoints (for "3 contacts across
    /// 3 channels").
    pub distinct_channels: i32,
    /// Consecutive customer touchpoints on different channels.
    pub channel_switches: i32,
    /// Self-service customer touchpoints whose outcome is not `RESOLVED`.
    pub failed_self_service: i32,
    /// Σ transfers over customer touchpoints.
    pub transfers: i32,
    /// Customer touchpoints where the customer had to repeat information.
    pub repeated_information: i32,
    /// Σ (duration + wait) over customer touchpoints.
    pub customer_seconds: i64,
    /// Some touchpoint of the journey is `RESOLVED` (see
    /// [`EffortComponents::from_touchpoints`]).
    pub resolved: bool,
    /// The first customer touchpoint is `RESOLVED`: one-touch resolution,
    /// what the customer experiences.
    pub first_customer_resolved: bool,
    /// Some customer touchpoint is on an assisted channel.
    pub has_assisted: bool,
    /// The first assisted customer touchpoint is `RESOLVED`: what a contact
    /// centre reports as first-contact resolution.
    pub first_assisted_resolved: bool,
}

impl EffortComponents {
    /// Effort components of a journey whose touchpoints are in
    /// `occurred_at` order. Only customer-initiated touchpoints count as
    /// effort (SPEC §6.1): a reminder e-mail costs the customer nothing.
    ///
    /// One exception, where SPEC's table ("unresolved: no touchpoint
    /// `RESOLVED`") is more specific than its heading: `resolved` looks at
    /// every touchpoint, so a company callback that fixes the problem
    /// resolves the journey. Resolution is the state of the task, not
    /// effort; the customer's effort up to that point is counted by the
    /// other components.
    ///
    /// Counts saturate at `i32::MAX` (ingest caps a journey at 200
    /// touchpoints and 50 transfers each, far below it).
    pub fn from_touchpoints(touchpoints: &[TouchpointInput]) -> EffortComponents {
        let customer: Vec<&TouchpointInput> = touchpoints
            .iter()
            .filter(|t| t.initiator_customer)
            .collect();
        let count = |pred: &dyn Fn(&TouchpointInput) -> bool| -> i32 {
            clamp_i32(customer.iter().filter(|t| pred(t)).count() as u64)
        };
        let first_assisted = customer.iter().find(|t| !t.channel.is_self_service());
        let distinct: HashSet<Channel> = customer.iter().map(|t| t.channel).collect();
        EffortComponents {
            customer_touchpoints: clamp_i32(customer.len() as u64),
            distinct_channels: clamp_i32(distinct.len() as u64),
            channel_switches: clamp_i32(
                customer
                    .windows(2)
                    .filter(|w| w[0].channel != w[1].channel)
                    .count() as u64,
            ),
            failed_self_service: count(&|t| t.channel.is_self_service() && !t.is_resolved()),
            transfers: clamp_i32(customer.iter().map(|t| u64::from(t.transfers)).sum()),
            repeated_information: count(&|t| t.repeated_information),
            customer_seconds: customer
                .iter()
                .map(|t| i64::from(t.duration_seconds) + i64::from(t.wait_seconds))
                .sum(),
            resolved: touchpoints.iter().any(TouchpointInput::is_resolved),
            first_customer_resolved: customer.first().is_some_and(|t| t.is_resolved()),
            has_assisted: first_assisted.is_some(),
            first_assisted_resolved: first_assisted.is_some_and(|t| t.is_resolved()),
        }
    }

    /// Σ (duration + wait) / 60.
    pub fn customer_minutes(&self) -> f64 {
        self.customer_seconds as f64 / 60.0
    }
}

fn clamp_i32(n: u64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{spec_journey, tp};
    use super::*;

    #[test]
    fn spec_journey_components() {
        let c = EffortComponents::from_touchpoints(&spec_journey());
        assert_eq!(
            c,
            EffortComponents {
                customer_touchpoints: 3,
                distinct_channels: 3,
                channel_switches: 2,
                failed_self_service: 2,
                transfers: 0,
                repeated_information: 0,
                customer_seconds: 45 * 60,
                resolved: true,
                first_customer_resolved: false,
                has_assisted: true,
                first_assisted_resolved: true,
            }
        );
    }

    #[test]
    fn company_callback_resolves_the_journey() {
        use TouchpointOutcome::*;
        let j = [
            tp(Channel::Phone, true, Unresolved, 10, 5),
            tp(Channel::Phone, false, Resolved, 5, 0),
        ];
        let c = EffortComponents::from_touchpoints(&j);
        assert!(c.resolved);
        assert!(!c.first_customer_resolved && !c.first_assisted_resolved);
        assert_eq!(c.customer_touchpoints, 1);
        assert_eq!(c.customer_seconds, 15 * 60);
    }
}
