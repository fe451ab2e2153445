//! A journey's effort points per component, its effort index and tier
//! (SPEC §6.1).

use serde::{Deserialize, Serialize};

use super::{EffortComponents, EffortModel, EffortTier, tier_for_index};

/// One component of the effort index, in SPEC §6.1's table order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EffortComponent {
    ExtraContacts,
    ChannelSwitches,
    FailedSelfService,
    Transfers,
    RepeatedInformation,
    CustomerTime,
    Unresolved,
}

impl EffortComponent {
    pub const ALL: [EffortComponent; 7] = [
        EffortComponent::ExtraContacts,
        EffortComponent::ChannelSwitches,
        EffortComponent::FailedSelfService,
        EffortComponent::Transfers,
        EffortComponent::RepeatedInformation,
        EffortComponent::CustomerTime,
        EffortComponent::Unresolved,
    ];

    /// snake_case name, as the `EffortBreakdown` field: `extra_contacts`, …
    pub fn as_str(self) -> &'static str {
        match self {
            EffortComponent::ExtraContacts => "extra_contacts",
            EffortComponent::ChannelSwitches => "channel_switches",
            EffortComponent::FailedSelfService => "failed_self_service",
            EffortComponent::Transfers => "transfers",
            EffortComponent::RepeatedInformation => "repeated_information",
            EffortComponent::CustomerTime => "customer_time",
            EffortComponent::Unresolved => "unresolved",
        }
    }
}

/// A journey's effort points per component, total, index and tier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EffortBreakdown {
    pub extra_contacts: f64,
    pub channel_switches: f64,
    pub failed_self_service: f64,
    pub transfers: f64,
    pub repeated_information: f64,
    pub customer_time: f64,
    pub unresolved: f64,
    /// Sum of the component points, before the cap at 100.
    pub raw_total: f64,
    /// min(100, raw_total).
    pub effort_index: f64,
    pub tier: EffortTier,
}

impl EffortBreakdown {
    pub fn points(&self, component: EffortComponent) -> f64 {
        match component {
            EffortComponent::ExtraContacts => self.extra_contacts,
            EffortComponent::ChannelSwitches => self.channel_switches,
            EffortComponent::FailedSelfService => self.failed_self_service,
            EffortComponent::Transfers => self.transfers,
            EffortComponent::RepeatedInformation => self.repeated_information,
            EffortComponent::CustomerTime => self.customer_time,
            EffortComponent::Unresolved => self.unresolved,
        }
    }
}

/// Effort points of a journey (SPEC §6.1), with `w` the model's weights:
///
/// ```text
/// extra contacts       = max(0, customer touchpoints − 1) × w.extra_contact
/// channel switches     = switches × w.channel_switch
/// failed self-service  = failures × w.failed_self_service
/// transfers            = transfers × w.transfer
/// repeated information = repeats × w.repeated_information
/// customer time        = min(w.time_cap, max(0, minutes − w.free_minutes) × w.minute)
/// unresolved           = w.unresolved if not resolved, else 0
/// effort_index         = min(100, Σ points)
/// ```
///
/// §1 example: 3 customer contacts on WEB, IVR, PHONE, 45 minutes, resolved
/// → 30 + 20 + 20 + 0 + 0 + 20 + 0 = 90, HIGH.
pub fn effort_breakdown(components: &EffortComponents, model: &EffortModel) -> EffortBreakdown {
    let c = components;
    let w = &model.weights;
    let extra_contacts = f64::from((c.customer_touchpoints - 1).max(0)) * w.extra_contact;
    let channel_switches = f64::from(c.channel_switches.max(0)) * w.channel_switch;
    let failed_self_service = f64::from(c.failed_self_service.max(0)) * w.failed_self_service;
    let transfers = f64::from(c.transfers.max(0)) * w.transfer;
    let repeated_information = f64::from(c.repeated_information.max(0)) * w.repeated_information;
    let customer_time =
        ((c.customer_minutes() - w.free_minutes).max(0.0) * w.minute).min(w.time_cap);
    let unresolved = if c.resolved { 0.0 } else { w.unresolved };
    let raw_total = extra_contacts
        + channel_switches
        + failed_self_service
        + transfers
        + repeated_information
        + customer_time
        + unresolved;
    let effort_index = raw_total.min(100.0);
    EffortBreakdown {
        extra_contacts,
        channel_switches,
        failed_self_service,
        transfers,
        repeated_information,
        customer_time,
        unresolved,
        raw_total,
        effort_index,
        tier: tier_for_index(effort_index, model),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{
        Channel, TouchpointOutcome, reasons,
        testing::{arb_touchpoint, spec_journey, tp},
    };
    use super::*;

    #[test]
    fn spec_journey_scores_90_high() {
        let c = EffortComponents::from_touchpoints(&spec_journey());
        let b = effort_breakdown(&c, &EffortModel::default());
        assert_eq!(b.extra_contacts, 30.0);
        assert_eq!(b.channel_switches, 20.0);
        assert_eq!(b.failed_self_service, 20.0);
        assert_eq!(b.transfers, 0.0);
        assert_eq!(b.repeated_information, 0.0);
        assert_eq!(b.customer_time, 20.0);
        assert_eq!(b.unresolved, 0.0);
        assert_eq!(b.raw_total, 90.0);
        assert_eq!(b.effort_index, 90.0);
        assert_eq!(b.tier, EffortTier::High);
        assert_eq!(
            reasons(&c, &EffortModel::default()),
            [
                "3 contacts across 3 channels",
                "2 channel switches",
                "2 failed self-service attempts",
                "45 minutes of the customer's time",
            ]
        );
    }

    #[test]
    fn one_touch_resolution_is_low_effort() {
        let j = [tp(Channel::Phone, true, TouchpointOutcome::Resolved, 4, 0)];
        let c = EffortComponents::from_touchpoints(&j);
        let b = effort_breakdown(&c, &EffortModel::default());
        assert_eq!((b.effort_index, b.tier), (0.0, EffortTier::Low));
        assert!(reasons(&c, &EffortModel::default()).is_empty());
        assert!(c.first_customer_resolved && c.first_assisted_resolved);
    }

    #[test]
    fn everything_goes_wrong_and_is_capped() {
        use TouchpointOutcome::*;
        let mut j = vec![
            tp(Channel::Chatbot, true, Abandoned, 10, 0),
            tp(Channel::Phone, true, Unresolved, 30, 40),
            tp(Channel::Phone, true, Unresolved, 20, 30),
        ];
        j[1].transfers = 1;
        j[1].repeated_information = true;
        j[2].transfers = 2;
        j[2].repeated_information = true;
        let c = EffortComponents::from_touchpoints(&j);
        assert_eq!((c.channel_switches, c.distinct_channels), (1, 2));
        let b = effort_breakdown(&c, &EffortModel::default());
        // 30 + 10 + 10 + 30 + 20 + min(30, 125×0.5) + 30 = 160.
        assert_eq!(b.customer_time, 30.0);
        assert_eq!(b.raw_total, 160.0);
        assert_eq!(b.effort_index, 100.0);
        assert_eq!(
            reasons(&c, &EffortModel::default()),
            [
                "3 contacts across 2 channels",
                "1 channel switch",
                "1 failed self-service attempt",
                "3 transfers",
                "repeated information 2 times",
                "130 minutes of the customer's time",
                "not resolved",
            ]
        );
    }

    #[test]
    fn journey_without_customer_touchpoints_scores_only_unresolved() {
        let c = EffortComponents::from_touchpoints(&[]);
        assert_eq!(c, EffortComponents::default());
        let b = effort_breakdown(&c, &EffortModel::default());
        assert_eq!((b.effort_index, b.tier), (30.0, EffortTier::Medium));
    }

    proptest::proptest! {
        #[test]
        fn effort_index_is_bounded_and_consistent(
            journey in proptest::collection::vec(arb_touchpoint(), 0..40),
        ) {
            let c = EffortComponents::from_touchpoints(&journey);
            let n = c.customer_touchpoints;
            proptest::prop_assert!(c.distinct_channels <= n);
            proptest::prop_assert!(c.channel_switches <= (n - 1).max(0));
            proptest::prop_assert!(c.failed_self_service <= n);
            proptest::prop_assert!(!c.first_assisted_resolved || c.has_assisted);
            proptest::prop_assert!(!c.first_customer_resolved || c.resolved);
            let m = EffortModel::default();
            let b = effort_breakdown(&c, &m);
            proptest::prop_assert!((0.0..=100.0).contains(&b.effort_index));
            proptest::prop_assert!(b.raw_total >= b.effort_index);
            proptest::prop_assert_eq!(b.tier, tier_for_index(b.effort_index, &m));
            let total: f64 = EffortComponent::ALL.iter().map(|&k| b.points(k)).sum();
            proptest::prop_assert!((total - b.raw_total).abs() < 1e-9);
            proptest::prop_assert_eq!(reasons(&c, &m).is_empty(), b.raw_total == 0.0);
        }
    }
}
